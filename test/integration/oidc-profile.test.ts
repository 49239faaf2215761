/**
 * The provider as a relying party sees it: discovery, tokens, claims and their destinations under the
 * Swedish OIDC profile, request objects, refresh tokens, forced re-authentication, and the errors of
 * malformed requests — all over real HTTP with openid-client, signing in through the BankID simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import {
  CLAIM_PNR,
  PERSON,
  PERSON_2,
  SCOPE_NPI,
  SCOPE_NPN,
  authorizationRequest,
  exchange,
  openLogin,
  redirectUriFor,
  rpFor,
  signInWithBankId,
} from '../helpers/flows.ts';

let env: TestEnv;
let app: oc.Configuration;
let eservice: oc.Configuration;
let school: oc.Configuration;

before(async () => {
  env = await startTestEnv({ demo: false });
  app = await rpFor(env, 'kommun-app');
  eservice = await rpFor(env, 'e-tjanst');
  school = await rpFor(env, 'kil-skola');
});
after(() => env.close());

describe('discovery and keys', () => {
  it('advertises what the Swedish OIDC profile requires', async () => {
    const d = (await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(d.issuer, env.issuer);
    assert.equal(d.claims_parameter_supported, true);
    assert.equal(d.request_parameter_supported, true);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(d.response_types_supported, ['code']);
    assert.ok((d.token_endpoint_auth_methods_supported as string[]).includes('private_key_jwt'));
    const algs = d.token_endpoint_auth_signing_alg_values_supported as string[];
    assert.ok(algs.includes('RS256') && algs.includes('ES256') && !algs.includes('none'));
    assert.ok((d.subject_types_supported as string[]).includes('public'));
    assert.ok((d.acr_values_supported as string[]).includes('http://id.swedenconnect.se/loa/1.0/uncertified-loa3'));
    assert.equal(d['https://id.oidc.se/disco/authnProviderSupported'], true);
    assert.equal(d.backchannel_logout_supported, true);
    assert.ok(typeof d.end_session_endpoint === 'string');
    assert.ok((d.scopes_supported as string[]).includes(SCOPE_NPN));
  });

  it('lets relying parties cache discovery and keys', async () => {
    const d = await fetch(`${env.issuer}/.well-known/openid-configuration`);
    assert.match(d.headers.get('cache-control') ?? '', /public, max-age=\d+/);
    const k = await fetch(`${env.issuer}/jwks`);
    assert.match(k.headers.get('cache-control') ?? '', /public, max-age=600/);
    await d.body?.cancel();
    await k.body?.cancel();
  });

  it('publishes signing keys with a kid', async () => {
    const jwks = (await (await fetch(`${env.issuer}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.ok(jwks.keys.length >= 2);
    for (const k of jwks.keys) {
      assert.ok(k.kid, 'every key has a kid');
      assert.equal(k.d, undefined, 'no private parts');
    }
  });
});

describe('sign-in with BankID on another device (public app client, PKCE)', () => {
  let tokens: Awaited<ReturnType<typeof exchange>>;
  let browser: Browser;

  before(async () => {
    browser = new Browser();
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const callback = await signInWithBankId(env, browser, req, PERSON, 'other');
    tokens = await exchange(app, callback, req);
  });

  it('issues an ID token that verifies against the JWKS and follows the profile', async () => {
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${env.issuer}/jwks`)), { issuer: env.issuer, audience: 'kommun-app' });
    assert.ok(payload.exp! - payload.iat! <= 300, 'ID token lives at most 5 minutes');
    assert.equal(typeof payload.auth_time, 'number');
    assert.equal(payload.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
    assert.deepEqual(payload.amr, ['mfa', 'swk']);
    assert.notEqual(payload.sub, PERSON);
    assert.ok(!String(payload.sub).includes(PERSON.slice(2)), 'sub carries no personal identity number');
    assert.equal(payload[CLAIM_PNR], PERSON, 'naturalPersonNumber puts the number in the ID token');
    assert.equal(payload.given_name, undefined, 'naturalPersonInfo claims go to UserInfo, not the ID token');
    assert.equal(payload['https://id.oidc.se/claim/authnProvider'], 'urn:idnav:method:bankid');
  });

  it('answers UserInfo as a signed JWT with names, birthdate and the number', async () => {
    const claims = tokens.claims()!;
    const info = await oc.fetchUserInfo(app, tokens.access_token, claims.sub);
    assert.equal(info[CLAIM_PNR], PERSON);
    assert.equal(info.birthdate, '1986-02-21');
    assert.ok(typeof info.given_name === 'string' && typeof info.family_name === 'string');
    const raw = await fetch(`${env.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.match(raw.headers.get('content-type') ?? '', /application\/jwt/);
  });

  it('gives the same person the same sub on a second sign-in, and another person another sub', async () => {
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'), { prompt: 'login' });
    const again = await exchange(app, await signInWithBankId(env, browser, req, PERSON, 'other'), req);
    assert.equal(again.claims()!.sub, tokens.claims()!.sub);
    const other = new Browser();
    const req2 = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const second = await exchange(app, await signInWithBankId(env, other, req2, PERSON_2, 'other'), req2);
    assert.notEqual(second.claims()!.sub, tokens.claims()!.sub);
  });
});

describe('sign-in on this device (confidential e-service), SSO and sectors', () => {
  const browser = new Browser();
  let first: Awaited<ReturnType<typeof exchange>>;

  before(async () => {
    const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    first = await exchange(eservice, await signInWithBankId(env, browser, req, PERSON, 'this'), req);
  });

  it('signs in through autostart and the app returning with the nonce', () => {
    assert.equal(first.claims()![CLAIM_PNR], PERSON);
  });

  it('serves a second client of another municipality without a new BankID (SSO)', async () => {
    const req = await authorizationRequest(school, redirectUriFor(env, 'kil-skola'));
    const opened = await openLogin(browser, req);
    assert.ok(opened.callback, 'redirected straight back to the school system');
    const tokens = await exchange(school, opened.callback, req);
    assert.equal(tokens.claims()!.auth_time, first.claims()!.auth_time, 'the original authentication time');
    assert.notEqual(tokens.claims()!.sub, first.claims()!.sub, 'the pairwise e-service sector differs from the school system');
  });

  it('gives clients of one pairwise sector the same sub', async () => {
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const opened = await openLogin(browser, req);
    assert.ok(opened.callback);
    const tokens = await exchange(app, opened.callback, req);
    assert.equal(tokens.claims()!.sub, first.claims()!.sub, 'kommun-app and e-tjanst share the varmland sector');
  });

  it('forces a new BankID sign-in for prompt=login and for max_age', async () => {
    for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Array<Record<string, string>>) {
      const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'kil'), params);
      const opened = await openLogin(browser, req);
      assert.equal(opened.callback, undefined, `${JSON.stringify(params)} shows the BankID page again`);
      assert.match(opened.html!, /data-status-url/);
    }
  });

  it('shows the tenant-branded chooser, skips it for authnProvider and refuses an unknown one', async () => {
    const plain = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'arvika'));
    const chooser = await openLogin(new Browser(), plain, { choose: false });
    assert.match(chooser.html!, /Välj hur du vill logga in/);
    assert.match(chooser.html!, /Arvika kommun/);
    assert.match(chooser.html!, /\/assets\/tenant\/arvika\.css/);
    const ok = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'arvika'), {
      prompt: 'login',
      'https://id.oidc.se/param/authnProvider': 'urn:idnav:method:bankid',
    });
    const direct = await openLogin(new Browser(), ok, { choose: false });
    assert.match(direct.html!, /data-status-url/, 'straight to BankID');
    const bad = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'arvika'), {
      'https://id.oidc.se/param/authnProvider': 'urn:idnav:method:nope',
    });
    const { callback } = await openLogin(new Browser(), bad);
    assert.equal(callback?.searchParams.get('error'), 'invalid_request');
  });

  it('answers unmet_authentication_requirements when no method meets the acr', async () => {
    const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'sunne'), {
      claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'http://id.elegnamnden.se/loa/1.0/loa4' } } }),
    });
    const { callback } = await openLogin(new Browser(), req);
    assert.equal(callback?.searchParams.get('error'), 'unmet_authentication_requirements');
  });
});

describe('claims parameter and request objects', () => {
  const browser = new Browser();

  it('puts a claim where the claims parameter says, even against the scope rule', async () => {
    const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'karlstad'), {
      scope: `openid ${SCOPE_NPN} ${SCOPE_NPI}`,
      claims: JSON.stringify({ userinfo: { [CLAIM_PNR]: { essential: true } }, id_token: { given_name: null } }),
    });
    const tokens = await exchange(eservice, await signInWithBankId(env, browser, req), req);
    const idt = tokens.claims()!;
    assert.equal(idt[CLAIM_PNR], undefined, 'asked for UserInfo only');
    assert.equal(typeof idt.given_name, 'string', 'asked for the ID token');
    const info = await oc.fetchUserInfo(eservice, tokens.access_token, idt.sub);
    assert.equal(info[CLAIM_PNR], PERSON);
  });

  it('releases the number through the claims parameter without the scope', async () => {
    const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'karlstad'), {
      scope: 'openid',
      claims: JSON.stringify({ id_token: { [CLAIM_PNR]: { essential: true } } }),
    });
    const { callback } = await openLogin(browser, req);
    const tokens = await exchange(eservice, callback!, req);
    assert.equal(tokens.claims()![CLAIM_PNR], PERSON);
    const info = await oc.fetchUserInfo(eservice, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.given_name, undefined, 'no scope asked for names');
  });

  it('accepts a signed request object', async () => {
    const secret = env.config.clients.find((c) => c.client_id === 'e-tjanst')!.client_secret!;
    const redirectUri = redirectUriFor(env, 'e-tjanst', 'karlstad');
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const nonce = oc.randomNonce();
    const request = await new SignJWT({
      response_type: 'code',
      client_id: 'e-tjanst',
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      nonce,
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      claims: { id_token: { [CLAIM_PNR]: { essential: true } } },
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('e-tjanst')
      .setAudience(env.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(new TextEncoder().encode(secret));
    const url = new URL(`${env.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'e-tjanst', response_type: 'code', scope: 'openid', request }).toString();
    const { callback } = await openLogin(browser, { url, verifier, state, nonce, redirectUri });
    assert.ok(callback, 'SSO answers at once');
    const tokens = await exchange(eservice, callback, { url, verifier, state, nonce, redirectUri });
    assert.equal(tokens.claims()![CLAIM_PNR], PERSON);
  });
});

describe('refresh tokens for the app', () => {
  it('issues a refresh token to the first-party app without a consent screen, and rotates it', async () => {
    const browser = new Browser();
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'), { scope: `openid offline_access ${SCOPE_NPN}`, prompt: 'consent' });
    const tokens = await exchange(app, await signInWithBankId(env, browser, req), req);
    assert.ok(tokens.refresh_token, 'refresh token issued');
    const refreshed = await oc.refreshTokenGrant(app, tokens.refresh_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'rotated');
    assert.ok(refreshed.access_token);
    const info = await oc.fetchUserInfo(app, refreshed.access_token, tokens.claims()!.sub);
    assert.equal(info[CLAIM_PNR], PERSON);
    await assert.rejects(oc.refreshTokenGrant(app, tokens.refresh_token), (err: Error & { error?: string }) => err.error === 'invalid_grant');
  });
});

describe('pages', () => {
  it('serves the BankID page in Swedish, in English for ui_locales=en, with a strict CSP and no inline script', async () => {
    const browser = new Browser();
    const sv = await openLogin(browser, await authorizationRequest(app, redirectUriFor(env, 'kommun-app')));
    assert.match(sv.html!, /<html lang="sv">/);
    assert.match(sv.html!, /Logga in med BankID/);
    assert.match(sv.html!, /Karlstads kommun/, 'the tenant of the client');
    assert.doesNotMatch(sv.html!, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(sv.html!, /\sstyle=/, 'no inline style');
    const res = await browser.get(sv.pageUrl!);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    await res.body?.cancel();
    const en = await openLogin(new Browser(), await authorizationRequest(app, redirectUriFor(env, 'kommun-app'), { ui_locales: 'en-GB sv' }));
    assert.match(en.html!, /<html lang="en">/);
    assert.match(en.html!, /Sign in with BankID/);
  });

  it('answers response_mode=form_post with the hub\'s own page, submitted by a script file', async () => {
    const browser = new Browser();
    const first = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'grums'));
    await signInWithBankId(env, browser, first);
    const req = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'grums'), { response_mode: 'form_post' });
    const { res } = await browser.follow(req.url);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.ok(html.includes(`action="${req.redirectUri}"`), html);
    assert.match(html, /name="code"/);
    assert.match(html, /<script src="\/assets\/autosubmit.js"><\/script>/);
    assert.doesNotMatch(html, /<script>/);

    const none = await authorizationRequest(eservice, redirectUriFor(env, 'e-tjanst', 'grums'), { response_mode: 'form_post', prompt: 'none' });
    const refused = await new Browser().follow(none.url);
    const errorHtml = await refused.res.text();
    assert.match(errorHtml, /name="error" value="login_required"/);
    assert.match(errorHtml, /autosubmit\.js/);
  });

  it('completes a sign-in once: the completion link replayed is refused without a 500', async () => {
    const browser = new Browser();
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const opened = await openLogin(browser, req);
    const statusUrl = new URL(opened.html!.match(/data-status-url="([^"]+)"/)![1]!, opened.pageUrl);
    const s = (await browser.json(statusUrl)) as { qr: string };
    await fetch(`${env.issuer}/dev/bankid-app/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ qr: s.qr, personalNumber: PERSON, action: 'approve' }) });
    let done: { status: string; next?: string } = { status: 'pending' };
    while (done.status === 'pending') {
      await new Promise((r) => setTimeout(r, 300));
      done = (await browser.json(statusUrl)) as typeof done;
    }
    const next = new URL(done.next!, statusUrl);
    const first = await browser.get(next);
    assert.equal(first.status, 303);
    const again = await browser.get(next);
    assert.ok(again.status >= 400 && again.status < 500, `replayed completion -> ${again.status}`);
  });
});

describe('malformed and refused requests', () => {
  const statusOf = async (url: string | URL, init?: RequestInit) => {
    const res = await fetch(url, { redirect: 'manual', ...init });
    await res.body?.cancel();
    return res;
  };

  it('refuses a public client without PKCE', async () => {
    const url = new URL(`${env.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'kommun-app', response_type: 'code', scope: 'openid', redirect_uri: redirectUriFor(env, 'kommun-app'), state: 'abc' }).toString();
    const res = await statusOf(url);
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('refuses PKCE plain', async () => {
    const url = new URL(`${env.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'kommun-app', response_type: 'code', scope: 'openid', redirect_uri: redirectUriFor(env, 'kommun-app'),
      code_challenge: 'x'.repeat(43), code_challenge_method: 'plain',
    }).toString();
    const location = new URL((await statusOf(url)).headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('never redirects to an unregistered redirect_uri', async () => {
    const url = new URL(`${env.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'e-tjanst', response_type: 'code', scope: 'openid', redirect_uri: 'https://evil.example/callback' }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    const html = await res.text();
    assert.match(html, /redirect_uri/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('answers an unknown client, a bad response_type and bad JSON with OIDC errors, never 500', async () => {
    const cases: Array<[Record<string, string>, number]> = [
      [{ client_id: 'nobody', response_type: 'code', scope: 'openid' }, 400],
      [{ client_id: 'e-tjanst', response_type: 'token', scope: 'openid', redirect_uri: redirectUriFor(env, 'e-tjanst') }, 303],
      [{ client_id: 'e-tjanst', response_type: 'code', scope: 'openid', redirect_uri: redirectUriFor(env, 'e-tjanst'), claims: '{not json' }, 303],
      [{ client_id: 'e-tjanst', response_type: 'code', scope: 'openid', redirect_uri: redirectUriFor(env, 'e-tjanst'), request: 'garbage.jwt.here' }, 303],
      [{}, 400],
    ];
    for (const [params, expected] of cases) {
      const url = new URL(`${env.issuer}/auth`);
      url.search = new URLSearchParams(params).toString();
      const res = await statusOf(url);
      assert.equal(res.status, expected, JSON.stringify(params));
      if (expected === 303) assert.match(res.headers.get('location')!, /[?#&]error=/, JSON.stringify(params));
    }
  });

  it('answers the token endpoint with invalid_client, invalid_grant and invalid_request', async () => {
    const token = `${env.issuer}/token`;
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const bad = await fetch(token, { method: 'POST', headers: { ...form, authorization: basic('e-tjanst', 'wrong') }, body: 'grant_type=authorization_code&code=x&redirect_uri=x' });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_client');
    const secret = env.config.clients.find((c) => c.client_id === 'e-tjanst')!.client_secret!;
    const grant = await fetch(token, { method: 'POST', headers: { ...form, authorization: basic('e-tjanst', secret) }, body: 'grant_type=authorization_code&code=nope&redirect_uri=x' });
    assert.equal(((await grant.json()) as { error: string }).error, 'invalid_grant');
    const garbage = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    assert.ok(garbage.status >= 400 && garbage.status < 500, `garbage body -> ${garbage.status}`);
    const huge = await fetch(token, { method: 'POST', headers: form, body: `grant_type=${'x'.repeat(200_000)}` });
    assert.ok(huge.status >= 400 && huge.status < 500, `huge body -> ${huge.status}`);
  });

  it('refuses a replayed authorization code', async () => {
    const browser = new Browser();
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const callback = await signInWithBankId(env, browser, req);
    const tokens = await exchange(app, callback, req);
    assert.ok(tokens.access_token);
    await assert.rejects(exchange(app, callback, req), (err: Error & { error?: string }) => err.error === 'invalid_grant');
  });

  it('refuses the status API and the completion link in a browser that did not start the sign-in', async () => {
    const owner = new Browser();
    const req = await authorizationRequest(app, redirectUriFor(env, 'kommun-app'));
    const opened = await openLogin(owner, req);
    const statusUrl = new URL(opened.html!.match(/data-status-url="([^"]+)"/)![1]!, opened.pageUrl);
    const stranger = new Browser();
    const res = await stranger.get(statusUrl, { accept: 'application/json' });
    assert.ok(res.status === 403 || res.status === 404, `status ${res.status}`);
    const body = (await res.json()) as { status: string };
    assert.equal(body.status, 'failed');
    const abort = new URL(statusUrl.pathname.replace(/\/eid\/.*$/, '/abort?t=forged'), statusUrl);
    const refused = await owner.request(abort, { method: 'POST' });
    assert.equal(refused.status, 403, 'a forged CSRF token is refused');
    assert.match(await refused.text(), /Länken är ogiltig eller för gammal/);
    void decodeJwt;
  });
});
