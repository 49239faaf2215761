/**
 * SAML identity providers end to end: RP -> idnav -> the SAML IdP simulator (signed requests, signed
 * and encrypted responses, pinned metadata) -> idnav -> RP, for a citizen of another EU country
 * (eIDAS), a Sweden Connect citizen with a samordningsnummer, and a Karlstad staff member, whose
 * identity is never given to another municipality's client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oc from 'openid-client';
import { signInWithFetch } from '../../adapters/saml/simulator/testkit.ts';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, choose, exchange, redirectUriFor, rpFor, type AuthRequest } from '../helpers/flows.ts';

const SCOPE_EIDAS = 'https://id.swedenconnect.se/scope/eidasNaturalPersonIdentity';
const SCOPE_NPN = 'https://id.oidc.se/scope/naturalPersonNumber';
const CLAIM_PNR = 'https://id.oidc.se/claim/personalIdentityNumber';
const CLAIM_COORDINATION = 'https://id.oidc.se/claim/coordinationNumber';
const CLAIM_PRID = 'https://id.swedenconnect.se/claim/prid';
const CLAIM_STAFF = 'urn:idnav:claim:staff';

/**
 * Chooses `method` on the chooser, lets the simulated IdP sign `personId` in (or cancel), and posts its
 * answer to the hub's assertion consumer service as the browser's auto-submitted form would. Resolves
 * with where the hub sends the browser afterwards: the RP's redirect URI, or the hub's own page.
 */
async function samlSignIn(
  env: TestEnv,
  browser: Browser,
  req: AuthRequest,
  method: string,
  persona: string,
  personId: string,
  action: 'login' | 'cancel' = 'login',
): Promise<{ callback?: URL; page?: { url: URL; html: string; status: number } }> {
  const { res, url } = await browser.follow(req.url, (loc) => loc.href.startsWith(req.redirectUri));
  const chosen = await choose(browser, { url, html: await res.text() }, method, env.sims.saml.url);
  assert.ok(chosen.stoppedAt, `the hub sent the browser to the IdP (${chosen.url})`);
  assert.equal(chosen.stoppedAt.pathname, `/${persona}/sso`);
  const outcome = await signInWithFetch(chosen.stoppedAt.href, env.sims.saml, persona, personId, action);
  return postToAcs(browser, req, outcome.acsUrl, { SAMLResponse: outcome.SAMLResponse, RelayState: outcome.RelayState! });
}

async function postToAcs(browser: Browser, req: AuthRequest, acsUrl: string, fields: Record<string, string>) {
  const posted = await browser.postForm(acsUrl, fields);
  if (posted.status !== 303) return { page: { url: new URL(acsUrl), html: await posted.text(), status: posted.status } };
  await posted.body?.cancel();
  const next = await browser.follow(new URL(posted.headers.get('location')!, acsUrl), (loc) => loc.href.startsWith(req.redirectUri));
  if (next.stoppedAt) return { callback: next.stoppedAt };
  return { page: { url: next.url, html: await next.res.text(), status: next.res.status } };
}

describe('sign-in through SAML identity providers', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({ demo: false });
  });
  after(() => env.close());

  it('signs in a citizen of another EU country through the eIDAS connector, with prid and no personal identity number', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: `openid profile ${SCOPE_NPN} ${SCOPE_EIDAS}` });
    const browser = new Browser();
    const { callback } = await samlSignIn(env, browser, req, 'saml:eidas', 'eidas', 'no-solveig');
    assert.ok(callback, 'back at the RP');
    const tokens = await exchange(rp, callback, req);
    const claims = tokens.claims()!;
    assert.match(String(claims[CLAIM_PRID]), /^NO:/);
    assert.equal(claims[CLAIM_PNR], undefined);
    assert.equal(claims.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-eidas-sub');
    assert.equal(claims['https://id.oidc.se/claim/authnProvider'], 'urn:idnav:method:saml:eidas');
    const userinfo = await oc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    assert.equal(userinfo.given_name, 'Solveig');
    assert.equal(userinfo['https://id.swedenconnect.se/claim/eidasCountry'], 'NO');
    // The request the hub sent was signed and asked for the eIDAS levels exactly.
    const sent = env.sims.saml.control.lastRequest('eidas');
    assert.ok(sent, 'the IdP received a request');
  });

  it('releases an eIDAS citizen’s bound Swedish number as the personal identity number to a client that accepts the binding', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: `openid ${SCOPE_NPN} ${SCOPE_EIDAS}` });
    const { callback } = await samlSignIn(env, new Browser(), req, 'saml:eidas', 'eidas', 'fi-erik');
    const claims = (await exchange(rp, callback!, req)).claims()!;
    assert.equal(claims[CLAIM_PNR], '190310092374');
    assert.match(String(claims[CLAIM_PRID]), /^FI:/);
  });

  it('signs in a Sweden Connect citizen with a samordningsnummer as a coordination number', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: `openid ${SCOPE_NPN}` });
    const { callback } = await samlSignIn(env, new Browser(), req, 'saml:sweden-connect', 'sweden-connect', '190803752427');
    const claims = (await exchange(rp, callback!, req)).claims()!;
    assert.equal(claims[CLAIM_COORDINATION], '190803752427');
    assert.equal(claims[CLAIM_PNR], undefined);
    assert.equal(claims.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
  });

  it('signs in Karlstad staff at a Karlstad service, and never gives that identity to a Kil client', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: 'openid profile email urn:idnav:scope:staff' });
    const browser = new Browser();
    const { callback } = await samlSignIn(env, browser, req, 'saml:karlstad-adfs', 'karlstad-adfs', 'lena');
    const tokens = await exchange(rp, callback!, req);
    const userinfo = await oc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
    assert.deepEqual(userinfo[CLAIM_STAFF], { tenant: 'karlstad', employee_id: 'lekl0234@karlstad.se', eduPersonPrincipalName: 'lekl0234@karlstad.se' });
    assert.equal(userinfo.email, 'lena.klaralvsson@karlstad.se');
    assert.equal(userinfo[CLAIM_PNR], undefined);

    // Kil's school system in the same browser: no single sign-on with a Karlstad staff session.
    const kil = await rpFor(env, 'kil-skola');
    const kilReq = await authorizationRequest(kil, redirectUriFor(env, 'kil-skola'));
    const { res, stoppedAt } = await browser.follow(kilReq.url, (loc) => loc.href.startsWith(kilReq.redirectUri));
    assert.equal(stoppedAt, undefined, 'the Kil client did not get the staff identity');
    const html = await res.text();
    assert.match(html, /Välj hur du vill logga in/);
    assert.doesNotMatch(html, /karlstad-adfs/, "Karlstad's staff IdP is not offered to Kil");

    // Nor can a Kil client ask for it by name.
    const named = await authorizationRequest(kil, redirectUriFor(env, 'kil-skola'), { 'https://id.oidc.se/param/authnProvider': 'urn:idnav:method:saml:karlstad-adfs' });
    const refused = await new Browser().follow(named.url, (loc) => loc.href.startsWith(named.redirectUri));
    assert.equal(refused.stoppedAt?.searchParams.get('error'), 'invalid_request');
  });

  it('shows a cancelled sign-in at the IdP as cancelled, with a way to try again and a way back', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    const browser = new Browser();
    const { page } = await samlSignIn(env, browser, req, 'saml:eidas', 'eidas', 'no-solveig', 'cancel');
    assert.ok(page);
    assert.equal(page.status, 200);
    assert.match(page.html, /Inloggningen avbröts/);
    assert.match(page.html, /id="retry"/);
    const abort = /<form method="post" action="([^"]+\/abort[^"]*)"/.exec(page.html)![1]!.replace(/&amp;/g, '&');
    const back = await browser.postForm(new URL(abort, page.url), {});
    const location = back.headers.get('location')!;
    await back.body?.cancel();
    const { stoppedAt } = await browser.follow(new URL(location, page.url), (loc) => loc.href.startsWith(req.redirectUri));
    assert.equal(stoppedAt?.searchParams.get('error'), 'access_denied');
  });

  it('refuses a forged answer, an answer for no sign-in, and a replayed one, each with a clear page and never a 500', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    const browser = new Browser();
    const { res, url } = await browser.follow(req.url, () => false);
    const chosen = await choose(browser, { url, html: await res.text() }, 'saml:eidas', env.sims.saml.url);
    const outcome = await signInWithFetch(chosen.stoppedAt!.href, env.sims.saml, 'eidas', 'no-solveig');

    // Tampered: the signed Response's IssueInstant moved a year (the assertion itself is encrypted).
    const original = Buffer.from(outcome.SAMLResponse, 'base64').toString('utf8');
    const xml = original.replace(/IssueInstant="(\d{4})/, (_m, y: string) => `IssueInstant="${Number(y) + 1}`);
    assert.notEqual(xml, original);
    const forged = await postToAcs(browser, req, outcome.acsUrl, { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: outcome.RelayState! });
    assert.equal(forged.page?.status, 200);
    assert.match(forged.page!.html, /EID_RESPONSE_INVALID/);

    // No RelayState of ours: unsolicited.
    const unsolicited = await fetch(outcome.acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: outcome.SAMLResponse }) });
    assert.equal(unsolicited.status, 400);
    assert.match(await unsolicited.text(), /TRANSACTION_NOT_FOUND/);

    // The same answer again for the same sign-in, after it already has one.
    const again = await fetch(outcome.acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: outcome.SAMLResponse, RelayState: outcome.RelayState! }) });
    assert.equal(again.status, 409);
    assert.match(await again.text(), /TRANSACTION_REPLAYED/);
    assert.ok(!env.logs.some((l) => l.includes('"level":50') && l.includes('saml')), 'no internal error logged');
  });

  it('publishes the hub’s SP metadata for each IdP', async () => {
    const res = await fetch(`${env.issuer}/saml/eidas/metadata`);
    assert.equal(res.status, 200);
    const xml = await res.text();
    assert.match(xml, /entityID="[^"]*\/saml\/eidas"/);
    assert.match(xml, /AssertionConsumerService[^>]+Location="[^"]*\/login\/saml\/eidas\/acs"/);
    assert.match(xml, /http:\/\/id\.elegnamnden\.se\/ec\/1\.0\/eidas-naturalperson/);
  });
});
