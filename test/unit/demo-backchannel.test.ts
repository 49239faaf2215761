/**
 * The demo relying parties against a small stand-in provider (discovery, JWKS, token, UserInfo), so
 * the back-channel logout checks and the sign-in flow can be tested without the hub.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT, createDemoRp, JtiRegistry, LogoutTokenError, verifyLogoutToken, type DemoRp } from '../../demo/rp.ts';
import { mountDemoRps } from '../../demo/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const KID = 'hub-key-1';
const E_TJANST_SECRET = 'test-e-tjanst-secret-0123456789abcdef';

interface Code {
  clientId: string;
  nonce: string;
  challenge: string;
  redirectUri: string;
  sub: string;
  sid: string;
}

let server: Server;
let issuer: string;
let hubKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;
const mounts: Array<{ prefix: string; handler: DemoRp['handler'] }> = [];
const codes = new Map<string, Code>();
const accessTokens = new Map<string, { clientId: string; sub: string }>();
const secrets = new Map<string, string>();
let kilSkolaPublic: CryptoKey;
/** Which key the stand-in provider signs ID tokens and UserInfo with (to test that signatures are checked). */
const signWith: { idToken?: CryptoKey; userinfo?: CryptoKey } = {};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Authenticates the client at the stand-in token endpoint: client_secret_basic or private_key_jwt. */
async function clientOf(req: IncomingMessage, form: URLSearchParams): Promise<string | undefined> {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s));
    return id && secrets.get(id) === secret ? id : undefined;
  }
  const assertion = form.get('client_assertion');
  if (assertion && form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    const { payload } = await jwtVerify(assertion, kilSkolaPublic, { audience: [issuer, `${issuer}/token`], algorithms: ['ES256'] });
    return payload.iss === 'kil-skola' && payload.sub === 'kil-skola' ? 'kil-skola' : undefined;
  }
  return undefined;
}

async function provider(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        end_session_endpoint: `${issuer}/session/end`,
        id_token_signing_alg_values_supported: ['RS256'],
        userinfo_signing_alg_values_supported: ['RS256'],
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
      });
    case '/jwks':
      return json(res, 200, { keys: [publicJwk] });
    case '/token': {
      const form = new URLSearchParams(await readBody(req));
      const clientId = await clientOf(req, form).catch(() => undefined);
      if (!clientId) return json(res, 401, { error: 'invalid_client' });
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!code || code.clientId !== clientId || code.challenge !== challenge || code.redirectUri !== form.get('redirect_uri')) {
        return json(res, 400, { error: 'invalid_grant' });
      }
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({
        nonce: code.nonce,
        sid: code.sid,
        auth_time: now,
        acr: 'http://id.elegnamnden.se/loa/1.0/loa3',
        amr: ['bankid'],
        'https://id.oidc.se/claim/personalIdentityNumber': '198602212394',
      })
        .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(clientId)
        .setSubject(code.sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(signWith.idToken ?? hubKey);
      const accessToken = randomUUID();
      accessTokens.set(accessToken, { clientId, sub: code.sub });
      return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 600, id_token: idToken, scope: 'openid profile' });
    }
    case '/userinfo': {
      const at = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!at) return json(res, 401, { error: 'invalid_token' });
      const jwt = await new SignJWT({
        name: 'Tore Testsson',
        given_name: 'Tore',
        family_name: 'Testsson',
        'https://id.oidc.se/claim/personalIdentityNumber': '198602212394',
      })
        .setProtectedHeader({ alg: 'RS256', kid: KID })
        .setIssuer(issuer)
        .setAudience(at.clientId)
        .setSubject(at.sub)
        .setIssuedAt()
        .sign(signWith.userinfo ?? hubKey);
      res.writeHead(200, { 'content-type': 'application/jwt' });
      res.end(jwt);
      return;
    }
    default:
      res.writeHead(404);
      res.end();
  }
}

before(async () => {
  const pair = await generateKeyPair('RS256');
  hubKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const { d: _d, ...kilPublic } = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'demo-rp', 'kil-skola.private.jwk.json'), 'utf8')) as JWK;
  kilSkolaPublic = (await importJWK(kilPublic, 'ES256')) as CryptoKey;
  secrets.set('e-tjanst', E_TJANST_SECRET);
  secrets.set('demo-client', 's3cret');

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    for (const m of mounts) {
      if (url.pathname === m.prefix || url.pathname.startsWith(`${m.prefix}/`)) {
        void m.handler(req, res, url);
        return;
      }
    }
    provider(req, res, url).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// --- helpers -----------------------------------------------------------------------------------------

async function logoutToken(claims: JWTPayload, options: { key?: CryptoKey; typ?: string | null; aud?: string } = {}): Promise<string> {
  const header: Record<string, string> = { alg: 'RS256', kid: KID };
  if (options.typ !== null) header.typ = options.typ ?? 'logout+jwt';
  return new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: randomUUID(), ...claims })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(issuer)
    .setAudience(options.aud ?? 'demo-client')
    .setIssuedAt(typeof claims.iat === 'number' ? claims.iat : undefined)
    .setExpirationTime('2m')
    .sign(options.key ?? hubKey);
}

async function postLogout(path: string, body: string, type = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${issuer}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
}

function form(token: string): string {
  return new URLSearchParams({ logout_token: token }).toString();
}

/** A minimal cookie jar: name -> value, honouring deletions. */
class Jar {
  cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (/Max-Age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function get(path: string, jar?: Jar): Promise<Response> {
  const res = await fetch(`${issuer}${path}`, { redirect: 'manual', headers: jar ? { cookie: jar.header() } : {} });
  jar?.take(res);
  return res;
}

/** Signs in at `base` the way a browser would, with the stand-in provider issuing the code. */
async function signIn(base: string, clientId: string, jar: Jar, sid: string, sub = 'pairwise-sub-1'): Promise<URL> {
  const login = await get(`${base}/login`, jar);
  assert.equal(login.status, 302);
  const authorize = new URL(login.headers.get('location')!);
  const code = randomUUID();
  codes.set(code, {
    clientId,
    nonce: authorize.searchParams.get('nonce')!,
    challenge: authorize.searchParams.get('code_challenge')!,
    redirectUri: authorize.searchParams.get('redirect_uri')!,
    sub,
    sid,
  });
  const cb = await get(`${base}/callback?${new URLSearchParams({ code, state: authorize.searchParams.get('state')!, iss: issuer })}`, jar);
  assert.equal(cb.status, 303, await cb.clone().text());
  assert.equal(cb.headers.get('location'), `${base}/`);
  return authorize;
}

async function state(base: string, jar?: Jar): Promise<Record<string, unknown>> {
  const res = await get(`${base}/state`, jar);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

// --- tests -------------------------------------------------------------------------------------------

describe('demo RP (single site)', () => {
  let rp: DemoRp;
  const base = '/demo/test-rp';

  before(() => {
    rp = createDemoRp({
      issuer,
      prefix: base,
      clientId: 'demo-client',
      clientAuth: () => import('openid-client').then((c) => c.ClientSecretBasic('s3cret')),
      title: 'Testtjänst',
    });
    mounts.push(rp);
  });

  test('the start page renders when signed out, with a strict CSP', async () => {
    const res = await get(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /unsafe-inline/);
    const html = await res.text();
    assert.match(html, /<html lang="sv">/);
    assert.match(html, /Logga in/);
    assert.match(html, new RegExp(`href="${base}/login"`));
    assert.doesNotMatch(html, /style=/);
    const css = await get(`${base}/demo.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  });

  test('/state works when signed out', async () => {
    const s = await state(base);
    assert.equal(s.signedIn, false);
    assert.deepEqual(s.backchannelLogouts, []);
    assert.equal(s.rejectedLogoutTokens, 0);
  });

  test('login redirects with PKCE S256, state, nonce, scope and ui_locales', async () => {
    const jar = new Jar();
    const res = await get(`${base}/login?lang=en`, jar);
    assert.equal(res.status, 302);
    const target = new URL(res.headers.get('location')!);
    assert.equal(`${target.origin}${target.pathname}`, `${issuer}/authorize`);
    const p = target.searchParams;
    assert.equal(p.get('client_id'), 'demo-client');
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('redirect_uri'), `${issuer}${base}/callback`);
    assert.equal(p.get('scope'), 'openid profile https://id.oidc.se/scope/naturalPersonNumber https://id.oidc.se/scope/naturalPersonInfo');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(p.get('state'));
    assert.ok(p.get('nonce'));
    assert.equal(p.get('ui_locales'), 'en');
    const cookie = res.headers.getSetCookie().join('\n');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, new RegExp(`Path=${base}(;|$)`));
  });

  test('sign-in, signed UserInfo, then a back-channel logout ends the session', async () => {
    const jar = new Jar();
    await signIn(base, 'demo-client', jar, 'sid-1');
    const s = await state(base, jar);
    assert.equal(s.signedIn, true);
    assert.equal(s.sid, 'sid-1');
    assert.equal(s.sub, 'pairwise-sub-1');
    assert.equal((s.idTokenClaims as Record<string, unknown>).acr, 'http://id.elegnamnden.se/loa/1.0/loa3');
    assert.equal((s.userinfo as Record<string, unknown>).name, 'Tore Testsson');
    const page = await (await get(`${base}/`, jar)).text();
    assert.match(page, /Logga ut/);
    assert.match(page, /198602212394/);
    assert.match(page, /Personnummer/);
    assert.match(page, /sid-1/);

    const token = await logoutToken({ sid: 'sid-1' });
    const ok = await postLogout(`${base}/backchannel-logout`, form(token));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');

    const after = await state(base, jar);
    assert.equal(after.signedIn, false);
    assert.equal((after.endedByBackchannelLogout as Record<string, unknown>).sid, 'sid-1');
    const logouts = after.backchannelLogouts as Array<Record<string, unknown>>;
    assert.equal(logouts.length, 1);
    assert.equal(logouts[0]!.sid, 'sid-1');
    assert.ok(logouts[0]!.jti);
    assert.ok(logouts[0]!.receivedAt);
    assert.match(await (await get(`${base}/`, jar)).text(), /Du loggades ut via back-channel logout/);

    // The same token again is a replay.
    const again = await postLogout(`${base}/backchannel-logout`, form(token));
    assert.equal(again.status, 400);
    assert.deepEqual(await again.json(), { error: 'invalid_request' });
    assert.equal(rp.backchannelLogouts().length, 1);
  });

  test('a logout token with only sub ends every session of that subject', async () => {
    const a = new Jar();
    const b = new Jar();
    await signIn(base, 'demo-client', a, 'sid-a', 'subject-x');
    await signIn(base, 'demo-client', b, 'sid-b', 'subject-x');
    const res = await postLogout(`${base}/backchannel-logout`, form(await logoutToken({ sub: 'subject-x' })));
    assert.equal(res.status, 200);
    assert.equal((await state(base, a)).signedIn, false);
    assert.equal((await state(base, b)).signedIn, false);
  });

  test('invalid logout tokens are answered 400 and counted', async () => {
    const before = rp.rejectedLogoutTokens();
    const cases: Array<[string, Promise<Response>]> = [
      ['signed by another key (same kid)', logoutToken({ sid: 's' }, { key: otherKey }).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['wrong aud', logoutToken({ sid: 's' }, { aud: 'someone-else' }).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['with a nonce', logoutToken({ sid: 's', nonce: 'n' }).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['missing events', logoutToken({ sid: 's', events: undefined }).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['wrong typ', logoutToken({ sid: 's' }, { typ: 'JWT' }).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['neither sid nor sub', logoutToken({}).then((t) => postLogout(`${base}/backchannel-logout`, form(t)))],
      ['garbage', postLogout(`${base}/backchannel-logout`, form('not.a.jwt'))],
      ['no logout_token', postLogout(`${base}/backchannel-logout`, 'foo=bar')],
      ['empty body', postLogout(`${base}/backchannel-logout`, '')],
      ['wrong content type', logoutToken({ sid: 's' }).then((t) => postLogout(`${base}/backchannel-logout`, JSON.stringify({ logout_token: t }), 'application/json'))],
    ];
    for (const [name, pending] of cases) {
      const res = await pending;
      assert.equal(res.status, 400, name);
      assert.deepEqual(await res.json(), { error: 'invalid_request' }, name);
    }
    const huge = await postLogout(`${base}/backchannel-logout`, `logout_token=${'a'.repeat(70 * 1024)}`);
    assert.equal(huge.status, 413);
    await huge.arrayBuffer();
    const wrongMethod = await get(`${base}/backchannel-logout`);
    assert.equal(wrongMethod.status, 405);
    await wrongMethod.arrayBuffer();
    assert.equal(rp.rejectedLogoutTokens(), before + cases.length + 1);
    assert.equal((await state(base)).rejectedLogoutTokens, before + cases.length + 1);
  });

  test('an error from the provider in the callback shows a page, not a 500', async () => {
    const jar = new Jar();
    const login = await get(`${base}/login`, jar);
    const st = new URL(login.headers.get('location')!).searchParams.get('state')!;
    const res = await get(`${base}/callback?${new URLSearchParams({ error: 'access_denied', error_description: 'Avbrutet', state: st, iss: issuer })}`, jar);
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /access_denied/);
    assert.match(html, new RegExp(`href="${base}/"`));
    // Without a pending login (no cookie) the error is still shown.
    const bare = await get(`${base}/callback?error=access_denied`);
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /access_denied/);
    // A forged state.
    const jar2 = new Jar();
    await get(`${base}/login`, jar2);
    const forged = await get(`${base}/callback?code=x&state=forged&iss=${encodeURIComponent(issuer)}`, jar2);
    assert.equal(forged.status, 400);
    await forged.arrayBuffer();
  });

  test('ID tokens and UserInfo responses are refused unless signed by the provider', async () => {
    for (const which of ['idToken', 'userinfo'] as const) {
      const jar = new Jar();
      const login = await get(`${base}/login`, jar);
      const authorize = new URL(login.headers.get('location')!);
      const code = randomUUID();
      codes.set(code, {
        clientId: 'demo-client',
        nonce: authorize.searchParams.get('nonce')!,
        challenge: authorize.searchParams.get('code_challenge')!,
        redirectUri: authorize.searchParams.get('redirect_uri')!,
        sub: 'forged',
        sid: 'sid-forged',
      });
      signWith[which] = otherKey;
      try {
        const cb = await get(`${base}/callback?${new URLSearchParams({ code, state: authorize.searchParams.get('state')!, iss: issuer })}`, jar);
        assert.equal(cb.status, 400, which);
        assert.match(await cb.text(), /kunde inte godkännas/, which);
      } finally {
        delete signWith[which];
      }
      assert.equal((await state(base, jar)).signedIn, false, which);
    }
  });

  test('logout forgets the session and redirects to end_session with id_token_hint', async () => {
    const jar = new Jar();
    await signIn(base, 'demo-client', jar, 'sid-logout');
    const res = await fetch(`${issuer}${base}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res);
    assert.equal(res.status, 303);
    const target = new URL(res.headers.get('location')!);
    assert.equal(`${target.origin}${target.pathname}`, `${issuer}/session/end`);
    assert.ok(target.searchParams.get('id_token_hint'));
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `${issuer}${base}/`);
    assert.equal(target.searchParams.get('client_id'), 'demo-client');
    assert.equal((await state(base, jar)).signedIn, false);
  });
});

describe('demo RP (one registration, many tenants)', () => {
  let rp: DemoRp;
  const prefix = '/demo/multi';

  before(() => {
    rp = createDemoRp({
      issuer,
      prefix,
      clientId: 'demo-client',
      clientAuth: () => import('openid-client').then((c) => c.ClientSecretBasic('s3cret')),
      title: 'Mina ärenden',
      tenants: { karlstad: 'Karlstad', kil: 'Kil' },
    });
    mounts.push(rp);
  });

  test('routes per tenant, one back-channel endpoint for all', async () => {
    const index = await get(`${prefix}/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /Karlstad/);
    assert.equal((await get(prefix)).status, 308);
    const page = await get(`${prefix}/karlstad/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Mina ärenden – Karlstad/);
    const noSlash = await get(`${prefix}/kil`);
    assert.equal(noSlash.status, 308);
    assert.equal(noSlash.headers.get('location'), `${prefix}/kil/`);
    assert.equal((await get(`${prefix}/nowhere/`)).status, 404);

    const karlstad = new Jar();
    const kil = new Jar();
    const auth = await signIn(`${prefix}/karlstad`, 'demo-client', karlstad, 'sid-k1');
    assert.equal(auth.searchParams.get('redirect_uri'), `${issuer}${prefix}/karlstad/callback`);
    await signIn(`${prefix}/kil`, 'demo-client', kil, 'sid-k2');
    // The Karlstad cookie is scoped to Karlstad's pages.
    assert.equal((await state(`${prefix}/kil`, karlstad)).signedIn, false);

    const res = await postLogout(`${prefix}/backchannel-logout`, form(await logoutToken({ sid: 'sid-k1' })));
    assert.equal(res.status, 200);
    assert.equal((await state(`${prefix}/karlstad`, karlstad)).signedIn, false);
    assert.equal((await state(`${prefix}/kil`, kil)).signedIn, true);
    assert.equal(rp.backchannelLogouts().length, 1);
    assert.equal(((await state(`${prefix}/kil`, kil)).backchannelLogouts as unknown[]).length, 1);
  });
});

describe('mountDemoRps', () => {
  let rps: DemoRp[];
  let configDir: string;

  before(() => {
    // A client file of the same shape as config/clients/e-tjanst.yaml, so this test does not depend
    // on the dev configuration of the day.
    configDir = mkdtempSync(join(tmpdir(), 'idnav-demo-'));
    mkdirSync(join(configDir, 'clients'));
    process.env.IDNAV_TEST_DEMO_SECRET = E_TJANST_SECRET;
    writeFileSync(
      join(configDir, 'clients', 'e-tjanst.yaml'),
      [
        'client_id: e-tjanst',
        'token_endpoint_auth_method: client_secret_basic',
        'client_secret: ${IDNAV_TEST_DEMO_SECRET:-wrong}',
        'tenant_redirect_uris:',
        ...['karlstad', 'sunne', 'arjang'].map((t) => `  ${t}:\n    - \${IDNAV_ISSUER:-http://localhost:3000}/demo/e-tjanst/${t}/callback`),
        '',
      ].join('\n'),
    );
    rps = mountDemoRps({ issuer, configDir });
    mounts.push(...rps);
  });

  after(() => {
    rmSync(configDir, { recursive: true, force: true });
    delete process.env.IDNAV_TEST_DEMO_SECRET;
  });

  test('mounts e-tjanst (every tenant) and kil-skola', async () => {
    assert.deepEqual(rps.map((r) => r.prefix), ['/demo/e-tjanst', '/demo/kil-skola']);
    const page = await get('/demo/e-tjanst/karlstad/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Värmlands e-tjänster – Mina ärenden – Karlstad/);
    assert.equal((await get('/demo/e-tjanst/arjang/')).status, 200);
    const kil = await get('/demo/kil-skola/');
    assert.equal(kil.status, 200);
    assert.match(await kil.text(), /Kils skolsystem/);
  });

  test('e-tjanst signs in with client_secret_basic from its client file', async () => {
    const jar = new Jar();
    const auth = await signIn('/demo/e-tjanst/sunne', 'e-tjanst', jar, 'sid-e1');
    assert.equal(auth.searchParams.get('client_id'), 'e-tjanst');
    assert.equal((await state('/demo/e-tjanst/sunne', jar)).signedIn, true);
  });

  test('kil-skola signs in with private_key_jwt and verifies its own logout tokens', async () => {
    const jar = new Jar();
    await signIn('/demo/kil-skola', 'kil-skola', jar, 'sid-s1');
    assert.equal((await state('/demo/kil-skola', jar)).signedIn, true);
    const wrongAud = await postLogout('/demo/kil-skola/backchannel-logout', form(await logoutToken({ sid: 'sid-s1' })));
    assert.equal(wrongAud.status, 400);
    const ok = await postLogout('/demo/kil-skola/backchannel-logout', form(await logoutToken({ sid: 'sid-s1' }, { aud: 'kil-skola' })));
    assert.equal(ok.status, 200);
    assert.equal((await state('/demo/kil-skola', jar)).signedIn, false);
  });
});

describe('verifyLogoutToken', () => {
  const base = () => ({ issuer, clientId: 'demo-client', keys: hubKeyPublic });
  let hubKeyPublic: CryptoKey;

  before(async () => {
    hubKeyPublic = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
  });

  test('accepts a valid token, with or without typ', async () => {
    const claims = await verifyLogoutToken(await logoutToken({ sid: 'x', sub: 'y' }), base());
    assert.equal(claims.sid, 'x');
    assert.equal(claims.sub, 'y');
    await verifyLogoutToken(await logoutToken({ sub: 'y' }, { typ: null }), base());
    await verifyLogoutToken(await logoutToken({ sub: 'y' }, { typ: 'application/logout+jwt' }), base());
  });

  test('rejects what §2.6 forbids', async () => {
    const reject = async (token: Promise<string> | string, extra: Partial<Parameters<typeof verifyLogoutToken>[1]> = {}) =>
      assert.rejects(verifyLogoutToken(await token, { ...base(), ...extra }), LogoutTokenError);
    await reject(logoutToken({ sid: 'x' }, { typ: 'JWT' }));
    await reject(logoutToken({ sid: 'x', events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } }));
    await reject(logoutToken({ sid: 'x', events: { 'http://example.com/other': {} } }));
    await reject(logoutToken({ sid: 'x', events: [] }));
    await reject(logoutToken({ sid: 42 }));
    await reject(logoutToken({ sid: 'x', jti: undefined }));
    await reject(logoutToken({ sid: 'x', iat: Math.floor(Date.now() / 1000) - 3600 }));
    await reject(logoutToken({ sid: 'x' }), { issuer: 'https://elsewhere.example' });
    await reject(logoutToken({ sid: 'x' }), { clientId: 'other' });
    const hs = await new SignJWT({ sid: 'x', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: 'j' })
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
      .setIssuer(issuer)
      .setAudience('demo-client')
      .setIssuedAt()
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await reject(hs);
    await reject('');
    await reject('a.b.c');
    await assert.rejects(verifyLogoutToken(undefined, base()), LogoutTokenError);
    await assert.rejects(verifyLogoutToken({ token: 1 }, base()), LogoutTokenError);
  });

  test('the replay registry refuses a jti twice', async () => {
    const replay = new JtiRegistry();
    const token = await logoutToken({ sid: 'x' });
    await verifyLogoutToken(token, { ...base(), replay });
    await assert.rejects(verifyLogoutToken(token, { ...base(), replay }), /jti already used/);
  });
});
