/**
 * Freja eID beside BankID, end to end: RP -> hub -> Freja simulator (mutual TLS, signed results) on both
 * devices, every way a Freja sign-in ends, the level of assurance rules, the tenant's chooser, and the
 * fallback to another method when BankID is in maintenance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oc from 'openid-client';
import { Browser, attr } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import {
  CLAIM_PNR,
  PERSON,
  SCOPE_NPI,
  SCOPE_NPN,
  authorizationRequest,
  exchange,
  frejaApp,
  frejaReference,
  openFreja,
  redirectUriFor,
  rpFor,
  statusUrlOf,
  waitForStatus,
  type AuthRequest,
  type Status,
} from '../helpers/flows.ts';

const LOA3 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';
const LOA2 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa2';
const EXTENDED_USER = '189912300085';
const FREJA = 'urn:idnav:method:freja';

async function request(env: TestEnv, tenant = 'karlstad', params: Record<string, string> = {}): Promise<{ rp: oc.Configuration; req: AuthRequest }> {
  const rp = await rpFor(env, 'e-tjanst');
  const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', tenant), { scope: `openid profile ${SCOPE_NPN} ${SCOPE_NPI}`, ...params });
  return { rp, req };
}

/** After the order ended: follow `next` back to the RP; resolves with the callback URL. */
async function backToRp(browser: Browser, statusUrl: URL, s: Status, req: AuthRequest): Promise<URL> {
  const next = s.status === 'failed' ? s.next! : s.next!;
  if (s.status === 'failed') {
    const res = await browser.postForm(new URL(next, statusUrl), {});
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (location?.startsWith(req.redirectUri)) return new URL(location);
    const { stoppedAt } = await browser.follow(new URL(location!, statusUrl), (loc) => loc.href.startsWith(req.redirectUri));
    assert.ok(stoppedAt);
    return stoppedAt;
  }
  const { stoppedAt } = await browser.follow(new URL(next, statusUrl), (loc) => loc.href.startsWith(req.redirectUri));
  assert.ok(stoppedAt, 'back at the RP');
  return stoppedAt;
}

describe('Freja eID sign-in', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({
      freja: { timings: { transactionLifetimeMs: 3000 } },
      // The municipal app does not take part in single sign-on here (a test below).
      // and Kil's school system wants an e-ID sign-in at most 1 s old (default_max_age).
      override: (c) => ({
        ...c,
        clients: c.clients.map((cl) => (cl.client_id === 'kommun-app' ? { ...cl, sso: false } : cl.client_id === 'kil-skola' ? { ...cl, default_max_age: 1 } : cl)),
      }),
    });
  });
  after(() => env.close());

  it('signs in on another device (QR) with the claims and acr of Freja eID+, asking Freja for no more than the client may have', async () => {
    const { rp, req } = await request(env);
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const first = await browser.json<Status>(page.statusUrl);
    assert.equal(first.status, 'pending');
    assert.match(first.qr ?? '', /^frejaeid:\/\/bindUserToTransaction\?transactionReference=/);
    assert.match(page.html, /Starta Freja eID-appen|Freja eID/);
    const ref = frejaReference(first.qr!);
    const sent = env.sims.freja.control.transactions().find((t) => t.authRef === ref)!;
    assert.equal(sent.request.userInfoType, 'INFERRED');
    assert.equal(sent.request.minRegistrationLevel, 'EXTENDED', 'the configured level, as the RP did not ask for LoA 3');
    const attributes = (sent.request.attributesToReturn as unknown[]).map((a) => (typeof a === 'string' ? a : (a as { attribute: string }).attribute));
    assert.deepEqual(attributes.sort(), ['BASIC_USER_INFO', 'DATE_OF_BIRTH', 'REGISTRATION_LEVEL', 'SSN']);

    const approved = await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await waitForStatus(browser, page.statusUrl);
    assert.equal(done.status, 'complete', JSON.stringify(done));
    const callback = await backToRp(browser, page.statusUrl, done, req);
    const tokens = await exchange(rp, callback, req);
    const claims = tokens.claims()!;
    assert.equal(claims.acr, LOA3);
    assert.equal(claims[CLAIM_PNR], PERSON);
    assert.equal(claims['https://id.oidc.se/claim/authnProvider'], FREJA);
    const userinfo = await oc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.equal(userinfo.family_name, 'Testsson');
  });

  it('signs in on this device: the button opens Freja with the same transaction', async () => {
    const { rp, req } = await request(env);
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const launch = attr(page.html, 'href', 'id="launch"');
    assert.ok(launch, 'a button that opens Freja on this device');
    const res = await browser.get(new URL(launch, page.pageUrl));
    assert.equal(res.status, 302);
    const target = new URL(res.headers.get('location')!, page.pageUrl);
    const ref = target.searchParams.get('transactionReference');
    assert.ok(ref, `launch went to ${target}`);
    const first = await browser.json<Status>(page.statusUrl);
    assert.equal(frejaReference(first.qr!), ref, 'the QR and the button are one transaction');
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, page.statusUrl);
    assert.equal(done.status, 'complete');
    const tokens = await exchange(rp, await backToRp(browser, page.statusUrl, done, req), req);
    assert.equal(tokens.claims()![CLAIM_PNR], PERSON);
  });

  for (const [action, code, hint] of [
    ['cancel', 'EID_USER_CANCELLED', 'access_denied'],
    ['reject', 'EID_RISK_BLOCKED', 'access_denied'],
  ] as const) {
    it(`ends with ${code} when the person chooses ${action} in the app, and the RP gets ${hint}`, async () => {
      const { req } = await request(env);
      const browser = new Browser();
      const page = await openFreja(browser, req);
      const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
      assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action })).status, 200);
      const done = await waitForStatus(browser, page.statusUrl);
      assert.equal(done.status, 'failed');
      assert.equal(done.code, code);
      assert.ok(done.message && done.message.length > 10, 'a message for the person');
      const callback = await backToRp(browser, page.statusUrl, done, req);
      assert.equal(callback.searchParams.get('error'), hint);
    });
  }

  it('ends with EID_EXPIRED when nobody answers in time', async () => {
    const { req } = await request(env);
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const done = await waitForStatus(browser, page.statusUrl, undefined, 15_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.code, 'EID_EXPIRED');
  });

  for (const [name, tamper] of [
    ['a bad JWS signature', { kind: 'result', signature: 'corrupt' }],
    ['an unknown x5t', { kind: 'result', x5t: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ] as const) {
    it(`refuses a result with ${name}`, async () => {
      const { req } = await request(env);
      const browser = new Browser();
      const page = await openFreja(browser, req);
      const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
      env.sims.freja.control.switch({ ...tamper, authRef: ref });
      assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' })).status, 200);
      const done = await waitForStatus(browser, page.statusUrl);
      assert.equal(done.status, 'failed');
      assert.equal(done.code, 'EID_RESPONSE_INVALID');
      const callback = await backToRp(browser, page.statusUrl, done, req);
      assert.ok(callback.searchParams.get('error'), 'no code for a forged result');
      assert.equal(callback.searchParams.get('code'), null);
    });
  }

  it('asks Freja for eID+ when the RP requires LoA 3: an EXTENDED user cannot approve, and is told why', async () => {
    const { req } = await request(env, 'karlstad', { acr_values: LOA3 });
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    const sent = env.sims.freja.control.transactions().find((t) => t.authRef === ref)!;
    assert.equal(sent.request.minRegistrationLevel, 'PLUS');
    const refused = await frejaApp(env, { transactionReference: ref, personalNumber: EXTENDED_USER, action: 'approve' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'registrationLevelTooLow');
    const done = await waitForStatus(browser, page.statusUrl, undefined, 15_000);
    assert.equal(done.status, 'failed');
    assert.match(done.message ?? '', /nivå som tjänsten kräver/);
  });

  it('never lets an EXTENDED user through to an RP that requires LoA 3, even if Freja answered with one', async () => {
    const { req } = await request(env, 'karlstad', { acr_values: LOA3 });
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    // A result signed by Freja's real key that says EXTENDED although PLUS was asked for.
    env.sims.freja.control.switch({ kind: 'result', authRef: ref, requestedAttributes: { registrationLevel: 'EXTENDED' } });
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, page.statusUrl);
    assert.equal(done.status, 'failed');
    assert.match(done.message ?? '', /Ditt Freja eID har inte den nivå som tjänsten kräver/);
    const callback = await backToRp(browser, page.statusUrl, done, req);
    assert.equal(callback.searchParams.get('code'), null);
  });

  it('gives an RP that accepts LoA 2 an EXTENDED user, with the LoA 2 acr', async () => {
    const { rp, req } = await request(env, 'karlstad', { acr_values: LOA2 });
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: EXTENDED_USER, action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, page.statusUrl);
    assert.equal(done.status, 'complete');
    const tokens = await exchange(rp, await backToRp(browser, page.statusUrl, done, req), req);
    assert.equal(tokens.claims()!.acr, LOA2);
  });

  it('never pushes an order to a person named in the (unsigned) claims parameter, and refuses someone else', async () => {
    const { req } = await request(env, 'karlstad', {
      claims: JSON.stringify({ id_token: { [CLAIM_PNR]: { essential: true, value: PERSON } } }),
    });
    const browser = new Browser();
    const page = await openFreja(browser, req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    const sent = env.sims.freja.control.transactions().find((t) => t.authRef === ref)!;
    assert.equal(sent.request.userInfoType, 'INFERRED', 'no SSN order: nothing is sent to that person’s phone');
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: '194106279161', action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, page.statusUrl);
    assert.equal(done.status, 'complete');
    const res = await browser.get(new URL(done.next!, page.statusUrl));
    const html = await res.text();
    assert.match(html, /en annan person än den tjänsten väntade sig/);
    assert.match(html, /EID_FAILED/);
  });

  it('asks for a new e-ID sign-in when a client needs a higher level than the session has (step-up)', async () => {
    const browser = new Browser();
    const first = await request(env, 'karlstad', { acr_values: LOA2 });
    const page = await openFreja(browser, first.req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: EXTENDED_USER, action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, page.statusUrl);
    await backToRp(browser, page.statusUrl, done, first.req);

    // The same level again: single sign-on, no e-ID.
    const again = await request(env, 'karlstad', { acr_values: LOA2 });
    const sso = await browser.follow(again.req.url, (loc) => loc.href.startsWith(again.req.redirectUri));
    assert.ok(sso.stoppedAt?.searchParams.get('code'), 'single sign-on at the same level');

    // LoA 3: the LoA 2 session is not enough; the person signs in again (the chooser, not a code).
    const higher = await request(env, 'karlstad', { acr_values: LOA3 });
    const stepUp = await browser.follow(higher.req.url, (loc) => loc.href.startsWith(higher.req.redirectUri));
    assert.equal(stepUp.stoppedAt, undefined);
    assert.match(await stepUp.res.text(), /Välj hur du vill logga in/);
  });

  it('gives a client that does not take part in single sign-on, or wants a recent sign-in, a new sign-in', async () => {
    const browser = new Browser();
    const { rp, req } = await request(env);
    const page = await openFreja(browser, req);
    const ref = frejaReference((await browser.json<Status>(page.statusUrl)).qr!);
    await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' });
    await exchange(rp, await backToRp(browser, page.statusUrl, await waitForStatus(browser, page.statusUrl), req), req);
    // Kil's school system (default_max_age 1 s), two seconds later: a new sign-in as well.
    await new Promise((r) => setTimeout(r, 2100));
    const kil = await rpFor(env, 'kil-skola');
    const kilReq = await authorizationRequest(kil, redirectUriFor(env, 'kil-skola'));
    const kilRes = await browser.follow(kilReq.url, (loc) => loc.href.startsWith(kilReq.redirectUri));
    assert.equal(kilRes.stoppedAt, undefined, 'the session is older than the client accepts');
    await kilRes.res.body?.cancel();
    const app = await rpFor(env, 'kommun-app');
    const appReq = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const res = await browser.follow(appReq.url, (loc) => loc.href.startsWith(appReq.redirectUri));
    assert.equal(res.stoppedAt, undefined, 'no code from the session');
    assert.match(await res.res.text(), /Välj hur du vill logga in/);
  });

  it('lists exactly the tenant’s methods, in its order, and skips the chooser for authnProvider', async () => {
    const names = async (tenant: string) => {
      const { req } = await request(env, tenant);
      const browser = new Browser();
      const { res } = await browser.follow(req.url, () => false);
      const html = await res.text();
      return [...html.matchAll(/action="[^"]*\/choose\/([a-z0-9:_-]+)"/g)].map((m) => m[1]);
    };
    assert.deepEqual(await names('karlstad'), ['bankid', 'freja', 'saml:sweden-connect', 'saml:eidas', 'saml:karlstad-adfs']);
    assert.deepEqual(await names('arjang'), ['freja', 'bankid', 'saml:eidas']);
    assert.deepEqual(await names('kil'), ['bankid', 'freja', 'saml:eidas'], "Karlstad's staff IdP is Karlstad's only");
    assert.deepEqual(await names('storfors'), ['bankid']);

    const { req } = await request(env, 'karlstad', { 'https://id.oidc.se/param/authnProvider': FREJA });
    const { url } = await new Browser().follow(req.url, () => false);
    assert.match(url.pathname, /\/eid\/freja$/);
  });

  it('refuses with unmet_authentication_requirements before any order when no method meets the acr', async () => {
    const before = env.sims.freja.control.transactions().length;
    const { req } = await request(env, 'karlstad', { acr_values: 'http://id.elegnamnden.se/loa/1.0/loa4' });
    const { stoppedAt } = await new Browser().follow(req.url, (loc) => loc.href.startsWith(req.redirectUri));
    assert.equal(stoppedAt?.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(env.sims.freja.control.transactions().length, before);
  });

  it('offers Freja eID when BankID is in maintenance, and the person signs in with it', async () => {
    const { rp, req } = await request(env);
    const browser = new Browser();
    const { res, url } = await browser.follow(req.url, () => false);
    const chooser = await res.text();
    const action = /action="([^"]*\/choose\/bankid)"/.exec(chooser)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(chooser)![1]!;
    env.sims.bankid.control.switch({ kind: 'error', endpoint: 'auth', httpStatus: 503, errorCode: 'maintenance' });
    const chose = await browser.postForm(new URL(action, url), { csrf });
    await chose.body?.cancel();
    const bankidPage = await browser.follow(new URL(chose.headers.get('location')!, url), () => false);
    const html = await bankidPage.res.text();
    const status = await browser.json<Status & { alternatives?: Array<{ id: string; name: string; url: string }> }>(statusUrlOf(bankidPage.url, html));
    assert.equal(status.status, 'failed');
    assert.equal(status.code, 'EID_UPSTREAM_UNAVAILABLE');
    // Karlstad's other methods, in its order.
    assert.deepEqual(status.alternatives?.map((a) => a.id), ['freja', 'saml:sweden-connect', 'saml:eidas', 'saml:karlstad-adfs']);
    assert.equal(status.alternatives?.[0]?.name, 'Freja eID');
    assert.match(html, /Logga in på ett annat sätt/);
    assert.match(html, /data-method="freja"/);

    const frejaPage = await browser.follow(new URL(status.alternatives![0]!.url, bankidPage.url), () => false);
    const frejaHtml = await frejaPage.res.text();
    const statusUrl = statusUrlOf(frejaPage.url, frejaHtml);
    const ref = frejaReference((await browser.json<Status>(statusUrl)).qr!);
    assert.equal((await frejaApp(env, { transactionReference: ref, personalNumber: PERSON, action: 'approve' })).status, 200);
    const done = await waitForStatus(browser, statusUrl);
    assert.equal(done.status, 'complete');
    const tokens = await exchange(rp, await backToRp(browser, statusUrl, done, req), req);
    assert.equal(tokens.claims()!['https://id.oidc.se/claim/authnProvider'], FREJA);
  });
});
