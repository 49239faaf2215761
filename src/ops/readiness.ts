/**
 * `/readyz`: whether this process can serve sign-ins. The hub's own needs (the Store, signing keys) decide
 * readiness; each e-ID service and the registry are checked and reported too, but one of them being down
 * does not take the hub out of a load balancer (every process would fail it alike, and the other
 * methods still work): the answer is then `degraded`.
 */
import type { EidAdapter } from '../contracts/eid.ts';
import type { Store } from '../contracts/store.ts';
import type { Logger } from '../log.ts';
import type { HubSecrets } from '../provider/secrets.ts';
import type { Registry } from '../registry/registry.ts';

export interface Readiness {
  ready: boolean;
  status: 'ready' | 'degraded' | 'not-ready';
  checks: Record<string, string>;
}

const CHECK_TIMEOUT_MS = 3000;
/** Upstream checks are cached this long, so probes every few seconds do not hammer BankID or Navet. */
const UPSTREAM_CACHE_MS = 15_000;

async function withTimeout(fn: (signal: AbortSignal) => Promise<void>): Promise<string> {
  const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
  try {
    await Promise.race([
      fn(signal),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), { once: true })),
    ]);
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return `error: ${e.code ?? ''}${e.code ? ' ' : ''}${(e.message ?? String(err)).slice(0, 200)}`.trim();
  }
}

export function readiness(deps: {
  store: Store;
  methods: ReadonlyMap<string, EidAdapter>;
  registry: Registry | undefined;
  secrets: HubSecrets;
  log: Logger;
  /** How long upstream results are reused (default 15 s). */
  upstreamCacheMs?: number;
  /** The certificates the hub uses or trusts (expired ones make the answer degraded). */
  certificates?: () => ReadonlyArray<{ file: string; notAfter: number }>;
}): () => Promise<Readiness> {
  const cacheMs = deps.upstreamCacheMs ?? UPSTREAM_CACHE_MS;
  let upstream: { at: number; checks: Record<string, string> } | undefined;
  let inflight: Promise<Record<string, string>> | undefined;

  async function upstreamChecks(): Promise<Record<string, string>> {
    const now = Date.now();
    if (upstream && now - upstream.at < cacheMs) return upstream.checks;
    inflight ??= (async () => {
      const entries = await Promise.all([
        ...[...deps.methods.values()].map(async (m) => [`method:${m.id}`, await withTimeout((signal) => m.health(signal))] as const),
        ...(deps.registry ? [(async () => ['registry', await withTimeout(() => deps.registry!.health())] as const)()] : []),
      ]);
      const checks = Object.fromEntries(entries);
      upstream = { at: Date.now(), checks };
      for (const [name, result] of entries) if (result !== 'ok') deps.log.warn({ check: name, result }, 'readiness: upstream check failed');
      return checks;
    })().finally(() => (inflight = undefined));
    return inflight;
  }

  return async () => {
    const own: Record<string, string> = {
      store: await withTimeout(() => deps.store.ping()),
      keys: deps.secrets.signingKeys.some((k) => k.status === 'active') ? 'ok' : 'error: no active signing key',
    };
    const others = { ...(await upstreamChecks()) };
    if (deps.certificates) {
      const expired = deps.certificates().filter((c) => c.notAfter <= Date.now());
      others.certificates = expired.length ? `error: expired: ${[...new Set(expired.map((c) => c.file))].join(', ')}` : 'ok';
    }
    const ready = Object.values(own).every((v) => v === 'ok');
    const degraded = Object.values(others).some((v) => v !== 'ok');
    return { ready, status: !ready ? 'not-ready' : degraded ? 'degraded' : 'ready', checks: { ...own, ...others } };
  };
}
