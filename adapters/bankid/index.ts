/** The BankID adapter module: config validation and construction. */
import type { EidAdapterModule, PollingEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import { createBankIdAdapter } from './adapter.ts';
import { bankIdConfigSchema, readBankIdTls, type BankIdConfig } from './config.ts';

export { BANKID_METHOD_URI } from './adapter.ts';

export const bankIdModule: EidAdapterModule<BankIdConfig, PollingEidAdapter> = {
  type: 'bankid',
  validate(config) {
    const parsed = bankIdConfigSchema.safeParse(config);
    if (!parsed.success) {
      return { ok: false, problems: parsed.error.issues.map((i) => [i.path.join('.'), i.message] as [string, string]) };
    }
    // Paths are absolute once the loader has resolved them; reading the files here lets `config check`
    // report an unreadable or legacy-encrypted certificate before start-up.
    const { problems } = readBankIdTls(parsed.data, process.cwd());
    if (problems.length) return { ok: false, problems };
    return { ok: true, config: parsed.data };
  },
  async create(id, config, deps) {
    const { tls, problems } = readBankIdTls(config, deps.baseDir);
    if (!tls) {
      throw new HubError('CONFIG_INVALID', { detail: problems.map(([p, m]) => `methods.${id}.config.${p}: ${m}`).join('; ') });
    }
    return createBankIdAdapter(id, config, tls, deps);
  },
};
