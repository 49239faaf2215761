/**
 * A small demo relying party. It talks to the hub exactly like an external service would: only over
 * HTTP, with openid-client (discovery, authorization code + PKCE + state + nonce, signed UserInfo,
 * RP-initiated logout) and jose (back-channel logout tokens). It deliberately imports nothing from the
 * hub's own code, so it also shows what an integrating municipality has to do.
 *
 * Everything is kept in memory and bounded: it is a demo, restarting it signs everyone out.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyInput } from 'jose';
import * as client from 'openid-client';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const DEMO_SCOPE = 'openid profile https://id.oidc.se/scope/naturalPersonNumber https://id.oidc.se/scope/naturalPersonInfo';
/** Largest back-channel logout request body accepted (a logout token is well under 2 KiB). */
export const MAX_LOGOUT_BODY = 64 * 1024;

const MAX_ENTRIES = 1000;
const PENDING_TTL_MS = 15 * 60_000;
const SESSION_TTL_MS = 8 * 3600_000;
const CLAIM_PNR = 'https://id.oidc.se/claim/personalIdentityNumber';
const CLAIM_COORDINATION = 'https://id.oidc.se/claim/coordinationNumber';
const CLAIM_AUTHN_PROVIDER = 'https://id.oidc.se/claim/authnProvider';
const CLAIM_MUNICIPALITY = 'urn:idnav:claim:municipality';
const CLAIM_CHILDREN = 'urn:idnav:claim:children';
/** The registry's scopes: address, municipality of registration, guardianship (the person's children). */
export const REGISTRY_SCOPES = 'address urn:idnav:scope:municipality urn:idnav:scope:guardianship';
/** Asymmetric algorithms only: a logout token MACed with a shared secret would prove nothing here. */
const LOGOUT_TOKEN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

// ---------------------------------------------------------------------------------------------------
// Back-channel logout token verification (OpenID Connect Back-Channel Logout 1.0, section 2.6)
// ---------------------------------------------------------------------------------------------------

export interface LogoutTokenClaims extends JWTPayload {
  iss: string;
  iat: number;
  jti: string;
  events: Record<string, unknown>;
  sid?: string;
  sub?: string;
}

export class LogoutTokenError extends Error {
  override name = 'LogoutTokenError';
}

/**
 * Remembers the `jti` of accepted logout tokens so a captured token cannot be replayed. An entry only
 * needs to outlive the token's acceptance window: an older token already fails the `iat` check.
 */
export class JtiRegistry {
  #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = MAX_ENTRIES) {
    this.#max = max;
  }

  has(jti: string, now: number): boolean {
    const until = this.#seen.get(jti);
    if (until === undefined) return false;
    if (until < now) {
      this.#seen.delete(jti);
      return false;
    }
    return true;
  }

  add(jti: string, until: number): void {
    this.#seen.delete(jti);
    this.#seen.set(jti, until);
    trim(this.#seen, this.#max);
  }
}

export interface VerifyLogoutTokenOptions {
  /** The issuer identifier exactly as the provider puts it in `iss`. */
  issuer: string;
  clientId: string;
  /** The provider's keys: usually `createRemoteJWKSet(new URL(jwks_uri))`. */
  keys: JWTVerifyGetKey | KeyInput;
  /** Replay protection; without it a `jti` is only checked for presence. */
  replay?: JtiRegistry;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** How old `iat` may be, in seconds (default 300). */
  maxAgeSeconds?: number;
  /** Allowed clock difference to the provider, in seconds (default 30). */
  clockToleranceSeconds?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Verifies a logout token per Back-Channel Logout 1.0 §2.6; throws LogoutTokenError when it is not acceptable. */
export async function verifyLogoutToken(token: unknown, options: VerifyLogoutTokenOptions): Promise<LogoutTokenClaims> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_LOGOUT_BODY) {
    throw new LogoutTokenError('logout_token missing or not a string');
  }
  const now = (options.now ?? Date.now)();
  const maxAge = options.maxAgeSeconds ?? 300;
  const tolerance = options.clockToleranceSeconds ?? 30;

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new LogoutTokenError('logout_token is not a JWS');
  }
  // Explicit typing keeps an ID token or other JWT from being accepted as a logout token (§2.4).
  if (header.typ !== undefined) {
    const typ = String(header.typ).toLowerCase().replace(/^application\//, '');
    if (typ !== 'logout+jwt') throw new LogoutTokenError(`unexpected typ ${String(header.typ)}`);
  }

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys, {
      algorithms: LOGOUT_TOKEN_ALGS,
      issuer: options.issuer,
      audience: options.clientId,
      currentDate: new Date(now),
      maxTokenAge: maxAge,
      clockTolerance: tolerance,
      requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events'],
    }));
  } catch (err) {
    throw new LogoutTokenError(`logout_token rejected: ${(err as Error).message}`);
  }

  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw new LogoutTokenError('jti must be a non-empty string');
  const events = payload.events;
  if (!isObject(events) || !isObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
    throw new LogoutTokenError(`events must contain ${BACKCHANNEL_LOGOUT_EVENT} with an object value`);
  }
  const { sid, sub } = payload;
  if (sid !== undefined && (typeof sid !== 'string' || sid.length === 0)) throw new LogoutTokenError('sid must be a non-empty string');
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0)) throw new LogoutTokenError('sub must be a non-empty string');
  if (sid === undefined && sub === undefined) throw new LogoutTokenError('sid or sub is required');
  // A nonce would let an ID token pass as a logout token (§2.4 forbids it).
  if ('nonce' in payload) throw new LogoutTokenError('nonce is not allowed in a logout token');

  if (options.replay) {
    if (options.replay.has(payload.jti, now)) throw new LogoutTokenError('jti already used');
    options.replay.add(payload.jti, now + (maxAge + 2 * tolerance) * 1000);
  }
  return payload as LogoutTokenClaims;
}

// ---------------------------------------------------------------------------------------------------
// The relying party
// ---------------------------------------------------------------------------------------------------

export interface DemoRpOptions {
  /** The hub's issuer identifier; every URI of the RP is built from it. */
  issuer: string;
  /** Path prefix of the RP, e.g. `/demo/kil-skola`. */
  prefix: string;
  clientId: string;
  /** Creates the client authentication (called once, on first use, e.g. to import a private key). */
  clientAuth: () => client.ClientAuth | Promise<client.ClientAuth>;
  /** Client metadata for openid-client; `userinfo_signed_response_alg` defaults to RS256. */
  clientMetadata?: Partial<client.ClientMetadata>;
  /** Name of the service, shown on every page (Swedish). */
  title: string;
  /** One English line under the title. */
  titleEn?: string;
  /**
   * Tenant id -> display name. When set, each tenant gets its own pages under `<prefix>/<tenant>/`
   * (one client registration, one redirect URI per tenant) and one back-channel logout endpoint,
   * `<prefix>/backchannel-logout`, serves them all. Without it the pages are at `<prefix>/`.
   */
  tenants?: Readonly<Record<string, string>>;
  /** Scopes to ask for (default {@link DEMO_SCOPE}). */
  scope?: string;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

export interface BackchannelLogoutRecord {
  sid?: string;
  sub?: string;
  jti: string;
  receivedAt: string;
}

export interface DemoRpState {
  signedIn: boolean;
  sub?: string;
  sid?: string;
  idTokenClaims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  /** Set when this browser's session was ended by a back-channel logout. */
  endedByBackchannelLogout?: BackchannelLogoutRecord;
  backchannelLogouts: BackchannelLogoutRecord[];
  rejectedLogoutTokens: number;
}

export interface DemoRp {
  prefix: string;
  handler: Handler;
  /** Verifies a logout token against the discovered issuer and JWKS (with replay protection). */
  verifyLogoutToken(token: unknown): Promise<LogoutTokenClaims>;
  /** Every verified back-channel logout, oldest first (RP-wide). */
  backchannelLogouts(): readonly BackchannelLogoutRecord[];
  rejectedLogoutTokens(): number;
}

interface Pending {
  base: string;
  verifier: string;
  state: string;
  nonce: string;
  createdAt: number;
}

interface ActiveSession {
  kind: 'active';
  base: string;
  idToken: string;
  idTokenClaims: Record<string, unknown>;
  userinfo: Record<string, unknown>;
  sub: string;
  sid?: string;
  createdAt: number;
}

interface EndedSession {
  kind: 'ended';
  base: string;
  logout: BackchannelLogoutRecord;
  createdAt: number;
}

type Session = ActiveSession | EndedSession;

interface Discovered {
  config: client.Configuration;
  jwks: JWTVerifyGetKey;
  issuer: string;
}

/** Drops the oldest entries of an insertion-ordered map beyond `max`. */
function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

function randomId(): string {
  return randomBytes(24).toString('base64url');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function parseCookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

class BodyTooLarge extends Error {}

/**
 * Reads a request body up to `limit` bytes. A larger body is still drained (up to a hard cap) so the
 * client gets the 413 instead of a reset connection.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * limit) {
      req.destroy();
      break;
    }
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new BodyTooLarge();
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, status: 302 | 303 | 308, location: string): void {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

const CLAIM_LABELS: Record<string, string> = {
  sub: 'Användar-id',
  acr: 'Tillitsnivå',
  amr: 'Inloggningsmetod',
  auth_time: 'Inloggad',
  name: 'Namn',
  given_name: 'Förnamn',
  middle_name: 'Mellannamn',
  family_name: 'Efternamn',
  birthdate: 'Födelsedatum',
  [CLAIM_PNR]: 'Personnummer',
  [CLAIM_COORDINATION]: 'Samordningsnummer',
  [CLAIM_AUTHN_PROVIDER]: 'Legitimeringstjänst',
  address: 'Folkbokföringsadress',
  [CLAIM_MUNICIPALITY]: 'Folkbokförd i kommun',
  [CLAIM_CHILDREN]: 'Barn (vårdnad)',
  sid: 'Session',
  iss: 'Utfärdare',
  aud: 'Mottagare',
  azp: 'Beställare',
  iat: 'Utfärdad',
  exp: 'Giltig till',
  nonce: 'Nonce',
  at_hash: 'Hash av access token',
};
const CLAIM_ORDER = ['sub', 'acr', 'amr', 'auth_time', CLAIM_PNR, CLAIM_COORDINATION, 'name', 'given_name', 'middle_name', 'family_name', 'birthdate', CLAIM_AUTHN_PROVIDER, 'sid'];
const TIME_CLAIMS = new Set(['auth_time', 'iat', 'exp', 'nbf']);

function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm' });
}

function formatValue(name: string, value: unknown): string {
  if (TIME_CLAIMS.has(name) && typeof value === 'number') return `${formatTime(value)} (${value})`;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

function municipalityText(m: unknown): string {
  if (!isObj(m)) return '';
  return [text(m.name), text(m.code) ? `(${text(m.code)})` : ''].filter(Boolean).join(' ');
}

/** What the population registry added, as a municipal e-service would show it. */
function registrySection(userinfo: Obj): string {
  const address = userinfo.address;
  const municipality = userinfo[CLAIM_MUNICIPALITY];
  const children = userinfo[CLAIM_CHILDREN];
  if (address === undefined && municipality === undefined && children === undefined) {
    return '<p class="muted">Inga uppgifter från folkbokföringen. <span lang="en">No details from the population register.</span></p>';
  }
  const rows: string[] = [];
  if (isObj(address)) rows.push(`<dt>Adress</dt><dd class="address">${escapeHtml(text(address.formatted)).replace(/\n/g, '<br>')}</dd>`);
  if (municipality !== undefined) rows.push(`<dt>Folkbokförd i</dt><dd class="municipality">${escapeHtml(municipalityText(municipality))}</dd>`);
  let childList = '';
  if (Array.isArray(children)) {
    const items = children.filter(isObj).map((c) => {
      const number = text(c.personal_identity_number) || text(c.coordination_number);
      return `<li class="child"><span class="child-name">${escapeHtml(text(c.name))}</span>, född ${escapeHtml(text(c.birthdate))}${number ? `, <code>${escapeHtml(number)}</code>` : ''}${isObj(c.municipality) ? `, folkbokförd i ${escapeHtml(municipalityText(c.municipality))}` : ''}</li>`;
    });
    childList = `<h3>Barn i din vårdnad <span class="muted" lang="en">(children in your custody)</span></h3>${items.length ? `<ul class="children">${items.join('')}</ul>` : '<p class="children-none">Inga.</p>'}`;
  }
  return `<section class="registry" aria-labelledby="registry-heading">
<h3 id="registry-heading">Från folkbokföringen <span class="muted" lang="en">(from the population register)</span></h3>
${rows.length ? `<dl>${rows.join('')}</dl>` : ''}
${childList}
</section>`;
}

function claimsTable(claims: Record<string, unknown>, caption: string): string {
  const names = Object.keys(claims).sort((a, b) => {
    const ia = CLAIM_ORDER.indexOf(a);
    const ib = CLAIM_ORDER.indexOf(b);
    if (ia !== ib) return (ia < 0 ? CLAIM_ORDER.length : ia) - (ib < 0 ? CLAIM_ORDER.length : ib);
    return a.localeCompare(b);
  });
  const rows = names
    .map((n) => `<tr><th scope="row">${escapeHtml(CLAIM_LABELS[n] ?? '')}</th><td><code>${escapeHtml(n)}</code></td><td>${escapeHtml(formatValue(n, claims[n]))}</td></tr>`)
    .join('\n');
  return `<table>
<caption>${escapeHtml(caption)}</caption>
<thead><tr><th scope="col">Uppgift</th><th scope="col">Claim</th><th scope="col">Värde</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

const STYLESHEET = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; background: #f4f6f8; color: #1b1f24; line-height: 1.5; }
header { background: #1f4e79; color: #fff; padding: 1rem 1.5rem; }
header h1 { margin: 0; font-size: 1.5rem; }
header .service { margin: 0; font-size: .9rem; opacity: .9; }
header .en { margin: .25rem 0 0; font-size: .85rem; opacity: .85; }
main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1.5rem; }
section { background: #fff; border: 1px solid #d5dbe1; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
h2 { font-size: 1.15rem; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e3e7eb; }
td { word-break: break-all; }
code { font-size: .9em; }
.button, button { display: inline-block; background: #1f4e79; color: #fff; border: 0; border-radius: 4px; padding: .55rem 1.1rem; font: inherit; text-decoration: none; cursor: pointer; }
.button:focus, button:focus { outline: 3px solid #f2a900; outline-offset: 2px; }
.notice { background: #fff6d6; border-color: #e0c060; }
.error { background: #fdecea; border-color: #e0a09a; }
.muted { color: #57606a; font-size: .9rem; }
ul.tenants { columns: 2; }
footer { max-width: 60rem; margin: 0 auto 2rem; padding: 0 1.5rem; color: #57606a; font-size: .85rem; }
`;

export function createDemoRp(options: DemoRpOptions): DemoRp {
  const issuer = options.issuer.replace(/\/+$/, '');
  const issuerUrl = new URL(issuer);
  const prefix = options.prefix.replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const secure = issuerUrl.protocol === 'https:';
  const cookieBase = `demo_${options.clientId.replace(/[^A-Za-z0-9]/g, '_')}`;
  const sessionCookie = `${cookieBase}_session`;
  const pendingCookie = `${cookieBase}_pending`;
  const cssPath = `${prefix}/demo.css`;
  const tenants = options.tenants;
  const csp = `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${issuerUrl.origin}; frame-ancestors 'none'; base-uri 'none'`;

  const pending = new Map<string, Pending>();
  const sessions = new Map<string, Session>();
  const logouts: BackchannelLogoutRecord[] = [];
  const replay = new JtiRegistry();
  let rejected = 0;

  let discovered: Promise<Discovered> | undefined;
  function discover(): Promise<Discovered> {
    discovered ??= (async () => {
      const auth = await options.clientAuth();
      const execute: Array<(c: client.Configuration) => void> = [client.enableNonRepudiationChecks];
      // Plain HTTP only for a dev hub on http://localhost; a real deployment is https.
      if (issuerUrl.protocol === 'http:') execute.push(client.allowInsecureRequests);
      const config = await client.discovery(
        issuerUrl,
        options.clientId,
        { userinfo_signed_response_alg: 'RS256', id_token_signed_response_alg: 'RS256', ...options.clientMetadata },
        auth,
        { execute, timeout: 10 },
      );
      const meta = config.serverMetadata();
      if (!meta.jwks_uri) throw new Error('the provider publishes no jwks_uri');
      return { config, jwks: createRemoteJWKSet(new URL(meta.jwks_uri)), issuer: meta.issuer };
    })();
    // A failed discovery (hub not up yet) is retried on the next request.
    discovered.catch(() => {
      discovered = undefined;
    });
    return discovered;
  }

  async function verify(token: unknown): Promise<LogoutTokenClaims> {
    let d: Discovered;
    try {
      d = await discover();
    } catch (err) {
      throw new LogoutTokenError(`provider discovery failed: ${(err as Error).message}`);
    }
    return verifyLogoutToken(token, { issuer: d.issuer, clientId: options.clientId, keys: d.jwks, replay, now });
  }

  function siteTitle(tenant: string | undefined): string {
    return tenant && tenants ? `${options.title} – ${tenants[tenant] ?? tenant}` : options.title;
  }

  function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
    const html = `<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${escapeHtml(cssPath)}">
</head>
<body>
<header>
<p class="service">Demotjänst i utvecklingsläge</p>
<h1>${escapeHtml(title)}</h1>
${options.titleEn ? `<p class="en" lang="en">${escapeHtml(options.titleEn)}</p>` : ''}
</header>
<main>
${body}
</main>
<footer>Endast för utveckling och test. <span lang="en">Demo relying party for development only.</span></footer>
</body>
</html>
`;
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(html);
  }

  function setCookie(res: ServerResponse, name: string, value: string, path: string, maxAge?: number): void {
    const parts = [`${name}=${value}`, `Path=${path}`, 'HttpOnly', 'SameSite=Lax'];
    if (maxAge !== undefined) parts.push(`Max-Age=${maxAge}`);
    if (secure) parts.push('Secure');
    const prev = res.getHeader('set-cookie');
    const list = Array.isArray(prev) ? prev : prev ? [String(prev)] : [];
    res.setHeader('set-cookie', [...list, parts.join('; ')]);
  }

  function sessionOf(req: IncomingMessage, base: string): { key: string; session: Session } | undefined {
    const key = parseCookies(req)[sessionCookie];
    const session = key ? sessions.get(key) : undefined;
    if (!key || !session || session.base !== base) return undefined;
    if (now() - session.createdAt > SESSION_TTL_MS) {
      sessions.delete(key);
      return undefined;
    }
    return { key, session };
  }

  function errorPage(res: ServerResponse, status: number, base: string, tenant: string | undefined, heading: string, detail: string): void {
    sendPage(
      res,
      status,
      siteTitle(tenant),
      `<section class="error">
<h2>${escapeHtml(heading)}</h2>
${detail ? `<p><code>${escapeHtml(detail)}</code></p>` : ''}
<p><a href="${escapeHtml(`${base}/`)}">Tillbaka till startsidan</a> <span class="muted" lang="en">(back to the start page)</span></p>
</section>`,
    );
  }

  // --- pages ---------------------------------------------------------------------------------------

  function home(req: IncomingMessage, res: ServerResponse, base: string, tenant: string | undefined): void {
    const found = sessionOf(req, base);
    const parts: string[] = [];
    if (found?.session.kind === 'ended') {
      const l = found.session.logout;
      parts.push(`<section class="notice" role="status">
<h2>Du loggades ut via back-channel logout</h2>
<p>Inloggningstjänsten meddelade att din session avslutades${l.sid ? ` (sid <code>${escapeHtml(l.sid)}</code>)` : ''}, ${escapeHtml(new Date(l.receivedAt).toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm' }))}.</p>
<p class="muted" lang="en">You were signed out by a back-channel logout from the identity provider.</p>
</section>`);
    }
    if (found?.session.kind === 'active') {
      const s = found.session;
      const who = typeof s.userinfo.name === 'string' ? s.userinfo.name : typeof s.idTokenClaims.name === 'string' ? s.idTokenClaims.name : undefined;
      parts.push(`<section>
<h2>Du är inloggad${who ? ` som ${escapeHtml(who)}` : ''}</h2>
<p class="muted" lang="en">You are signed in. These are the claims this service received.</p>
<p>Session (<code>sid</code>): <code>${s.sid ? escapeHtml(s.sid) : '–'}</code></p>
${registrySection(s.userinfo)}
${claimsTable(s.idTokenClaims, 'ID-token')}
${claimsTable(s.userinfo, 'UserInfo (signerat svar)')}
<form method="post" action="${escapeHtml(`${base}/logout`)}"><button type="submit">Logga ut</button></form>
</section>`);
    } else {
      parts.push(`<section>
<h2>Du är inte inloggad</h2>
<p>Logga in med BankID via Värmlands gemensamma inloggningstjänst.</p>
<p class="muted" lang="en">You are not signed in.</p>
<p><a class="button" href="${escapeHtml(`${base}/login`)}">Logga in</a> <a href="${escapeHtml(`${base}/login?lang=en`)}" lang="en">Sign in (English)</a></p>
</section>`);
    }
    parts.push(`<section>
<h2>Back-channel logout</h2>
<p>Mottagna och godkända: ${logouts.length}. Avvisade: ${rejected}.</p>
<p class="muted"><a href="${escapeHtml(`${base}/state`)}">Tillstånd som JSON</a></p>
</section>`);
    sendPage(res, 200, siteTitle(tenant), parts.join('\n'));
  }

  function tenantIndex(res: ServerResponse): void {
    const items = Object.entries(tenants ?? {})
      .map(([id, name]) => `<li><a href="${escapeHtml(`${prefix}/${id}/`)}">${escapeHtml(name)}</a></li>`)
      .join('\n');
    sendPage(
      res,
      200,
      options.title,
      `<section>
<h2>Välj kommun</h2>
<p class="muted" lang="en">Choose a municipality.</p>
<ul class="tenants">
${items}
</ul>
</section>`,
    );
  }

  async function login(res: ServerResponse, url: URL, base: string, tenant: string | undefined): Promise<void> {
    let d: Discovered;
    try {
      d = await discover();
    } catch (err) {
      errorPage(res, 502, base, tenant, 'Inloggningstjänsten kunde inte nås', (err as Error).message);
      return;
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params: Record<string, string> = {
      redirect_uri: `${issuer}${base}/callback`,
      scope: options.scope ?? DEMO_SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    const lang = url.searchParams.get('lang');
    if (lang && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(lang)) params.ui_locales = lang;
    const target = client.buildAuthorizationUrl(d.config, params);
    const key = randomId();
    pending.set(key, { base, verifier, state, nonce, createdAt: now() });
    trim(pending, MAX_ENTRIES);
    setCookie(res, pendingCookie, key, base, PENDING_TTL_MS / 1000);
    redirect(res, 302, target.href);
  }

  async function callback(req: IncomingMessage, res: ServerResponse, url: URL, base: string, tenant: string | undefined): Promise<void> {
    const key = parseCookies(req)[pendingCookie];
    const p = key ? pending.get(key) : undefined;
    if (key) {
      // One attempt per authorization request: the state is spent whatever happens next.
      pending.delete(key);
      setCookie(res, pendingCookie, '', base, 0);
    }
    const oidcError = url.searchParams.get('error');
    if (!p || p.base !== base || now() - p.createdAt > PENDING_TTL_MS) {
      if (oidcError) {
        const desc = url.searchParams.get('error_description');
        errorPage(res, 400, base, tenant, 'Inloggningen avbröts', desc ? `${oidcError}: ${desc}` : oidcError);
      } else {
        errorPage(res, 400, base, tenant, 'Inloggningsförsöket hittades inte eller har gått ut. Försök igen.', '');
      }
      return;
    }
    let d: Discovered;
    try {
      d = await discover();
    } catch (err) {
      errorPage(res, 502, base, tenant, 'Inloggningstjänsten kunde inte nås', (err as Error).message);
      return;
    }
    // The redirect URI sent at the token endpoint is taken from this URL, so build it from the
    // registered value rather than from whatever Host the request came with.
    const current = new URL(`${issuer}${base}/callback`);
    current.search = url.search;
    let idToken: string;
    let idTokenClaims: Record<string, unknown>;
    let userinfo: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(d.config, current, {
        pkceCodeVerifier: p.verifier,
        expectedState: p.state,
        expectedNonce: p.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!tokens.id_token || !claims) throw new Error('no ID token in the token response');
      idToken = tokens.id_token;
      idTokenClaims = { ...claims };
      userinfo = { ...(await client.fetchUserInfo(d.config, tokens.access_token, claims.sub)) };
    } catch (err) {
      if (err instanceof client.AuthorizationResponseError) {
        errorPage(res, 400, base, tenant, 'Inloggningen avbröts', err.error_description ? `${err.error}: ${err.error_description}` : err.error);
      } else if (err instanceof client.ResponseBodyError) {
        errorPage(res, 502, base, tenant, 'Inloggningstjänsten svarade med ett fel', err.error_description ? `${err.error}: ${err.error_description}` : err.error);
      } else {
        errorPage(res, 400, base, tenant, 'Svaret från inloggningstjänsten kunde inte godkännas', (err as Error).message);
      }
      return;
    }
    const sessionKey = randomId();
    const old = sessionOf(req, base);
    if (old) sessions.delete(old.key);
    sessions.set(sessionKey, {
      kind: 'active',
      base,
      idToken,
      idTokenClaims,
      userinfo,
      sub: String(idTokenClaims.sub),
      sid: typeof idTokenClaims.sid === 'string' ? idTokenClaims.sid : undefined,
      createdAt: now(),
    });
    trim(sessions, MAX_ENTRIES);
    setCookie(res, sessionCookie, sessionKey, base);
    redirect(res, 303, `${base}/`);
  }

  async function logout(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    req.resume();
    const found = sessionOf(req, base);
    if (found) sessions.delete(found.key);
    setCookie(res, sessionCookie, '', base, 0);
    if (found?.session.kind !== 'active') {
      redirect(res, 303, `${base}/`);
      return;
    }
    let d: Discovered;
    try {
      d = await discover();
    } catch {
      redirect(res, 303, `${base}/`);
      return;
    }
    const target = client.buildEndSessionUrl(d.config, {
      id_token_hint: found.session.idToken,
      post_logout_redirect_uri: `${issuer}${base}/`,
    });
    redirect(res, 303, target.href);
  }

  async function backchannelLogout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let body: string;
    try {
      body = await readBody(req, MAX_LOGOUT_BODY);
    } catch (err) {
      rejected++;
      if (err instanceof BodyTooLarge) sendJson(res, 413, { error: 'invalid_request' });
      else sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    let claims: LogoutTokenClaims;
    try {
      if (type !== 'application/x-www-form-urlencoded') throw new LogoutTokenError('expected application/x-www-form-urlencoded');
      const tokens = new URLSearchParams(body).getAll('logout_token');
      if (tokens.length !== 1) throw new LogoutTokenError('exactly one logout_token expected');
      claims = await verify(tokens[0]);
    } catch {
      rejected++;
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    const record: BackchannelLogoutRecord = { jti: claims.jti, receivedAt: new Date(now()).toISOString() };
    if (claims.sid !== undefined) record.sid = claims.sid;
    if (claims.sub !== undefined) record.sub = claims.sub;
    logouts.push(record);
    if (logouts.length > MAX_ENTRIES) logouts.splice(0, logouts.length - MAX_ENTRIES);
    for (const [key, s] of sessions) {
      if (s.kind !== 'active') continue;
      const match = claims.sid !== undefined ? s.sid === claims.sid : s.sub === claims.sub;
      // Kept as a marker (not deleted) so the page can tell the user why they were signed out.
      if (match) sessions.set(key, { kind: 'ended', base: s.base, logout: record, createdAt: s.createdAt });
    }
    res.writeHead(200, { 'cache-control': 'no-store' });
    res.end();
  }

  function state(req: IncomingMessage, res: ServerResponse, base: string): void {
    const found = sessionOf(req, base);
    const out: DemoRpState = { signedIn: false, backchannelLogouts: [...logouts], rejectedLogoutTokens: rejected };
    if (found?.session.kind === 'active') {
      const s = found.session;
      out.signedIn = true;
      out.sub = s.sub;
      if (s.sid) out.sid = s.sid;
      out.idTokenClaims = s.idTokenClaims;
      out.userinfo = s.userinfo;
    } else if (found?.session.kind === 'ended') {
      out.endedByBackchannelLogout = found.session.logout;
    }
    sendJson(res, 200, out);
  }

  function methodNotAllowed(res: ServerResponse, allow: string): void {
    res.writeHead(405, { allow, 'content-type': 'text/plain; charset=utf-8' });
    res.end('Method Not Allowed\n');
  }

  function notFound(res: ServerResponse): void {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end('Not Found\n');
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const isGet = method === 'GET' || method === 'HEAD';
    const rest = url.pathname.slice(prefix.length);

    if (rest === '/backchannel-logout') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      return backchannelLogout(req, res);
    }
    if (rest === '/demo.css') {
      if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300', 'x-content-type-options': 'nosniff' });
      res.end(STYLESHEET);
      return;
    }

    let base = prefix;
    let tenant: string | undefined;
    let sub = rest;
    if (tenants) {
      if (rest === '' || rest === '/') {
        if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
        if (rest === '') return redirect(res, 308, `${prefix}/${url.search}`);
        return tenantIndex(res);
      }
      const m = /^\/([^/]+)(\/.*)?$/.exec(rest);
      if (!m || !Object.hasOwn(tenants, m[1]!)) return notFound(res);
      tenant = m[1]!;
      base = `${prefix}/${tenant}`;
      sub = m[2] ?? '';
    }

    switch (sub) {
      case '':
        return redirect(res, 308, `${base}/${url.search}`);
      case '/':
        if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
        return home(req, res, base, tenant);
      case '/login':
        if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
        return login(res, url, base, tenant);
      case '/callback':
        if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
        return callback(req, res, url, base, tenant);
      case '/logout':
        if (method !== 'POST') return methodNotAllowed(res, 'POST');
        return logout(req, res, base);
      case '/state':
        if (!isGet) return methodNotAllowed(res, 'GET, HEAD');
        return state(req, res, base);
      default:
        return notFound(res);
    }
  }

  const handler: Handler = async (req, res, url) => {
    try {
      await route(req, res, url);
    } catch (err) {
      // The demo must never take the hub's request handling down with it.
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: (err as Error).message });
      else res.end();
    }
  };

  return {
    prefix,
    handler,
    verifyLogoutToken: verify,
    backchannelLogouts: () => logouts,
    rejectedLogoutTokens: () => rejected,
  };
}
