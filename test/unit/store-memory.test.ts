import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../src/store/memory.ts';
import { runStoreSuite } from '../conformance/store.suite.ts';

runStoreSuite('memory', () => createMemoryStore(), { fastTtl: true });

describe('memory store with an injected clock', () => {
  it('hides a record exactly at its expiry, without waiting for a sweep', async () => {
    let clock = 1_700_000_000_000;
    const store = createMemoryStore({ now: () => clock });
    try {
      await store.put('tx', 'a', 'value', 10);
      await store.model('Session').upsert('s', { uid: 'u' }, 10);
      clock += 9_999;
      assert.equal(await store.get('tx', 'a'), 'value');
      assert.ok(await store.model('Session').findByUid('u'));
      clock += 1;
      assert.equal(await store.get('tx', 'a'), undefined);
      assert.equal(await store.model('Session').findByUid('u'), undefined);
      assert.equal(await store.create('tx', 'a', 'again', 10), true);
    } finally {
      await store.close();
    }
  });

  it('stamps `consumed` from the injected clock', async () => {
    const store = createMemoryStore({ now: () => 1_700_000_000_999 });
    try {
      await store.model('AuthorizationCode').upsert('c', { grantId: 'g' }, 60);
      await store.model('AuthorizationCode').consume('c');
      assert.deepEqual(await store.model('AuthorizationCode').find('c'), { grantId: 'g', consumed: 1_700_000_000 });
    } finally {
      await store.close();
    }
  });

  it('rejects non-positive TTLs for hub records', async () => {
    const store = createMemoryStore();
    try {
      await assert.rejects(store.put('tx', 'a', 1, 0), RangeError);
      await assert.rejects(store.increment('k', -1), RangeError);
      await assert.rejects(store.acquireLease('k', Number.NaN), RangeError);
    } finally {
      await store.close();
    }
  });
});
