/**
 * `npm run bench` (`node bench/run.ts`): runs every benchmark on this machine and prints one JSON
 * document on stdout (progress and a short table on stderr). The document is also written to
 * bench/results/latest.json and bench/results/<date>.json.
 *
 *   --quick          the same groups, shorter (the whole run under 2 minutes)
 *   --only a,b       run only these groups (token_endpoint, signins, pending_orders, discovery_jwks,
 *                    memory_per_session); the files are then not written unless --write is given
 *   --no-write       print only
 *
 * REDIS_URL (default redis://127.0.0.1:6379) is used by the Redis measurements; every key this run
 * writes is under idnav-bench:<run id>: and is deleted at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Shared, type RunContext } from './env.ts';
import { discoveryJwks } from './groups/discovery-jwks.ts';
import { memoryPerSession } from './groups/memory-per-session.ts';
import { pendingOrders } from './groups/pending-orders.ts';
import { signins } from './groups/signins.ts';
import { tokenEndpoint } from './groups/token-endpoint.ts';
import { BENCH_DIR, ROOT, note, round, tempDir } from './lib.ts';
import { connect, deletePrefix } from './redis.ts';

type GroupName = 'token_endpoint' | 'signins' | 'pending_orders' | 'discovery_jwks' | 'memory_per_session';
type Group = (ctx: RunContext, shared: Shared) => Promise<unknown>;
/** In the order of the document. */
const GROUPS: Record<GroupName, Group> = {
  token_endpoint: tokenEndpoint,
  signins,
  pending_orders: pendingOrders,
  discovery_jwks: discoveryJwks,
  memory_per_session: memoryPerSession,
};
/** In the order they run: the groups on the shared processes first, then those that start their own. */
const RUN_ORDER: GroupName[] = ['token_endpoint', 'signins', 'discovery_jwks', 'pending_orders', 'memory_per_session'];
const USES_SHARED: ReadonlySet<GroupName> = new Set(['token_endpoint', 'signins', 'discovery_jwks']);

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const onlyValue = onlyArg?.includes('=') ? onlyArg.split('=')[1] : onlyArg ? args[args.indexOf(onlyArg) + 1] : undefined;
const only = onlyValue ? (onlyValue.split(',') as GroupName[]) : undefined;
for (const g of only ?? []) {
  if (!(g in GROUPS)) {
    process.stderr.write(`unknown group ${g}; groups: ${Object.keys(GROUPS).join(', ')}\n`);
    process.exit(2);
  }
}
const write = args.includes('--write') || (!only && !args.includes('--no-write'));

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'adapters'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head}+uncommitted changes in src/ or adapters/` : head;
  } catch {
    return null;
  }
}

function redisVersion(url: string): Promise<string | null> {
  const r = connect(url);
  return r
    .info('server')
    .then((info) => /redis_version:(\S+)/.exec(info)?.[1] ?? null)
    .catch(() => null)
    .finally(() => r.disconnect());
}

const started = new Date();
const runId = started.toISOString().replace(/[-:.]/g, '').slice(0, 15);
const ctx: RunContext = {
  runId,
  stateDir: tempDir('idnav-bench-state-'),
  logDir: tempDir('idnav-bench-logs-'),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  quick,
};

const cpus = os.cpus();
const machine = {
  cores: cpus.length,
  cpu_model: cpus[0]?.model ?? 'unknown',
  memory_gb: round(os.totalmem() / 1024 ** 3, 1),
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  redis: await redisVersion(ctx.redisUrl),
  date: started.toISOString(),
  mode: quick ? 'quick' : 'full',
  commit: gitCommit(),
  load_average_at_start: os.loadavg().map((x) => round(x, 2)),
  load_average_at_end: [] as number[],
  duration_s: 0,
  note:
    'All processes (hub, simulator, Redis, load generator) share this machine. load_average shows what else was running: ' +
    'figures taken while the load average is well above the core count are depressed and noisy; comparisons within a run are ' +
    'interleaved so both sides see the same conditions.',
};
note(`run ${runId} (${machine.mode}) on ${machine.cores} x ${machine.cpu_model}, ${machine.node}; load ${machine.load_average_at_start.join(' ')}; logs in ${ctx.logDir}`);

const results: Record<string, unknown> = {};
const selected = RUN_ORDER.filter((g) => !only || only.includes(g));
const shared = new Shared(ctx);
let sharedStopped = false;
if (selected.some((g) => USES_SHARED.has(g))) {
  // Start the shared processes together; each group waits for the ones it needs.
  const t = performance.now();
  await Promise.all([shared.memoryHub(), shared.redisHubs(), shared.bare()]).catch((err: unknown) => note(`starting shared processes failed: ${String(err)}`));
  note(`shared processes started in ${round((performance.now() - t) / 1000, 1)} s`);
}
for (const name of selected) {
  if (!USES_SHARED.has(name) && !sharedStopped) {
    // Groups that measure their own processes run without idle shared ones beside them.
    await shared.stop();
    sharedStopped = true;
  }
  const t = performance.now();
  note(`${name}: starting`);
  try {
    results[name] = await GROUPS[name](ctx, shared);
  } catch (err) {
    note(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    results[name] = { error: (err as Error).message };
  }
  note(`${name}: done in ${round((performance.now() - t) / 1000, 1)} s`);
}
if (!sharedStopped) await shared.stop();

try {
  const r = connect(ctx.redisUrl);
  const removed = await deletePrefix(r, `idnav-bench:${runId}:`);
  r.disconnect();
  if (removed) note(`removed ${removed} Redis keys of this run`);
} catch (err) {
  note(`could not clean up Redis keys: ${(err as Error).message}`);
}
rmSync(ctx.stateDir, { recursive: true, force: true });

machine.load_average_at_end = os.loadavg().map((x) => round(x, 2));
machine.duration_s = round((Date.now() - started.getTime()) / 1000, 0);
const doc: Record<string, unknown> = { machine };
for (const name of Object.keys(GROUPS) as GroupName[]) doc[name] = results[name] ?? null;
const json = `${JSON.stringify(doc, null, 2)}\n`;

if (write) {
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  for (const file of ['latest.json', `${stamp}.json`]) {
    const tmp = join(dir, `${file}.tmp`);
    writeFileSync(tmp, json);
    renameSync(tmp, join(dir, file));
  }
  note(`wrote bench/results/latest.json and bench/results/${stamp}.json`);
}

process.stderr.write(table(doc));
process.stdout.write(json);
process.exit(0);

function table(d: Record<string, unknown>): string {
  // Figures of groups that did not run show as '-'.
  const get = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), d);
  const rows: Array<[string, unknown, string]> = [];
  const add = (label: string, path: string, unit = '') => rows.push([label, get(path), unit]);
  add('token: idnav', 'token_endpoint.idnav_per_s', '/s');
  add('token: bare oidc-provider', 'token_endpoint.bare_per_s', '/s');
  add('token: ratio (target >= 0.9)', 'token_endpoint.ratio');
  for (const setup of ['memory', 'redis_two_processes']) {
    const list = get(`signins.${setup}`);
    if (Array.isArray(list)) {
      for (const s of list as Array<{ concurrency: number; signins_per_s: number; latency: { status_poll: { p99_ms: number } } }>) {
        rows.push([`sign-ins ${setup} c=${s.concurrency}`, `${s.signins_per_s}/s`, `status p99 ${s.latency.status_poll.p99_ms} ms`]);
      }
    }
  }
  const sweep = get('pending_orders.sweep');
  if (Array.isArray(sweep)) {
    for (const s of sweep as Array<{ count: number; event_loop_p99_ms: number; rss_mb: number; collect_per_s: number; expected_collect_per_s: number; status_rps: number }>) {
      rows.push([`pending ${s.count}`, `p99 ${s.event_loop_p99_ms} ms, ${s.rss_mb} MB`, `collect ${s.collect_per_s}/${s.expected_collect_per_s} per s, status ${s.status_rps}/s`]);
    }
  }
  add('pending: count (p99 < 50 ms)', 'pending_orders.count');
  add('pending: two processes p99', 'pending_orders.two_processes.event_loop_p99_ms', 'ms');
  add('discovery', 'discovery_jwks.discovery_per_s', '/s');
  add('jwks', 'discovery_jwks.jwks_per_s', '/s');
  add('per sign-in: memory store heap', 'memory_per_session.memory_store.heap_bytes_per_signin', 'B');
  add('per sign-in: memory store RSS', 'memory_per_session.memory_store.rss_bytes_per_signin', 'B');
  add('per sign-in: Redis used_memory', 'memory_per_session.redis_store.used_memory_bytes_per_signin', 'B');
  const width = Math.max(...rows.map((r) => r[0].length));
  return `\n${rows.map(([l, v, u]) => `${l.padEnd(width)}  ${v === undefined ? '-' : String(v)} ${u}`).join('\n')}\n\n`;
}
