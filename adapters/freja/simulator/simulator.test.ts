import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Agent, request } from 'undici';
import type { DevPki } from '../../../dev/pki.ts';
import { EBBA_SAMORDNING, NOBODY, SIGRID, TORE, startTestSimulator, testPki, type TestSimulator } from '../testkit.ts';
import { loadTestPersons, referenceFromQr } from './server.ts';

let pki: DevPki;
let sim: TestSimulator;
let agent: Agent;

before(async () => {
  pki = await testPki();
  sim = await startTestSimulator(pki);
  agent = new Agent({
    connect: {
      ca: await readFile(pki.frejaServerCa, 'utf8'),
      cert: await readFile(pki.frejaClientCert, 'utf8'),
      key: await readFile(pki.frejaClientKey, 'utf8'),
    },
  });
});

after(async () => {
  await agent?.close();
  await sim?.close();
});

beforeEach(() => sim.control.reset());

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A raw RP API call: `param=<base64 JSON>` with the given content type and encoding. */
async function rp(
  path: string,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
  dispatcher: Agent = agent,
): Promise<Answer> {
  const res = await request(`${sim.url}/authentication/1.0/${path}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': contentType },
    body,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: res.statusCode, json, text, headers: res.headers };
}

const form = (param: string, value: unknown, extra = ''): string => `${param}=${encodeURIComponent(b64(value))}${extra}`;

async function init(json: Record<string, unknown>, extra = ''): Promise<Answer> {
  return rp('initAuthentication', form('initAuthRequest', json, extra));
}

const inferred = (attributes: string[] = ['SSN'], level = 'PLUS'): Record<string, unknown> => ({
  userInfoType: 'INFERRED',
  userInfo: 'N/A',
  minRegistrationLevel: level,
  attributesToReturn: attributes.map((attribute) => ({ attribute })),
});

const ssn = (pnr: string, attributes: string[] = ['SSN']): Record<string, unknown> => ({
  userInfoType: 'SSN',
  userInfo: b64({ country: 'SE', ssn: pnr }),
  minRegistrationLevel: 'PLUS',
  attributesToReturn: attributes.map((attribute) => ({ attribute })),
});

async function started(json: Record<string, unknown> = inferred()): Promise<string> {
  const a = await init(json);
  assert.equal(a.status, 200, a.text);
  assert.equal(typeof a.json.authRef, 'string');
  return a.json.authRef as string;
}

const result = (authRef: string): Promise<Answer> => rp('getOneResult', form('getOneAuthResultRequest', { authRef }));

function act(transactionReference: string, action: 'open' | 'approve' | 'cancel' | 'reject' = 'approve', personalNumber?: string) {
  return sim.control.app({ transactionReference, action, ...(personalNumber ? { personalNumber } : {}) });
}

// ---------------------------------------------------------------------------------------------

describe('RP API encoding', () => {
  it('accepts form encoding with the value percent-encoded', async () => {
    const a = await init(inferred());
    assert.equal(a.status, 200);
    assert.match(a.json.authRef as string, /^[A-Za-z0-9_-]{64}$/);
    assert.deepEqual(Object.keys(a.json), ['authRef']);
  });

  it("accepts the Java client's raw body under Content-Type application/json", async () => {
    const a = await rp('initAuthentication', `initAuthRequest=${b64(inferred())}`, 'application/json');
    assert.equal(a.status, 200, a.text);
    const tx = sim.control.transactions().find((t) => t.authRef === a.json.authRef);
    assert.equal(tx?.contentType, 'application/json');
  });

  it('accepts an unencoded + in a form body', async () => {
    // Find a request whose Base64 contains '+', and send it without percent-encoding.
    let json: Record<string, unknown> = inferred();
    for (let i = 0; !b64(json).includes('+'); i++) json = { ...inferred(), originDeviceDetails: { userAgent: `agent ${'~'.repeat(i)}?>` } };
    const a = await rp('initAuthentication', `initAuthRequest=${b64(json)}`);
    assert.equal(a.status, 200, a.text);
  });

  it('takes relyingPartyId after the request parameter', async () => {
    const a = await init(inferred(), '&relyingPartyId=kommun-1');
    const tx = sim.control.transactions().find((t) => t.authRef === a.json.authRef);
    assert.equal(tx?.relyingPartyId, 'kommun-1');
    // Results are scoped by it.
    assert.equal((await result(a.json.authRef as string)).json.code, 1100);
    const scoped = await rp('getOneResult', form('getOneAuthResultRequest', { authRef: a.json.authRef }, '&relyingPartyId=kommun-1'));
    assert.equal(scoped.json.status, 'STARTED');
  });

  it('refuses other content types (415), other paths (404) and other methods (405)', async () => {
    assert.equal((await rp('initAuthentication', form('initAuthRequest', inferred()), 'text/plain')).status, 415);
    assert.equal((await rp('initAuthentication/', form('initAuthRequest', inferred()))).status, 404);
    const res = await request(`${sim.url}/authentication/1.0/getOneResult`, { method: 'GET', dispatcher: agent });
    await res.body.text();
    assert.equal(res.statusCode, 405);
  });

  const BAD: Array<[string, string, number]> = [
    ['no request parameter', 'somethingElse=abc', 1000],
    ['not Base64', 'initAuthRequest=%%%', 1000],
    ['Base64 of no JSON', `initAuthRequest=${Buffer.from('not json').toString('base64')}`, 1010],
    ['a JSON array', `initAuthRequest=${encodeURIComponent(b64([1, 2]))}`, 1010],
    ['Base64 with bad characters', 'initAuthRequest=abc*def', 1010],
  ];
  for (const [name, body, code] of BAD) {
    it(`${name} → ${code}`, async () => {
      const a = await rp('initAuthentication', body);
      assert.equal(a.status, 400);
      assert.equal(a.json.code, code);
      assert.equal(typeof a.json.message, 'string');
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('initAuthentication validation', () => {
  const CASES: Array<[string, Record<string, unknown>, number]> = [
    ['an unknown userInfoType', { ...inferred(), userInfoType: 'CARRIER_PIGEON' }, 1001],
    ['EMAIL (not simulated)', { ...inferred(), userInfoType: 'EMAIL', userInfo: 'a@example.test' }, 1001],
    ['INFERRED with a userInfo', { ...inferred(), userInfo: 'someone' }, 1002],
    ['SSN with plain userInfo', { ...ssn(TORE), userInfo: TORE }, 1002],
    ['SSN with a bad check digit', ssn('198602212395'), 1002],
    ['SSN of another country', { ...ssn(TORE), userInfo: b64({ country: 'NO', ssn: TORE }) }, 1002],
    ['an unknown minRegistrationLevel', { ...inferred(), minRegistrationLevel: 'GOLD' }, 1007],
    ['SSN at BASIC', { ...ssn(TORE), minRegistrationLevel: 'BASIC', attributesToReturn: [] }, 1007],
    ['an unknown attribute', inferred(['SSN', 'SHOE_SIZE']), 2002],
    ['a repeated attribute', inferred(['SSN', 'SSN']), 2002],
    ['attributes that are not objects', { ...inferred(), attributesToReturn: ['SSN'] }, 2002],
    ['SSN attribute at BASIC', inferred(['SSN'], 'BASIC'), 2002],
    ['an unknown field', { ...inferred(), returnUrl: 'https://example.test' }, 1000],
    ['a bad userConfirmationMethod', { ...inferred(), userConfirmationMethod: 'SMILE' }, 1000],
  ];
  for (const [name, json, code] of CASES) {
    it(`${name} → ${code}`, async () => {
      const a = await init(json);
      assert.equal(a.status, 400, a.text);
      assert.equal(a.json.code, code, a.text);
    });
  }

  it('BASIC without verified attributes is accepted; minRegistrationLevel defaults to BASIC', async () => {
    const { minRegistrationLevel: _omit, ...json } = inferred(['EMAIL_ADDRESS']);
    const ref = await started(json);
    assert.equal(sim.control.transactions().find((t) => t.authRef === ref)?.minRegistrationLevel, 'BASIC');
  });

  it('useDynamicQrCode answers a qrCodeSecret', async () => {
    const a = await init({ ...inferred(), useDynamicQrCode: true });
    assert.equal(typeof a.json.qrCodeSecret, 'string');
  });

  it('1012 for an SSN of nobody; 1005 for a user who turned the service off', async () => {
    assert.equal((await init(ssn(NOBODY))).json.code, 1012);
    sim.control.setPerson(TORE, { serviceDisabled: true });
    assert.equal((await init(ssn(TORE))).json.code, 1005);
  });

  it('2000 for a second transaction to the same person while one runs; the first one keeps running', async () => {
    const first = await started(ssn(TORE));
    const second = await init(ssn(TORE));
    assert.equal(second.status, 400);
    assert.equal(second.json.code, 2000);
    assert.equal((await result(first)).json.status, 'STARTED');
    assert.ok(act(first, 'cancel').ok);
    await started(ssn(TORE));
    await rp('cancel', form('cancelAuthRequest', { authRef: sim.control.transactions().at(-1)!.authRef }));
  });
});

// ---------------------------------------------------------------------------------------------

describe('transactions and results', () => {
  it('STARTED → DELIVERED_TO_MOBILE → APPROVED with a JWS over exactly what was asked for', async () => {
    const ref = await started(inferred(['BASIC_USER_INFO', 'SSN', 'DATE_OF_BIRTH', 'REGISTRATION_LEVEL', 'AGE', 'LOA_LEVEL']));
    assert.deepEqual((await result(ref)).json, { authRef: ref, status: 'STARTED' });
    assert.deepEqual(act(ref, 'open'), { ok: true, value: { status: 'DELIVERED_TO_MOBILE' } });
    assert.deepEqual((await result(ref)).json, { authRef: ref, status: 'DELIVERED_TO_MOBILE' });
    assert.deepEqual(act(ref, 'approve', TORE), { ok: true, value: { status: 'APPROVED' } });

    const answer = (await result(ref)).json;
    assert.equal(answer.status, 'APPROVED');
    const details = answer.details as string;
    const header = decodeProtectedHeader(details);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.x5t, sim.control.signingX5t());
    const key = createPublicKey(await readFile(pki.frejaSigningCert, 'utf8'));
    const payload = JSON.parse(new TextDecoder().decode((await compactVerify(details, key)).payload)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload).sort(), ['authRef', 'minRegistrationLevel', 'requestedAttributes', 'status', 'timestamp', 'userInfo', 'userInfoType']);
    assert.equal(payload.authRef, ref);
    assert.equal(payload.status, 'APPROVED');
    assert.equal(payload.userInfoType, 'INFERRED');
    assert.equal(payload.userInfo, 'N/A');
    assert.equal(payload.minRegistrationLevel, 'PLUS');
    assert.equal(typeof payload.timestamp, 'number');
    const attributes = payload.requestedAttributes as Record<string, unknown>;
    assert.deepEqual(attributes.basicUserInfo, { name: 'Tore', surname: 'Testsson' });
    assert.deepEqual(attributes.ssn, { ssn: TORE, country: 'SE' });
    assert.equal(attributes.dateOfBirth, '1986-02-21');
    assert.equal(attributes.registrationLevel, 'PLUS');
    assert.equal(attributes.loaLevel, 'LOA3');
    assert.equal(typeof attributes.age, 'number');
    assert.deepEqual(answer.requestedAttributes, attributes, 'the unsigned copy beside it');
  });

  it('SSN: the signed userInfo is the {"country","ssn"} JSON text; delivery after pushDeliveryMs', async () => {
    const ref = await started(ssn(EBBA_SAMORDNING, ['SSN']));
    assert.equal((await result(ref)).json.status, 'STARTED');
    sim.advance(1000);
    assert.equal((await result(ref)).json.status, 'DELIVERED_TO_MOBILE');
    assert.equal(act(ref, 'approve', TORE).ok, false, 'only the named person can answer');
    act(ref, 'approve');
    const details = (await result(ref)).json.details as string;
    const payload = JSON.parse(Buffer.from(details.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(payload.userInfoType, 'SSN');
    assert.deepEqual(JSON.parse(payload.userInfo as string), { country: 'SE', ssn: EBBA_SAMORDNING });
    assert.deepEqual(Object.keys(payload.requestedAttributes as object), ['ssn']);
  });

  it('an EXTENDED user cannot answer a PLUS transaction; at EXTENDED they can', async () => {
    const plus = await started(inferred(['SSN', 'REGISTRATION_LEVEL']));
    const refused = act(plus, 'approve', SIGRID);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.status, 403);
    assert.equal((await result(plus)).json.status, 'STARTED');
    const extended = await started(inferred(['SSN', 'REGISTRATION_LEVEL'], 'EXTENDED'));
    act(extended, 'approve', SIGRID);
    const payload = JSON.parse(Buffer.from(((await result(extended)).json.details as string).split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(payload.requestedAttributes.registrationLevel, 'EXTENDED');
  });

  it('CANCELED, REJECTED, RP_CANCELED and EXPIRED', async () => {
    const c = await started();
    act(c, 'cancel', TORE);
    assert.equal((await result(c)).json.status, 'CANCELED');
    const r = await started();
    act(r, 'reject', TORE);
    assert.equal((await result(r)).json.status, 'REJECTED');
    const rpc = await started();
    assert.deepEqual((await rp('cancel', form('cancelAuthRequest', { authRef: rpc }))).json, {});
    assert.equal((await result(rpc)).json.status, 'RP_CANCELED');
    assert.equal((await rp('cancel', form('cancelAuthRequest', { authRef: rpc }))).json.code, 1100, 'an ended transaction cannot be cancelled');
    const e = await started();
    sim.advance(120_000);
    assert.equal((await result(e)).json.status, 'EXPIRED');
    assert.equal(act(e, 'approve').ok, false);
  });

  it('results are kept resultRetentionMs, then 1100; unknown references are 1100', async () => {
    const ref = await started();
    act(ref, 'approve');
    sim.advance(599_000);
    assert.equal((await result(ref)).json.status, 'APPROVED');
    sim.advance(2_000);
    const gone = await result(ref);
    assert.equal(gone.status, 400);
    assert.equal(gone.json.code, 1100);
    assert.equal((await result('nope')).json.code, 1100);
    assert.equal((await rp('getOneResult', form('getOneAuthResultRequest', {}))).json.code, 1000);
  });

  it('getResults: includePrevious ALL lists the results; anything else is 1200', async () => {
    const ref = await started();
    act(ref, 'approve');
    const all = await rp('getResults', form('getAuthResultsRequest', { includePrevious: 'ALL' }));
    const list = all.json.authenticationResults as Array<Record<string, unknown>>;
    const mine = list.find((r) => r.authRef === ref);
    assert.equal(mine?.status, 'APPROVED');
    assert.equal(typeof mine?.details, 'string');
    assert.equal((await rp('getResults', form('getAuthResultsRequest', { includePrevious: 'SOME' }))).json.code, 1200);
  });

  it('unknownSsn silent, relyingPartyIds and autoApproveMs options', async () => {
    const other = await startTestSimulator(pki, { unknownSsn: 'silent', relyingPartyIds: ['known-rp'], timings: { autoApproveMs: 500 }, appPort: false });
    try {
      assert.equal(other.appUrl, undefined);
      const call = async (path: string, body: string) => {
        const res = await request(`${other.url}/authentication/1.0/${path}`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        return JSON.parse(await res.body.text()) as Record<string, unknown>;
      };
      assert.equal((await call('initAuthentication', form('initAuthRequest', inferred(), '&relyingPartyId=stranger'))).code, 1011);
      const nobody = (await call('initAuthentication', form('initAuthRequest', ssn(NOBODY)))).authRef as string;
      const anyone = (await call('initAuthentication', form('initAuthRequest', inferred()))).authRef as string;
      other.advance(500);
      assert.equal((await call('getOneResult', form('getOneAuthResultRequest', { authRef: nobody }))).status, 'STARTED', 'never reaches anyone');
      assert.equal((await call('getOneResult', form('getOneAuthResultRequest', { authRef: anyone }))).status, 'APPROVED');
    } finally {
      await other.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('control', () => {
  it('error, outage and delay switches apply to the next calls only', async () => {
    sim.control.switch({ kind: 'error', endpoint: 'initAuthentication', httpStatus: 422, code: 1004, count: 2 });
    assert.deepEqual((await init(inferred())).json, { code: 1004, message: 'You are not allowed to call this method.' });
    assert.equal((await init(inferred())).status, 422);
    assert.equal((await init(inferred())).status, 200);

    sim.control.switch({ kind: 'error', endpoint: 'any', httpStatus: 503, retryAfterSeconds: 3 });
    const outage = await init(inferred());
    assert.equal(outage.status, 503);
    assert.equal(outage.headers['retry-after'], '3');

    sim.control.switch({ kind: 'outage', endpoint: 'getOneResult' });
    await assert.rejects(result('x'));
    assert.throws(() => sim.control.switch({ kind: 'error', endpoint: 'nowhere' as 'any', httpStatus: 500 }));
  });

  it('rollover signs new results with the next certificate; reset goes back', async () => {
    const x5t = sim.control.signingX5t();
    const next = sim.control.rollover();
    assert.notEqual(next, x5t);
    const ref = await started();
    act(ref, 'approve');
    const details = (await result(ref)).json.details as string;
    assert.equal(decodeProtectedHeader(details).x5t, next);
    await compactVerify(details, createPublicKey(await readFile(pki.frejaSigningNextCert, 'utf8')));
    sim.control.reset();
    assert.equal(sim.control.signingX5t(), x5t);
    assert.equal((await result(ref)).json.details, details, 'a result is signed once');
  });

  it('counts calls per endpoint', async () => {
    sim.control.reset({ stats: true });
    await started();
    await result('x');
    assert.deepEqual(sim.control.stats().calls, { initAuthentication: 1, getOneResult: 1, getResults: 0, cancel: 0 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('mutual TLS', () => {
  it('refuses a client without a certificate and one from another CA', async () => {
    const anonymous = new Agent({ connect: { ca: await readFile(pki.frejaServerCa, 'utf8') } });
    const foreign = new Agent({
      connect: {
        ca: await readFile(pki.frejaServerCa, 'utf8'),
        cert: await readFile(pki.foreignClientCert, 'utf8'),
        key: await readFile(pki.foreignClientKey, 'utf8'),
      },
    });
    try {
      await assert.rejects(rp('initAuthentication', form('initAuthRequest', inferred()), undefined, anonymous));
      await assert.rejects(rp('initAuthentication', form('initAuthRequest', inferred()), undefined, foreign));
    } finally {
      await anonymous.close();
      await foreign.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('the simulated app', () => {
  const app = (path: string, init?: RequestInit) => fetch(`${sim.appUrl}${path}`, { redirect: 'manual', ...init });

  it('is served under /dev/freja-app and without the prefix', async () => {
    assert.match(sim.appUrl!, /^http:\/\/127\.0\.0\.1:\d+\/dev\/freja-app$/);
    const origin = new URL(sim.appUrl!).origin;
    const a = await (await fetch(`${sim.appUrl}/persons`)).json();
    const b = await (await fetch(`${origin}/persons`)).json();
    assert.deepEqual(a, b);
  });

  it('GET /persons lists the fixtures as personalNumber, name, tags', async () => {
    const persons = await (await app('/persons')).json();
    assert.deepEqual(
      persons,
      loadTestPersons().map((p) => ({ personalNumber: p.personalNumber, name: p.name, tags: p.tags })),
    );
  });

  it('POST /approve (JSON) approves, cancels and rejects', async () => {
    const post = (body: unknown) => app('/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ref = await started();
    const res = await post({ transactionReference: ref, personalNumber: TORE, action: 'approve' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'APPROVED' });
    assert.equal((await result(ref)).json.status, 'APPROVED');

    const c = await started();
    assert.deepEqual(await (await post({ transactionReference: c, personalNumber: TORE, action: 'cancel' })).json(), { status: 'CANCELED' });
    const r = await started();
    assert.deepEqual(await (await post({ transactionReference: r, action: 'reject' })).json(), { status: 'REJECTED' });

    const again = await post({ transactionReference: ref, personalNumber: TORE });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: string }).error, 'transactionNotPending');
    const unknown = await post({ transactionReference: 'nope' });
    assert.equal(unknown.status, 404);
    await unknown.text();
    const low = await started();
    const refused = await post({ transactionReference: low, personalNumber: SIGRID });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: string }).error, 'registrationLevelTooLow');
    const stranger = await post({ transactionReference: low, personalNumber: NOBODY });
    assert.equal(stranger.status, 404);
    await stranger.text();
    const bad = await post({ transactionReference: low, action: 'dance' });
    assert.equal(bad.status, 400);
    await bad.text();
  });

  it('the dev page lists pending transactions and persons, without inline script', async () => {
    const ref = await started();
    const res = await app('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await res.text();
    assert.ok(html.includes(ref), 'the pending transaction');
    assert.ok(html.includes('Tore Testsson') && html.includes(SIGRID), 'the test persons');
    assert.doesNotMatch(html, /<script|\sstyle=|\son[a-z]+=/i);
    assert.equal((await result(ref)).json.status, 'STARTED', 'listing does not deliver');
  });

  it('?transactionReference= and ?qr= open the transaction (DELIVERED_TO_MOBILE)', async () => {
    const a = await started();
    const page = await app(`/?transactionReference=${encodeURIComponent(a)}`);
    assert.match(await page.text(), /Legitimera dig/);
    assert.equal((await result(a)).json.status, 'DELIVERED_TO_MOBILE');
    const b = await started();
    const qr = `frejaeid://bindUserToTransaction?transactionReference=${encodeURIComponent(b)}`;
    assert.equal(referenceFromQr(qr), b);
    await (await app(`/?qr=${encodeURIComponent(qr)}`)).text();
    assert.equal((await result(b)).json.status, 'DELIVERED_TO_MOBILE');
    const wrong = await app(`/?qr=${encodeURIComponent('bankid.x.y.z')}`);
    assert.equal(wrong.status, 400);
    await wrong.text();
  });

  it("the page's form approves with its token and refuses without", async () => {
    const ref = await started();
    const html = await (await app(`/?transactionReference=${encodeURIComponent(ref)}`)).text();
    const token = new RegExp(`name="transactionReference" value="${ref}">\\s*<input type="hidden" name="token" value="([^"]+)"`).exec(html)?.[1];
    assert.ok(token, 'the form carries a token');
    const submit = (t: string) =>
      app('/approve', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ transactionReference: ref, token: t, personalNumber: TORE, action: 'approve' }).toString(),
      });
    const forged = await submit('forged');
    assert.equal(forged.status, 403);
    await forged.text();
    const ok = await submit(token);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /Godkänt/);
    assert.equal((await result(ref)).json.status, 'APPROVED');
  });

  it('the control API over HTTP', async () => {
    const post = (path: string, body: unknown) => app(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await post('/control/switch', { kind: 'error', endpoint: 'initAuthentication', httpStatus: 400, code: 1008 });
    assert.equal(ok.status, 200);
    await ok.text();
    assert.equal((await init(inferred())).json.code, 1008);
    const bad = await post('/control/switch', { kind: 'nonsense' });
    assert.equal(bad.status, 400);
    await bad.text();
    const ref = await started();
    const list = (await (await app('/control/transactions')).json()) as Array<{ authRef: string }>;
    assert.ok(list.some((t) => t.authRef === ref));
    const pending = (await (await app('/transactions')).json()) as Array<{ authRef: string }>;
    assert.ok(pending.some((t) => t.authRef === ref));
    const rolled = (await (await post('/control/rollover', {})).json()) as { x5t: string };
    assert.equal(rolled.x5t, sim.control.signingX5t());
    const reset = await post('/control/reset', { transactions: true });
    assert.equal(reset.status, 200);
    await reset.text();
    assert.equal(sim.control.transactions().length, 0);
  });
});
