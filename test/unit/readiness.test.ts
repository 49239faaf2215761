import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EidAdapter } from '../../src/contracts/eid.ts';
import type { Store } from '../../src/contracts/store.ts';
import { createLogger } from '../../src/log.ts';
import { readiness } from '../../src/ops/readiness.ts';
import type { HubSecrets } from '../../src/provider/secrets.ts';

const log = createLogger({ level: 'silent' });
const store = (up: boolean) => ({ ping: async () => (up ? undefined : Promise.reject(new Error('ECONNREFUSED'))) }) as unknown as Store;
const method = (id: string, up: boolean) => [id, { id, health: async () => (up ? undefined : Promise.reject(Object.assign(new Error('down'), { code: 'EID_UPSTREAM_UNAVAILABLE' }))) } as unknown as EidAdapter] as const;
const secrets = (status: 'active' | 'next') => ({ signingKeys: [{ kid: 'k', kty: 'RSA', alg: 'RS256', status }] }) as unknown as HubSecrets;

describe('readiness', () => {
  it('is ready when everything answers', async () => {
    const r = await readiness({ store: store(true), methods: new Map([method('bankid', true)]), registry: undefined, secrets: secrets('active'), log, upstreamCacheMs: 0 })();
    assert.deepEqual(r, { ready: true, status: 'ready', checks: { store: 'ok', keys: 'ok', 'method:bankid': 'ok' } });
  });

  it('stays ready but says degraded when an e-ID service is down (every process would fail alike)', async () => {
    const r = await readiness({ store: store(true), methods: new Map([method('bankid', false), method('freja', true)]), registry: undefined, secrets: secrets('active'), log, upstreamCacheMs: 0 })();
    assert.equal(r.ready, true);
    assert.equal(r.status, 'degraded');
    assert.match(r.checks['method:bankid']!, /^error: EID_UPSTREAM_UNAVAILABLE down/);
  });

  it('is not ready without its store or an active signing key', async () => {
    const noStore = await readiness({ store: store(false), methods: new Map(), registry: undefined, secrets: secrets('active'), log, upstreamCacheMs: 0 })();
    assert.equal(noStore.ready, false);
    assert.equal(noStore.status, 'not-ready');
    const noKey = await readiness({ store: store(true), methods: new Map(), registry: undefined, secrets: secrets('next'), log, upstreamCacheMs: 0 })();
    assert.equal(noKey.checks.keys, 'error: no active signing key');
  });
});
