/**
 * Graceful shutdown: a request in progress when the hub is told to stop still gets its answer, new
 * connections are refused, and /readyz says so while it drains.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, choose, redirectUriFor, rpFor } from '../helpers/flows.ts';

describe('graceful shutdown', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({ demo: false });
  });
  after(() => env.sims.close());

  it('finishes a request in progress (a BankID order being started) before it stops', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    const browser = new Browser();
    const { res, url } = await browser.follow(req.url, () => false);
    // BankID answers the order slowly: the page request is still running when shutdown begins.
    env.sims.bankid.control.switch({ kind: 'delay', endpoint: 'auth', ms: 800 });
    const page = choose(browser, { url, html: await res.text() });
    await new Promise((r) => setTimeout(r, 300));
    const closed = env.hub.close(5000, 400);
    // Draining: the load balancer is told to stop, and the hub still serves.
    const readyz = await fetch(`${env.issuer}/readyz`);
    assert.equal(readyz.status, 503);
    assert.deepEqual(await readyz.json(), { ready: false, status: 'shutting-down' });
    assert.equal((await fetch(`${env.issuer}/healthz`)).status, 200);
    const answered = await page;
    assert.match(answered.html, /data-status-url/, 'the sign-in page was answered in full');
    await closed;
    await assert.rejects(fetch(`${env.issuer}/healthz`), 'no new requests after the shutdown');
  });
});
