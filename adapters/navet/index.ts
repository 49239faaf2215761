/** The Navet registry adapter module: config validation (hub block and tenant blocks) and construction. */
import { HubError } from '../../src/contracts/errors.ts';
import type { RegistryAdapterModule } from '../../src/contracts/registry.ts';
import { createNavetAdapter } from './adapter.ts';
import {
  navetConfigSchema,
  navetTenantConfigSchema,
  readCa,
  readClientCert,
  resolveCredentials,
  zodProblems,
  type NavetConfig,
  type NavetTenantConfig,
  type Problems,
} from './config.ts';

export { NAVET_HEALTH_PERSON_ID } from './adapter.ts';
export type { NavetConfig, NavetTenantConfig } from './config.ts';

export const navetModule: RegistryAdapterModule<NavetConfig, NavetTenantConfig> = {
  type: 'navet',
  validate(config) {
    const parsed = navetConfigSchema.safeParse(config);
    if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
    // Paths are absolute once the loader has resolved them; reading the files here lets `config check`
    // report an unreadable or legacy-encrypted certificate before start-up.
    const problems: Problems = [...readCa(parsed.data, process.cwd()).problems];
    if (parsed.data.clientCert) problems.push(...readClientCert(parsed.data.clientCert, process.cwd()).problems);
    if (problems.length) return { ok: false, problems };
    return { ok: true, config: parsed.data };
  },
  validateTenant(config) {
    const parsed = navetTenantConfigSchema.safeParse(config ?? {});
    if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
    if (parsed.data.clientCert) {
      const { problems } = readClientCert(parsed.data.clientCert, process.cwd());
      if (problems.length) return { ok: false, problems };
    }
    return { ok: true, config: parsed.data };
  },
  async create(id, config, tenants, deps) {
    const { ca, problems: caProblems } = readCa(config, deps.baseDir);
    const { resolved, problems } = resolveCredentials(config, tenants, deps.baseDir);
    const all = [...caProblems.map(([p, m]) => [`registry.config.${p}`, m] as [string, string]), ...problems];
    if (all.length || !resolved || ca === undefined) {
      throw new HubError('CONFIG_INVALID', { detail: all.map(([p, m]) => `${p}: ${m}`).join('; ') });
    }
    return createNavetAdapter(id, config, ca, resolved);
  },
};
