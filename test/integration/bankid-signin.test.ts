/**
 * The walk-through of the README, as a script: Karlstad's e-service -> BankID -> signed in; Kil's school
 * system -> signed in without BankID; logout -> both demo RPs receive and verify a back-channel logout.
 * Plus the ways a BankID sign-in ends other than success, and what the logs may not contain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser, attr } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { PERSON, appCall, authorizationRequest, demoSignIn, exchange, openLogin, redirectUriFor, rpFor, signInWithBankId, statusUrlOf, waitForStatus, type Status } from '../helpers/flows.ts';

interface DemoState {
  signedIn: boolean;
  sub?: string;
  sid?: string;
  idTokenClaims?: Record<string, unknown>;
  backchannelLogouts: Array<{ sid?: string; jti: string }>;
  endedByBackchannelLogout?: unknown;
}

describe('the walk-through: e-service, school system, logout', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
  });
  after(() => env.close());

  it('signs in, shares the session, and logs out of both with verified back-channel logout', async () => {
    const browser = new Browser();
    await demoSignIn(env, browser, '/demo/e-tjanst/karlstad');
    const eservice = await browser.json<DemoState>(`${env.issuer}/demo/e-tjanst/karlstad/state`);
    assert.equal(eservice.signedIn, true);
    assert.equal(eservice.idTokenClaims?.['https://id.oidc.se/claim/personalIdentityNumber'], PERSON);
    const home = await (await browser.get(`${env.issuer}/demo/e-tjanst/karlstad/`)).text();
    assert.match(home, /Utloggning|Logga ut/);

    const ordersBefore = env.sims.bankid.control.orders().length;
    await demoSignIn(env, browser, '/demo/kil-skola');
    assert.equal(env.sims.bankid.control.orders().length, ordersBefore, 'no new BankID order for the school system');
    const school = await browser.json<DemoState>(`${env.issuer}/demo/kil-skola/state`);
    assert.equal(school.signedIn, true);

    const out = await browser.request(`${env.issuer}/demo/e-tjanst/karlstad/logout`, { method: 'POST' });
    const confirm = await browser.follow(new URL(out.headers.get('location')!, env.issuer));
    const page = await confirm.res.text();
    assert.match(page, /Logga ut/);
    const action = attr(page, 'action', 'op.logoutForm');
    const xsrf = attr(page, 'value', 'name="xsrf"');
    assert.ok(action && xsrf, 'the confirmation form');
    const done = await browser.request(new URL(action, confirm.url), {
      method: 'POST',
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(done.status, 303);
    assert.match(done.headers.get('location') ?? '', /\/demo\/e-tjanst\/karlstad\/$/);

    const after1 = await browser.json<DemoState>(`${env.issuer}/demo/e-tjanst/karlstad/state`);
    const after2 = await browser.json<DemoState>(`${env.issuer}/demo/kil-skola/state`);
    assert.equal(after2.signedIn, false, 'the school system session ended');
    assert.ok(after2.endedByBackchannelLogout, 'by back-channel logout');
    assert.equal(after1.signedIn, false);
    assert.ok(after1.backchannelLogouts.some((l) => l.sid === eservice.sid), 'the e-service received a verified logout token');
    assert.ok(after2.backchannelLogouts.some((l) => l.sid === school.sid), 'the school system received a verified logout token');

    // The hub session is gone: the next sign-in needs BankID again.
    const again = await browser.follow(`${env.issuer}/demo/kil-skola/login`);
    assert.match(again.url.pathname, /^\/login\/[^/]+$/, 'the chooser again');
    assert.match(await again.res.text(), /Kils kommun/);
  });

  it('refuses a forged back-channel logout token at the demo RP', async () => {
    const res = await fetch(`${env.issuer}/demo/kil-skola/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.' }).toString(),
    });
    assert.equal(res.status, 400);
  });

  it('keeps personal identity numbers, tokens, codes and secrets out of the application log', async () => {
    env.logs.length = 0;
    const rp = await rpFor(env, 'e-tjanst');
    const browser = new Browser();
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    const callback = await signInWithBankId(env, browser, req, PERSON, 'this');
    const tokens = await exchange(rp, callback, req);
    const log = env.logs.join('');
    assert.ok(env.logs.length >= 3, 'the sign-in was logged');
    const secret = env.config.clients.find((c) => c.client_id === 'e-tjanst')!.client_secret!;
    const forbidden = [PERSON, PERSON.slice(2), callback.searchParams.get('code')!, tokens.access_token, tokens.id_token!, secret, req.verifier];
    for (const value of forbidden) assert.ok(!log.includes(value), `log contains ${value.slice(0, 12)}…`);
  });
});

describe('BankID sign-ins that do not succeed', () => {
  let env: TestEnv;
  before(async () => {
    // Short order lifetimes so that expiry happens within the test.
    env = await startTestEnv({ demo: false, bankid: { orderLifetimeMs: 2500, startWindowMs: 60_000 } });
  });
  after(() => env.close());

  async function begin(browser = new Browser()) {
    const rp = await rpFor(env, 'kommun-app');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'kommun-app'));
    const opened = await openLogin(browser, req);
    return { browser, req, opened, statusUrl: statusUrlOf(opened.pageUrl!, opened.html!) };
  }

  it('user cancel in the app -> the failure message -> access_denied at the RP', async () => {
    const { browser, req, statusUrl } = await begin();
    const s = await browser.json<Status>(statusUrl);
    assert.equal((await appCall(env, '/scan', { qr: s.qr!, personalNumber: PERSON, action: 'cancel' })).status, 200);
    const failed = await waitForStatus(browser, statusUrl);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.hintCode, 'userCancel');
    assert.equal(failed.message, 'Åtgärden avbruten.');
    assert.ok(failed.retry && failed.next);
    const { stoppedAt } = await browser.follow(new URL(failed.next!, statusUrl), (l) => l.href.startsWith(req.redirectUri));
    assert.equal(stoppedAt?.searchParams.get('error'), 'access_denied');
    assert.equal(stoppedAt?.searchParams.get('state'), req.state);
  });

  it('expiry -> the failure page with retry and cancel -> cancel gives access_denied', async () => {
    const { browser, req, opened, statusUrl } = await begin();
    const failed = await waitForStatus(browser, statusUrl, undefined, 10_000);
    assert.equal(failed.hintCode, 'expiredTransaction');
    assert.match(failed.message!, /BankID-appen svarar inte/);
    const page = await (await browser.get(opened.pageUrl!)).text();
    assert.match(page, /Försök igen/);
    assert.match(page, /BankID-appen svarar inte/);
    const res = await browser.request(new URL(failed.next!, statusUrl), { method: 'POST' });
    const location = new URL(res.headers.get('location')!, env.issuer);
    const { stoppedAt } = await browser.follow(location, (l) => l.href.startsWith(req.redirectUri));
    assert.equal((stoppedAt ?? location).searchParams.get('error'), 'access_denied');
  });

  it('going back after BankID could not be reached tells the RP temporarily_unavailable', async () => {
    env.sims.bankid.control.switch({ kind: 'error', endpoint: 'auth', count: 1, httpStatus: 503, errorCode: 'maintenance' });
    const { browser, req, statusUrl } = await begin();
    const failed = await browser.json<Status>(statusUrl);
    assert.equal(failed.status, 'failed');
    const { stoppedAt } = await browser.follow(new URL(failed.next!, statusUrl), (l) => l.href.startsWith(req.redirectUri));
    assert.equal(stoppedAt?.searchParams.get('error'), 'temporarily_unavailable');
  });

  it('try again starts a new order and leaves no pending one behind', async () => {
    const { browser, statusUrl } = await begin();
    const first = await waitForStatus(browser, statusUrl, undefined, 10_000);
    assert.equal(first.status, 'failed');
    const retried = await browser.request(new URL(first.retry!, statusUrl), { method: 'POST', headers: { accept: 'application/json' } });
    const s = (await retried.json()) as Status;
    assert.equal(s.status, 'pending');
    const pending = env.sims.bankid.control.orders().filter((o) => o.status === 'pending');
    assert.equal(pending.length, 1, 'only the new order is pending');
  });

  it('an explicit cancel, and a new sign-in in the same browser, cancel the order at BankID', async () => {
    const a = await begin();
    const orderA = env.sims.bankid.control.orders().at(-1)!;
    assert.equal(orderA.status, 'pending');
    // A second sign-in in the same browser.
    const b = await begin(a.browser);
    const states = new Map(env.sims.bankid.control.orders().map((o) => [o.orderRef, o.status]));
    assert.equal(states.get(orderA.orderRef), 'cancelledByRp', 'the earlier order was cancelled');
    const orderB = env.sims.bankid.control.orders().at(-1)!;
    const cancelUrl = /action="([^"]*\/abort\?[^"]*)"/.exec(b.opened.html!)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(cancelUrl, 'the page has a cancel form');
    const res = await b.browser.request(new URL(cancelUrl, b.opened.pageUrl), { method: 'POST' });
    assert.equal(res.status, 303);
    const after = new Map(env.sims.bankid.control.orders().map((o) => [o.orderRef, o.status]));
    assert.equal(after.get(orderB.orderRef), 'cancelledByRp');
  });

  it('survives a reload: the same order, the same status', async () => {
    const { browser, opened } = await begin();
    const count = env.sims.bankid.control.orders().length;
    const again = await (await browser.get(opened.pageUrl!)).text();
    assert.match(again, /data-status-url/);
    assert.equal(env.sims.bankid.control.orders().length, count, 'no new order on reload');
  });
});

describe('SSO that stops at tenant borders (sso.acrossTenants: false)', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({ demo: false, override: (c) => ({ ...c, sso: { acrossTenants: false } }) });
  });
  after(() => env.close());

  it('signs in again for another municipality, but not for the same one', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const browser = new Browser();
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    await signInWithBankId(env, browser, req);
    const same = await openLogin(browser, await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad')));
    assert.ok(same.callback, 'SSO within Karlstad');
    const other = await openLogin(browser, await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'kil')));
    assert.equal(other.callback, undefined, 'Kil needs its own sign-in');
    assert.match(other.html!, /data-status-url/);
  });
});
