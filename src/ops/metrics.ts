/**
 * Prometheus metrics (prom-client, a registry of the hub's own: nothing global). Labels never carry a
 * person: method, tenant, client, reason, hint and operation only.
 */
import client from 'prom-client';
import type { Store } from '../contracts/store.ts';
import type { RegistryStats } from '../registry/registry.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  readonly registry = new client.Registry();
  readonly signinsStarted: client.Counter<'method' | 'tenant' | 'client'>;
  readonly signinsCompleted: client.Counter<'method' | 'tenant' | 'client'>;
  readonly signinsFailed: client.Counter<'method' | 'tenant' | 'client' | 'reason'>;
  readonly eidHints: client.Counter<'method' | 'hint'>;
  readonly upstreamLatency: client.Histogram<'method' | 'operation' | 'outcome'>;
  readonly storeLatency: client.Histogram<'operation'>;
  readonly tokensIssued: client.Counter<'grant_type' | 'client'>;
  readonly rateLimited: client.Counter<'limit'>;
  readonly certificateExpiry: client.Gauge<'file' | 'subject'>;

  constructor(options: { registryStats?: () => RegistryStats } = {}) {
    const r = this.registry;
    client.collectDefaultMetrics({ register: r, prefix: 'idnav_process_' });
    this.signinsStarted = new client.Counter({ name: 'idnav_signins_started_total', help: 'Sign-ins started (an e-ID order or an IdP redirect)', labelNames: ['method', 'tenant', 'client'], registers: [r] });
    this.signinsCompleted = new client.Counter({ name: 'idnav_signins_completed_total', help: 'Sign-ins completed', labelNames: ['method', 'tenant', 'client'], registers: [r] });
    this.signinsFailed = new client.Counter({
      name: 'idnav_signins_failed_total',
      help: 'Sign-ins that ended without a person: reason is the hub error code',
      labelNames: ['method', 'tenant', 'client', 'reason'],
      registers: [r],
    });
    this.eidHints = new client.Counter({ name: 'idnav_eid_hints_total', help: 'Hint codes and statuses seen while polling e-ID orders', labelNames: ['method', 'hint'], registers: [r] });
    this.upstreamLatency = new client.Histogram({
      name: 'idnav_upstream_seconds',
      help: 'Time of calls to e-ID services and identity providers',
      labelNames: ['method', 'operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.storeLatency = new client.Histogram({ name: 'idnav_store_seconds', help: 'Time of the hub’s own Store operations', labelNames: ['operation'], buckets: STORE_BUCKETS, registers: [r] });
    this.tokensIssued = new client.Counter({ name: 'idnav_tokens_issued_total', help: 'Token endpoint successes by grant type', labelNames: ['grant_type', 'client'], registers: [r] });
    this.rateLimited = new client.Counter({ name: 'idnav_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['limit'], registers: [r] });
    const certificates = () => this.#certificates;
    this.certificateExpiry = new client.Gauge({
      name: 'idnav_certificate_expiry_seconds',
      help: 'Seconds until a certificate the hub uses or trusts expires (negative: expired)',
      labelNames: ['file', 'subject'],
      registers: [r],
      collect() {
        const now = Date.now();
        for (const c of certificates()) this.set({ file: c.file, subject: c.subject }, Math.round((c.notAfter - now) / 1000));
      },
    });
    const stats = options.registryStats;
    if (stats) {
      const gauge = (name: string, help: string, pick: (s: RegistryStats) => number) =>
        new client.Gauge({
          name,
          help,
          registers: [r],
          collect() {
            this.set(pick(stats()));
          },
        });
      gauge('idnav_registry_calls_total', 'Calls made to the population registry (each may cost money)', (s) => s.calls);
      gauge('idnav_registry_cache_hits_total', 'Registry lookups answered from the cache', (s) => s.cacheHits);
      gauge('idnav_registry_coalesced_total', 'Registry lookups that shared a call already in flight', (s) => s.coalesced);
      gauge('idnav_registry_withheld_total', 'Registry lookups of protected persons (nothing released)', (s) => s.withheld);
      gauge('idnav_registry_failures_total', 'Registry lookups that failed (registry unavailable)', (s) => s.failures);
    }
  }

  #certificates: ReadonlyArray<{ file: string; subject: string; notAfter: number }> = [];

  /** The certificates whose expiry the gauge reports (read once at start-up). */
  setCertificates(list: ReadonlyArray<{ file: string; subject: string; notAfter: number }>): void {
    this.#certificates = list;
  }

  /** Times `fn` as a call to an upstream service. */
  async timeUpstream<T>(method: string, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = this.upstreamLatency.startTimer({ method, operation });
    try {
      const out = await fn();
      end({ outcome: 'ok' });
      return out;
    } catch (err) {
      end({ outcome: 'error' });
      throw err;
    }
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const TIMED: ReadonlyArray<keyof Store> = ['get', 'put', 'create', 'update', 'consume', 'delete', 'increment', 'acquireLease', 'holdLease'];

/** The same Store, with its hub operations timed (oidc-provider's models are left as they are). */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const timed = new Set<PropertyKey>(TIMED);
  // One wrapper per method, made on first use (the Store's methods do not change).
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const cached = wrappers.get(prop);
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const histogram = metrics.storeLatency.labels({ operation: String(prop) });
      const wrapper = timed.has(prop)
        ? async (...args: unknown[]) => {
            const end = histogram.startTimer();
            try {
              return await fn.apply(target, args);
            } finally {
              end();
            }
          }
        : fn.bind(target);
      wrappers.set(prop, wrapper);
      return wrapper;
    },
  });
}
