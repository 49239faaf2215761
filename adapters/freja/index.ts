/** The Freja eID adapter module: config validation and construction. */
import type { EidAdapterModule, PollingEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import { createFrejaAdapter } from './adapter.ts';
import { frejaConfigSchema, readFrejaMaterial, type FrejaConfig } from './config.ts';

export { FREJA_METHOD_URI } from './adapter.ts';
export type { FrejaConfig } from './config.ts';

export const frejaModule: EidAdapterModule<FrejaConfig, PollingEidAdapter> = {
  type: 'freja',
  validate(config) {
    const parsed = frejaConfigSchema.safeParse(config);
    if (!parsed.success) {
      return { ok: false, problems: parsed.error.issues.map((i) => [i.path.join('.'), i.message] as [string, string]) };
    }
    // Paths are absolute once the loader has resolved them; reading the files here lets `config check`
    // report an unreadable certificate, a legacy PKCS#12 or a signing certificate that is not PEM.
    const { problems } = readFrejaMaterial(parsed.data, process.cwd());
    if (problems.length) return { ok: false, problems };
    return { ok: true, config: parsed.data };
  },
  async create(id, config, deps) {
    const { material, problems } = readFrejaMaterial(config, deps.baseDir);
    if (!material) {
      throw new HubError('CONFIG_INVALID', { detail: problems.map(([p, m]) => `methods.${id}.config.${p}: ${m}`).join('; ') });
    }
    return createFrejaAdapter(id, config, material, deps);
  },
};
