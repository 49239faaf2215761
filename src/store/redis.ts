/**
 * Store on Redis (6.2 or later: GETDEL, SET KEEPTTL). Several hub processes share one Redis; every
 * operation that touches more than one key, or reads before it writes, runs as one Lua script.
 *
 * Key layout under the prefix:
 *   m:<Model>:<id>            provider model payload (JSON)
 *   uid:<Model>:<uid>         -> id    (Session lookups by uid)
 *   uc:<Model>:<userCode>     -> id    (device flow lookups)
 *   grant:<grantId>           SET of model keys carrying that grantId
 *   r:<ns>:<id>               hub record (JSON)
 *   n:<key>                   counter
 *   l:<key>                   lease
 */
import { Redis } from 'ioredis';
import type { JsonObject, JsonValue, ModelStore, Store } from '../contracts/store.ts';
import {
  GRANTABLE_MODELS,
  indexField,
  leaseTtlMs,
  missing,
  modelTtlMs,
  serialize,
  ttlSecondsToMs,
} from './memory.ts';

export interface RedisStoreOptions {
  url: string;
  keyPrefix?: string;
  /** How long connecting (and `ping()` while unreachable) may take before failing. Default 2000. */
  connectTimeoutMs?: number;
}

const DEFAULT_PREFIX = 'idnav:';
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Compare-and-set attempts before `update` gives up under contention. */
const MAX_CAS_ATTEMPTS = 100;
const TIMED_OUT = 'idnav:ping-timed-out';

/** Removes the uid/userCode indexes (when they still point at this id) and the grant membership. */
const LUA_DROP_INDEXES = `
local function drop_indexes(prefix, model, id, key, json, grantable)
  local ok, p = pcall(cjson.decode, json)
  if not ok or type(p) ~= 'table' then return end
  if type(p.uid) == 'string' then
    local k = prefix .. 'uid:' .. model .. ':' .. p.uid
    if redis.call('GET', k) == id then redis.call('DEL', k) end
  end
  if type(p.userCode) == 'string' then
    local k = prefix .. 'uc:' .. model .. ':' .. p.userCode
    if redis.call('GET', k) == id then redis.call('DEL', k) end
  end
  if grantable and type(p.grantId) == 'string' then
    redis.call('SREM', prefix .. 'grant:' .. p.grantId, key)
  end
end
`;

// KEYS: model key. ARGV: prefix, model, id, payload, ttlMs ('' = never), grantable, uid, userCode, grantId.
const LUA_UPSERT = `${LUA_DROP_INDEXES}
local key = KEYS[1]
local prefix, model, id, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl = tonumber(ARGV[5])
local grantable = ARGV[6] == '1'
local previous = redis.call('GET', key)
if previous then drop_indexes(prefix, model, id, key, previous, grantable) end
local function put(k, v)
  if ttl then redis.call('SET', k, v, 'PX', ttl) else redis.call('SET', k, v) end
end
put(key, payload)
if ARGV[7] ~= '' then put(prefix .. 'uid:' .. model .. ':' .. ARGV[7], id) end
if ARGV[8] ~= '' then put(prefix .. 'uc:' .. model .. ':' .. ARGV[8], id) end
if grantable and ARGV[9] ~= '' then
  local g = prefix .. 'grant:' .. ARGV[9]
  local existed = redis.call('EXISTS', g) == 1
  local remaining = redis.call('PTTL', g)
  redis.call('SADD', g, key)
  -- The set must outlive its longest-lived member.
  if not ttl then
    redis.call('PERSIST', g)
  elseif not existed or (remaining >= 0 and remaining < ttl) then
    redis.call('PEXPIRE', g, ttl)
  end
end
return 1
`;

// KEYS: model key. ARGV: prefix, model, id, grantable.
const LUA_DESTROY = `${LUA_DROP_INDEXES}
local previous = redis.call('GET', KEYS[1])
if previous then
  drop_indexes(ARGV[1], ARGV[2], ARGV[3], KEYS[1], previous, ARGV[4] == '1')
  redis.call('DEL', KEYS[1])
end
return 1
`;

// KEYS: index key. ARGV: model key prefix (the id is appended).
const LUA_FIND_BY_INDEX = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)
`;

// KEYS: grant set. ARGV: prefix.
const LUA_REVOKE_GRANT = `${LUA_DROP_INDEXES}
local prefix = ARGV[1]
local head = prefix .. 'm:'
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local json = redis.call('GET', key)
  if json then
    if string.sub(key, 1, #head) == head then
      local rest = string.sub(key, #head + 1)
      local sep = string.find(rest, ':', 1, true)
      if sep then
        drop_indexes(prefix, string.sub(rest, 1, sep - 1), string.sub(rest, sep + 1), key, json, false)
      end
    end
    redis.call('DEL', key)
  end
end
redis.call('DEL', KEYS[1])
return 1
`;

// KEYS: key. ARGV: expected current value, new value, ttlMs ('' = keep the TTL).
// Returns 1 when written, nil when the key is missing, otherwise the current value.
const LUA_COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if not current then return false end
if current ~= ARGV[1] then return current end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
`;

// KEYS: counter. ARGV: ttlMs. The window starts with the first increment.
const LUA_INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`;

interface ScriptCommands {
  idnavUpsert(key: string, ...args: string[]): Promise<unknown>;
  idnavDestroy(key: string, ...args: string[]): Promise<unknown>;
  idnavFindByIndex(key: string, modelKeyPrefix: string): Promise<string | null>;
  idnavRevokeGrant(key: string, prefix: string): Promise<unknown>;
  idnavCompareAndSet(key: string, expected: string, next: string, ttlMs: string): Promise<number | string | null>;
  idnavIncrement(key: string, ttlMs: string): Promise<number>;
}

type Client = Redis & ScriptCommands;

function errorLabel(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : error.name;
  }
  return 'unknown error';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function createRedisStore(options: RedisStoreOptions): Store {
  const prefix = options.keyPrefix ?? DEFAULT_PREFIX;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  const client = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // Commands issued while (re)connecting wait in the offline queue, but only through one
    // failed reconnection: a request must fail fast instead of hanging on a dead Redis.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 1000),
    // ioredis waits this long for a socket that already failed before letting the process exit.
    disconnectTimeout: 250,
    // Bounds a command on a connection that stopped answering without closing.
    commandTimeout: Math.max(5000, connectTimeoutMs * 2),
  }) as Client;

  let lastError: string | undefined;
  // Without a listener, a connection error would be an unhandled 'error' event and end the process.
  // Nothing is logged; only the error code is kept, for ping()'s message.
  client.on('error', (error: unknown) => {
    lastError = errorLabel(error);
  });
  client.on('ready', () => {
    lastError = undefined;
  });

  client.defineCommand('idnavUpsert', { numberOfKeys: 1, lua: LUA_UPSERT });
  client.defineCommand('idnavDestroy', { numberOfKeys: 1, lua: LUA_DESTROY });
  client.defineCommand('idnavFindByIndex', { numberOfKeys: 1, lua: LUA_FIND_BY_INDEX, readOnly: true });
  client.defineCommand('idnavRevokeGrant', { numberOfKeys: 1, lua: LUA_REVOKE_GRANT });
  client.defineCommand('idnavCompareAndSet', { numberOfKeys: 1, lua: LUA_COMPARE_AND_SET });
  client.defineCommand('idnavIncrement', { numberOfKeys: 1, lua: LUA_INCREMENT });

  let closed = false;
  const models = new Map<string, ModelStore>();

  const recordKey = (ns: string, id: string): string => `${prefix}r:${ns}:${id}`;
  const modelKeyPrefix = (model: string): string => `${prefix}m:${model}:`;

  /**
   * Optimistic read-modify-write. `compute` maps the current serialized value to the next one
   * (undefined: leave it). Resolves false when the key does not exist.
   */
  async function compareAndSet(
    key: string,
    compute: (current: string) => string | undefined,
    ttlMs: string,
  ): Promise<boolean> {
    let current = await client.get(key);
    for (let attempt = 1; ; attempt++) {
      if (current === null) return false;
      const next = compute(current);
      if (next === undefined || (next === current && ttlMs === '')) return true;
      const result = await client.idnavCompareAndSet(key, current, next, ttlMs);
      if (result === 1) return true;
      if (result === null) return false;
      if (attempt >= MAX_CAS_ATTEMPTS) {
        throw new Error(`Store update gave up after ${MAX_CAS_ATTEMPTS} conflicting attempts`);
      }
      if (attempt < 3) {
        current = String(result);
      } else {
        // Under heavy contention, spread the writers out and start again from a fresh read.
        await sleep(Math.random() * Math.min(2 ** attempt, 50));
        current = await client.get(key);
      }
    }
  }

  function createModelStore(model: string): ModelStore {
    const grantable = GRANTABLE_MODELS.has(model) ? '1' : '0';
    const keyPrefix = modelKeyPrefix(model);

    function parse(json: string | null): JsonObject | undefined {
      return json === null ? undefined : (JSON.parse(json) as JsonObject);
    }

    async function destroy(id: string): Promise<void> {
      await client.idnavDestroy(keyPrefix + id, prefix, model, id, grantable);
    }

    return {
      async upsert(id, payload, expiresIn?: number) {
        const ttl = modelTtlMs(expiresIn);
        if (ttl === 'expired') {
          await destroy(id);
          return;
        }
        await client.idnavUpsert(
          keyPrefix + id,
          prefix,
          model,
          id,
          serialize(payload),
          ttl === 'never' ? '' : String(ttl),
          grantable,
          indexField(payload, 'uid') ?? '',
          indexField(payload, 'userCode') ?? '',
          indexField(payload, 'grantId') ?? '',
        );
      },
      async find(id) {
        return parse(await client.get(keyPrefix + id));
      },
      async findByUid(uid) {
        return parse(await client.idnavFindByIndex(`${prefix}uid:${model}:${uid}`, keyPrefix));
      },
      async findByUserCode(userCode) {
        return parse(await client.idnavFindByIndex(`${prefix}uc:${model}:${userCode}`, keyPrefix));
      },
      async consume(id) {
        const consumed = Math.floor(Date.now() / 1000);
        await compareAndSet(
          keyPrefix + id,
          (current) => serialize({ ...(JSON.parse(current) as JsonObject), consumed }),
          '',
        );
      },
      destroy,
      async revokeByGrantId(grantId) {
        await client.idnavRevokeGrant(`${prefix}grant:${grantId}`, prefix);
      },
    };
  }

  return {
    kind: 'redis',

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
      const reply = await client.set(recordKey(ns, id), serialize(value), 'PX', ttl, 'NX');
      return reply === 'OK';
    },

    async put(ns, id, value, ttlSeconds) {
      await client.set(recordKey(ns, id), serialize(value), 'PX', ttlSecondsToMs(ttlSeconds));
    },

    async get<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined> {
      const json = await client.get(recordKey(ns, id));
      return json === null ? undefined : (JSON.parse(json) as T);
    },

    async update<T extends JsonValue = JsonValue>(
      ns: string,
      id: string,
      updater: (current: T) => T | undefined,
      ttlSeconds?: number,
    ): Promise<T> {
      const ttl = ttlSeconds === undefined ? '' : String(ttlSecondsToMs(ttlSeconds));
      let result: T | undefined;
      const found = await compareAndSet(
        recordKey(ns, id),
        (current) => {
          const value = JSON.parse(current) as T;
          const next = updater(value);
          if (next === undefined) {
            result = value;
            return undefined;
          }
          result = next;
          return serialize(next);
        },
        ttl,
      );
      if (!found || result === undefined) throw missing(ns);
      return result;
    },

    async consume<T extends JsonValue = JsonValue>(ns: string, id: string): Promise<T | undefined> {
      const json = await client.getdel(recordKey(ns, id));
      return json === null ? undefined : (JSON.parse(json) as T);
    },

    async delete(ns, id) {
      await client.del(recordKey(ns, id));
    },

    async increment(key, ttlSeconds) {
      return Number(await client.idnavIncrement(`${prefix}n:${key}`, String(ttlSecondsToMs(ttlSeconds))));
    },

    async acquireLease(key, ttlMs) {
      const reply = await client.set(`${prefix}l:${key}`, '1', 'PX', leaseTtlMs(ttlMs), 'NX');
      return reply === 'OK';
    },

    async holdLease(key, ttlMs) {
      await client.set(`${prefix}l:${key}`, '1', 'PX', leaseTtlMs(ttlMs));
    },

    async ping() {
      if (closed) throw new Error('Redis store is closed');
      const reply = client.ping();
      // The queued PING may still settle after the timeout; nobody is waiting for it then.
      reply.catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(resolve, connectTimeoutMs, TIMED_OUT);
      });
      let outcome: string;
      try {
        outcome = await Promise.race([reply, timeout]);
      } catch (error) {
        throw new Error(`Redis is unreachable (${lastError ?? errorLabel(error)})`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (outcome === TIMED_OUT) {
        const reason = lastError === undefined ? '' : ` (${lastError})`;
        throw new Error(`Redis did not answer PING within ${connectTimeoutMs} ms${reason}`);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      if (client.status === 'ready') {
        try {
          await client.quit();
          return;
        } catch {
          // Fall through: drop the connection without waiting for pending replies.
        }
      }
      // Also cancels any scheduled reconnection, so no timer keeps the process alive.
      client.disconnect();
    },
  };
}
