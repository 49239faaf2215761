/**
 * Test environment: the real hub (config from config/ unless another dir is given) on a free loopback
 * port, the BankID simulator over mTLS, captured logs, and optionally the demo RPs mounted.
 */
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { adapterModules, registryModules } from '../../adapters/index.ts';
import type { BankIdSimulatorOptions } from '../../adapters/bankid/simulator/server.ts';
import type { FrejaSimulatorOptions } from '../../adapters/freja/simulator/server.ts';
import { startSimulators, type Simulators } from '../../dev/simulators.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { HubConfig } from '../../src/config/types.ts';
import { createHub, type Hub } from '../../src/hub.ts';
import { createLogger } from '../../src/log.ts';
import { auditTo } from '../../src/ops/audit.ts';

export const TEST_PKI_DIR = join(tmpdir(), 'idnav-test-pki');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface TestEnv {
  hub: Hub;
  config: HubConfig;
  issuer: string;
  sims: Simulators;
  logs: string[];
  /** Audit records (JSON lines) the hub wrote. */
  audit: string[];
  close(): Promise<void>;
}

export interface TestEnvOptions {
  store?: 'memory' | 'redis';
  bankid?: Partial<BankIdSimulatorOptions>;
  freja?: Partial<FrejaSimulatorOptions>;
  configDir?: string;
  /** Mount the demo RPs (default true). */
  demo?: boolean;
  /** Share simulators started elsewhere. */
  sims?: Simulators;
  stateDir?: string;
  env?: Record<string, string>;
  watchClients?: boolean;
  /** Timing of back-channel logout retries. */
  backchannelRetry?: import('../../src/provider/backchannel-retry.ts').BackchannelRetryOptions;
  /** Rate limits for this test (all off by default). */
  rateLimits?: Partial<HubConfig['rateLimits']>;
  /** Changes the loaded config before the hub is built. */
  override?: (config: HubConfig) => HubConfig;
}

export async function startTestEnv(o: TestEnvOptions = {}): Promise<TestEnv> {
  const sims = o.sims ?? (await startSimulators({ pkiDir: TEST_PKI_DIR, ...(o.bankid ? { bankid: o.bankid } : {}), ...(o.freja ? { freja: o.freja } : {}) }));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  if (!o.sims) sims.setHubIssuer(issuer);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...sims.env,
    PORT: String(port),
    IDNAV_ISSUER: issuer,
    IDNAV_STORE: o.store ?? 'memory',
    NODE_ENV: 'test',
    ...o.env,
  };
  if ((o.store ?? 'memory') === 'redis') {
    if (!process.env.REDIS_URL) throw new Error('REDIS_URL is not set');
    env.REDIS_URL = process.env.REDIS_URL;
  }
  const loaded = await loadConfig({ configDir: resolve(o.configDir ?? 'config'), env, adapterModules, registryModules });
  const off = { limit: 0, windowSeconds: 60 };
  const config: HubConfig = (o.override ?? ((c) => c))({
    ...loaded,
    // Every test sign-in comes from 127.0.0.1: the limits are off unless a test sets its own.
    rateLimits: { signinStartsPerIp: off, signinStartsPerPerson: off, tokenRequestsPerClient: off, failedClientAuthPerClient: off, ...o.rateLimits },
    stateDir: o.stateDir ?? mkdtempSync(join(tmpdir(), 'idnav-state-')),
    ...(loaded.store.type === 'redis' ? { store: { ...loaded.store, keyPrefix: `idnav-test:${port}:` } } : {}),
  });
  const logs: string[] = [];
  const destination: DestinationStream = { write: (line: string) => void logs.push(line) };
  const log = createLogger({ level: 'debug', destination });
  const audit: string[] = [];
  const hub = await createHub(config, {
    log,
    audit: auditTo({ write: (line: string) => void audit.push(line) }),
    ...(o.backchannelRetry ? { backchannelRetry: o.backchannelRetry } : {}),
    mounts: o.demo === false ? [] : (await import('../../demo/index.ts')).mountDemoRps({ issuer, configDir: config.configDir }),
    watchClients: o.watchClients ?? false,
  });
  await hub.listen(port, '127.0.0.1');
  return {
    hub,
    config,
    issuer,
    sims,
    logs,
    audit,
    async close() {
      await hub.close();
      if (!o.sims) await sims.close();
    },
  };
}
