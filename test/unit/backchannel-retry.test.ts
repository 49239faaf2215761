import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Provider from 'oidc-provider';
import { createLogger } from '../../src/log.ts';
import type { Audit, AuditRecord } from '../../src/ops/audit.ts';
import { BackchannelRetry } from '../../src/provider/backchannel-retry.ts';
import { createMemoryStore } from '../../src/store/memory.ts';

function setup(fail: (attempt: number) => boolean) {
  let now = 1_000_000;
  const sent: Array<{ sub: string; sid?: string }> = [];
  const provider = {
    Client: {
      async find(id: string) {
        if (id !== 'rp') return undefined;
        return {
          backchannelLogoutUri: 'https://rp.example/bcl',
          async backchannelLogout(sub: string, sid?: string) {
            sent.push({ sub, ...(sid ? { sid } : {}) });
            if (fail(sent.length)) throw new Error('expected 200 OK, got: 503');
          },
        };
      },
    },
  } as unknown as Provider;
  const records: AuditRecord[] = [];
  const audit: Audit = { record: (r) => void records.push(r), close: async () => {} };
  const store = createMemoryStore({ now: () => now });
  const retry = new BackchannelRetry({ store, provider, audit, log: createLogger({ level: 'silent' }) }, { intervalMs: 10, delaysMs: [1000, 5000], now: () => now });
  return { retry, sent, records, advance: (ms: number) => (now += ms), store };
}

describe('back-channel logout retry queue', () => {
  it('tries again after each delay and gives up with an audit record after the last', async () => {
    const t = setup(() => true);
    await t.retry.enqueue('rp', 'account-1', 'sid-1');
    await t.retry.runOnce();
    assert.equal(t.sent.length, 0, 'not due yet');
    t.advance(1000);
    await t.retry.runOnce();
    assert.equal(t.sent.length, 1);
    t.advance(4980);
    await t.retry.runOnce();
    assert.equal(t.sent.length, 1, 'the second delay has not passed');
    t.advance(20); // also past the worker lease (intervalMs 10) of the previous run
    await t.retry.runOnce();
    assert.equal(t.sent.length, 2);
    assert.deepEqual(t.sent[1], { sub: 'account-1', sid: 'sid-1' });
    const failed = t.records.find((r) => r.event === 'logout.backchannel.failed');
    assert.equal(failed?.client, 'rp');
    assert.equal(failed?.attempts, 3, 'the first try by oidc-provider and two retries');
    t.advance(60_000);
    await t.retry.runOnce();
    assert.equal(t.sent.length, 2, 'nothing more after giving up');
  });

  it('drops deliveries for a client that no longer exists', async () => {
    const t = setup(() => false);
    await t.retry.enqueue('gone', 'account-1', undefined);
    t.advance(1000);
    await t.retry.runOnce();
    assert.equal(t.sent.length, 0);
    assert.deepEqual(t.records, []);
  });
});
