/**
 * Single-process Store. Values are kept serialized so callers never share mutable objects with the
 * store, which matches what the Redis backend gives them.
 */
import { StoreRecordMissing } from '../contracts/store.ts';
import type { JsonObject, JsonValue, ModelStore, Store } from '../contracts/store.ts';

/** Models whose records oidc-provider revokes by grantId (as in its reference memory adapter). */
export const GRANTABLE_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Hub record TTLs must be positive; converted to whole milliseconds. */
export function ttlSecondsToMs(ttlSeconds: number): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive number, got ${String(ttlSeconds)}`);
  }
  return Math.ceil(ttlSeconds * 1000);
}

export function leaseTtlMs(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number, got ${String(ttlMs)}`);
  }
  return Math.ceil(ttlMs);
}

/**
 * oidc-provider upserts some records without `expiresIn` (dynamically registered clients):
 * `undefined` means no expiry, a non-positive number means already expired.
 */
export function modelTtlMs(expiresIn: number | undefined): number | 'never' | 'expired' {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) return 'never';
  if (expiresIn <= 0) return 'expired';
  return Math.ceil(expiresIn * 1000);
}

/** The fields oidc-provider looks records up by; only non-empty strings are indexed. */
export function indexField(payload: JsonObject, field: 'uid' | 'userCode' | 'grantId'): string | undefined {
  const value = payload[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function serialize(value: JsonValue): string {
  const json = JSON.stringify(value);
  if (typeof json !== 'string') throw new TypeError('Store values must be JSON values');
  return json;
}

export function missing(ns: string): StoreRecordMissing {
  return new StoreRecordMissing(`No record to update in namespace "${ns}"`);
}

const SWEEP_INTERVAL_MS = 30_000;

interface Entry {
  value: string;
  /** Epoch milliseconds; Infinity for records that never expire. */
  expiresAt: number;
}

interface GrantMember {
  model: string;
  id: string;
  expiresAt: number;
}

export function createMemoryStore(options: { now?: () => number } = {}): Store {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const grants = new Map<string, Map<string, GrantMember>>();
  const models = new Map<string, ModelStore>();

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function set(key: string, value: string, ttlMs: number | 'never'): void {
    entries.set(key, { value, expiresAt: ttlMs === 'never' ? Infinity : now() + ttlMs });
  }

  function sweep(): void {
    const at = now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= at) entries.delete(key);
    }
    for (const [grantId, members] of grants) {
      for (const [key, member] of members) {
        if (member.expiresAt <= at) members.delete(key);
      }
      if (members.size === 0) grants.delete(grantId);
    }
  }

  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const recordKey = (ns: string, id: string): string => `r:${ns}:${id}`;
  const modelKey = (model: string, id: string): string => `m:${model}:${id}`;
  const uidKey = (model: string, uid: string): string => `uid:${model}:${uid}`;
  const userCodeKey = (model: string, userCode: string): string => `uc:${model}:${userCode}`;

  function dropIfPointsTo(indexKey: string, id: string): void {
    if (live(indexKey)?.value === id) entries.delete(indexKey);
  }

  function dropSecondaryIndexes(model: string, id: string, payload: JsonObject): void {
    const uid = indexField(payload, 'uid');
    if (uid !== undefined) dropIfPointsTo(uidKey(model, uid), id);
    const userCode = indexField(payload, 'userCode');
    if (userCode !== undefined) dropIfPointsTo(userCodeKey(model, userCode), id);
  }

  function dropIndexes(model: string, id: string, payload: JsonObject): void {
    dropSecondaryIndexes(model, id, payload);
    const grantId = indexField(payload, 'grantId');
    if (grantId !== undefined && GRANTABLE_MODELS.has(model)) {
      const members = grants.get(grantId);
      if (members !== undefined) {
        members.delete(modelKey(model, id));
        if (members.size === 0) grants.delete(grantId);
      }
    }
  }

  function destroyModelRecord(model: string, id: string): void {
    const key = modelKey(model, id);
    const entry = live(key);
    if (entry === undefined) return;
    entries.delete(key);
    dropIndexes(model, id, JSON.parse(entry.value) as JsonObject);
  }

  function createModelStore(model: string): ModelStore {
    async function find(id: string): Promise<JsonObject | undefined> {
      const entry = live(modelKey(model, id));
      return entry === undefined ? undefined : (JSON.parse(entry.value) as JsonObject);
    }

    return {
      async upsert(id, payload, expiresIn?: number) {
        const ttl = modelTtlMs(expiresIn);
        destroyModelRecord(model, id);
        if (ttl === 'expired') return;
        const key = modelKey(model, id);
        set(key, serialize(payload), ttl);
        const uid = indexField(payload, 'uid');
        if (uid !== undefined) set(uidKey(model, uid), id, ttl);
        const userCode = indexField(payload, 'userCode');
        if (userCode !== undefined) set(userCodeKey(model, userCode), id, ttl);
        const grantId = indexField(payload, 'grantId');
        if (grantId !== undefined && GRANTABLE_MODELS.has(model)) {
          let members = grants.get(grantId);
          if (members === undefined) {
            members = new Map();
            grants.set(grantId, members);
          }
          members.set(key, { model, id, expiresAt: ttl === 'never' ? Infinity : now() + ttl });
        }
      },
      find,
      async findByUid(uid) {
        const index = live(uidKey(model, uid));
        return index === undefined ? undefined : find(index.value);
      },
      async findByUserCode(userCode) {
        const index = live(userCodeKey(model, userCode));
        return index === undefined ? undefined : find(index.value);
      },
      async consume(id) {
        const entry = live(modelKey(model, id));
        if (entry === undefined) return;
        const payload = JSON.parse(entry.value) as JsonObject;
        payload['consumed'] = Math.floor(now() / 1000);
        entry.value = serialize(payload);
      },
      async destroy(id) {
        destroyModelRecord(model, id);
      },
      async revokeByGrantId(grantId) {
        const members = grants.get(grantId);
        if (members === undefined) return;
        grants.delete(grantId);
        for (const [key, member] of members) {
          const entry = live(key);
          if (entry === undefined) continue;
          entries.delete(key);
          dropSecondaryIndexes(member.model, member.id, JSON.parse(entry.value) as JsonObject);
        }
      },
    };
  }

  return {
    kind: 'memory',

    model(name) {
      let modelStore = models.get(name);
      if (modelStore === undefined) {
        modelStore = createModelStore(name);
        models.set(name, modelStore);
      }
      return modelStore;
    },

    async create(ns, id, value, ttlSeconds) {
      const ttl = ttlSecondsToMs(ttlSeconds);
      const key = recordKey(ns, id);
      if (live(key) !== undefined) return false;
      set(key, serialize(value), ttl);
      return true;
    },

    async put(ns, id, value, ttlSeconds) {
      set(recordKey(ns, id), serialize(value), ttlSecondsToMs(ttlSeconds));
    },

    async get<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined> {
      const entry = live(recordKey(ns, id));
      return entry === undefined ? undefined : (JSON.parse(entry.value) as T);
    },

    async update<T extends JsonValue = JsonValue>(
      ns: string,
      id: string,
      updater: (current: T) => T | undefined,
      ttlSeconds?: number,
    ): Promise<T> {
      const ttl = ttlSeconds === undefined ? undefined : ttlSecondsToMs(ttlSeconds);
      const entry = live(recordKey(ns, id));
      if (entry === undefined) throw missing(ns);
      const current = JSON.parse(entry.value) as T;
      const next = updater(current);
      if (next === undefined) return current;
      // Nothing is awaited between the read and this write, so the update is atomic here.
      entry.value = serialize(next);
      if (ttl !== undefined) entry.expiresAt = now() + ttl;
      return next;
    },

    async consume<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined> {
      const key = recordKey(ns, id);
      const entry = live(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      return JSON.parse(entry.value) as T;
    },

    async delete(ns, id) {
      entries.delete(recordKey(ns, id));
    },

    async increment(key, ttlSeconds) {
      const ttl = ttlSecondsToMs(ttlSeconds);
      const counterKey = `n:${key}`;
      const entry = live(counterKey);
      if (entry === undefined) {
        set(counterKey, '1', ttl);
        return 1;
      }
      const count = Number(entry.value) + 1;
      entry.value = String(count);
      return count;
    },

    async acquireLease(key, ttlMs) {
      const ttl = leaseTtlMs(ttlMs);
      const leaseKey = `l:${key}`;
      if (live(leaseKey) !== undefined) return false;
      set(leaseKey, '1', ttl);
      return true;
    },

    async holdLease(key, ttlMs) {
      set(`l:${key}`, '1', leaseTtlMs(ttlMs));
    },

    async ping() {},

    async close() {
      clearInterval(sweeper);
    },
  };
}
