/**
 * What an operator sees: /readyz, Prometheus /metrics, and the audit log of a whole sign-in, token
 * exchange and logout, joined to the application log by the request id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { PERSON, authorizationRequest, exchange, redirectUriFor, rpFor, signInWithBankId } from '../helpers/flows.ts';

type Record_ = Record<string, unknown>;

/** The value of one sample line of a Prometheus text answer (labels in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const have = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('operations: readiness, metrics, audit', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv({ demo: false });
  });
  after(() => env.close());

  it('is ready when its store, keys, e-ID services and registry answer', async () => {
    const ok = await fetch(`${env.issuer}/readyz`);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { status: string; checks: Record<string, string> };
    assert.equal(body.status, 'ready', JSON.stringify(body));
    for (const check of ['store', 'keys', 'method:bankid', 'method:freja', 'registry']) assert.equal(body.checks[check], 'ok', check);
    assert.match(ok.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('counts a sign-in, its token and the registry in /metrics', async () => {
    const rp = await rpFor(env, 'e-tjanst');
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: 'openid https://id.oidc.se/scope/naturalPersonNumber urn:idnav:scope:municipality' });
    const callback = await signInWithBankId(env, new Browser(), req, PERSON);
    await exchange(rp, callback, req);
    const res = await fetch(`${env.issuer}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const labels = { method: 'bankid', tenant: 'karlstad', client: 'e-tjanst' };
    assert.ok((sample(text, 'idnav_signins_started_total', labels) ?? 0) >= 1, 'started');
    assert.ok((sample(text, 'idnav_signins_completed_total', labels) ?? 0) >= 1, 'completed');
    assert.ok((sample(text, 'idnav_tokens_issued_total', { grant_type: 'authorization_code', client: 'e-tjanst' }) ?? 0) >= 1, 'token');
    assert.ok((sample(text, 'idnav_eid_hints_total', { method: 'bankid', hint: 'complete' }) ?? 0) >= 1, 'hint');
    assert.ok((sample(text, 'idnav_registry_calls_total', {}) ?? 0) >= 1, 'registry calls');
    assert.ok(text.includes('idnav_upstream_seconds_bucket{'), 'upstream latency');
    assert.ok(text.includes('idnav_store_seconds_bucket{'), 'store latency');
    assert.ok(!text.includes(PERSON), 'no personal number in metrics');
  });

  it('audits a whole sign-in, token issue and logout in its own sink, joined to the application log by request id', async () => {
    const before = env.audit.length;
    const rp = await rpFor(env, 'e-tjanst');
    const browser = new Browser();
    const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'));
    const callback = await signInWithBankId(env, browser, req, PERSON);
    const tokens = await exchange(rp, callback, req);
    // RP-initiated logout, confirmed on the hub's page.
    const end = new URL(`${env.issuer}/session/end`);
    end.searchParams.set('id_token_hint', tokens.id_token!);
    const page = await (await browser.get(end)).text();
    const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"/.exec(page)?.[1] ?? /action="([^"]+)"/.exec(page)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
    const out = await browser.postForm(new URL(action, end), { xsrf, logout: 'yes' });
    await out.body?.cancel();

    const records = env.audit.slice(before).map((l) => JSON.parse(l) as Record_);
    const signin = records.find((r) => r.event === 'signin.completed');
    assert.ok(signin, JSON.stringify(records));
    assert.equal(signin.tenant, 'karlstad');
    assert.equal(signin.client, 'e-tjanst');
    assert.equal(signin.method, 'urn:idnav:method:bankid');
    assert.equal(signin.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
    assert.equal(signin.result, 'success');
    assert.equal(signin.subject, PERSON, 'the audit log names the person');
    assert.equal(signin.ip, '127.0.0.1');
    assert.equal(signin.log, 'audit');
    assert.ok(typeof signin.time === 'string' && typeof signin.requestId === 'string');
    const token = records.find((r) => r.event === 'token.issued');
    assert.ok(token && token.client === 'e-tjanst' && token.grantType === 'authorization_code');
    const logout = records.find((r) => r.event === 'logout');
    assert.ok(logout, 'logout audited');
    assert.equal(logout.account, signin.account);

    // The application log line of the same request carries the same id, and never the number.
    const appLine = env.logs.map((l) => JSON.parse(l) as Record_).find((l) => l.msg === 'sign-in completed' && l.requestId === signin.requestId);
    assert.ok(appLine, 'the application log has the same request id');
    assert.ok(!env.logs.join('\n').includes(PERSON));
  });
});
