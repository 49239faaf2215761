/**
 * Shared pieces of the benchmarks: statistics, child processes spoken to over IPC, an HTTP client with
 * per-session cookie jars on undici pools, and small utilities (personal numbers, temporary directories).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { luhnCheckDigit } from '../adapters/bankid/simulator/persons.ts';

export { sleep };

export const ROOT = resolve(import.meta.dirname, '..');
export const BENCH_DIR = import.meta.dirname;

// ---- statistics ------------------------------------------------------------------------------------

/** Nearest-rank quantile of an already sorted array. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export function latency(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50_ms: round(quantileSorted(s, 0.5)), p99_ms: round(quantileSorted(s, 0.99)), max_ms: round(s.at(-1) ?? Number.NaN) };
}

// ---- output ------------------------------------------------------------------------------------------

/** Progress lines go to stderr; stdout carries only the final JSON document. */
export function note(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---- child processes -----------------------------------------------------------------------------

export interface IpcRequest {
  id: number;
  op: string;
  args?: unknown;
}

export type IpcReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface ChildHandle<R = Record<string, unknown>> {
  name: string;
  child: ChildProcess;
  /** What the child sent in its `ready` message. */
  ready: R;
  call<T = unknown>(op: string, args?: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** The node binary running this process (Node 24 from node_modules when started through npm). */
export const NODE = process.execPath;

/**
 * Forks a bench child (a .ts file run by this same node) and waits for its `{ type: 'ready' }` message.
 * The child's stderr is kept and shown when it fails to start.
 */
export function spawnChild<R = Record<string, unknown>>(name: string, script: string, env: Record<string, string>, options: { exposeGc?: boolean; timeoutMs?: number; execArgv?: string[] } = {}): Promise<ChildHandle<R>> {
  return new Promise((resolveChild, reject) => {
    const child = fork(join(BENCH_DIR, script), [], {
      cwd: ROOT,
      execPath: NODE,
      execArgv: [...(options.exposeGc ? ['--expose-gc'] : []), ...(options.execArgv ?? [])],
      // The V8 code cache makes the many child starts of a run cheaper; it changes nothing else.
      env: { NODE_COMPILE_CACHE: join(tmpdir(), 'idnav-bench-compile-cache'), ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    let nextId = 1;
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
    let exited = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.timeoutMs ?? 60_000} ms: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('message', (raw) => {
      const msg = raw as { type?: string } & IpcReply;
      if (msg.type === 'ready') {
        clearTimeout(timer);
        resolveChild(handle(msg as unknown as R));
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${name}: ${msg.error}`));
    });
    child.once('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${name} exited (${code ?? signal}): ${stderr}`));
      }
      pending.clear();
      reject(new Error(`${name} exited before it was ready (${code ?? signal}): ${stderr}`));
    });

    function handle(ready: R): ChildHandle<R> {
      return {
        name,
        child,
        ready,
        call<T>(op: string, args?: unknown, timeoutMs = 300_000): Promise<T> {
          if (exited) return Promise.reject(new Error(`${name} has exited: ${stderr}`));
          const id = nextId++;
          return new Promise<T>((res, rej) => {
            const t = setTimeout(() => {
              pending.delete(id);
              rej(new Error(`${name}: ${op} timed out after ${timeoutMs} ms`));
            }, timeoutMs);
            pending.set(id, { resolve: res as (v: unknown) => void, reject: rej, timer: t });
            child.send({ id, op, args } satisfies IpcRequest);
          });
        },
        async stop() {
          if (exited) return;
          const gone = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await gone;
          clearTimeout(killTimer);
        },
      };
    }
  });
}

/** Child side: answers IPC requests with the given handlers and tells the parent it is ready. */
export function serveIpc(handlers: Record<string, (args: never) => unknown>, ready: Record<string, unknown>): void {
  process.on('message', (raw) => {
    const req = raw as IpcRequest;
    const h = handlers[req.op];
    if (!h) {
      process.send!({ id: req.id, ok: false, error: `unknown op ${req.op}` } satisfies IpcReply);
      return;
    }
    Promise.resolve()
      .then(() => h(req.args as never))
      .then(
        (result) => process.send!({ id: req.id, ok: true, result } satisfies IpcReply),
        (err: unknown) => process.send!({ id: req.id, ok: false, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) } satisfies IpcReply),
      );
  });
  process.send!({ type: 'ready', ...ready });
  // The parent going away ends the child; nothing else keeps it alive by accident.
  process.on('disconnect', () => process.exit(0));
}

/** A CPU profile of this process between start() and stop(), through the inspector (child side). */
export class Profiler {
  #session: Session | undefined;

  async start(): Promise<void> {
    this.#session = new Session();
    this.#session.connect();
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.setSamplingInterval', { interval: 250 });
    await this.#session.post('Profiler.start');
  }

  async stop(file: string): Promise<string> {
    const s = this.#session;
    if (!s) return '';
    const { profile } = await s.post('Profiler.stop');
    s.disconnect();
    this.#session = undefined;
    writeFileSync(file, JSON.stringify(profile));
    return file;
  }
}

// ---- HTTP with cookie jars -----------------------------------------------------------------------------

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** A browser's cookies for one origin host (ports ignored, as browsers do), with path matching. */
export class Jar {
  readonly cookies: Cookie[] = [];

  header(path: string): string {
    return this.cookies
      .filter((c) => c.path === '/' || path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  store(requestPath: string, setCookie: string | string[] | undefined): void {
    if (!setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      let path = requestPath.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const eq = a.indexOf('=');
        const k = (eq < 0 ? a : a.slice(0, eq)).trim().toLowerCase();
        const v = eq < 0 ? '' : a.slice(eq + 1).trim();
        if (k === 'path' && v) path = v;
        if (k === 'max-age' && Number(v) <= 0) expired = true;
        if (k === 'expires' && v && new Date(v).getTime() < Date.now()) expired = true;
      }
      const idx = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (idx >= 0) this.cookies.splice(idx, 1);
      if (!expired) this.cookies.push({ name, value, path });
    }
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  location?: string;
}

/** undici pools per origin, shared by every simulated browser of a benchmark. */
export class Http {
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;

  constructor(connections = 64) {
    this.#connections = connections;
  }

  pool(origin: string): Pool {
    let p = this.#pools.get(origin);
    if (!p) {
      p = new Pool(origin, { connections: this.#connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
      this.#pools.set(origin, p);
    }
    return p;
  }

  async request(url: URL, init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string; jar?: Jar } = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) idnav-bench', ...init.headers };
    if (init.jar) {
      const cookie = init.jar.header(url.pathname);
      if (cookie) headers.cookie = cookie;
    }
    const res = await this.pool(url.origin).request({ path: `${url.pathname}${url.search}`, method: init.method ?? 'GET', headers, body: init.body ?? null });
    const body = await res.body.text();
    if (init.jar) init.jar.store(url.pathname, res.headers['set-cookie']);
    const location = res.headers.location;
    return { status: res.statusCode, headers: res.headers, body, ...(typeof location === 'string' ? { location } : {}) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}

/** Reads an HTML attribute (first match after `near`, when given). */
export function attr(html: string, attribute: string, near?: string): string | undefined {
  const scope = near ? html.slice(Math.max(0, html.indexOf(near))) : html;
  const m = new RegExp(`${attribute}="([^"]*)"`).exec(scope);
  return m ? m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'") : undefined;
}

// ---- misc ------------------------------------------------------------------------------------------

/**
 * A valid, distinct 12-digit personnummer for every index (1950-01-01 plus i days, serial from i), so
 * that concurrent sign-ins never share a person (the simulated app cancels a person's other orders).
 */
export function personalNumber(i: number): string {
  const day = new Date(Date.UTC(1950, 0, 1) + (i % 20_000) * 86_400_000);
  const serial = String(100 + (Math.floor(i / 20_000) % 900)).padStart(3, '0');
  const yyyymmdd = day.toISOString().slice(0, 10).replace(/-/g, '');
  return `${yyyymmdd}${serial}${luhnCheckDigit(`${yyyymmdd.slice(2)}${serial}`)}`;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const BENCH_PKI_DIR = join(tmpdir(), 'idnav-bench-pki');

/** Runs `fn` on `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}
