/**
 * signins: whole BankID sign-ins per second over HTTP, concurrency 1, 8 and 64, on one hub process with
 * the memory store and on two hub processes sharing Redis (a browser's requests alternate between them),
 * in interleaved rounds. The simulated app approves by scanning the QR code of the first status answer.
 */
import type { HubGroup, RunContext, Shared } from '../env.ts';
import { BenchBrowser, FlowError, signIn, type Target, type Timings } from '../flow.ts';
import { Http, latency, median, note, personalNumber, round } from '../lib.ts';

const POLL_DELAY_MS = 1000;

interface Setup {
  name: 'memory' | 'redis_two_processes';
  group: HubGroup;
  target: Target;
}

let personCounter = 0;

interface RoundResult {
  completed: number;
  errors: number;
  elapsedS: number;
  hubCpuMs: number;
  loopP99Ms: number;
}

async function runRound(http: Http, setup: Setup, appUrl: string, concurrency: number, seconds: number, all: Timings[]): Promise<RoundResult> {
  await Promise.all(setup.group.hubs.map((h) => h.call('stats', { reset: true })));
  const end = performance.now() + seconds * 1000;
  let completed = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        const b = new BenchBrowser(http, setup.target, w);
        try {
          const t = await signIn(b, setup.target, { approve: 'scan', appUrl, personalNumber: personalNumber(personCounter++), pollDelayMs: POLL_DELAY_MS, http });
          all.push(t);
          completed++;
        } catch (err) {
          if (!(err instanceof FlowError)) throw err;
          if (errors++ < 3) note(`signins ${setup.name} c=${concurrency}: ${err.message}`);
        }
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  const stats = await Promise.all(setup.group.hubs.map((h) => h.call<{ cpu_ms: number; loop: { p99_ms: number } }>('stats')));
  return { completed, errors, elapsedS, hubCpuMs: stats.reduce((a, x) => a + x.cpu_ms, 0), loopP99Ms: Math.max(...stats.map((x) => x.loop.p99_ms)) };
}

function summarize(concurrency: number, rounds: RoundResult[], all: Timings[]) {
  const perS = rounds.map((r) => r.completed / r.elapsedS);
  const totals = all.map((t) => t.total);
  return {
    concurrency,
    signins_per_s: round(median(perS), 2),
    completed: rounds.reduce((a, r) => a + r.completed, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    rounds_per_s: perS.map((x) => round(x, 2)),
    /** The ceiling the collect interval sets: concurrency / median sign-in time. */
    bound_by_latency_per_s: round(concurrency / (median(totals) / 1000), 2),
    polls_per_signin: round(median(all.map((t) => t.status.length)), 1),
    hub_cpu_ms_per_signin: round(rounds.reduce((a, r) => a + r.hubCpuMs, 0) / Math.max(1, rounds.reduce((a, r) => a + r.completed, 0)), 2),
    hub_event_loop_p99_ms: round(median(rounds.map((r) => r.loopP99Ms)), 1),
    latency: {
      authorize_chooser: latency(all.map((t) => t.authorize_chooser)),
      order_start: latency(all.map((t) => t.order_start)),
      status_poll: latency(all.flatMap((t) => t.status)),
      completion: latency(all.map((t) => t.completion)),
      token: latency(all.map((t) => t.token)),
      app_scan_not_hub: latency(all.map((t) => t.app_scan)),
      whole_signin: latency(totals),
    },
  };
}

export async function signins(ctx: RunContext, shared: Shared) {
  const concurrencies = [1, 8, 64];
  const rounds = ctx.quick ? 1 : 2;
  const seconds = ctx.quick ? 2 : 10;
  const [sim, memory, redis] = await Promise.all([shared.sim(), shared.memoryHub(), shared.redisHubs()]);
  const appUrl = sim.ready.env.IDNAV_BANKID_APP_URL!;
  const setups: Setup[] = [memory, redis].map((group, i) => ({
    name: i === 0 ? 'memory' : 'redis_two_processes',
    group,
    target: { issuer: group.issuer, origins: group.origins, rp: group.hubs[0]!.ready.rp },
  }));
  const http = new Http(128);
  const out: Record<Setup['name'], unknown[]> = { memory: [], redis_two_processes: [] };
  try {
    // Warm-up: a few sign-ins on each setup, not counted.
    await Promise.all(setups.map((s) => runRound(http, s, appUrl, 4, 0.5, [])));
    for (const c of concurrencies) {
      const results = new Map<Setup['name'], { rounds: RoundResult[]; all: Timings[] }>();
      for (const s of setups) results.set(s.name, { rounds: [], all: [] });
      for (let r = 0; r < rounds; r++) {
        for (const s of setups) {
          const acc = results.get(s.name)!;
          const res = await runRound(http, s, appUrl, c, seconds, acc.all);
          acc.rounds.push(res);
          note(`signins ${s.name} c=${c} round ${r + 1}/${rounds}: ${round(res.completed / res.elapsedS, 2)}/s (${res.completed} in ${round(res.elapsedS, 1)} s, ${res.errors} errors)`);
        }
      }
      for (const s of setups) {
        const acc = results.get(s.name)!;
        out[s.name].push(summarize(c, acc.rounds, acc.all));
      }
    }
  } finally {
    await http.close();
  }
  return {
    method:
      `Whole sign-ins over HTTP from the parent process (undici pools, one cookie jar per sign-in): GET /auth -> chooser -> chooser POST ` +
      `(authorize_chooser), the BankID page that starts the order (order_start), the status JSON polled ${POLL_DELAY_MS} ms after each answer ` +
      `as login.js does (status_poll), GET /login/:uid/complete -> /auth/:uid resume -> the RP callback (completion), POST /token ` +
      `(token). Approval: the simulated app's JSON API POST /scan with the qr of the first status answer (as a phone camera would read ` +
      `it) and a distinct valid personnummer per sign-in, not autoApproveMs, so the hub's QR frames are exercised. Concurrency c = c ` +
      `workers running sign-ins back to back for ${seconds} s (the sign-in in progress at the end is finished and counted); ` +
      `sign-ins/s = completed / wall time; ${rounds} round(s) per setup and concurrency, interleaved memory, redis, memory, redis; ` +
      `median over rounds. Setups: one hub process on the memory store; two hub processes on one Redis with every request of a ` +
      `browser alternating between them. The BankID simulator runs in its own process. Latencies are per request chain of the step, ` +
      `p50/p99 over every sign-in of all rounds. hub_cpu_ms_per_signin: CPU time of the hub process(es) over the rounds / sign-ins ` +
      `(process.cpuUsage, all threads); hub_event_loop_p99_ms: the worst hub process's event-loop delay p99, median over rounds.`,
    collect_interval_bound:
      'BankID is collected at most once per order per 2 s (Store lease), and the first collect happens when the BankID page loads, ' +
      'before the person can scan; the collect that sees the approval can only come 2 s later. So every sign-in takes at least ~2 s ' +
      'plus one poll delay, and c concurrent sign-ins cannot exceed about c / 2 per second whatever the hub\'s capacity. ' +
      'bound_by_latency_per_s = c / median whole-sign-in time shows how close each figure is to that ceiling.',
    memory: out.memory,
    redis_two_processes: out.redis_two_processes,
  };
}
