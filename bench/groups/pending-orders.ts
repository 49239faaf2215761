/**
 * pending_orders: how many concurrent pending BankID orders one hub process holds while every order's
 * page polls the status JSON as login.js does (the next poll 1 s after each answer), with the start of
 * every order's polling spread evenly over a second. Measured per count: the hub process's RSS and
 * event-loop delay p99 (inside the hub), the status requests answered per second, and the collects per
 * second the simulator received (from its /control/stats), which must be count / 2 and never more.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import QRCode from 'qrcode';
import { LONG_ORDERS, profiled, startHubs, startSim, type HubGroup, type RunContext, type Sim } from '../env.ts';
import { BenchBrowser, FlowError, openBankIdPage, pkce, type Target } from '../flow.ts';
import { Http, latency, mapLimit, median, note, quantile, round } from '../lib.ts';

const POLL_DELAY_MS = 1000;
const CREATE_CONCURRENCY = 32;
/** The hub gives up on an order 4 minutes after it started (ORDER_DEADLINE_MS in src/login/routes.ts). */
const HUB_ORDER_DEADLINE_MS = 240_000;
const EVENT_LOOP_TARGET_MS = 50;

interface Session {
  /** Cookie header of the status URL (fixed for the session's life). */
  cookie: string;
  statusPath: string;
  createdAt: number;
  /** Index into the group's origins of the next request (alternates when there are several). */
  turn: number;
}

interface HubStats {
  rss: number;
  heapUsed: number;
  loop: { p50_ms: number; p99_ms: number; max_ms: number; mean_ms: number; samples: number };
  cpu_ms: number;
  wall_ms: number;
}

interface SimStats {
  calls: Record<string, number>;
  collects: Record<string, number[]>;
}

async function createSessions(http: Http, group: HubGroup, n: number, offset: number): Promise<{ sessions: Session[]; errors: number; seconds: number }> {
  const target: Target = { issuer: group.issuer, origins: group.origins, rp: group.hubs[0]!.ready.rp };
  let errors = 0;
  const t0 = performance.now();
  const made = await mapLimit(Array.from({ length: n }, (_, i) => i), CREATE_CONCURRENCY, async (i) => {
    const b = new BenchBrowser(http, target, offset + i);
    try {
      const opened = await openBankIdPage(b, target, pkce(), `pending-${offset + i}`);
      if (!opened.statusPath) throw new FlowError('the order completed at once');
      return { cookie: b.jar.header(new URL(opened.statusPath, group.issuer).pathname), statusPath: opened.statusPath, createdAt: Date.now(), turn: offset + i };
    } catch (err) {
      if (!(err instanceof FlowError)) throw err;
      if (errors++ < 3) note(`pending: creating a session failed: ${err.message}`);
      return undefined;
    }
  });
  return { sessions: made.filter((s): s is Session => !!s), errors, seconds: (performance.now() - t0) / 1000 };
}

interface PollResult {
  windowStart: number;
  windowEnd: number;
  answered: number;
  notPending: number;
  errors: number;
  latencies: number[];
  hubs: HubStats[];
  sampleBody: string;
  generator: { cpu_pct: number; event_loop_p99_ms: number };
}

/** Polls every session like its page would for warm-up + window seconds; hub stats cover the window only. */
async function poll(ctx: RunContext, http: Http, group: HubGroup, sessions: Session[], warmupS: number, windowS: number): Promise<PollResult> {
  const origins = group.origins;
  const pools = origins.map((o) => http.pool(o));
  const start = performance.now();
  const stopAt = start + (warmupS + windowS) * 1000 + 50;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let answered = 0;
  let notPending = 0;
  let errors = 0;
  const latencies: number[] = [];
  let sampleBody = '';
  const n = sessions.length;
  const loops = sessions.map(async (s, i) => {
    await sleep((i / n) * POLL_DELAY_MS);
    while (performance.now() < stopAt) {
      const k = s.turn++ % origins.length;
      const t = performance.now();
      try {
        const res = await pools[k]!.request({
          path: s.statusPath,
          method: 'GET',
          headers: { accept: 'application/json', cookie: s.cookie, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) idnav-bench' },
        });
        const body = await res.body.text();
        const done = performance.now();
        if (done >= windowStart && done <= windowEnd) {
          if (!sampleBody) sampleBody = body;
          answered++;
          latencies.push(done - t);
          if (res.statusCode !== 200 || !body.startsWith('{"status":"pending"')) {
            if (notPending++ < 3) note(`pending: a status answer was not pending: ${res.statusCode} ${body.slice(0, 160)}`);
          }
        }
      } catch (err) {
        if (errors++ < 3) note(`pending: status request failed: ${(err as Error).message}`);
      }
      await sleep(POLL_DELAY_MS);
    }
  });
  await sleep(warmupS * 1000);
  await Promise.all(group.hubs.map((h) => h.call('stats', { reset: true })));
  windowStart = performance.now();
  const wallStart = Date.now();
  const genLoop = monitorEventLoopDelay({ resolution: 5 });
  genLoop.enable();
  const genCpu = process.cpuUsage();
  await profiled(ctx, `pending-${group.hubs.length}p-${n}`, group.hubs, () => sleep(windowS * 1000));
  windowEnd = performance.now();
  const wallEnd = Date.now();
  genLoop.disable();
  const used = process.cpuUsage(genCpu);
  const generator = { cpu_pct: round((100 * (used.user + used.system)) / 1000 / (windowEnd - windowStart), 0), event_loop_p99_ms: round(genLoop.percentile(99) / 1e6, 1) };
  const hubs = await Promise.all(group.hubs.map((h) => h.call<HubStats>('stats')));
  await Promise.all(loops);
  return { windowStart: wallStart, windowEnd: wallEnd, answered, notPending, errors, latencies, hubs, sampleBody, generator };
}

async function simStats(http: Http, sim: Sim): Promise<SimStats> {
  const res = await http.request(new URL('/control/stats', sim.ready.env.IDNAV_BANKID_APP_URL));
  return JSON.parse(res.body) as SimStats;
}

function collectFigures(stats: SimStats, from: number, to: number) {
  let inWindow = 0;
  const intervals: number[] = [];
  for (const times of Object.values(stats.collects)) {
    let prev: number | undefined;
    for (const t of times) {
      if (t >= from && t < to) {
        inWindow++;
        if (prev !== undefined && prev >= from) intervals.push(t - prev);
      }
      prev = t;
    }
  }
  const seconds = (to - from) / 1000;
  return {
    collect_per_s: round(inWindow / seconds, 1),
    collect_interval_ms: {
      min: round(Math.min(...intervals), 0),
      p50: round(quantile(intervals, 0.5), 0),
      p99: round(quantile(intervals, 0.99), 0),
      under_2000: intervals.filter((x) => x < 2000).length,
      n: intervals.length,
    },
  };
}

/** What the status JSON looked like in this run (the server-rendered QR image is being moved to the browser). */
function statusShape(body: string) {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    return { bytes: Buffer.byteLength(body), fields: Object.keys(j), has_server_rendered_qr_image: typeof j.qrImage === 'string' };
  } catch {
    return { bytes: Buffer.byteLength(body), fields: [], has_server_rendered_qr_image: false };
  }
}

/**
 * The cost of one server-rendered QR frame as src/login/routes.ts renders it (QRCode.toString, SVG,
 * error correction L, margin 2, then base64) for BankID-shaped payloads, median of 300 renders here.
 */
async function qrSvgRenderMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 330; i++) {
    const payload = `bankid.${randomUUID()}.${i % 30}.${createHmac('sha256', 'k').update(String(i)).digest('hex')}`;
    const t = performance.now();
    Buffer.from(await QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })).toString('base64');
    if (i >= 30) times.push(performance.now() - t);
  }
  return round(median(times), 3);
}

/** Orders one fully busy hub process could answer at one poll per second, from its CPU time per status answer. */
function capacityEstimate(sweep: Array<{ hub_cpu_ms_per_status: number }>): number | null {
  const perStatus = sweep.map((s) => s.hub_cpu_ms_per_status).filter((x) => x > 0);
  return perStatus.length ? round(1000 / median(perStatus), 0) : null;
}

/**
 * The hub holds a count when its event-loop p99 stays under 50 ms and it answers the pages' polls at
 * their pace (at least 95 % of one answer per order per second): a saturated process can show a low
 * event-loop p99 while requests queue in front of it.
 */
function holds(s: { event_loop_p99_ms: number; status_rps: number; count: number }): boolean {
  return s.event_loop_p99_ms < EVENT_LOOP_TARGET_MS && s.status_rps >= 0.95 * s.count;
}

const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

const mb = (bytes: number) => round(bytes / 1048576, 1);

async function measure(ctx: RunContext, http: Http, sim: Sim, group: HubGroup, sessions: Session[], warmupS: number, windowS: number) {
  const count = sessions.length;
  const r = await poll(ctx, http, group, sessions, warmupS, windowS);
  const collects = collectFigures(await simStats(http, sim), r.windowStart, r.windowEnd);
  const seconds = (r.windowEnd - r.windowStart) / 1000;
  const worst = r.hubs.reduce((a, h) => (h.loop.p99_ms > a.loop.p99_ms ? h : a));
  return {
    count,
    rss_mb: mb(Math.max(...r.hubs.map((h) => h.rss))),
    event_loop_p99_ms: worst.loop.p99_ms,
    collect_per_s: collects.collect_per_s,
    expected_collect_per_s: count / 2,
    status_rps: round(r.answered / seconds, 1),
    expected_status_rps: round(count / (POLL_DELAY_MS / 1000), 1),
    /** A page polls 1 s after each answer, so its period is 1 s plus the answer's latency. */
    expected_status_rps_at_page_cadence: round(count / ((POLL_DELAY_MS + meanOf(r.latencies)) / 1000), 1),
    /** Collects per two answered polls: 1.0 when the lease lets exactly one collect through per 2 s of polling. */
    collects_per_two_polls: round(collects.collect_per_s / (r.answered / seconds / 2), 3),
    status_latency: latency(r.latencies),
    event_loop_max_ms: worst.loop.max_ms,
    heap_used_mb: mb(Math.max(...r.hubs.map((h) => h.heapUsed))),
    hub_cpu_pct: r.hubs.map((h) => round((100 * h.cpu_ms) / h.wall_ms, 0)),
    /** Hub CPU time per answered status request (the collects it drives included): the figure machine load disturbs least. */
    hub_cpu_ms_per_status: round(r.hubs.reduce((a, h) => a + h.cpu_ms, 0) / Math.max(1, r.answered), 3),
    collect_interval_ms: collects.collect_interval_ms,
    status_json: statusShape(r.sampleBody),
    load_generator: r.generator,
    not_pending_answers: r.notPending,
    request_errors: r.errors,
    ...(r.hubs.length > 1
      ? { processes: r.hubs.map((h) => ({ rss_mb: mb(h.rss), event_loop_p99_ms: h.loop.p99_ms, event_loop_max_ms: h.loop.max_ms, cpu_pct: round((100 * h.cpu_ms) / h.wall_ms, 0) })) }
      : {}),
  };
}

const SIM_OPTIONS = LONG_ORDERS;

/**
 * Counts are measured in ascending order on one hub process, adding sessions between measurements;
 * the hub and simulator are started afresh when the oldest order would reach the hub's 4-minute order
 * deadline before the next measurement ends.
 */
export async function pendingOrders(ctx: RunContext) {
  const counts = ctx.quick ? [1000, 2000] : [1000, 2000, 5000, 10_000];
  const windowS = ctx.quick ? 10 : 20;
  const warmupS = 3;
  const twoProcessCount = ctx.quick ? 500 : 2000;
  const http = new Http(256);
  const sweep: Array<Awaited<ReturnType<typeof measure>> & { holds: boolean; create_s: number; create_errors: number; fresh_processes: boolean }> = [];
  let sim: Sim | undefined;
  let group: HubGroup | undefined;
  let sessions: Session[] = [];
  let createRate = 200;
  let stoppedEarly = '';
  try {
    for (const count of counts) {
      const toCreate = count - sessions.length;
      const oldest = sessions[0]?.createdAt ?? Date.now();
      const expectedEnd = Date.now() + (toCreate / createRate + warmupS + windowS + 10) * 1000;
      let fresh = false;
      if (!group || expectedEnd - oldest > HUB_ORDER_DEADLINE_MS - 20_000) {
        await group?.stop();
        await sim?.stop();
        sim = await startSim('pending-sim', SIM_OPTIONS);
        group = await startHubs(ctx, `pending-${count}`, sim, 'memory');
        sessions = [];
        fresh = true;
      }
      const need = count - sessions.length;
      const created = await createSessions(http, group, need, sessions.length);
      sessions.push(...created.sessions);
      createRate = Math.max(20, need / created.seconds);
      note(`pending: ${sessions.length} sessions (${need} created in ${round(created.seconds, 1)} s, ${created.errors} failed); polling ${warmupS} + ${windowS} s`);
      const m = await measure(ctx, http, sim!, group, sessions, warmupS, windowS);
      sweep.push({ ...m, holds: holds(m), create_s: round(created.seconds, 1), create_errors: created.errors, fresh_processes: fresh });
      note(`pending ${count}: p99 ${m.event_loop_p99_ms} ms, rss ${m.rss_mb} MB, ${m.status_rps} status/s (of ${m.expected_status_rps}), ${m.collect_per_s} collects/s (of ${m.expected_collect_per_s})`);
      if (m.event_loop_p99_ms > 10 * EVENT_LOOP_TARGET_MS && count !== counts.at(-1)) {
        stoppedEarly = `stopped after ${count}: event-loop p99 ${m.event_loop_p99_ms} ms is far past ${EVENT_LOOP_TARGET_MS} ms; larger counts would only queue`;
        note(`pending: ${stoppedEarly}`);
        break;
      }
    }
    await group?.stop();
    await sim?.stop();
    group = undefined;

    // Two hub processes sharing Redis, a browser's requests alternating between them.
    sim = await startSim('pending-sim-2p', SIM_OPTIONS);
    group = await startHubs(ctx, 'pending-2p', sim, 'redis', 2);
    const created = await createSessions(http, group, twoProcessCount, 0);
    note(`pending two processes: ${created.sessions.length} sessions in ${round(created.seconds, 1)} s; polling ${warmupS} + ${windowS} s`);
    const twoM = await measure(ctx, http, sim, group, created.sessions, warmupS, windowS);
    const two = { ...twoM, holds: holds(twoM), create_s: round(created.seconds, 1), create_errors: created.errors };
    note(`pending two processes ${twoProcessCount}: p99 ${two.event_loop_p99_ms} ms, ${two.status_rps} status/s, ${two.collect_per_s} collects/s (of ${two.expected_collect_per_s})`);

    const qrMs = await qrSvgRenderMs();
    const passing = sweep.filter(holds);
    const best = passing.at(-1);
    type Figures = { count: number; collect_per_s: number; expected_collect_per_s: number; collect_interval_ms: { min: number; under_2000: number } };
    const neverMore = (s: Figures) => s.collect_per_s <= s.expected_collect_per_s * 1.01 && s.collect_interval_ms.under_2000 === 0;
    const exact = (s: Figures) => neverMore(s) && s.collect_per_s >= s.expected_collect_per_s * 0.97;
    const all: Figures[] = [...sweep, two];
    return {
      count: best?.count ?? 0,
      rss_mb: best?.rss_mb ?? null,
      event_loop_p99_ms: best?.event_loop_p99_ms ?? null,
      collect_per_s: best?.collect_per_s ?? null,
      targets: {
        'one process holds >= 2000 pending orders (event-loop p99 < 50 ms, polls answered at their pace)': (best?.count ?? 0) >= 2000,
        capacity_estimate_orders_per_process: capacityEstimate(sweep),
        'collects never more than count/2 per s, no order collected twice within 2 s (every count)': all.every(neverMore),
        'collects equal count/2 per s (within 3 %) at every count': all.every(exact),
        collects_short_of_count_over_2_at: all.filter((s) => !exact(s)).map((s) => s.count),
      },
      ...(stoppedEarly ? { stopped_early: stoppedEarly } : {}),
      qr_svg_render_ms_per_frame: qrMs,
      method:
        `Sessions are created before the window with at most ${CREATE_CONCURRENCY} at a time, each with its own cookie jar ` +
        `(GET /auth -> chooser -> chooser POST -> the BankID page, which starts the order and collects it once). The BankID simulator runs in ` +
        `its own process (bench/simulator-process.ts: dev/simulators.ts's startSimulators with startWindowMs and orderLifetimeMs raised to ` +
        `1 h so orders stay pending). Every session then polls its status URL as login.js does: the next GET 1 s after each answer, the ` +
        `first polls spread evenly over one second; requests go through undici pools of 256 connections per hub process from the parent ` +
        `process. After ${warmupS} s of polling the hub's counters are reset and a ${windowS} s window is measured: RSS (process.memoryUsage) ` +
        `and event-loop delay p99 (perf_hooks.monitorEventLoopDelay, 5 ms resolution) inside the hub process (bench/hub-process.ts, IPC), ` +
        `status answers per second at the load generator, and the collects per second the simulator recorded in the window ` +
        `(GET /control/stats, per-order collect timestamps), with the interval between consecutive collects of one order. Counts are ` +
        `measured in ascending order on one hub process (memory store), sessions added between counts; hub and simulator are restarted ` +
        `only when the oldest order would otherwise pass the hub's 4-minute order deadline. count = the largest count the process ` +
        `holds: event-loop p99 < ${EVENT_LOOP_TARGET_MS} ms while it answers at least 95 % of one poll per order per second (a ` +
        `saturated process can keep a low event-loop p99 while polls queue in front of it, so p99 alone is not enough). ` +
        `capacity_estimate_orders_per_process = 1000 / median hub CPU ms per status answer: the orders a process with one full core ` +
        `would answer at one poll per second. load_generator gives the load generator's own CPU and event-loop delay (it shares the ` +
        `machine). A page polls 1 s after each answer, so even a perfect hub sees count / (1 s + latency) ` +
        `polls per second and count / (2 x that period) collects: collects_per_two_polls = 1.0 means the lease lets exactly one ` +
        `collect through per two polls, and a collect rate below count / 2 then comes from slow answers, not from the lease. ` +
        `The hub, the simulator and the load generator share the machine's cores, so the figures are ` +
        `those of a hub process that gets about one core.`,
      sweep,
      two_processes: {
        ...two,
        method:
          `The same measurement with ${twoProcessCount} sessions on two hub processes sharing one Redis; every request of a session ` +
          `alternates between the processes (the collect lease is shared through Redis). rss_mb and event_loop_p99_ms are the larger of ` +
          `the two processes; processes lists both.`,
      },
    };
  } finally {
    await group?.stop();
    await sim?.stop();
    await http.close();
  }
}
