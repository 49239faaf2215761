import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Agent, request } from 'undici';
import type { DevPki } from '../../../dev/pki.ts';
import { EBBA_SAMORDNING, NOBODY, SIGRID, TORE, startTestSimulator, testPki, type TestSimulator } from '../testkit.ts';

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
const utf8b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

async function call(path: string, param: string, value: unknown, extra = ''): Promise<Answer> {
  const res = await request(`${sim.url}${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${param}=${encodeURIComponent(b64(value))}${extra}`,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: res.statusCode, json, text };
}

const initSign = (json: Record<string, unknown>, extra = '') => call('/sign/1.0/initSignature', 'initSignRequest', json, extra);
const signResult = (signRef: string) => call('/sign/1.0/getOneResult', 'getOneSignResultRequest', { signRef });
const cancelSign = (signRef: string) => call('/sign/1.0/cancel', 'cancelSignRequest', { signRef });

const TEXT = 'Jag ansöker om bygglov för Storgatan 1.\nÅÄÖ åäö — 100 %';
const DATA = Buffer.from([0, 1, 2, 250, 251, 252, 255]).toString('base64');

function extended(who: Record<string, unknown> = { userInfoType: 'INFERRED', userInfo: 'N/A' }, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...who,
    minRegistrationLevel: 'PLUS',
    title: 'Underskrift',
    dataToSignType: 'EXTENDED_UTF8_TEXT',
    dataToSign: { text: utf8b64(TEXT), binaryData: DATA },
    signatureType: 'EXTENDED',
    attributesToReturn: [{ attribute: 'SSN' }, { attribute: 'BASIC_USER_INFO' }, { attribute: 'REGISTRATION_LEVEL' }],
    ...more,
  };
}

const simple = (more: Record<string, unknown> = {}): Record<string, unknown> => ({
  userInfoType: 'INFERRED',
  userInfo: 'N/A',
  minRegistrationLevel: 'PLUS',
  dataToSignType: 'SIMPLE_UTF8_TEXT',
  dataToSign: { text: utf8b64(TEXT) },
  signatureType: 'SIMPLE',
  attributesToReturn: [{ attribute: 'SSN' }],
  ...more,
});

const ssnOf = (pnr: string) => ({ userInfoType: 'SSN', userInfo: b64({ country: 'SE', ssn: pnr }) });

async function started(json: Record<string, unknown> = extended()): Promise<string> {
  const a = await initSign(json);
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(Object.keys(a.json), ['signRef']);
  return a.json.signRef as string;
}

function act(transactionReference: string, action: 'open' | 'approve' | 'cancel' | 'reject' = 'approve', personalNumber?: string) {
  return sim.control.app({ transactionReference, action, ...(personalNumber ? { personalNumber } : {}) });
}

async function verified(details: string): Promise<Record<string, unknown>> {
  const key = createPublicKey(await readFile(pki.frejaSigningCert, 'utf8'));
  return JSON.parse(new TextDecoder().decode((await compactVerify(details, key)).payload)) as Record<string, unknown>;
}

const part = (s: string): Buffer => Buffer.from(s, 'base64url');

// ---------------------------------------------------------------------------------------------

describe('initSignature and the sign result', () => {
  it('EXTENDED: signRef, the app approves, the JWS carries signatureData over exactly the text and data sent', async () => {
    const ref = await started();
    assert.deepEqual((await signResult(ref)).json, { signRef: ref, status: 'STARTED' });
    assert.equal(act(ref, 'approve', TORE).ok, true);

    const answer = (await signResult(ref)).json;
    assert.deepEqual(Object.keys(answer), ['signRef', 'status', 'details', 'requestedAttributes']);
    assert.equal(answer.status, 'APPROVED');
    const details = answer.details as string;
    assert.equal(decodeProtectedHeader(details).x5t, sim.control.signingX5t());
    const payload = await verified(details);
    assert.deepEqual(Object.keys(payload), [
      'signRef',
      'status',
      'userInfoType',
      'userInfo',
      'minRegistrationLevel',
      'timestamp',
      'signatureType',
      'signatureData',
      'requestedAttributes',
    ]);
    assert.equal(payload.signRef, ref);
    assert.equal(payload.signatureType, 'EXTENDED');
    assert.deepEqual(payload.requestedAttributes, { ssn: { ssn: TORE, country: 'SE' }, basicUserInfo: { name: 'Tore', surname: 'Testsson' }, registrationLevel: 'PLUS' });
    const data = payload.signatureData as { userSignature: string; certificateStatus: string };
    const parts = data.userSignature.split('.');
    assert.equal(parts.length, 4, 'header.text.binaryData.signature');
    assert.equal(JSON.parse(part(parts[0]!).toString('utf8')).alg, 'ES256');
    assert.equal(part(parts[1]!).toString('utf8'), TEXT);
    assert.equal(part(parts[2]!).toString('base64'), DATA);
    assert.equal(part(parts[3]!).length, 64, 'an ES256 signature');
    assert.equal(JSON.parse(Buffer.from(data.certificateStatus, 'base64').toString('utf8')).simulated, true);
    assert.equal((await signResult(ref)).json.details, details, 'signed once');
  });

  it('SIMPLE: the person signs the text alone, as a compact JWS whose payload is the text', async () => {
    const ref = await started(simple());
    act(ref, 'approve');
    const payload = await verified((await signResult(ref)).json.details as string);
    assert.equal(payload.signatureType, 'SIMPLE');
    const parts = (payload.signatureData as { userSignature: string }).userSignature.split('.');
    assert.equal(parts.length, 3);
    assert.equal(part(parts[1]!).toString('utf8'), TEXT);
  });

  it('SSN: only the named person can sign; delivery after pushDeliveryMs; the signed userInfo is the JSON text', async () => {
    const ref = await started(extended(ssnOf(EBBA_SAMORDNING)));
    sim.advance(1000);
    assert.equal((await signResult(ref)).json.status, 'DELIVERED_TO_MOBILE');
    const other = act(ref, 'approve', TORE);
    assert.equal(other.ok, false);
    assert.equal(!other.ok && other.error, 'personMismatch');
    act(ref, 'approve');
    const payload = await verified((await signResult(ref)).json.details as string);
    assert.equal(payload.userInfoType, 'SSN');
    assert.deepEqual(JSON.parse(payload.userInfo as string), { country: 'SE', ssn: EBBA_SAMORDNING });
  });

  it('several sign transactions may wait for the same person (no 2000), beside an authentication', async () => {
    const auth = await call('/authentication/1.0/initAuthentication', 'initAuthRequest', { ...ssnOf(TORE), minRegistrationLevel: 'PLUS' });
    assert.equal(auth.status, 200);
    await started(extended(ssnOf(TORE)));
    await started(extended(ssnOf(TORE)));
  });

  it('a signRef is unknown to the authentication API and an authRef to the signature API (1100)', async () => {
    const signRef = await started();
    const authRef = (await call('/authentication/1.0/initAuthentication', 'initAuthRequest', { userInfoType: 'INFERRED', userInfo: 'N/A' })).json.authRef as string;
    assert.equal((await call('/authentication/1.0/getOneResult', 'getOneAuthResultRequest', { authRef: signRef })).json.code, 1100);
    assert.equal((await signResult(authRef)).json.code, 1100);
    assert.equal((await cancelSign(authRef)).json.code, 1100);
    assert.equal((await signResult('nope')).json.code, 1100);
    assert.equal((await call('/sign/1.0/getOneResult', 'getOneSignResultRequest', { authRef: signRef })).json.code, 1000);
  });

  it('CANCELED, REJECTED, RP_CANCELED; EXPIRED after two minutes, or at the expiry sent', async () => {
    const c = await started();
    act(c, 'cancel');
    assert.equal((await signResult(c)).json.status, 'CANCELED');
    const r = await started();
    act(r, 'reject');
    assert.equal((await signResult(r)).json.status, 'REJECTED');
    const rpc = await started();
    assert.deepEqual((await cancelSign(rpc)).json, {});
    assert.equal((await signResult(rpc)).json.status, 'RP_CANCELED');
    assert.equal((await cancelSign(rpc)).json.code, 1100);

    const e = await started();
    const later = await started(extended(undefined, { expiry: Date.now() + 10 * 60_000 }));
    sim.advance(120_000);
    assert.equal((await signResult(e)).json.status, 'EXPIRED');
    assert.equal((await signResult(later)).json.status, 'STARTED');
    sim.advance(8 * 60_000 + 1000);
    assert.equal((await signResult(later)).json.status, 'EXPIRED');
  });

  it('getResults lists the sign results as signatureResults', async () => {
    const ref = await started();
    act(ref, 'approve');
    const all = await call('/sign/1.0/getResults', 'getSignResultsRequest', { includePrevious: 'ALL' });
    const list = all.json.signatureResults as Array<Record<string, unknown>>;
    assert.equal(list.find((x) => x.signRef === ref)?.status, 'APPROVED');
    assert.equal((await call('/sign/1.0/getResults', 'getSignResultsRequest', {})).json.code, 1200);
  });

  it('an EXTENDED user cannot sign a PLUS transaction', async () => {
    const ref = await started();
    const refused = act(ref, 'approve', SIGRID);
    assert.equal(!refused.ok && refused.error, 'registrationLevelTooLow');
  });
});

describe('initSignature validation', () => {
  const now = Date.now();
  const CASES: Array<[string, Record<string, unknown>, number]> = [
    ['an unknown field', extended(undefined, { confidential: true }), 1000],
    ['userInfoType EMAIL', extended({ userInfoType: 'EMAIL', userInfo: 'a@example.test' }), 1001],
    ['an SSN userInfo that is not Base64 JSON', extended({ userInfoType: 'SSN', userInfo: '198602212394' }), 1002],
    ['an unknown minRegistrationLevel', extended(undefined, { minRegistrationLevel: 'GOLD' }), 1007],
    ['an empty title', extended(undefined, { title: ' ' }), 3007],
    ['a title of 129 characters', extended(undefined, { title: 'x'.repeat(129) }), 3007],
    ['a push notification without text', extended(undefined, { pushNotification: { title: 'Underskrift' } }), 3004],
    ['an expiry a minute ahead', extended(undefined, { expiry: now + 60_000 }), 3003],
    ['an expiry 31 days ahead', extended(undefined, { expiry: now + 31 * 24 * 3_600_000 }), 3003],
    ['an expiry that is not a number', extended(undefined, { expiry: '2030-01-01' }), 3003],
    ['no dataToSignType', extended(undefined, { dataToSignType: undefined }), 3000],
    ['dataToSignType BINARY', extended(undefined, { dataToSignType: 'BINARY' }), 3000],
    ['no dataToSign', extended(undefined, { dataToSign: undefined }), 3001],
    ['an empty text', extended(undefined, { dataToSign: { text: '', binaryData: DATA } }), 3001],
    ['a text that is not Base64', extended(undefined, { dataToSign: { text: 'hej hej', binaryData: DATA } }), 3001],
    ['a text that is not UTF-8', extended(undefined, { dataToSign: { text: Buffer.from([0xc3, 0x28]).toString('base64'), binaryData: DATA } }), 3001],
    ['EXTENDED_UTF8_TEXT without binaryData', extended(undefined, { dataToSign: { text: utf8b64(TEXT) } }), 3001],
    ['SIMPLE_UTF8_TEXT with binaryData', simple({ dataToSign: { text: utf8b64(TEXT), binaryData: DATA } }), 3001],
    ['no signatureType', extended(undefined, { signatureType: undefined }), 3002],
    ['signatureType CMS_EXPLICIT', extended(undefined, { signatureType: 'CMS_EXPLICIT' }), 3002],
    ['SIMPLE with EXTENDED_UTF8_TEXT', extended(undefined, { signatureType: 'SIMPLE' }), 3002],
    ['EXTENDED with SIMPLE_UTF8_TEXT', simple({ signatureType: 'EXTENDED' }), 3002],
    ['an unknown attribute', extended(undefined, { attributesToReturn: [{ attribute: 'SHOE_SIZE' }] }), 3005],
    ['SSN at BASIC', simple({ minRegistrationLevel: 'BASIC' }), 3005],
  ];
  for (const [name, json, code] of CASES) {
    it(`${name} → ${code}`, async () => {
      const a = await initSign(JSON.parse(JSON.stringify(json)) as Record<string, unknown>);
      assert.equal(a.status, 400, a.text);
      assert.equal(a.json.code, code, a.text);
      assert.equal(typeof a.json.message, 'string');
    });
  }

  it('1012 for an SSN of nobody; 1005 for a user who turned the service off', async () => {
    assert.equal((await initSign(extended(ssnOf(NOBODY)))).json.code, 1012);
    sim.control.setPerson(TORE, { serviceDisabled: true });
    assert.equal((await initSign(extended(ssnOf(TORE)))).json.code, 1005);
  });

  it('takes a push notification and an expiry; the transaction list shows what is to be signed', async () => {
    const expiry = Date.now() + 3_600_000;
    const ref = await started(extended(undefined, { pushNotification: { title: 'Underskrift', text: 'Du har något att skriva under' }, expiry }));
    const tx = sim.control.transactions().find((t) => t.authRef === ref)!;
    assert.equal(tx.kind, 'sign');
    assert.deepEqual(tx.sign, {
      title: 'Underskrift',
      text: TEXT,
      binaryData: { bytes: 7, sha256: createHash('sha256').update(Buffer.from(DATA, 'base64')).digest('hex') },
      signatureType: 'EXTENDED',
      expiry,
    });
  });
});

describe('switches and statistics for the signature API', () => {
  it('error switches by sign endpoint; calls counted apart from the authentication API', async () => {
    sim.control.reset({ stats: true });
    sim.control.switch({ kind: 'error', endpoint: 'initSignature', httpStatus: 400, code: 3001 });
    assert.deepEqual((await initSign(extended())).json, { code: 3001, message: 'Invalid or missing dataToSign.' });
    const ref = await started();
    await signResult(ref);
    await cancelSign(ref);
    assert.deepEqual(sim.control.stats(), {
      calls: { initAuthentication: 0, getOneResult: 0, getResults: 0, cancel: 0 },
      signCalls: { initSignature: 2, getOneSignResult: 1, getSignResults: 0, cancelSign: 1 },
    });
  });

  it('a result switch with signedData makes the person sign other data', async () => {
    const ref = await started();
    act(ref, 'approve');
    sim.control.switch({ kind: 'result', authRef: ref, signedData: { text: utf8b64('Något annat'), binaryData: null } });
    const tampered = await verified((await signResult(ref)).json.details as string);
    const parts = (tampered.signatureData as { userSignature: string }).userSignature.split('.');
    assert.equal(parts.length, 3);
    assert.equal(part(parts[1]!).toString('utf8'), 'Något annat');
    const honest = await verified((await signResult(ref)).json.details as string);
    assert.equal((honest.signatureData as { userSignature: string }).userSignature.split('.').length, 4);
    assert.throws(() => sim.control.switch({ kind: 'result', signedData: { text: 'not base64!' } }));
  });
});

describe('the simulated app and sign transactions', () => {
  const app = (path: string, init?: RequestInit) => fetch(`${sim.appUrl}${path}`, { redirect: 'manual', ...init });

  it('shows the text to sign (escaped) and signs with the form; JSON lists it in sign.text', async () => {
    const text = 'Jag godkänner <b>villkoren</b> & avgiften.';
    const ref = await started(extended(undefined, { dataToSign: { text: utf8b64(text), binaryData: DATA } }));
    const html = await (await app(`/?transactionReference=${encodeURIComponent(ref)}`)).text();
    assert.match(html, /<h1>Skriv under/);
    assert.ok(html.includes('Jag godkänner &lt;b&gt;villkoren&lt;/b&gt; &amp; avgiften.'), 'the text, escaped');
    assert.ok(!html.includes('<b>villkoren</b>'));
    assert.match(html, /7 byte, SHA-256/);
    assert.doesNotMatch(html, /<script|\sstyle=|\son[a-z]+=/i);

    const pending = (await (await app('/transactions')).json()) as Array<{ authRef: string; kind: string; sign?: { text: string } }>;
    const listed = pending.find((t) => t.authRef === ref);
    assert.equal(listed?.kind, 'sign');
    assert.equal(listed?.sign?.text, text);

    const token = new RegExp(`name="transactionReference" value="${ref}">\\s*<input type="hidden" name="token" value="([^"]+)"`).exec(html)?.[1];
    assert.ok(token);
    const done = await app('/approve', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ transactionReference: ref, token, personalNumber: TORE, action: 'approve' }).toString(),
    });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Underskrivet/);
    assert.equal((await signResult(ref)).json.status, 'APPROVED');
  });

  it('POST /approve (JSON) signs too', async () => {
    const ref = await started(simple());
    const res = await app('/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transactionReference: ref, personalNumber: TORE }) });
    assert.deepEqual(await res.json(), { status: 'APPROVED' });
  });
});
