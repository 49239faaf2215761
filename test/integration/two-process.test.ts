/**
 * Two hub processes sharing one Redis and one simulator process (as they would share the real BankID):
 * a sign-in started on one process finishes on the other, tokens issued by one are honoured by the
 * other, and BankID is collected at most once per order per 2 seconds across both.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import * as oc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { TEST_PKI_DIR, freePort } from '../helpers/env.ts';
import { PERSON, SCOPE_NPN, openLogin, statusUrlOf, waitForStatus, type Status } from '../helpers/flows.ts';

const NODE = process.execPath;
const REDIS_URL = process.env.REDIS_URL;

/** Spawns a process and resolves when a stdout line satisfies `ready` (with that line). */
function spawnUntil(args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => boolean): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not become ready: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready(line)) {
        clearTimeout(timer);
        resolve({ child, line });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`)));
  });
}

// Skipped without REDIS_URL because several processes need a shared store; .ci/run always sets it.
describe('two hub processes sharing Redis', { skip: REDIS_URL ? false : 'REDIS_URL not set: run with REDIS_URL=redis://127.0.0.1:6379' }, () => {
  const children: ChildProcess[] = [];
  let issuer = '';
  let portA = 0;
  let portB = 0;
  let appUrl = '';

  before(async () => {
    const sim = await spawnUntil(['dev/simulators.ts'], { ...process.env, IDNAV_DEV_PKI: TEST_PKI_DIR }, (l) => l.startsWith('{'));
    children.push(sim.child);
    const simEnv = JSON.parse(sim.line) as Record<string, string>;
    appUrl = simEnv.IDNAV_BANKID_APP_URL!;
    [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://localhost:${portA}`;
    const shared = {
      ...process.env,
      ...simEnv,
      IDNAV_ISSUER: issuer,
      IDNAV_STORE: 'redis',
      REDIS_URL,
      IDNAV_REDIS_PREFIX: `idnav-2p:${portA}:`,
      // Both processes start at once on an empty state dir: they must end up with the same secrets.
      IDNAV_STATE_DIR: mkdtempSync(join(tmpdir(), 'idnav-2p-')),
      NODE_ENV: 'test',
      // Small limits, so that the rate-limit test below reaches them (the first test starts one sign-in).
      IDNAV_LIMIT_SIGNIN_PER_IP: '4',
      IDNAV_LIMIT_FAILED_CLIENT_AUTH: '2',
    };
    const hubs = await Promise.all(
      [portA, portB].map((port) => spawnUntil(['src/main.ts'], { ...shared, PORT: String(port) }, (l) => l.includes('idnav is listening'))),
    );
    children.push(...hubs.map((h) => h.child));
  });

  after(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('continues a sign-in on the other process and collects at most once per 2 s per order', async () => {
    const browser = new Browser();
    let n = 0;
    // Every request alternates between the two processes, as a load balancer without stickiness would.
    browser.rewrite = (u) => {
      if (u.origin !== issuer) return u;
      const next = new URL(u);
      next.port = String(n++ % 2 === 0 ? portA : portB);
      return next;
    };
    const rp = await oc.discovery(new URL(issuer), 'kommun-app', {}, oc.None(), { execute: [oc.allowInsecureRequests] });
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const redirectUri = 'http://127.0.0.1:8765/callback';
    const url = oc.buildAuthorizationUrl(rp, {
      redirect_uri: redirectUri,
      scope: `openid ${SCOPE_NPN}`,
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const opened = await openLogin(browser, { url, verifier, state, nonce: '', redirectUri });
    const statusUrl = statusUrlOf(opened.pageUrl!, opened.html!);

    // Poll like the page does, on both processes, for a while before the user scans.
    const until = Date.now() + 5000;
    let last: Status | undefined;
    while (Date.now() < until) {
      last = await browser.json<Status>(statusUrl);
      assert.equal(last.status, 'pending');
      await new Promise((r) => setTimeout(r, 150));
    }
    const scan = await fetch(`${appUrl}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ qr: last!.qr, personalNumber: PERSON, action: 'approve' }) });
    assert.equal(scan.status, 200);
    const done = await waitForStatus(browser, statusUrl);
    assert.equal(done.status, 'complete');
    const { stoppedAt } = await browser.follow(new URL(done.next!, statusUrl), (l) => l.href.startsWith(redirectUri));
    assert.ok(stoppedAt);
    const tokens = await oc.authorizationCodeGrant(rp, stoppedAt, { pkceCodeVerifier: verifier, expectedState: state });
    assert.equal(tokens.claims()!['https://id.oidc.se/claim/personalIdentityNumber'], PERSON);

    // The access token issued through process A is honoured by process B.
    const me = await fetch(`http://localhost:${portB}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(me.status, 200);

    const stats = (await (await fetch(`${appUrl}/control/stats`)).json()) as { collects: Record<string, number[]> };
    const series = Object.values(stats.collects).filter((s) => s.length > 1);
    assert.equal(series.length, 1, 'one order was collected');
    const times = series[0]!;
    assert.ok(times.length >= 3, `collected ${times.length} times over ~6 s`);
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i]! - times[i - 1]! >= 1990, `collects ${times[i]! - times[i - 1]!} ms apart`);
    }
    assert.ok(n > 20, 'both processes served many requests');
  });

  it('counts rate limits across both processes: sign-in starts per address, failed client authentications', async () => {
    const rp = await oc.discovery(new URL(issuer), 'kommun-app', {}, oc.None(), { execute: [oc.allowInsecureRequests] });
    const redirectUri = 'http://127.0.0.1:8765/callback';
    let started = 0;
    let refused: { status: number; retryAfter: string | null; html: string } | undefined;
    for (let i = 0; i < 8 && !refused; i++) {
      const port = i % 2 === 0 ? portA : portB;
      const browser = new Browser();
      browser.rewrite = (u) => (u.origin === issuer ? new URL(u.href.replace(issuer, `http://localhost:${port}`)) : u);
      const verifier = oc.randomPKCECodeVerifier();
      const url = oc.buildAuthorizationUrl(rp, {
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: await oc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: oc.randomState(),
      });
      const { res, url: chooser } = await browser.follow(url, () => false);
      const html = await res.text();
      const action = /action="([^"]*\/choose\/bankid)"/.exec(html)![1]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
      const chose = await browser.postForm(new URL(action, chooser), { csrf });
      await chose.body?.cancel();
      const page = await browser.get(new URL(chose.headers.get('location')!, chooser));
      if (page.status === 429) refused = { status: page.status, retryAfter: page.headers.get('retry-after'), html: await page.text() };
      else {
        assert.equal(page.status, 200);
        await page.body?.cancel();
        started++;
      }
    }
    assert.ok(refused, 'a sign-in start was refused');
    assert.equal(started + 1, 4, 'four starts per address and minute across both processes (one by the test above)');
    assert.ok(Number(refused.retryAfter) > 0, 'Retry-After is set');
    assert.match(refused.html, /För många inloggningsförsök/);

    // Failed client authentications at the token endpoint, alternating between the processes.
    const token = (port: number, secret: string) =>
      fetch(`http://localhost:${port}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`e-tjanst:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=nothing&redirect_uri=http%3A%2F%2Flocalhost%2Fcb',
      });
    for (let i = 0; i < 3; i++) assert.equal((await token(i % 2 === 0 ? portA : portB, 'wrong-secret')).status, 401);
    const blocked = await token(portB, 'dev-e-tjanst-secret-7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e');
    assert.equal(blocked.status, 429, 'the client is refused for a while, even with the right secret');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  });
});
