/**
 * Back-channel logout to a relying party that is down at that moment: the others are told at once, and
 * the one that failed is told again from the hub's retry queue in the Store.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Browser, attr } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { demoSignIn } from '../helpers/flows.ts';

interface DemoState {
  signedIn: boolean;
  endedByBackchannelLogout?: unknown;
}

describe('back-channel logout retries', () => {
  let env: TestEnv;
  let flaky: Server;
  let calls = 0;

  before(async () => {
    // Kil's school system is down for its first logout token, then back: this stand-in answers 503
    // once and afterwards passes the token on to the school system.
    flaky = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls++;
        if (calls === 1) {
          res.writeHead(503).end();
          return;
        }
        void fetch(`${env.issuer}/demo/kil-skola/backchannel-logout`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: Buffer.concat(chunks) }).then(
          (r) => res.writeHead(r.status).end(),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', () => r()));
    const port = (flaky.address() as { port: number }).port;
    env = await startTestEnv({
      backchannelRetry: { intervalMs: 100, delaysMs: [800] },
      override: (c) => ({
        ...c,
        clients: c.clients.map((cl) => (cl.client_id === 'kil-skola' ? { ...cl, backchannel_logout_uri: `http://127.0.0.1:${port}/backchannel-logout` } : cl)),
      }),
    });
  });
  after(async () => {
    await env.close();
    flaky.close();
  });

  it('tells the others at once and the failing one again later, and audits the late delivery', async () => {
    const browser = new Browser();
    await demoSignIn(env, browser, '/demo/e-tjanst/karlstad');
    await demoSignIn(env, browser, '/demo/kil-skola');

    const out = await browser.request(`${env.issuer}/demo/e-tjanst/karlstad/logout`, { method: 'POST' });
    const confirm = await browser.follow(new URL(out.headers.get('location')!, env.issuer));
    const page = await confirm.res.text();
    const done = await browser.request(new URL(attr(page, 'action', 'op.logoutForm')!, confirm.url), {
      method: 'POST',
      body: new URLSearchParams({ xsrf: attr(page, 'value', 'name="xsrf"')!, logout: 'yes' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(done.status, 303);

    // The e-service was told; the school system was down and still has its session.
    assert.equal((await browser.json<DemoState>(`${env.issuer}/demo/e-tjanst/karlstad/state`)).signedIn, false);
    assert.equal((await browser.json<DemoState>(`${env.issuer}/demo/kil-skola/state`)).signedIn, true);
    assert.equal(calls, 1);

    // From the retry queue, the school system is told too.
    const until = Date.now() + 10_000;
    let school: DemoState;
    do {
      await new Promise((r) => setTimeout(r, 100));
      school = await browser.json<DemoState>(`${env.issuer}/demo/kil-skola/state`);
    } while (school.signedIn && Date.now() < until);
    assert.equal(school.signedIn, false, 'the school system session ended on the retry');
    assert.ok(school.endedByBackchannelLogout);
    const delivered = env.audit.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.event === 'logout.backchannel.delivered');
    assert.equal(delivered?.client, 'kil-skola');
    assert.equal(delivered?.attempts, 2);
  });
});
