/**
 * Store conformance suite: every backend must pass it unchanged.
 *
 * Ids are random per test, so tests share one store instance and the expiry tests can run
 * concurrently (they spend their time waiting).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreRecordMissing } from '../../src/contracts/store.ts';
import type { JsonObject, JsonValue, Store } from '../../src/contracts/store.ts';

export interface StoreSuiteOptions {
  /** The backend honours sub-second TTLs exactly: use 0.3 s TTLs instead of 1 s ones. */
  fastTtl?: boolean;
  /**
   * Every `makeStore()` call opens a new instance over the same data (a new Redis connection with
   * the same prefix). Enables the races between two instances.
   */
  sharedBackend?: boolean;
}

const RACERS = 100;

function uid(label: string): string {
  return `${label}-${randomUUID()}`;
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function tokenPayload(grantId: string, extra: JsonObject = {}): JsonObject {
  return { grantId, accountId: 'acc-1', clientId: 'client-1', iat: epochSeconds(), ...extra };
}

export function runStoreSuite(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: StoreSuiteOptions = {},
): void {
  const ttl = options.fastTtl ? 0.3 : 1;
  const pastTtl = Math.round(ttl * 1000 * 1.2) + 50;

  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    const opened: Store[] = [];

    before(async () => {
      store = await makeStore();
      opened.push(store);
    });

    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    describe('provider models', () => {
      it('returns the same ModelStore for the same name', () => {
        assert.equal(store.model('AccessToken'), store.model('AccessToken'));
      });

      it('round-trips a payload through upsert and find', async () => {
        const id = uid('at');
        const payload: JsonObject = tokenPayload(uid('grant'), {
          scope: 'openid profile',
          claims: { id_token: { acr: { essential: true } } },
          resources: [],
          extra: {},
          flags: [true, false, null],
          exp: epochSeconds() + 60,
          kind: 'AccessToken',
          ratio: 0.125,
          text: 'åäö / "quoted" \\ \u2028',
        });
        await store.model('AccessToken').upsert(id, payload, 60);
        assert.deepEqual(await store.model('AccessToken').find(id), payload);
        assert.equal(await store.model('AccessToken').find(uid('missing')), undefined);
        // Models are separate namespaces.
        assert.equal(await store.model('RefreshToken').find(id), undefined);
      });

      it('returns copies, never the stored object', async () => {
        const id = uid('at');
        const payload = tokenPayload(uid('grant'));
        await store.model('AccessToken').upsert(id, payload, 60);
        payload['accountId'] = 'changed-after-upsert';
        const found = await store.model('AccessToken').find(id);
        assert.ok(found);
        assert.equal(found['accountId'], 'acc-1');
        found['accountId'] = 'changed-after-find';
        assert.equal((await store.model('AccessToken').find(id))?.['accountId'], 'acc-1');
      });

      it('replaces a record on upsert and moves its indexes', async () => {
        const sessions = store.model('Session');
        const id = uid('sess');
        const [uid1, uid2] = [uid('uid'), uid('uid')];
        await sessions.upsert(id, { uid: uid1, accountId: 'a' }, 60);
        await sessions.upsert(id, { uid: uid2, accountId: 'b' }, 60);
        assert.deepEqual(await sessions.find(id), { uid: uid2, accountId: 'b' });
        assert.equal(await sessions.findByUid(uid1), undefined);
        assert.deepEqual(await sessions.findByUid(uid2), { uid: uid2, accountId: 'b' });
      });

      it('keeps records without expiresIn (registered clients)', async () => {
        const id = uid('client');
        const clients = store.model('Client');
        await clients.upsert(id, { client_id: id, redirect_uris: ['https://rp.example/cb'] }, undefined as unknown as number);
        assert.deepEqual(await clients.find(id), { client_id: id, redirect_uris: ['https://rp.example/cb'] });
        await clients.destroy(id);
        assert.equal(await clients.find(id), undefined);
      });

      it('finds a Session by uid', async () => {
        const sessions = store.model('Session');
        const id = uid('sess');
        const sessionUid = uid('uid');
        const payload = { uid: sessionUid, accountId: 'acc', loginTs: epochSeconds() };
        await sessions.upsert(id, payload, 60);
        assert.deepEqual(await sessions.findByUid(sessionUid), payload);
        assert.equal(await sessions.findByUid(uid('unknown')), undefined);
      });

      it('finds a DeviceCode by userCode', async () => {
        const deviceCodes = store.model('DeviceCode');
        const id = uid('dc');
        const userCode = `UC-${randomUUID().slice(0, 8)}`;
        const payload = tokenPayload(uid('grant'), { userCode });
        await deviceCodes.upsert(id, payload, 60);
        assert.deepEqual(await deviceCodes.findByUserCode(userCode), payload);
        assert.equal(await deviceCodes.findByUserCode('NOPE-0000'), undefined);
      });

      it('consume sets `consumed` in epoch seconds and keeps the record', async () => {
        const codes = store.model('AuthorizationCode');
        const id = uid('code');
        const payload = tokenPayload(uid('grant'), { redirectUri: 'https://rp.example/cb' });
        await codes.upsert(id, payload, 60);
        const before = epochSeconds();
        await codes.consume(id);
        const after = epochSeconds();
        const found = await codes.find(id);
        assert.ok(found, 'a consumed record is kept');
        const { consumed, ...rest } = found;
        assert.equal(typeof consumed, 'number');
        assert.ok((consumed as number) >= before && (consumed as number) <= after, `consumed=${String(consumed)}`);
        assert.deepEqual(rest, payload);
      });

      it('consume and destroy of a missing record do nothing', async () => {
        await store.model('AuthorizationCode').consume(uid('missing'));
        await store.model('AuthorizationCode').destroy(uid('missing'));
        assert.equal(await store.model('AuthorizationCode').find(uid('missing')), undefined);
      });

      it('destroy removes the record and its indexes', async () => {
        const sessions = store.model('Session');
        const id = uid('sess');
        const sessionUid = uid('uid');
        await sessions.upsert(id, { uid: sessionUid }, 60);
        await sessions.destroy(id);
        assert.equal(await sessions.find(id), undefined);
        assert.equal(await sessions.findByUid(sessionUid), undefined);

        const deviceCodes = store.model('DeviceCode');
        const dc = uid('dc');
        const userCode = `UC-${randomUUID().slice(0, 8)}`;
        await deviceCodes.upsert(dc, tokenPayload(uid('grant'), { userCode }), 60);
        await deviceCodes.destroy(dc);
        assert.equal(await deviceCodes.findByUserCode(userCode), undefined);
      });

      it('revokeByGrantId removes grantable records of that grant across models, and nothing else', async () => {
        const grantId = uid('grant');
        const otherGrant = uid('grant');
        const ids = {
          at: uid('at'),
          rt: uid('rt'),
          code: uid('code'),
          dc: uid('dc'),
          otherAt: uid('at'),
          session: uid('sess'),
        };
        const userCode = `UC-${randomUUID().slice(0, 8)}`;
        const sessionUid = uid('uid');
        await Promise.all([
          store.model('AccessToken').upsert(ids.at, tokenPayload(grantId), 60),
          store.model('RefreshToken').upsert(ids.rt, tokenPayload(grantId), 120),
          store.model('AuthorizationCode').upsert(ids.code, tokenPayload(grantId), 30),
          store.model('DeviceCode').upsert(ids.dc, tokenPayload(grantId, { userCode }), 30),
          store.model('AccessToken').upsert(ids.otherAt, tokenPayload(otherGrant), 60),
          // Not grantable: a grantId in the payload must not make them revocable.
          store.model('Session').upsert(ids.session, { uid: sessionUid, grantId, authorizations: {} }, 60),
          store.model('Grant').upsert(grantId, { jti: grantId, accountId: 'acc-1', clientId: 'client-1' }, 60),
        ]);

        await store.model('AccessToken').revokeByGrantId(grantId);

        assert.equal(await store.model('AccessToken').find(ids.at), undefined);
        assert.equal(await store.model('RefreshToken').find(ids.rt), undefined);
        assert.equal(await store.model('AuthorizationCode').find(ids.code), undefined);
        assert.equal(await store.model('DeviceCode').find(ids.dc), undefined);
        assert.equal(await store.model('DeviceCode').findByUserCode(userCode), undefined);

        assert.ok(await store.model('AccessToken').find(ids.otherAt), 'another grant is untouched');
        assert.ok(await store.model('Session').find(ids.session), 'sessions are not grantable');
        assert.ok(await store.model('Session').findByUid(sessionUid));
        assert.ok(await store.model('Grant').find(grantId), 'the Grant itself is destroyed separately');

        // Revoking again, or revoking an unknown grant, is harmless.
        await store.model('RefreshToken').revokeByGrantId(grantId);
        await store.model('RefreshToken').revokeByGrantId(uid('grant'));
        assert.ok(await store.model('AccessToken').find(ids.otherAt));
      });

      it('keeps the grant index in step with upsert and destroy', async () => {
        const [g1, g2] = [uid('grant'), uid('grant')];
        const tokens = store.model('AccessToken');
        const moved = uid('at');
        const destroyed = uid('at');
        await tokens.upsert(moved, tokenPayload(g1), 60);
        await tokens.upsert(moved, tokenPayload(g2), 60);
        await tokens.upsert(destroyed, tokenPayload(g1), 60);
        await tokens.destroy(destroyed);
        await tokens.revokeByGrantId(g1);
        assert.ok(await tokens.find(moved), 'a record moved to another grant survives revoking the old one');
        // A record created again after being destroyed is in the grant again.
        await tokens.upsert(destroyed, tokenPayload(g1), 60);
        await tokens.revokeByGrantId(g1);
        assert.equal(await tokens.find(destroyed), undefined);
        await tokens.revokeByGrantId(g2);
        assert.equal(await tokens.find(moved), undefined);
      });
    });

    describe('hub records', () => {
      it('create is create-if-absent', async () => {
        const id = uid('tx');
        assert.equal(await store.create('tx', id, { step: 1 }, 60), true);
        assert.equal(await store.create('tx', id, { step: 2 }, 60), false);
        assert.deepEqual(await store.get('tx', id), { step: 1 });
      });

      it('get of a missing record is undefined', async () => {
        assert.equal(await store.get('tx', uid('missing')), undefined);
      });

      it('keeps namespaces apart', async () => {
        const id = uid('shared');
        await store.put('ns-a', id, 'a', 60);
        await store.put('ns-b', id, 'b', 60);
        assert.equal(await store.get('ns-a', id), 'a');
        assert.equal(await store.get('ns-b', id), 'b');
      });

      it('round-trips every kind of JSON value', async () => {
        const values: JsonValue[] = [0, -1.5, 'text', true, false, null, [], {}, [1, 'two', { three: [3] }], { nested: { list: [] } }];
        for (const value of values) {
          const id = uid('json');
          await store.put('json', id, value, 60);
          assert.deepEqual(await store.get('json', id), value);
        }
      });

      it('put inserts and overwrites', async () => {
        const id = uid('acct');
        await store.put('account', id, { name: 'first' }, 60);
        await store.put('account', id, { name: 'second' }, 60);
        assert.deepEqual(await store.get('account', id), { name: 'second' });
      });

      it('update writes the updater result and resolves with it', async () => {
        const id = uid('tx');
        await store.create('tx', id, { step: 1, history: ['start'] }, 60);
        const written = await store.update<{ step: number; history: string[] }>('tx', id, (current) => ({
          step: current.step + 1,
          history: [...current.history, 'next'],
        }));
        assert.deepEqual(written, { step: 2, history: ['start', 'next'] });
        assert.deepEqual(await store.get('tx', id), { step: 2, history: ['start', 'next'] });
      });

      it('update of a missing record throws StoreRecordMissing and creates nothing', async () => {
        const id = uid('missing');
        let called = false;
        await assert.rejects(
          store.update('tx', id, () => {
            called = true;
            return { created: true };
          }),
          (error: unknown) => error instanceof StoreRecordMissing && error.name === 'StoreRecordMissing',
        );
        assert.equal(called, false);
        assert.equal(await store.get('tx', id), undefined);
      });

      it('update returning undefined leaves the record unchanged', async () => {
        const id = uid('tx');
        await store.put('tx', id, { step: 7 }, 60);
        const result = await store.update<{ step: number }>('tx', id, () => undefined);
        assert.deepEqual(result, { step: 7 });
        assert.deepEqual(await store.get('tx', id), { step: 7 });
      });

      it('consume returns the value once, then undefined', async () => {
        const id = uid('code');
        await store.put('oneshot', id, { secret: 's' }, 60);
        assert.deepEqual(await store.consume('oneshot', id), { secret: 's' });
        assert.equal(await store.consume('oneshot', id), undefined);
        assert.equal(await store.get('oneshot', id), undefined);
      });

      it('delete removes the record; deleting a missing one is harmless', async () => {
        const id = uid('tx');
        await store.put('tx', id, 1, 60);
        await store.delete('tx', id);
        assert.equal(await store.get('tx', id), undefined);
        await store.delete('tx', id);
        assert.equal(await store.create('tx', id, 2, 60), true);
      });

      it('increment counts up from 1', async () => {
        const key = uid('counter');
        assert.equal(await store.increment(key, 60), 1);
        assert.equal(await store.increment(key, 60), 2);
        assert.equal(await store.increment(key, 60), 3);
        assert.equal(await store.increment(uid('counter'), 60), 1);
      });

      it('holdLease keeps a lease from now on, taken or not', async () => {
        const key = uid('hold');
        assert.equal(await store.acquireLease(key, 60_000), true);
        await store.holdLease(key, 60_000);
        assert.equal(await store.acquireLease(key, 60_000), false);
        const fresh = uid('hold');
        await store.holdLease(fresh, 60_000);
        assert.equal(await store.acquireLease(fresh, 60_000), false, 'a held lease cannot be taken');
      });

      it('acquireLease is taken once until it expires', async () => {
        const key = uid('lease');
        assert.equal(await store.acquireLease(key, 60_000), true);
        assert.equal(await store.acquireLease(key, 60_000), false);
        assert.equal(await store.acquireLease(uid('lease'), 60_000), true);
      });

      it('ping resolves', async () => {
        await store.ping();
      });
    });

    describe('expiry', { concurrency: true }, () => {
      it('provider records expire with their indexes', async () => {
        const sessionId = uid('sess');
        const sessionUid = uid('uid');
        const dc = uid('dc');
        const userCode = `UC-${randomUUID().slice(0, 8)}`;
        await store.model('Session').upsert(sessionId, { uid: sessionUid }, ttl);
        await store.model('DeviceCode').upsert(dc, tokenPayload(uid('grant'), { userCode }), ttl);
        assert.ok(await store.model('Session').find(sessionId));
        await sleep(pastTtl);
        assert.equal(await store.model('Session').find(sessionId), undefined);
        assert.equal(await store.model('Session').findByUid(sessionUid), undefined);
        assert.equal(await store.model('DeviceCode').find(dc), undefined);
        assert.equal(await store.model('DeviceCode').findByUserCode(userCode), undefined);
      });

      it('consume keeps the TTL of a provider record', async () => {
        const id = uid('code');
        await store.model('AuthorizationCode').upsert(id, tokenPayload(uid('grant')), ttl);
        await store.model('AuthorizationCode').consume(id);
        assert.ok((await store.model('AuthorizationCode').find(id))?.['consumed']);
        await sleep(pastTtl);
        assert.equal(await store.model('AuthorizationCode').find(id), undefined);
      });

      it('the grant index outlives its shorter-lived members', async () => {
        const grantId = uid('grant');
        const short = uid('at');
        const long = uid('rt');
        await store.model('AccessToken').upsert(short, tokenPayload(grantId), ttl);
        await store.model('RefreshToken').upsert(long, tokenPayload(grantId), 60);
        await sleep(pastTtl);
        assert.equal(await store.model('AccessToken').find(short), undefined);
        assert.ok(await store.model('RefreshToken').find(long));
        await store.model('AccessToken').revokeByGrantId(grantId);
        assert.equal(await store.model('RefreshToken').find(long), undefined);
      });

      it('hub records expire and can then be created again', async () => {
        const created = uid('tx');
        const put = uid('tx');
        assert.equal(await store.create('tx', created, 'v1', ttl), true);
        await store.put('tx', put, 'v', ttl);
        await sleep(pastTtl);
        assert.equal(await store.get('tx', created), undefined);
        assert.equal(await store.get('tx', put), undefined);
        assert.equal(await store.consume('tx', put), undefined);
        await assert.rejects(store.update('tx', put, () => 'x'), StoreRecordMissing);
        assert.equal(await store.create('tx', created, 'v2', 60), true);
        assert.equal(await store.get('tx', created), 'v2');
      });

      it('update keeps the TTL unless one is given', async () => {
        const kept = uid('tx');
        const extended = uid('tx');
        await store.create('tx', kept, { n: 0 }, ttl);
        await store.create('tx', extended, { n: 0 }, ttl);
        await store.update<{ n: number }>('tx', kept, (v) => ({ n: v.n + 1 }));
        await store.update<{ n: number }>('tx', extended, (v) => ({ n: v.n + 1 }), 60);
        await sleep(pastTtl);
        assert.equal(await store.get('tx', kept), undefined);
        assert.deepEqual(await store.get('tx', extended), { n: 1 });
      });

      it('an increment window starts with its first increment', async () => {
        const key = uid('counter');
        assert.equal(await store.increment(key, ttl), 1);
        assert.equal(await store.increment(key, ttl), 2);
        await sleep(pastTtl);
        assert.equal(await store.increment(key, ttl), 1);
      });

      it('a lease can be taken again after its TTL', async () => {
        const key = uid('lease');
        assert.equal(await store.acquireLease(key, ttl * 1000), true);
        assert.equal(await store.acquireLease(key, ttl * 1000), false);
        await sleep(pastTtl);
        assert.equal(await store.acquireLease(key, ttl * 1000), true);
      });
    });

    describe('concurrency', () => {
      it(`${RACERS} concurrent creates: exactly one wins`, async () => {
        const id = uid('race');
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => store.create('race', id, { winner: i }, 60)),
        );
        assert.equal(results.filter(Boolean).length, 1);
        const winner = results.indexOf(true);
        assert.deepEqual(await store.get('race', id), { winner });
      });

      it(`${RACERS} concurrent consumes: exactly one gets the value`, async () => {
        const id = uid('race');
        await store.put('race', id, { code: 'once' }, 60);
        const results = await Promise.all(Array.from({ length: RACERS }, () => store.consume('race', id)));
        const got = results.filter((r) => r !== undefined);
        assert.equal(got.length, 1);
        assert.deepEqual(got[0], { code: 'once' });
      });

      it(`${RACERS} concurrent updates: none is lost`, async () => {
        const id = uid('race');
        await store.create('race', id, { count: 0 }, 60);
        const written = await Promise.all(
          Array.from({ length: RACERS }, () =>
            store.update<{ count: number }>('race', id, (current) => ({ count: current.count + 1 })),
          ),
        );
        assert.deepEqual(await store.get('race', id), { count: RACERS });
        // Each caller saw a distinct value: every write was based on the one before it.
        assert.deepEqual(
          written.map((w) => w.count).sort((a, b) => a - b),
          Array.from({ length: RACERS }, (_, i) => i + 1),
        );
      });

      it(`${RACERS} concurrent increments: counts are exactly 1..${RACERS}`, async () => {
        const key = uid('race');
        const counts = await Promise.all(Array.from({ length: RACERS }, () => store.increment(key, 60)));
        assert.deepEqual(
          counts.sort((a, b) => a - b),
          Array.from({ length: RACERS }, (_, i) => i + 1),
        );
      });

      it('50 concurrent lease attempts: exactly one holder, and again after the TTL', async () => {
        const key = uid('lease');
        const leaseMs = Math.round(ttl * 1000);
        const first = await Promise.all(Array.from({ length: 50 }, () => store.acquireLease(key, leaseMs)));
        assert.equal(first.filter(Boolean).length, 1);
        await sleep(pastTtl);
        const second = await Promise.all(Array.from({ length: 50 }, () => store.acquireLease(key, leaseMs)));
        assert.equal(second.filter(Boolean).length, 1);
      });

      it('concurrent consumes of a provider record keep it and set consumed', async () => {
        const id = uid('code');
        await store.model('AuthorizationCode').upsert(id, tokenPayload(uid('grant')), 60);
        await Promise.all(Array.from({ length: 20 }, () => store.model('AuthorizationCode').consume(id)));
        const found = await store.model('AuthorizationCode').find(id);
        assert.equal(typeof found?.['consumed'], 'number');
      });
    });

    describe('two instances over one backend', { skip: options.sharedBackend ? false : 'the backend is single-process' }, () => {
      let peer: Store;
      const half = RACERS / 2;

      before(async () => {
        peer = await makeStore();
        opened.push(peer);
      });

      function race<T>(op: (s: Store) => Promise<T>): Promise<T[]> {
        // Interleave the callers so both connections are busy at the same time.
        return Promise.all(Array.from({ length: RACERS }, (_, i) => op(i % 2 === 0 ? store : peer)));
      }

      it('sees the same data', async () => {
        const id = uid('shared');
        await store.put('shared', id, { from: 'first' }, 60);
        assert.deepEqual(await peer.get('shared', id), { from: 'first' });
        await peer.model('Session').upsert(id, { uid: id }, 60);
        assert.deepEqual(await store.model('Session').findByUid(id), { uid: id });
      });

      it(`create race across instances (${half}+${half}): exactly one wins`, async () => {
        const id = uid('race');
        const results = await race((s) => s.create('race', id, s === store ? 'first' : 'peer', 60));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it(`consume race across instances (${half}+${half}): exactly one gets the value`, async () => {
        const id = uid('race');
        await store.put('race', id, 'once', 60);
        const results = await race((s) => s.consume('race', id));
        assert.equal(results.filter((r) => r !== undefined).length, 1);
      });

      it(`update race across instances (${half}+${half}): none is lost`, async () => {
        const id = uid('race');
        await store.create('race', id, { count: 0 }, 60);
        await race((s) => s.update<{ count: number }>('race', id, (current) => ({ count: current.count + 1 })));
        assert.deepEqual(await peer.get('race', id), { count: RACERS });
      });

      it('increment and lease races across instances', async () => {
        const key = uid('race');
        const counts = await race((s) => s.increment(key, 60));
        assert.deepEqual(
          counts.sort((a, b) => a - b),
          Array.from({ length: RACERS }, (_, i) => i + 1),
        );
        const leaseKey = uid('lease');
        const leases = await race((s) => s.acquireLease(leaseKey, 60_000));
        assert.equal(leases.filter(Boolean).length, 1);
      });

      it('revokeByGrantId from one instance removes what the other wrote', async () => {
        const grantId = uid('grant');
        const at = uid('at');
        await peer.model('AccessToken').upsert(at, tokenPayload(grantId), 60);
        await store.model('RefreshToken').revokeByGrantId(grantId);
        assert.equal(await peer.model('AccessToken').find(at), undefined);
      });
    });
  });
}
