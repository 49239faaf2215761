/**
 * Compares two benchmark documents figure by figure:
 *
 *   node bench/compare.ts bench/results/<earlier>.json [bench/results/latest.json]
 *
 * Prints every headline figure of both with the ratio new / old, and says which direction is better.
 * Only compare documents of the same mode (quick or full) taken on the same machine; look at both
 * documents' machine.load_average_* before trusting a difference of a few per cent.
 */
import { readFileSync } from 'node:fs';

type Doc = Record<string, unknown>;

const [oldFile, newFile = 'bench/results/latest.json'] = process.argv.slice(2);
if (!oldFile) {
  process.stderr.write('usage: node bench/compare.ts OLD.json [NEW.json]\n');
  process.exit(2);
}
const oldDoc = JSON.parse(readFileSync(oldFile, 'utf8')) as Doc;
const newDoc = JSON.parse(readFileSync(newFile, 'utf8')) as Doc;

function get(doc: Doc, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => {
    if (o === null || o === undefined) return undefined;
    if (Array.isArray(o)) {
      const [field, value] = k.split('=');
      return value === undefined ? o[Number(k)] : o.find((x) => String((x as Record<string, unknown>)[field!]) === value);
    }
    return typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  }, doc);
}

/** [label, path, 'higher' | 'lower' is better] */
const FIGURES: Array<[string, string, 'higher' | 'lower']> = [
  ['token: idnav exchanges/s', 'token_endpoint.idnav_per_s', 'higher'],
  ['token: bare exchanges/s', 'token_endpoint.bare_per_s', 'higher'],
  ['token: ratio idnav/bare', 'token_endpoint.ratio', 'higher'],
  ['token: idnav server CPU ms/exchange', 'token_endpoint.server_cpu_ms_per_exchange.idnav', 'lower'],
];
for (const setup of ['memory', 'redis_two_processes']) {
  for (const c of [1, 8, 64]) {
    FIGURES.push([`sign-ins ${setup} c=${c} per s`, `signins.${setup}.concurrency=${c}.signins_per_s`, 'higher']);
    FIGURES.push([`sign-ins ${setup} c=${c} status p99 ms`, `signins.${setup}.concurrency=${c}.latency.status_poll.p99_ms`, 'lower']);
    FIGURES.push([`sign-ins ${setup} c=${c} order start p99 ms`, `signins.${setup}.concurrency=${c}.latency.order_start.p99_ms`, 'lower']);
  }
}
FIGURES.push(['pending: count with p99 < 50 ms', 'pending_orders.count', 'higher']);
for (const count of [1000, 2000, 5000, 10_000]) {
  FIGURES.push([`pending ${count}: event-loop p99 ms`, `pending_orders.sweep.count=${count}.event_loop_p99_ms`, 'lower']);
  FIGURES.push([`pending ${count}: RSS MB`, `pending_orders.sweep.count=${count}.rss_mb`, 'lower']);
  FIGURES.push([`pending ${count}: status answers/s`, `pending_orders.sweep.count=${count}.status_rps`, 'higher']);
  FIGURES.push([`pending ${count}: collects/s`, `pending_orders.sweep.count=${count}.collect_per_s`, 'higher']);
  FIGURES.push([`pending ${count}: hub CPU ms/status`, `pending_orders.sweep.count=${count}.hub_cpu_ms_per_status`, 'lower']);
}
FIGURES.push(['pending two processes: event-loop p99 ms', 'pending_orders.two_processes.event_loop_p99_ms', 'lower']);
FIGURES.push(['pending two processes: collects/s', 'pending_orders.two_processes.collect_per_s', 'higher']);
FIGURES.push(['discovery per s', 'discovery_jwks.discovery_per_s', 'higher']);
FIGURES.push(['jwks per s', 'discovery_jwks.jwks_per_s', 'higher']);
FIGURES.push(['per sign-in: memory store heap B', 'memory_per_session.memory_store.heap_bytes_per_signin', 'lower']);
FIGURES.push(['per sign-in: memory store RSS B', 'memory_per_session.memory_store.rss_bytes_per_signin', 'lower']);
FIGURES.push(['per sign-in: Redis store keys B', 'memory_per_session.redis_store.store_keys_bytes_per_signin', 'lower']);
FIGURES.push(['per sign-in: Redis used_memory B', 'memory_per_session.redis_store.used_memory_bytes_per_signin', 'lower']);
FIGURES.push(['per sign-in: held after 30 days B', 'memory_per_session.redis_store.still_held_bytes_per_signin.after_30_days', 'lower']);

// Piped into `head`, the reader may go away early: that is not an error.
process.stdout.on('error', () => process.exit(0));

const m = (d: Doc) => (d.machine ?? {}) as Record<string, unknown>;
process.stdout.write(
  `old: ${oldFile} (${String(m(oldDoc).mode)}, ${String(m(oldDoc).date)}, commit ${String(m(oldDoc).commit)}, load ${JSON.stringify(m(oldDoc).load_average_at_start)})\n` +
    `new: ${newFile} (${String(m(newDoc).mode)}, ${String(m(newDoc).date)}, commit ${String(m(newDoc).commit)}, load ${JSON.stringify(m(newDoc).load_average_at_start)})\n`,
);
if (m(oldDoc).mode !== m(newDoc).mode) process.stdout.write('warning: the documents were taken in different modes (quick / full)\n');
const rows: string[][] = [['figure', 'old', 'new', 'new/old', '']];
for (const [label, path, better] of FIGURES) {
  const a = get(oldDoc, path);
  const b = get(newDoc, path);
  if (typeof a !== 'number' && typeof b !== 'number') continue;
  const ratio = typeof a === 'number' && typeof b === 'number' && a !== 0 ? b / a : Number.NaN;
  const verdict = !Number.isFinite(ratio) || Math.abs(ratio - 1) < 0.05 ? '' : (ratio > 1) === (better === 'higher') ? 'better' : 'worse';
  rows.push([label, String(a ?? '-'), String(b ?? '-'), Number.isFinite(ratio) ? ratio.toFixed(3) : '-', verdict]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`);
