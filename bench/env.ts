/**
 * Starting the processes a benchmark measures: the BankID simulator, idnav hub processes (memory store,
 * or several sharing Redis) and the bare oidc-provider baseline. Each is its own child process.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BankIdSimulatorOptions } from '../adapters/bankid/simulator/server.ts';
import type { HubProcessOptions } from './hub-process.ts';
import { spawnChild, type ChildHandle } from './lib.ts';

export interface RunContext {
  runId: string;
  /** Shared by every hub process of the run (dev secrets are generated once into it). */
  stateDir: string;
  /** Hub logs go here. */
  logDir: string;
  redisUrl: string;
  quick: boolean;
}

export interface SimReady {
  env: Record<string, string>;
}

export interface RpInfo {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface HubReady {
  url: string;
  issuer: string;
  pid: number;
  store: string;
  rp: RpInfo;
}

export type Sim = ChildHandle<SimReady>;
export type HubChild = ChildHandle<HubReady>;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function startSim(name: string, options: Partial<BankIdSimulatorOptions>): Promise<Sim> {
  return spawnChild<SimReady>(name, 'simulator-process.ts', { IDNAV_BENCH_SIM: JSON.stringify(options) });
}

export interface HubGroup {
  /** The issuer every process shares. */
  issuer: string;
  /** Base URLs of the processes (requests go to them, alternating when there are several). */
  origins: string[];
  hubs: HubChild[];
  stop(): Promise<void>;
}

/**
 * Starts `processes` hub processes on one store: `memory` (one process only) or `redis` (a fresh key
 * prefix for this group, shared by its processes, as a load balancer's backends would share it).
 */
export async function startHubs(ctx: RunContext, name: string, sim: Sim, store: 'memory' | 'redis', processes = 1, script = 'hub-process.ts'): Promise<HubGroup> {
  if (store === 'memory' && processes !== 1) throw new Error('the memory store holds one process only');
  const ports = await Promise.all(Array.from({ length: processes }, () => freePort()));
  const issuer = `http://localhost:${ports[0]}`;
  const prefix = `idnav-bench:${ctx.runId}:${name}:`;
  const hubs = await Promise.all(
    ports.map((port, i) => {
      const options: HubProcessOptions = {
        port,
        issuer,
        store,
        stateDir: ctx.stateDir,
        simEnv: sim.ready.env,
        ...(store === 'redis' ? { redisUrl: ctx.redisUrl, redisPrefix: prefix } : {}),
      };
      return spawnChild<HubReady>(`${name}#${i}`, script, { IDNAV_BENCH_HUB: JSON.stringify(options), IDNAV_BENCH_LOG: join(ctx.logDir, `${name}-${i}.log`) }, { exposeGc: true });
    }),
  );
  return {
    issuer,
    origins: hubs.map((h) => h.ready.url),
    hubs,
    async stop() {
      await Promise.all(hubs.map((h) => h.stop()));
    },
  };
}

/**
 * With IDNAV_BENCH_PROFILE=1, a CPU profile of each server process over a measurement window is
 * written to the run's log directory as <label>-<process>.cpuprofile (open it in Chrome DevTools).
 */
export async function profiled<T>(ctx: RunContext, label: string, servers: HubChild[], fn: () => Promise<T>): Promise<T> {
  if (!process.env.IDNAV_BENCH_PROFILE) return fn();
  await Promise.all(servers.map((s) => s.call('profileStart')));
  try {
    return await fn();
  } finally {
    await Promise.all(servers.map((s, i) => s.call('profileStop', { file: join(ctx.logDir, `${label}-${i}.cpuprofile`) })));
  }
}

/** Simulator options that keep unscanned orders pending for an hour (long measurements). */
export const LONG_ORDERS = { startWindowMs: 3_600_000, orderLifetimeMs: 3_600_000 };

/**
 * Processes several groups share, started once on first use: a simulator, one hub on the memory store,
 * two hubs on Redis, and the bare oidc-provider. Groups that measure a process's own memory or need
 * other simulator options start their own.
 */
export class Shared {
  readonly #ctx: RunContext;
  #sim: Promise<Sim> | undefined;
  #memory: Promise<HubGroup> | undefined;
  #redis: Promise<HubGroup> | undefined;
  #bare: Promise<HubGroup> | undefined;

  constructor(ctx: RunContext) {
    this.#ctx = ctx;
  }

  sim(): Promise<Sim> {
    return (this.#sim ??= startSim('shared-sim', LONG_ORDERS));
  }

  memoryHub(): Promise<HubGroup> {
    return (this.#memory ??= this.sim().then((sim) => startHubs(this.#ctx, 'shared-memory', sim, 'memory')));
  }

  redisHubs(): Promise<HubGroup> {
    return (this.#redis ??= this.sim().then((sim) => startHubs(this.#ctx, 'shared-redis', sim, 'redis', 2)));
  }

  bare(): Promise<HubGroup> {
    return (this.#bare ??= this.sim().then((sim) => startHubs(this.#ctx, 'shared-bare', sim, 'memory', 1, 'bare-provider.ts')));
  }

  async stop(): Promise<void> {
    const settle = <T>(p: Promise<T> | undefined) => p?.catch(() => undefined);
    const groups = await Promise.all([settle(this.#memory), settle(this.#redis), settle(this.#bare)]);
    await Promise.all(groups.map((g) => g?.stop()));
    await (await settle(this.#sim))?.stop();
  }
}

export function redisPrefixOf(ctx: RunContext, name: string): string {
  return `idnav-bench:${ctx.runId}:${name}:`;
}
