/**
 * A scripted BankID sign-in over plain HTTP, step by step, the way a browser and the RP drive it
 * (the same path as the integration tests' scripted sign-in): authorize -> chooser -> chooser POST -> BankID page (starts
 * the order) -> status JSON polled like the page polls it -> complete -> resume -> code -> token.
 * Every request a step makes is timed; each simulated browser has its own cookie jar.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RpInfo } from './env.ts';
import { Http, Jar, attr, sleep } from './lib.ts';

export const SCOPE = 'openid https://id.oidc.se/scope/naturalPersonNumber https://id.oidc.se/scope/naturalPersonInfo';

export interface Target {
  issuer: string;
  /** Hub processes; a browser's requests alternate between them. */
  origins: string[];
  rp: RpInfo;
}

export class BenchBrowser {
  readonly jar = new Jar();
  readonly #http: Http;
  readonly #target: Target;
  #n: number;

  constructor(http: Http, target: Target, start = 0) {
    this.#http = http;
    this.#target = target;
    this.#n = start;
  }

  /** Resolves a hub URL (relative, or absolute on the issuer) to the next process in turn. */
  url(location: string): URL {
    const u = new URL(location, this.#target.issuer);
    const issuer = new URL(this.#target.issuer);
    if (u.origin !== issuer.origin) return u;
    const origin = this.#target.origins[this.#n++ % this.#target.origins.length]!;
    return new URL(`${u.pathname}${u.search}`, origin);
  }

  get(location: string, headers: Record<string, string> = {}) {
    return this.#http.request(this.url(location), { headers, jar: this.jar });
  }

  post(location: string, body: string, headers: Record<string, string>) {
    return this.#http.request(this.url(location), { method: 'POST', body, headers, jar: this.jar });
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export class FlowError extends Error {}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new FlowError(what);
}

export interface Timings {
  authorize_chooser: number;
  order_start: number;
  status: number[];
  completion: number;
  token: number;
  /** The simulated app's scan (not a hub step; for information). */
  app_scan: number;
  total: number;
}

export interface Opened {
  uid: string;
  statusPath: string;
  /** Set when the BankID page already redirected to completion (the order completed at once). */
  completeUrl?: string;
  authorizeChooserMs: number;
  orderStartMs: number;
}

/** authorize -> chooser -> chooser POST -> BankID page. Resolves with the status URL of the order. */
export async function openBankIdPage(b: BenchBrowser, target: Target, p: Pkce, state: string): Promise<Opened> {
  const q = new URLSearchParams({
    client_id: target.rp.clientId,
    redirect_uri: target.rp.redirectUri,
    response_type: 'code',
    scope: SCOPE,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    state,
    nonce: state,
  });
  const t0 = performance.now();
  const auth = await b.get(`/auth?${q}`);
  expect(auth.status === 303 || auth.status === 302, `authorize answered ${auth.status}: ${auth.body.slice(0, 200)}`);
  const loginUrl = auth.location!;
  const uid = /\/login\/([^/?]+)/.exec(loginUrl)?.[1];
  expect(uid, `authorize redirected to ${loginUrl}`);
  const chooser = await b.get(loginUrl);
  expect(chooser.status === 200, `chooser answered ${chooser.status}`);
  const action = /action="([^"]*\/choose\/bankid)"/.exec(chooser.body)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(chooser.body)?.[1];
  expect(action && csrf, 'the chooser has no BankID form');
  const chosen = await b.post(action, new URLSearchParams({ csrf }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
  expect(chosen.status === 303 && chosen.location, `chooser POST answered ${chosen.status}`);
  const t1 = performance.now();
  const page = await b.get(chosen.location);
  const t2 = performance.now();
  if (page.status === 302 || page.status === 303) {
    expect(page.location?.includes('/complete'), `BankID page redirected to ${page.location}`);
    return { uid, statusPath: '', completeUrl: page.location, authorizeChooserMs: t1 - t0, orderStartMs: t2 - t1 };
  }
  expect(page.status === 200, `BankID page answered ${page.status}: ${page.body.slice(0, 200)}`);
  const statusPath = attr(page.body, 'data-status-url');
  expect(statusPath, 'the BankID page has no data-status-url');
  return { uid, statusPath, authorizeChooserMs: t1 - t0, orderStartMs: t2 - t1 };
}

export interface Status {
  status: 'pending' | 'complete' | 'failed';
  hintCode?: string;
  qr?: string;
  next?: string;
  code?: string;
}

export async function status(b: BenchBrowser, statusPath: string): Promise<{ s: Status; ms: number }> {
  const t = performance.now();
  const res = await b.get(statusPath, { accept: 'application/json' });
  const ms = performance.now() - t;
  expect(res.status === 200, `status answered ${res.status}: ${res.body.slice(0, 200)}`);
  return { s: JSON.parse(res.body) as Status, ms };
}

/** complete -> resume -> the RP's callback. Resolves with the code. */
export async function complete(b: BenchBrowser, next: string, state: string): Promise<{ code: string; ms: number }> {
  const t = performance.now();
  let res = await b.get(next);
  for (let i = 0; i < 5 && (res.status === 302 || res.status === 303) && res.location && !res.location.includes('/callback'); i++) {
    res = await b.get(res.location);
  }
  const ms = performance.now() - t;
  const location = res.location;
  expect(location && location.includes('/callback'), `completion ended with ${res.status} ${location ?? res.body.slice(0, 200)}`);
  const cb = new URL(location);
  expect(cb.searchParams.get('state') === state, 'state mismatch');
  const code = cb.searchParams.get('code');
  expect(code, `no code: ${cb.search}`);
  return { code, ms };
}

export function basicAuth(rp: RpInfo): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(rp.clientId)}:${encodeURIComponent(rp.clientSecret)}`).toString('base64')}`;
}

export function tokenBody(rp: RpInfo, code: string, verifier: string): string {
  return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: verifier }).toString();
}

export async function token(http: Http, origin: string, rp: RpInfo, code: string, verifier: string): Promise<number> {
  const t = performance.now();
  const res = await http.request(new URL('/token', origin), {
    method: 'POST',
    body: tokenBody(rp, code, verifier),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(rp) },
  });
  const ms = performance.now() - t;
  expect(res.status === 200 && res.body.includes('"id_token"'), `token answered ${res.status}: ${res.body.slice(0, 200)}`);
  return ms;
}

export interface SignInOptions {
  /** 'scan': the simulated app scans the QR of the first status answer; 'auto': the simulator approves by itself. */
  approve: 'scan' | 'auto';
  appUrl: string;
  personalNumber: string;
  /** Delay between a status answer and the next poll (login.js: 1000 ms). */
  pollDelayMs: number;
  http: Http;
  deadlineMs?: number;
}

/** A whole sign-in. Resolves with the timing of every hub-owned step. */
export async function signIn(b: BenchBrowser, target: Target, o: SignInOptions): Promise<Timings> {
  const t0 = performance.now();
  const p = pkce();
  const state = randomBytes(12).toString('base64url');
  const opened = await openBankIdPage(b, target, p, state);
  const statusMs: number[] = [];
  let scanMs = 0;
  let next = opened.completeUrl;
  if (!next) {
    const first = await status(b, opened.statusPath);
    statusMs.push(first.ms);
    let s = first.s;
    if (s.status === 'pending' && o.approve === 'scan') {
      expect(s.qr, 'the status JSON has no qr');
      const ts = performance.now();
      const scan = await o.http.request(new URL('/scan', o.appUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ qr: s.qr, personalNumber: o.personalNumber, action: 'approve' }),
      });
      scanMs = performance.now() - ts;
      expect(scan.status === 200, `the app's scan answered ${scan.status}: ${scan.body}`);
    }
    const deadline = t0 + (o.deadlineMs ?? 30_000);
    while (s.status === 'pending') {
      expect(performance.now() < deadline, 'the order stayed pending too long');
      await sleep(o.pollDelayMs);
      const r = await status(b, opened.statusPath);
      statusMs.push(r.ms);
      s = r.s;
    }
    expect(s.status === 'complete' && s.next, `the order ended ${JSON.stringify(s)}`);
    next = s.next;
  }
  const done = await complete(b, next, state);
  const origin = b.url('/token').origin;
  const tokenMs = await token(o.http, origin, target.rp, done.code, p.verifier);
  return {
    authorize_chooser: opened.authorizeChooserMs,
    order_start: opened.orderStartMs,
    status: statusMs,
    completion: done.ms,
    token: tokenMs,
    app_scan: scanMs,
    total: performance.now() - t0,
  };
}
