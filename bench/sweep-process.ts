/**
 * The memory store's periodic sweep with many long-lived records, in its own process: fills a memory
 * Store with `records` evidence-sized records (what 90-day evidence retention accumulates), then
 * measures the event-loop delay over 5 s without a sweep and over a window that contains the store's
 * first sweep (30 s after the store was created). The fill must end well before that sweep.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryStore } from '../src/store/memory.ts';
import { serveIpc } from './lib.ts';

const SWEEP_INTERVAL_MS = 30_000;
const QUIET_MS = 5000;

serveIpc(
  {
    async run(args: { records: number; recordBytes: number }) {
      const t0 = performance.now();
      const store = createMemoryStore();
      const pad = 'x'.repeat(Math.max(0, args.recordBytes - 200));
      for (let i = 0; i < args.records; i++) {
        await store.put('evidence', `e-${i}`, { accountId: `account-${i % 5000}`, method: 'urn:idnav:method:bankid', authTime: 1_700_000_000 + i, evidence: { signature: pad } }, 7_776_000);
      }
      (globalThis as { gc?: () => void }).gc?.();
      const filled = performance.now();
      const heapMb = Math.round(process.memoryUsage().heapUsed / 1048576);
      const sweepAt = t0 + SWEEP_INTERVAL_MS;
      if (sweepAt - filled < QUIET_MS + 1000) {
        await store.close();
        return { records: args.records, heap_mb: heapMb, fill_s: Math.round((filled - t0) / 100) / 10, measured: false, reason: 'the fill took too long to measure before the first sweep' };
      }
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      await sleep(QUIET_MS);
      loop.disable();
      const quiet = loop.max / 1e6;
      loop.reset();
      loop.enable();
      await sleep(sweepAt - performance.now() + 2000);
      loop.disable();
      const withSweep = loop.max / 1e6;
      await store.close();
      return {
        records: args.records,
        heap_mb: heapMb,
        fill_s: Math.round((filled - t0) / 100) / 10,
        measured: true,
        event_loop_max_ms_without_sweep: Math.round(quiet * 10) / 10,
        event_loop_max_ms_with_sweep: Math.round(withSweep * 10) / 10,
        sweep_us_per_record: Math.round((withSweep * 1000 * 100) / args.records) / 100,
      };
    },
  },
  { pid: process.pid },
);
