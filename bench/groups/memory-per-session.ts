/**
 * memory_per_session: what a completed sign-in leaves behind, per sign-in, after many real sign-ins:
 * hub RSS and heap growth on the memory store, Redis used_memory growth (and the Store's own keys by
 * kind, with their remaining TTL) plus hub RSS growth on Redis.
 */
import { redisPrefixOf, startHubs, startSim, type HubGroup, type RunContext } from '../env.ts';
import { BenchBrowser, FlowError, signIn, type Target } from '../flow.ts';
import { Http, note, personalNumber, round, spawnChild } from '../lib.ts';
import { breakdown, connect, usedMemory, type KindFigures } from '../redis.ts';

const CONCURRENCY = 16;

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

async function fill(http: Http, group: HubGroup, appUrl: string, n: number, offset: number): Promise<{ done: number; errors: number; seconds: number }> {
  const target: Target = { issuer: group.issuer, origins: group.origins, rp: group.hubs[0]!.ready.rp };
  let next = 0;
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        try {
          await signIn(new BenchBrowser(http, target, i), target, { approve: 'auto', appUrl, personalNumber: personalNumber(offset + i), pollDelayMs: 250, http });
          done++;
        } catch (err) {
          if (!(err instanceof FlowError)) throw err;
          if (errors++ < 3) note(`memory: sign-in failed: ${err.message}`);
        }
      }
    }),
  );
  return { done, errors, seconds: (performance.now() - t0) / 1000 };
}

const gc = (g: HubGroup) => g.hubs[0]!.call<Mem>('gc');

/** Bytes per sign-in that are still held after `seconds`, from the kinds' remaining TTLs. */
function retained(kinds: Record<string, KindFigures & { bytes_per_signin: number }>, seconds: number): number {
  let sum = 0;
  for (const k of Object.values(kinds)) if (k.ttl_s_median < 0 || k.ttl_s_median > seconds) sum += k.bytes_per_signin;
  return round(sum, 0);
}

/** What a long-running memory-store process holding a month of evidence sees at each 30 s sweep. */
async function sweepCost(records: number) {
  const child = await spawnChild('sweep', 'sweep-process.ts', {}, { exposeGc: true });
  try {
    const out = await child.call<Record<string, unknown>>('run', { records, recordBytes: 3500 }, 180_000);
    return {
      ...out,
      method:
        `A memory Store in its own process filled with ${records} evidence-sized records (3.5 KB JSON, 90-day TTL: a month of ` +
        `evidence at 10,000 sign-ins a day), then monitorEventLoopDelay (1 ms resolution) over 5 s without a sweep and over a window ` +
        `containing the store's first 30 s sweep, which walks every record synchronously. The sweep's pause grows with the record ` +
        `count (sweep_us_per_record); 90 days at 10,000 sign-ins a day is 900,000 evidence records.`,
    };
  } finally {
    await child.stop();
  }
}

export async function memoryPerSession(ctx: RunContext) {
  const n = ctx.quick ? 1000 : 10_000;
  const chunks = 5;
  const warmup = ctx.quick ? 200 : 1000;
  const sim = await startSim('memory-sim', { autoApproveMs: 0 });
  const appUrl = sim.ready.env.IDNAV_BANKID_APP_URL!;
  const memory = await startHubs(ctx, 'memory-memory', sim, 'memory');
  const redis = await startHubs(ctx, 'memory-redis', sim, 'redis', 1);
  const prefix = redisPrefixOf(ctx, 'memory-redis');
  const r = connect(ctx.redisUrl);
  const http = new Http(CONCURRENCY * 2);
  try {
    await Promise.all([fill(http, memory, appUrl, warmup, 0), fill(http, redis, appUrl, warmup, 0)]);
    const memBefore = await gc(memory);
    const redisHubBefore = await gc(redis);
    const usedBefore = await usedMemory(r);
    const keysBefore = await breakdown(r, prefix);
    const fills = { memory: { done: 0, errors: 0, seconds: 0 }, redis: { done: 0, errors: 0, seconds: 0 } };
    for (let c = 0; c < chunks; c++) {
      // Both stores fill at the same time: what is measured is bytes, not speed.
      await Promise.all(
        ([['memory', memory], ['redis', redis]] as const).map(async ([name, group]) => {
          const f = await fill(http, group, appUrl, n / chunks, warmup + c * (n / chunks));
          fills[name].done += f.done;
          fills[name].errors += f.errors;
          fills[name].seconds += f.seconds;
        }),
      );
      note(`memory: ${fills.memory.done} + ${fills.redis.done} sign-ins (memory ${round(fills.memory.done / fills.memory.seconds, 1)}/s, redis ${round(fills.redis.done / fills.redis.seconds, 1)}/s)`);
    }
    const memAfter = await gc(memory);
    const redisHubAfter = await gc(redis);
    const usedAfter = await usedMemory(r);
    const keysAfter = await breakdown(r, prefix);
    const per = (a: number, b: number, count: number) => round((b - a) / count, 0);
    const kinds: Record<string, KindFigures & { bytes_per_signin: number; keys_per_signin: number }> = {};
    for (const [kind, f] of Object.entries(keysAfter.kinds)) {
      const before = keysBefore.kinds[kind];
      kinds[kind] = { ...f, keys_per_signin: round((f.keys - (before?.keys ?? 0)) / fills.redis.done, 3), bytes_per_signin: per(before?.bytes ?? 0, f.bytes, fills.redis.done) };
    }
    r.disconnect();
    await http.close();
    await Promise.all([memory.stop(), redis.stop()]);
    await sim.stop();
    const sweep = ctx.quick ? null : await sweepCost(300_000);
    const accountBytes = keysAfter.kinds['r:account'] ? round(keysAfter.kinds['r:account'].bytes / keysAfter.kinds['r:account'].keys, 0) : null;
    return {
      signins: { memory: fills.memory.done, redis: fills.redis.done },
      memory_store: {
        rss_bytes_per_signin: per(memBefore.rss, memAfter.rss, fills.memory.done),
        heap_bytes_per_signin: per(memBefore.heapUsed, memAfter.heapUsed, fills.memory.done),
        rss_mb: { before: round(memBefore.rss / 1048576, 1), after: round(memAfter.rss / 1048576, 1) },
        heap_mb: { before: round(memBefore.heapUsed / 1048576, 1), after: round(memAfter.heapUsed / 1048576, 1) },
        fill_signins_per_s: round(fills.memory.done / fills.memory.seconds, 1),
        errors: fills.memory.errors,
      },
      redis_store: {
        used_memory_bytes_per_signin: per(usedBefore, usedAfter, fills.redis.done),
        store_keys_bytes_per_signin: per(keysBefore.bytes, keysAfter.bytes, fills.redis.done),
        store_keys_per_signin: round((keysAfter.keys - keysBefore.keys) / fills.redis.done, 2),
        hub_rss_bytes_per_signin: per(redisHubBefore.rss, redisHubAfter.rss, fills.redis.done),
        hub_heap_bytes_per_signin: per(redisHubBefore.heapUsed, redisHubAfter.heapUsed, fills.redis.done),
        fill_signins_per_s: round(fills.redis.done / fills.redis.seconds, 1),
        errors: fills.redis.errors,
        by_kind: kinds,
        still_held_bytes_per_signin: {
          after_10_min: retained(kinds, 600),
          after_1_h: retained(kinds, 3600),
          after_8_h: retained(kinds, 8 * 3600),
          after_30_days: retained(kinds, 30 * 86_400),
        },
        account_record_bytes_per_distinct_person: accountBytes,
      },
      memory_store_sweep_with_many_records: sweep,
      method:
        `Real sign-ins over HTTP (authorize, chooser, BankID page, complete, resume, token exchange), ${CONCURRENCY} at a time, ` +
        `against a simulator with autoApproveMs: 0 (every order is complete at its first collect, so the BankID page goes straight to ` +
        `completion; the simulator approves as its default test person). One hub process on the memory store and one on Redis, ` +
        `${warmup} warm-up sign-ins each, then ${n} measured sign-ins per store in ${chunks} chunks, both stores filled at the same time ` +
        `(fill_signins_per_s is therefore the rate of each store while the other one also runs, not a capacity figure). ` +
        `Before and after: a full GC in the hub process (--expose-gc), then its RSS and heapUsed; Redis INFO memory used_memory (the ` +
        `whole server, so other users of the same Redis add noise) and MEMORY USAGE / PTTL of every key under this run's prefix (exact ` +
        `for the Store's own keys). Figures are (after - before) / sign-ins, measured right after the last sign-in, so short-lived ` +
        `records (codes 60 s, access tokens 600 s, leases 2 s) are still counted; by_kind gives each record kind with its remaining TTL, ` +
        `and still_held_bytes_per_signin what is left after 10 min, 1 h, 8 h and 30 days. Because the simulator approves as one person, ` +
        `the account record is written once and overwritten: a sign-in by a new person adds account_record_bytes_per_distinct_person.`,
    };
  } finally {
    r.disconnect();
    await http.close();
    await Promise.all([memory.stop(), redis.stop()]);
    await sim.stop();
  }
}
