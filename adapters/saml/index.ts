/** The SAML 2.0 SP adapter module: config validation and construction. */
import type { EidAdapterModule, RedirectEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import { createSamlAdapter } from './adapter.ts';
import { readSamlMaterial, samlConfigSchema, type SamlConfig } from './config.ts';

export { SAML_METHOD_PREFIX, samlMethodName } from './adapter.ts';
export type { SamlConfig } from './config.ts';

export const samlModule: EidAdapterModule<SamlConfig, RedirectEidAdapter> = {
  type: 'saml',
  validate(config) {
    const parsed = samlConfigSchema.safeParse(config);
    if (!parsed.success) {
      return { ok: false, problems: parsed.error.issues.map((i) => [i.path.join('.'), i.message] as [string, string]) };
    }
    // Paths are absolute once the loader has resolved them; reading the files here lets `config check`
    // report an unreadable key, a certificate that does not match its key, or a metadata certificate that
    // is not PEM before start-up.
    const { problems } = readSamlMaterial(parsed.data, process.cwd());
    if (problems.length) return { ok: false, problems };
    return { ok: true, config: parsed.data };
  },
  async create(id, config, deps) {
    const { material, problems } = readSamlMaterial(config, deps.baseDir);
    if (!material) {
      throw new HubError('CONFIG_INVALID', { detail: problems.map(([p, m]) => `methods.${id}.config.${p}: ${m}`).join('; ') });
    }
    return createSamlAdapter(id, config, material, deps);
  },
};
