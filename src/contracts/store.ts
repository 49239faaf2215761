/**
 * The Store contract: everything a hub process keeps between two HTTP requests.
 *
 * Two parts share one backend:
 * - provider models: oidc-provider's adapter contract, one {@link ModelStore} per model name
 *   (Session, AccessToken, AuthorizationCode, RefreshToken, Grant, Interaction, ...);
 * - hub records: namespaced JSON values with a TTL (login transactions, account data,
 *   evidence), plus atomic counters and leases.
 *
 * Every operation is atomic across processes sharing the backend. Values are plain JSON.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** oidc-provider's per-model adapter contract (see oidc-provider's `Adapter` interface). */
export interface ModelStore {
  /** Insert or replace; `expiresIn` is in seconds. Maintains the uid, userCode and grantId indexes. */
  upsert(id: string, payload: JsonObject, expiresIn: number): Promise<void>;
  find(id: string): Promise<JsonObject | undefined>;
  findByUid(uid: string): Promise<JsonObject | undefined>;
  findByUserCode(userCode: string): Promise<JsonObject | undefined>;
  /** Marks the record consumed (`consumed` = epoch seconds) without removing it. */
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Destroys every grantable record (tokens, codes) that carries this grantId, in this model or any other. */
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Thrown by {@link Store.update} when the record is missing (never silently creates one). */
export class StoreRecordMissing extends Error {
  override readonly name = 'StoreRecordMissing';
}

export interface Store {
  readonly kind: 'memory' | 'redis';

  /** The oidc-provider adapter for one model name. Same instance for the same name. */
  model(name: string): ModelStore;

  /** Create-if-absent. Resolves true when this call created the record, false when it already existed. */
  create(ns: string, id: string, value: JsonValue, ttlSeconds: number): Promise<boolean>;
  /** Insert or replace. */
  put(ns: string, id: string, value: JsonValue, ttlSeconds: number): Promise<void>;
  get<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined>;
  /**
   * Compare-and-set update. `updater` receives the current value and returns the next one (it may be
   * called more than once under contention, so it must be a pure function of its argument). Returning
   * `undefined` leaves the record unchanged. The TTL is kept unless `ttlSeconds` is given.
   * Resolves with the value written (or the unchanged current value); throws {@link StoreRecordMissing}
   * when there is no record.
   */
  update<T extends JsonValue = JsonValue>(
    ns: string,
    id: string,
    updater: (current: T) => T | undefined,
    ttlSeconds?: number,
  ): Promise<T>;
  /** One-shot read-and-delete: exactly one concurrent caller gets the value, the others `undefined`. */
  consume<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined>;
  delete(ns: string, id: string): Promise<void>;

  /** Atomic counter; the TTL starts with the first increment of a window. Resolves with the new count. */
  increment(key: string, ttlSeconds: number): Promise<number>;
  /** Takes a lease if nobody holds it. Resolves true for the caller that took it. */
  acquireLease(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Keeps a lease until `ttlMs` from now, whether or not it is still held: the holder calls it when the
   * work the lease guards has ended, so the next holder starts at least `ttlMs` after that work.
   */
  holdLease(key: string, ttlMs: number): Promise<void>;

  /** Throws when the backend cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
