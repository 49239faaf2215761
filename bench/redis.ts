/** Redis figures for the benchmarks: memory in use, and the keys under one prefix by kind. */
import { Redis } from 'ioredis';

export function connect(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

export async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

export async function scanKeys(r: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** The kind of a key in the Store's layout (src/store/redis.ts): m:<Model>, uid:<Model>, grant, r:<ns>, l, n. */
export function kindOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  const [a, b] = rest.split(':');
  if (a === 'm' || a === 'uid' || a === 'uc' || a === 'r') return `${a}:${b}`;
  return a ?? rest;
}

export interface KindFigures {
  keys: number;
  bytes: number;
  /** Median remaining TTL in seconds (-1: none). */
  ttl_s_median: number;
}

/** Keys under `prefix` grouped by kind, with MEMORY USAGE and the median remaining TTL of each kind. */
export async function breakdown(r: Redis, prefix: string): Promise<{ keys: number; bytes: number; kinds: Record<string, KindFigures> }> {
  const keys = await scanKeys(r, prefix);
  const kinds: Record<string, { keys: number; bytes: number; ttls: number[] }> = {};
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const p = r.pipeline();
    for (const k of batch) {
      p.memory('USAGE', k);
      p.pttl(k);
    }
    const res = (await p.exec()) ?? [];
    batch.forEach((k, j) => {
      const kind = kindOf(k, prefix);
      const bytes = Number(res[2 * j]?.[1] ?? 0);
      const ttl = Number(res[2 * j + 1]?.[1] ?? -2);
      const f = (kinds[kind] ??= { keys: 0, bytes: 0, ttls: [] });
      f.keys++;
      f.bytes += bytes;
      if (ttl !== -2) f.ttls.push(ttl < 0 ? -1 : Math.round(ttl / 1000));
    });
  }
  const out: Record<string, KindFigures> = {};
  let bytes = 0;
  for (const [kind, f] of Object.entries(kinds).sort()) {
    const s = f.ttls.sort((a, b) => a - b);
    out[kind] = { keys: f.keys, bytes: f.bytes, ttl_s_median: s[Math.floor(s.length / 2)] ?? -2 };
    bytes += f.bytes;
  }
  return { keys: keys.length, bytes, kinds: out };
}

export async function deletePrefix(r: Redis, prefix: string): Promise<number> {
  const keys = await scanKeys(r, prefix);
  for (let i = 0; i < keys.length; i += 1000) await r.unlink(...keys.slice(i, i + 1000));
  return keys.length;
}
