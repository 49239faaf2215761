/**
 * The baseline of the token benchmark: a bare `oidc-provider` (no hub around it) with what the token
 * endpoint's work depends on made equal to idnav's:
 *
 * - the same client (config/clients/e-tjanst.yaml through the hub's own toProviderMetadata),
 * - the same signing keys (the hub's RS256 + ES256 JWKS; the client's ID tokens are RS256),
 * - the same TTLs, scopes and claims configuration,
 * - the same Store behind every model, through the same adapter shape (`store.model(name)`),
 * - the same findAccount shape (the account record from the Store, claims from it),
 * - the same pairwise subject derivation (the client is pairwise; oidc-provider has no default).
 *
 * Everything else is oidc-provider's default. Answers the same IPC requests as bench/hub-process.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import Provider, { type Configuration } from 'oidc-provider';
import { adapterModules } from '../adapters/index.ts';
import { loadConfig } from '../src/config/load.ts';
import type { ModelStore } from '../src/contracts/store.ts';
import { pairwiseSubject } from '../src/identity/subject.ts';
import { ACCOUNT_NS, Accounts, type AccountRecord } from '../src/provider/accounts.ts';
import { CLAIMS_CONFIG, SCOPES } from '../src/provider/claims.ts';
import { sectorOf, toProviderMetadata } from '../src/provider/clients.ts';
import { loadSecrets, providerJwks } from '../src/provider/secrets.ts';
import { providerTtl } from '../src/provider/provider.ts';
import { createStore } from '../src/store/index.ts';
import type { HubProcessOptions } from './hub-process.ts';
import { Profiler, serveIpc } from './lib.ts';
import { mintCodes, type MintRequest } from './mint.ts';

const o = JSON.parse(process.env.IDNAV_BENCH_HUB ?? '{}') as HubProcessOptions;
const env: NodeJS.ProcessEnv = { ...process.env, ...o.simEnv, PORT: String(o.port), IDNAV_ISSUER: o.issuer, IDNAV_STORE: 'memory', IDNAV_STATE_DIR: o.stateDir };
const loaded = await loadConfig({ configDir: resolve(import.meta.dirname, '..', 'config'), env, adapterModules });
const config = { ...loaded, stateDir: o.stateDir };
const secrets = loadSecrets(config);
const client = config.clients.find((c) => c.client_id === 'e-tjanst');
if (!client) throw new Error('config/clients/e-tjanst.yaml is missing');

const sector = sectorOf(client);
const store = createStore({ type: 'memory' });

const configuration: Configuration = {
  adapter: class {
    constructor(name: string) {
      return store.model(name) as unknown as ModelStore;
    }
  } as unknown as Configuration['adapter'],
  clients: [toProviderMetadata(client, config.issuer) as unknown as NonNullable<Configuration['clients']>[number]],
  jwks: providerJwks(secrets.signingKeys) as Configuration['jwks'],
  cookies: { keys: secrets.cookieKeys },
  ttl: providerTtl(config),
  claims: CLAIMS_CONFIG as Configuration['claims'],
  scopes: SCOPES,
  conformIdTokenClaims: false,
  subjectTypes: ['public', 'pairwise'],
  sectorIdentifierUriValidate: () => false,
  // A pairwise client needs one; the same HMAC derivation as the hub's.
  async pairwiseIdentifier(_ctx, accountId) {
    return pairwiseSubject(secrets.subjectSecret, sector, accountId);
  },
  // Needed for the client's metadata to be accepted (signed UserInfo, back-channel and RP-initiated logout).
  features: { devInteractions: { enabled: false }, jwtUserinfo: { enabled: true }, backchannelLogout: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, sub) {
    const account = await store.get<AccountRecord>(ACCOUNT_NS, sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...Accounts.personClaims(account) };
      },
    };
  },
};

const provider = new Provider(config.issuer, configuration);
let serverErrors = 0;
provider.on('server_error', (_ctx, err) => {
  if (serverErrors++ < 3) process.stderr.write(`bare provider server_error: ${err.stack ?? err.message}\n`);
});
const server = createServer(provider.callback());
await new Promise<void>((r) => server.listen(o.port, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const profiler = new Profiler();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let cpuMark = process.cpuUsage();
const ms = (ns: number) => Math.round(ns / 1e4) / 100;

serveIpc(
  {
    stats(args: { reset?: boolean } | undefined) {
      const cpu = process.cpuUsage(cpuMark);
      const out = { rss: process.memoryUsage().rss, loop: { p99_ms: ms(loop.percentile(99)), max_ms: ms(loop.max) }, cpu_ms: (cpu.user + cpu.system) / 1000 };
      if (args?.reset) {
        loop.reset();
        cpuMark = process.cpuUsage();
      }
      return out;
    },
    async profileStart() {
      await profiler.start();
      return true;
    },
    profileStop(args: { file: string }) {
      return profiler.stop(args.file);
    },
    mintCodes(req: MintRequest) {
      return mintCodes(provider, store, req);
    },
  },
  {
    url,
    issuer: config.issuer,
    pid: process.pid,
    store: 'memory',
    rp: { clientId: client.client_id, clientSecret: client.client_secret, redirectUri: client.tenant_redirect_uris?.karlstad?.[0] ?? client.redirect_uris[0] },
  },
);
