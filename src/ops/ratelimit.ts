/**
 * Rate limits with counters in the Store (fixed windows), so every hub process counts together. A limit
 * of 0 is off. What is limited: starting sign-ins (each BankID or Freja order costs money and pushes to
 * a person's phone), token requests, and failed client authentications.
 */
import type { RateLimit } from '../config/types.ts';
import type { Store } from '../contracts/store.ts';
import type { Metrics } from './metrics.ts';

export type LimitName = 'signinStartsPerIp' | 'signinStartsPerPerson' | 'tokenRequestsPerClient' | 'failedClientAuthPerClient';

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

const BLOCK_NS = 'rate-block';

export class RateLimiter {
  readonly #store: Store;
  readonly #limits: Readonly<Record<LimitName, RateLimit>>;
  readonly #metrics: Metrics | undefined;

  constructor(store: Store, limits: Readonly<Record<LimitName, RateLimit>>, metrics?: Metrics) {
    this.#store = store;
    this.#limits = limits;
    this.#metrics = metrics;
  }

  /** Counts one request against `name` for `key`; refuses once the window's limit is passed. */
  async hit(name: LimitName, key: string): Promise<Verdict> {
    const limit = this.#limits[name];
    if (!limit.limit) return { ok: true };
    const count = await this.#store.increment(`rl:${name}:${key}`, limit.windowSeconds);
    if (count <= limit.limit) return { ok: true };
    this.#metrics?.rateLimited.inc({ limit: name });
    return { ok: false, retryAfterSeconds: limit.windowSeconds };
  }

  /**
   * Counts a failure (e.g. a failed client authentication); past the limit, `key` is blocked for the
   * window, checked with {@link blocked} before the work is done.
   */
  async failure(name: LimitName, key: string): Promise<void> {
    const limit = this.#limits[name];
    if (!limit.limit) return;
    const count = await this.#store.increment(`rl:${name}:${key}`, limit.windowSeconds);
    if (count > limit.limit) await this.#store.put(BLOCK_NS, `${name}:${key}`, { until: Date.now() + limit.windowSeconds * 1000 }, limit.windowSeconds);
  }

  async blocked(name: LimitName, key: string): Promise<Verdict> {
    if (!this.#limits[name].limit) return { ok: true };
    const block = await this.#store.get<{ until: number }>(BLOCK_NS, `${name}:${key}`);
    if (!block) return { ok: true };
    this.#metrics?.rateLimited.inc({ limit: name });
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((block.until - Date.now()) / 1000)) };
  }
}
