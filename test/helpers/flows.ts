/** Drives sign-ins the way a person (or a script) would: pages, the status JSON and the simulated app. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importJWK } from 'jose';
import * as oc from 'openid-client';
import { Browser, attr } from './browser.ts';
import type { TestEnv } from './env.ts';

export const PERSON = '198602212394';
export const PERSON_2 = '194106279161';

export const SCOPE_NPN = 'https://id.oidc.se/scope/naturalPersonNumber';
export const SCOPE_NPI = 'https://id.oidc.se/scope/naturalPersonInfo';
export const CLAIM_PNR = 'https://id.oidc.se/claim/personalIdentityNumber';

export interface Status {
  status: 'pending' | 'complete' | 'failed';
  hintCode?: string;
  message?: string;
  qr?: string;
  next?: string;
  retry?: string;
  code?: string;
}

export async function rpFor(env: TestEnv, clientId: 'e-tjanst' | 'kommun-app' | 'kil-skola' | string, secret?: string): Promise<oc.Configuration> {
  const client = env.config.clients.find((c) => c.client_id === clientId);
  let auth: oc.ClientAuth;
  const metadata: Partial<oc.ClientMetadata> = {};
  if (client?.userinfo_signed_response_alg) metadata.userinfo_signed_response_alg = client.userinfo_signed_response_alg;
  if (client?.token_endpoint_auth_method === 'private_key_jwt') {
    const jwk = JSON.parse(readFileSync('fixtures/demo-rp/kil-skola.private.jwk.json', 'utf8'));
    auth = oc.PrivateKeyJwt({ key: (await importJWK(jwk, jwk.alg ?? 'ES256')) as CryptoKey, kid: jwk.kid });
  } else if (client?.token_endpoint_auth_method === 'none') {
    auth = oc.None();
  } else {
    auth = oc.ClientSecretBasic(secret ?? client?.client_secret ?? '');
  }
  return oc.discovery(new URL(env.issuer), clientId, metadata, auth, { execute: [oc.allowInsecureRequests] });
}

export function redirectUriFor(env: TestEnv, clientId: string, tenant = 'karlstad'): string {
  const client = env.config.clients.find((c) => c.client_id === clientId)!;
  if (client.tenant === '*') return client.tenant_redirect_uris![tenant]![0]!;
  return client.redirect_uris.find((u) => u.startsWith('http')) ?? client.redirect_uris[0]!;
}

export interface AuthRequest {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
}

export async function authorizationRequest(config: oc.Configuration, redirectUri: string, params: Record<string, string> = {}): Promise<AuthRequest> {
  const verifier = oc.randomPKCECodeVerifier();
  const state = oc.randomState();
  const nonce = oc.randomNonce();
  const url = oc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: `openid ${SCOPE_NPN} ${SCOPE_NPI}`,
    code_challenge: await oc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce, redirectUri };
}

/** On the method chooser, submits the choice of `method`; resolves with the page that follows. */
export async function choose(browser: Browser, page: { url: URL; html: string }, method = 'bankid', stopAt?: string): Promise<{ url: URL; html: string; stoppedAt?: URL }> {
  const action = new RegExp(`action="([^"]*/choose/${method})"`).exec(page.html)?.[1];
  if (!action) return page;
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
  const res = await browser.postForm(new URL(action, page.url), { csrf });
  assert.equal(res.status, 303, 'the chooser answers with a redirect');
  await res.body?.cancel();
  const next = await browser.follow(new URL(res.headers.get('location')!, page.url), (loc) => !!stopAt && loc.href.startsWith(stopAt));
  if (next.stoppedAt) return { url: next.url, html: '', stoppedAt: next.stoppedAt };
  return { url: next.url, html: await next.res.text() };
}

/**
 * Opens the authorization URL and follows the hub's redirects to the e-ID page (choosing BankID on the
 * chooser), or back to the RP when the hub answers at once (SSO, errors).
 */
export async function openLogin(browser: Browser, req: AuthRequest, options: { choose?: boolean } = {}): Promise<{ pageUrl?: URL; html?: string; callback?: URL; chooserHtml?: string }> {
  const { res, url, stoppedAt } = await browser.follow(req.url, (loc) => loc.href.startsWith(req.redirectUri));
  if (stoppedAt) return { callback: stoppedAt };
  const html = await res.text();
  if (options.choose === false || !html.includes('/choose/')) return { pageUrl: url, html };
  const chosen = await choose(browser, { url, html }, 'bankid', req.redirectUri);
  if (chosen.stoppedAt) return { callback: chosen.stoppedAt, chooserHtml: html };
  return { pageUrl: chosen.url, html: chosen.html, chooserHtml: html };
}

export function statusUrlOf(pageUrl: URL, html: string): URL {
  const s = attr(html, 'data-status-url');
  assert.ok(s, `no data-status-url on ${pageUrl.pathname}: ${html.slice(0, 300)}`);
  return new URL(s, pageUrl);
}

export async function appCall(env: TestEnv, path: '/scan' | '/autostart', body: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, env.sims.bankid.appUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls the status URL (as the page does) until the status leaves `pending` or the time runs out. */
export async function waitForStatus(browser: Browser, statusUrl: URL, until: (s: Status) => boolean = (s) => s.status !== 'pending', timeoutMs = 15_000): Promise<Status> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await browser.json<Status>(statusUrl);
    if (until(s)) return s;
    if (Date.now() > end) throw new Error(`status still ${JSON.stringify(s)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A whole BankID sign-in on the "other device" (scan the QR) or "this device" (autostart) path.
 * Resolves with the callback URL the hub redirected the browser to.
 */
export async function signInWithBankId(env: TestEnv, browser: Browser, req: AuthRequest, person = PERSON, device: 'other' | 'this' = 'other'): Promise<URL> {
  const opened = await openLogin(browser, req);
  if (opened.callback) return opened.callback;
  const statusUrl = statusUrlOf(opened.pageUrl!, opened.html!);
  if (device === 'other') {
    const first = await browser.json<Status>(statusUrl);
    assert.equal(first.status, 'pending');
    assert.match(first.qr ?? '', /^bankid\.[0-9a-f-]+\.\d+\.[0-9a-f]{64}$/);
    // The payload only: the page draws the code itself (src/login/assets/qr.js).
    assert.ok(!('qrImage' in first), 'the status JSON carries no QR image');
    // The page's own first frame is the server-drawn image with its payload beside it.
    assert.match(attr(opened.html!, 'data-qr', 'id="qr"') ?? '', /^bankid\.[0-9a-f-]+\.\d+\.[0-9a-f]{64}$/);
    const scan = await appCall(env, '/scan', { qr: first.qr!, personalNumber: person, action: 'approve' });
    assert.equal(scan.status, 200, JSON.stringify(scan.body));
  } else {
    const launch = attr(opened.html!, 'href', 'id="launch"');
    assert.ok(launch, 'no launch link');
    const res = await browser.get(new URL(launch, opened.pageUrl));
    assert.equal(res.status, 302);
    const target = new URL(res.headers.get('location')!, opened.pageUrl);
    const token = target.searchParams.get('autostarttoken');
    assert.ok(token, `launch went to ${target}`);
    const approved = await appCall(env, '/autostart', { autoStartToken: token, personalNumber: person, action: 'approve' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const returnUrl = approved.body.returnUrl as string;
    assert.ok(returnUrl?.includes('/return?n='), 'the app returns to the hub with a nonce');
    const back = await browser.follow(returnUrl, (loc) => loc.href.startsWith(req.redirectUri));
    if (back.stoppedAt) return back.stoppedAt;
  }
  const done = await waitForStatus(browser, statusUrl);
  assert.equal(done.status, 'complete', JSON.stringify(done));
  const { stoppedAt } = await browser.follow(new URL(done.next!, statusUrl), (loc) => loc.href.startsWith(req.redirectUri));
  assert.ok(stoppedAt, 'the sign-in returned to the RP');
  return stoppedAt;
}

export async function exchange(config: oc.Configuration, callback: URL, req: AuthRequest) {
  return oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
}

/** Signs in at a demo RP through the BankID page, scanning the QR with the simulated app. */
export async function demoSignIn(env: TestEnv, browser: Browser, base: string, person = PERSON): Promise<void> {
  const first = await browser.follow(`${env.issuer}${base}/login`, () => false);
  const { url, html } = await choose(browser, { url: first.url, html: await first.res.text() });
  if (url.pathname.startsWith('/login/')) {
    const statusUrl = statusUrlOf(url, html);
    const s = await browser.json<Status>(statusUrl);
    // Through the hub's dev forward to the simulated app, as a tester's script would.
    const scan = await fetch(`${env.issuer}/dev/bankid-app/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr: s.qr!, personalNumber: person, action: 'approve' }),
    });
    assert.equal(scan.status, 200);
    const done = await waitForStatus(browser, statusUrl);
    assert.equal(done.status, 'complete');
    await browser.follow(new URL(done.next!, statusUrl));
  }
}

/** The transaction reference in a Freja QR payload or launch URL (`frejaeid://bindUserToTransaction?...`). */
export function frejaReference(payload: string): string {
  const ref = new URL(payload.replace(/^frejaeid:\/\//, 'https://freja.invalid/')).searchParams.get('transactionReference');
  assert.ok(ref, `no transactionReference in ${payload}`);
  return ref;
}

/** The simulated Freja app acts on a transaction, as a tester would (its JSON API). */
export async function frejaApp(env: TestEnv, body: { transactionReference: string; personalNumber: string; action: 'approve' | 'cancel' | 'reject' }) {
  const res = await fetch(`${env.sims.freja.appUrl}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Opens the authorization URL and chooses Freja eID; resolves with the Freja page and its status URL. */
export async function openFreja(browser: Browser, req: AuthRequest): Promise<{ pageUrl: URL; html: string; statusUrl: URL }> {
  const { res, url } = await browser.follow(req.url, (loc) => loc.href.startsWith(req.redirectUri));
  const chosen = await choose(browser, { url, html: await res.text() }, 'freja');
  assert.match(chosen.url.pathname, /\/eid\/freja$/, `not the Freja page: ${chosen.url}`);
  return { pageUrl: chosen.url, html: chosen.html, statusUrl: statusUrlOf(chosen.url, chosen.html) };
}
