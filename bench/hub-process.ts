/**
 * One idnav hub process for the benchmarks: the real hub (config/ with the simulator's environment and
 * the overrides in IDNAV_BENCH_HUB) listening on loopback, answering IPC requests from the benchmark:
 *
 *   stats { reset? }   rss, heap, event-loop delay (monitorEventLoopDelay) and CPU since the last reset
 *   gc                 a full garbage collection (started with --expose-gc), then memory figures
 *   mintCodes {...}    authorization codes minted in-process (bench/mint.ts), for the token benchmark
 *
 * The hub logs at `info`, as in production, to a file (IDNAV_BENCH_LOG), so log formatting costs count.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import pino from 'pino';
import { adapterModules, registryModules } from '../adapters/index.ts';
import { loadConfig } from '../src/config/load.ts';
import type { HubConfig } from '../src/config/types.ts';
import { createHub } from '../src/hub.ts';
import { createLogger } from '../src/log.ts';
import { Profiler, serveIpc } from './lib.ts';
import { mintCodes, type MintRequest } from './mint.ts';

export interface HubProcessOptions {
  port: number;
  issuer: string;
  store: 'memory' | 'redis';
  redisUrl?: string;
  redisPrefix?: string;
  stateDir: string;
  /** The simulator's environment (IDNAV_BANKID_URL, ...). */
  simEnv: Record<string, string>;
}

const o = JSON.parse(process.env.IDNAV_BENCH_HUB ?? '{}') as HubProcessOptions;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...o.simEnv,
  PORT: String(o.port),
  IDNAV_ISSUER: o.issuer,
  IDNAV_STORE: o.store,
  IDNAV_STATE_DIR: o.stateDir,
  ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
  ...(o.redisPrefix ? { IDNAV_REDIS_PREFIX: o.redisPrefix } : {}),
};
const loaded = await loadConfig({ configDir: resolve(import.meta.dirname, '..', 'config'), env, adapterModules, registryModules });
const off = { limit: 0, windowSeconds: 60 };
// Every benchmark sign-in comes from 127.0.0.1: the rate limits would measure themselves, not the hub.
const config: HubConfig = {
  ...loaded,
  stateDir: o.stateDir,
  rateLimits: { signinStartsPerIp: off, signinStartsPerPerson: off, tokenRequestsPerClient: off, failedClientAuthPerClient: off },
};
const log = createLogger({ level: 'info', destination: pino.destination({ dest: process.env.IDNAV_BENCH_LOG ?? '/dev/null', sync: false, mkdir: true }) });
const hub = await createHub(config, { log, watchClients: false });
const { url } = await hub.listen(o.port, '127.0.0.1');

const profiler = new Profiler();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let cpuMark = process.cpuUsage();
let wallMark = performance.now();

/** The regional e-service platform signing in for Karlstad: the RP every benchmark plays. */
function rpInfo(c: HubConfig) {
  const client = c.clients.find((x) => x.client_id === 'e-tjanst');
  if (!client?.client_secret) throw new Error('config/clients/e-tjanst.yaml is missing or has no client_secret');
  return { clientId: client.client_id, clientSecret: client.client_secret, redirectUri: client.tenant_redirect_uris?.karlstad?.[0] ?? client.redirect_uris[0]! };
}

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

serveIpc(
  {
    stats(args: { reset?: boolean } | undefined) {
      const cpu = process.cpuUsage(cpuMark);
      const wall = performance.now() - wallMark;
      const out = {
        ...memory(),
        loop: { p50_ms: ms(loop.percentile(50)), p99_ms: ms(loop.percentile(99)), max_ms: ms(loop.max), mean_ms: ms(loop.mean), samples: loop.count },
        cpu_ms: (cpu.user + cpu.system) / 1000,
        wall_ms: wall,
      };
      if (args?.reset) {
        loop.reset();
        cpuMark = process.cpuUsage();
        wallMark = performance.now();
      }
      return out;
    },
    gc() {
      const g = (globalThis as { gc?: () => void }).gc;
      if (g) {
        g();
        g();
      }
      return memory();
    },
    async profileStart() {
      await profiler.start();
      return true;
    },
    profileStop(args: { file: string }) {
      return profiler.stop(args.file);
    },
    mintCodes(req: MintRequest) {
      return mintCodes(hub.provider, hub.store, req);
    },
  },
  { url, issuer: config.issuer, pid: process.pid, store: config.store.type, rp: rpInfo(config) },
);

process.once('SIGTERM', () => {
  void hub.close().finally(() => process.exit(0));
});
