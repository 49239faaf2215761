import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Store } from '../../src/contracts/store.ts';
import { createRedisStore } from '../../src/store/redis.ts';
import { runStoreSuite } from '../conformance/store.suite.ts';

const REDIS_URL = process.env['REDIS_URL'];
const prefix = `idnav-test:${randomBytes(6).toString('hex')}:`;

/** A plain client for inspecting keys; quiet and failing fast like the store's own. */
function rawClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  client.on('error', () => {});
  return client;
}

/** Opens a store and proves Redis answers; an unreachable Redis fails here instead of skipping. */
async function openStore(url: string, keyPrefix?: string): Promise<Store> {
  const store = createRedisStore(keyPrefix === undefined ? { url } : { url, keyPrefix });
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

async function deleteKeys(url: string, match: string): Promise<number> {
  const client = rawClient(url);
  try {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${match}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

// Redis is an external service: without REDIS_URL the suite cannot run here, so it is skipped
// with a visible reason. With REDIS_URL set, an unreachable Redis fails the suite (makeStore pings).
describe('Redis store', { skip: REDIS_URL ? false : 'REDIS_URL not set: run with REDIS_URL=redis://127.0.0.1:6379 to test the Redis store' }, () => {
  const url = REDIS_URL ?? '';

  after(async () => {
    await deleteKeys(url, prefix);
  });

  runStoreSuite('redis', () => openStore(url, prefix), { sharedBackend: true });

  describe('key layout', () => {
    it('stores models, indexes and the grant set under the prefix, the set outliving its members', async () => {
      const store = await openStore(url, prefix);
      const raw = rawClient(url);
      try {
        await store.model('AccessToken').upsert('at-layout', { grantId: 'g-layout', accountId: 'a' }, 30);
        await store.model('RefreshToken').upsert('rt-layout', { grantId: 'g-layout', accountId: 'a' }, 90);
        await store.model('Session').upsert('s-layout', { uid: 'u-layout' }, 30);
        await store.put('tx', 'layout', { a: 1 }, 30);

        assert.deepEqual(JSON.parse((await raw.get(`${prefix}m:AccessToken:at-layout`)) ?? 'null'), {
          grantId: 'g-layout',
          accountId: 'a',
        });
        assert.equal(await raw.get(`${prefix}uid:Session:u-layout`), 's-layout');
        assert.deepEqual((await raw.smembers(`${prefix}grant:g-layout`)).sort(), [
          `${prefix}m:AccessToken:at-layout`,
          `${prefix}m:RefreshToken:rt-layout`,
        ]);
        const grantTtl = await raw.pttl(`${prefix}grant:g-layout`);
        assert.ok(grantTtl > 85_000 && grantTtl <= 90_000, `grant set TTL ${grantTtl}`);
        assert.ok((await raw.pttl(`${prefix}r:tx:layout`)) > 0);

        await store.model('RefreshToken').revokeByGrantId('g-layout');
        assert.equal(await raw.exists(`${prefix}grant:g-layout`, `${prefix}m:AccessToken:at-layout`, `${prefix}m:RefreshToken:rt-layout`), 0);
      } finally {
        raw.disconnect();
        await store.close();
      }
    });

    it('uses idnav: as the default prefix', async () => {
      const store = await openStore(url);
      const raw = rawClient(url);
      const id = `default-prefix-${randomBytes(6).toString('hex')}`;
      try {
        await store.put('tx', id, 1, 5);
        assert.equal(await raw.get(`idnav:r:tx:${id}`), '1');
      } finally {
        try {
          await raw.del(`idnav:r:tx:${id}`);
        } finally {
          raw.disconnect();
          await store.close();
        }
      }
    });
  });
});

describe('Redis store against an unreachable server', () => {
  it('ping() rejects within 3 s and commands fail fast instead of hanging', async () => {
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 });
    try {
      const started = performance.now();
      await assert.rejects(store.ping(), /Redis/);
      assert.ok(performance.now() - started < 3000, `ping took ${Math.round(performance.now() - started)} ms`);

      const commandStarted = performance.now();
      await assert.rejects(store.get('tx', 'anything'));
      assert.ok(performance.now() - commandStarted < 3000);
    } finally {
      await store.close();
    }
  });

  it('ping() rejects after connectTimeoutMs when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    try {
      const started = performance.now();
      await assert.rejects(store.ping(), /within 500 ms/);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 450 && elapsed < 3000, `ping took ${Math.round(elapsed)} ms`);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
