import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { DevPki } from '../../dev/pki.ts';
import type { PollingEidAdapter, PollingSignRequest, PollResult, SignatureEvidence } from '../../src/contracts/eid.ts';
import type { Identity } from '../../src/contracts/identity.ts';
import { signedContent } from './adapter.ts';
import { frejaModule } from './index.ts';
import { MESSAGES, SIGN_MESSAGES, SIGN_NEEDS_PERSONAL_NUMBER } from './messages.ts';
import {
  EBBA_SAMORDNING,
  KARL_JOHAN,
  LOA2,
  LOA3,
  NOBODY,
  SIGRID,
  TORE,
  makeAdapter,
  rawConfig,
  rejectsHub,
  startTestSimulator,
  testPki,
  type Logged,
  type TestSimulator,
} from './testkit.ts';

const IP = '192.0.2.10';
const TEXT = 'Jag ansöker om ekonomiskt bistånd för mars.\nUppgifterna är riktiga — åäö ÅÄÖ.';
const DATA = Buffer.from('{"tbs":"ärende 2024-0042","sha256":"q1w2e3"}\u0000\u00ff', 'latin1').toString('base64');

let pki: DevPki;
let sim: TestSimulator;
const adapters: PollingEidAdapter[] = [];

async function adapter(overrides: Record<string, unknown> = {}, logged?: Logged[]): Promise<PollingEidAdapter> {
  const a = await makeAdapter(rawConfig(pki, sim.url, overrides), logged);
  adapters.push(a);
  return a;
}

const signRequest = (more: Partial<PollingSignRequest> = {}): PollingSignRequest => ({
  endUserIp: IP,
  visibleText: TEXT,
  visibleFormat: 'text',
  data: DATA,
  ...more,
});

const handleOf = (handle: string): Record<string, unknown> => JSON.parse(handle) as Record<string, unknown>;
const refOf = (handle: string): string => handleOf(handle).r as string;

function txOf(ref: string) {
  const tx = sim.control.transactions().find((t) => t.authRef === ref);
  assert.ok(tx, 'the simulator knows the transaction');
  return tx;
}

function app(ref: string, personalNumber?: string, action: 'approve' | 'cancel' | 'reject' | 'open' = 'approve') {
  const r = sim.control.app({ transactionReference: ref, action, ...(personalNumber ? { personalNumber } : {}) });
  assert.ok(r.ok, `app ${action}: ${r.ok ? '' : r.message}`);
  return r.value;
}

function complete(r: PollResult): { identity: Identity; signature: SignatureEvidence } {
  assert.equal(r.status, 'complete', `expected complete, got ${JSON.stringify(r).slice(0, 400)}`);
  const c = r as Extract<PollResult, { status: 'complete' }>;
  assert.ok(c.signature, 'a signing order completes with the signature');
  return { identity: c.identity, signature: c.signature };
}

function failed(r: PollResult, code: string, hint?: string): { hint: string; message: { sv: string; en: string } } {
  assert.equal(r.status, 'failed', `expected failed, got ${JSON.stringify(r).slice(0, 400)}`);
  const f = r as Extract<PollResult, { status: 'failed' }>;
  assert.equal(f.code, code);
  if (hint !== undefined) assert.equal(f.hint, hint);
  return f;
}

async function verifiedPayload(jws: string): Promise<Record<string, unknown>> {
  const key = createPublicKey(await readFile(pki.frejaSigningCert, 'utf8'));
  return JSON.parse(new TextDecoder().decode((await compactVerify(jws, key)).payload)) as Record<string, unknown>;
}

before(async () => {
  pki = await testPki();
  sim = await startTestSimulator(pki);
});

after(async () => {
  await Promise.all(adapters.map((a) => a.close()));
  await sim?.close();
});

beforeEach(() => {
  sim.control.reset();
});

// ---------------------------------------------------------------------------------------------

describe('sign config', () => {
  it('defaults to the title Underskrift and INFERRED allowed; reports a title that is empty or too long', () => {
    const v = frejaModule.validate(rawConfig(pki, 'https://services.test.frejaeid.com'));
    assert.ok(v.ok);
    assert.deepEqual(v.config.sign, { title: 'Underskrift', requirePersonalNumber: false });
    for (const title of ['', 'x'.repeat(129)]) {
      const bad = frejaModule.validate(rawConfig(pki, 'https://services.test.frejaeid.com', { sign: { title } }));
      assert.equal(bad.ok, false);
      assert.deepEqual(!bad.ok && bad.problems.map(([p]) => p), ['sign.title']);
    }
    const unknown = frejaModule.validate(rawConfig(pki, 'https://services.test.frejaeid.com', { sign: { expiry: 5 } }));
    assert.equal(unknown.ok, false);
  });
});

describe('startSign', () => {
  it('SSN: initSignature with the text and the data (EXTENDED), a title, PLUS and the attributes; a sign handle', async () => {
    const a = await adapter();
    const calls = sim.control.stats();
    const s = await a.startSign!(signRequest({ personalNumber: TORE }));
    const after = sim.control.stats();
    assert.equal(after.signCalls.initSignature, calls.signCalls.initSignature + 1);
    assert.equal(after.calls.initAuthentication, calls.calls.initAuthentication, 'not the authentication API');

    const ref = refOf(s.handle);
    assert.equal(s.autoStartToken, ref);
    const tx = txOf(ref);
    assert.equal(tx.kind, 'sign');
    assert.equal(tx.contentType, 'application/x-www-form-urlencoded');
    assert.deepEqual(tx.request, {
      userInfoType: 'SSN',
      userInfo: Buffer.from(JSON.stringify({ country: 'SE', ssn: TORE })).toString('base64'),
      minRegistrationLevel: 'PLUS',
      attributesToReturn: [{ attribute: 'SSN' }, { attribute: 'BASIC_USER_INFO' }, { attribute: 'DATE_OF_BIRTH' }, { attribute: 'REGISTRATION_LEVEL' }],
      originDeviceDetails: { userIpAddress: IP },
      title: 'Underskrift',
      dataToSignType: 'EXTENDED_UTF8_TEXT',
      dataToSign: { text: Buffer.from(TEXT, 'utf8').toString('base64'), binaryData: DATA },
      signatureType: 'EXTENDED',
    });
    assert.equal(tx.sign?.text, TEXT);

    const h = handleOf(s.handle);
    assert.equal(h.k, 's');
    assert.ok(!s.handle.includes(TORE), 'the handle does not carry the number');
    assert.ok(!s.handle.includes(DATA) && !s.handle.includes(Buffer.from(TEXT).toString('base64')), 'nor the text or the data, only digests');
  });

  it('INFERRED without a personal number; the configured title; markdown is sent as the text it is', async () => {
    const a = await adapter({ sign: { title: 'Ansökan om bygglov' } });
    const markdown = '# Ansökan\n\n*Storgatan 1*';
    const s = await a.startSign!(signRequest({ visibleText: markdown, visibleFormat: 'markdown', releasableAttributes: [] }));
    const tx = txOf(refOf(s.handle));
    assert.equal(tx.request.userInfoType, 'INFERRED');
    assert.equal(tx.request.userInfo, 'N/A');
    assert.equal(tx.request.title, 'Ansökan om bygglov');
    assert.deepEqual(tx.request.attributesToReturn, [{ attribute: 'SSN' }, { attribute: 'REGISTRATION_LEVEL' }]);
    assert.equal(tx.sign?.text, markdown);
  });

  it('no data: text only (SIMPLE_UTF8_TEXT, SIMPLE)', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ data: '' }));
    const tx = txOf(refOf(s.handle));
    assert.equal(tx.request.dataToSignType, 'SIMPLE_UTF8_TEXT');
    assert.equal(tx.request.signatureType, 'SIMPLE');
    assert.deepEqual(tx.request.dataToSign, { text: Buffer.from(TEXT, 'utf8').toString('base64') });
    assert.equal(handleOf(s.handle).b, undefined);
    app(refOf(s.handle), TORE);
    const { signature } = complete(await a.poll(s.handle, { device: 'other' }));
    const payload = await verifiedPayload(signature.value);
    assert.equal(payload.signatureType, 'SIMPLE');
  });

  it('sign.requirePersonalNumber: without a number EID_UNSUPPORTED with its message and operator detail, before calling Freja', async () => {
    const a = await adapter({ sign: { requirePersonalNumber: true } });
    const calls = sim.control.stats().signCalls.initSignature;
    const err = await rejectsHub(a.startSign!(signRequest()), 'EID_UNSUPPORTED');
    assert.deepEqual(err.userMessage, SIGN_NEEDS_PERSONAL_NUMBER);
    assert.match(err.detail ?? '', /requirePersonalNumber/);
    assert.equal(sim.control.stats().signCalls.initSignature, calls);
    const s = await a.startSign!(signRequest({ personalNumber: KARL_JOHAN }));
    assert.equal(txOf(refOf(s.handle)).request.userInfoType, 'SSN');
  });

  it('refuses an empty text, data that is not Base64 and a bad personal number before calling Freja (INTERNAL)', async () => {
    const a = await adapter();
    const calls = sim.control.stats().signCalls.initSignature;
    await rejectsHub(a.startSign!(signRequest({ visibleText: '  ' })), 'INTERNAL');
    await rejectsHub(a.startSign!(signRequest({ data: 'not base64!' })), 'INTERNAL');
    await rejectsHub(a.startSign!(signRequest({ personalNumber: '198602212395' })), 'INTERNAL');
    assert.equal(sim.control.stats().signCalls.initSignature, calls);
  });

  it('several signing orders for the same person may run at once', async () => {
    const a = await adapter();
    await a.startSign!(signRequest({ personalNumber: EBBA_SAMORDNING }));
    await a.startSign!(signRequest({ personalNumber: EBBA_SAMORDNING }));
  });

  it('sends relyingPartyId with every signature API call', async () => {
    const a = await adapter({ relyingPartyId: 'kommun-rp' });
    const s = await a.startSign!(signRequest());
    assert.equal(txOf(refOf(s.handle)).relyingPartyId, 'kommun-rp');
    assert.equal((await a.poll(s.handle, { device: 'other' })).status, 'pending');
    await a.cancel(s.handle);
    assert.equal(txOf(refOf(s.handle)).status, 'RP_CANCELED');
  });
});

// ---------------------------------------------------------------------------------------------

describe('a full signing', () => {
  it('SSN: signing messages, then the result: the JWS verifies and covers exactly the text and data sent', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ personalNumber: TORE }));
    const ref = refOf(s.handle);
    assert.deepEqual(await a.poll(s.handle, { device: 'other' }), { status: 'pending', hint: 'STARTED', message: SIGN_MESSAGES.sentToPhone });
    sim.advance(1000);
    assert.deepEqual(await a.poll(s.handle, { device: 'other' }), { status: 'pending', hint: 'DELIVERED_TO_MOBILE', message: SIGN_MESSAGES.approveInAppOther });
    assert.deepEqual(await a.poll(s.handle, { device: 'this' }), { status: 'pending', hint: 'DELIVERED_TO_MOBILE', message: SIGN_MESSAGES.approveInAppThis });
    assert.match(SIGN_MESSAGES.approveInAppOther.sv, /Öppna Freja eID och skriv under/);

    app(ref);
    const calls = sim.control.stats();
    const { identity, signature } = complete(await a.poll(s.handle, { device: 'other' }));
    assert.equal(sim.control.stats().signCalls.getOneSignResult, calls.signCalls.getOneSignResult + 1);
    assert.equal(sim.control.stats().calls.getOneResult, calls.calls.getOneResult);

    assert.equal(signature.format, 'freja-jws');
    assert.equal(decodeProtectedHeader(signature.value).x5t, sim.control.signingX5t());
    const payload = await verifiedPayload(signature.value);
    assert.equal(payload.signRef, ref);
    assert.equal(payload.status, 'APPROVED');
    assert.equal(payload.signatureType, 'EXTENDED');
    const content = signedContent((payload.signatureData as { userSignature: string }).userSignature);
    assert.ok(content);
    assert.equal(content.text.toString('utf8'), TEXT);
    assert.equal(content.binaryData?.toString('base64'), DATA);

    assert.equal(identity.subject, TORE);
    assert.equal(identity.subjectType, 'personnummer');
    assert.equal(identity.givenName, 'Tore');
    assert.equal(identity.familyName, 'Testsson');
    assert.equal(identity.acr, LOA3);
    assert.deepEqual(identity.amr, ['mfa', 'swk']);
    assert.equal(identity.evidence?.jws, signature.value);
    assert.equal(identity.evidence?.signRef, ref);
    assert.equal(identity.evidence?.authRef, undefined);
  });

  it('INFERRED: scan-QR signing message, anyone eligible signs; QR and launch link carry the signRef', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s = await a.startSign!(signRequest());
    const ref = refOf(s.handle);
    assert.equal(a.qrFrame(s.handle, Date.now()), `frejaeid://bindUserToTransaction?transactionReference=${encodeURIComponent(ref)}`);
    assert.deepEqual(await a.poll(s.handle, { device: 'other' }), { status: 'pending', hint: 'STARTED', message: SIGN_MESSAGES.scanQr });
    assert.deepEqual(await a.poll(s.handle, { device: 'this' }), { status: 'pending', hint: 'STARTED', message: SIGN_MESSAGES.openingApp });
    app(ref, SIGRID);
    const { identity } = complete(await a.poll(s.handle, { device: 'other' }));
    assert.equal(identity.subject, SIGRID);
    assert.equal(identity.acr, LOA2);
  });

  it('another person cannot sign an SSN signing order', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ personalNumber: TORE }));
    const refused = sim.control.app({ transactionReference: refOf(s.handle), action: 'approve', personalNumber: KARL_JOHAN });
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error, 'personMismatch');
    assert.equal((await a.poll(s.handle, { device: 'other' })).status, 'pending');
  });

  it('an RP that accepts only LoA3 signs at PLUS: an EXTENDED user cannot sign; no reachable acr is EID_UNSUPPORTED', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s = await a.startSign!(signRequest({ acceptableAcr: [LOA3] }));
    assert.equal(txOf(refOf(s.handle)).request.minRegistrationLevel, 'PLUS');
    const refused = sim.control.app({ transactionReference: refOf(s.handle), action: 'approve', personalNumber: SIGRID });
    assert.equal(!refused.ok && refused.error, 'registrationLevelTooLow');
    const plus = await adapter();
    const err = await rejectsHub(plus.startSign!(signRequest({ acceptableAcr: [LOA2] })), 'EID_UNSUPPORTED');
    assert.deepEqual(err.userMessage, SIGN_MESSAGES.levelUnsupported);
  });
});

// ---------------------------------------------------------------------------------------------

describe('signing statuses', () => {
  it('CANCELED in the app → EID_USER_CANCELLED; REJECTED → EID_RISK_BLOCKED, in signing words', async () => {
    const a = await adapter();
    const c = await a.startSign!(signRequest());
    app(refOf(c.handle), TORE, 'cancel');
    const f = failed(await a.poll(c.handle, { device: 'other' }), 'EID_USER_CANCELLED', 'CANCELED');
    assert.deepEqual(f.message, SIGN_MESSAGES.userCancelled);
    const r = await a.startSign!(signRequest());
    app(refOf(r.handle), TORE, 'reject');
    assert.deepEqual(failed(await a.poll(r.handle, { device: 'other' }), 'EID_RISK_BLOCKED', 'REJECTED').message, SIGN_MESSAGES.rejected);
  });

  it('cancel uses the signature API; the order ends RP_CANCELED; cancelling again does not throw', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest());
    const before = sim.control.stats();
    await a.cancel(s.handle);
    assert.equal(sim.control.stats().signCalls.cancelSign, before.signCalls.cancelSign + 1);
    assert.equal(sim.control.stats().calls.cancel, before.calls.cancel);
    assert.equal(txOf(refOf(s.handle)).status, 'RP_CANCELED');
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_FAILED', 'RP_CANCELED');
    assert.deepEqual(f.message, SIGN_MESSAGES.rpCancelled);
    await a.cancel(s.handle);
  });

  it('EXPIRED after two minutes → EID_EXPIRED; a long-gone signRef → EID_EXPIRED', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ personalNumber: TORE }));
    sim.advance(120_000);
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_EXPIRED', 'EXPIRED');
    assert.deepEqual(f.message, SIGN_MESSAGES.expired);
    sim.advance(11 * 60_000);
    assert.deepEqual(failed(await a.poll(s.handle, { device: 'other' }), 'EID_EXPIRED', 'error').message, SIGN_MESSAGES.expired);
  });

  it('a sign handle is not polled at the authentication API, nor an authentication handle at the signature API', async () => {
    const a = await adapter();
    const auth = await a.start({ endUserIp: IP });
    const sign = await a.startSign!(signRequest());
    // The same reference, the other kind: Freja does not know it there.
    const asSign = JSON.stringify({ ...handleOf(auth.handle), k: 's', t: 'x' });
    failed(await a.poll(asSign, { device: 'other' }), 'EID_EXPIRED', 'error');
    const { k: _k, t: _t, b: _b, ...asAuth } = handleOf(sign.handle);
    failed(await a.poll(JSON.stringify(asAuth), { device: 'other' }), 'EID_EXPIRED', 'error');
    await rejectsHub(a.poll(JSON.stringify({ ...handleOf(sign.handle), t: undefined }), { device: 'other' }), 'TRANSACTION_NOT_FOUND');
    await rejectsHub(a.poll(JSON.stringify({ ...handleOf(sign.handle), k: 'x' }), { device: 'other' }), 'TRANSACTION_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Freja sign error codes', () => {
  const INIT: Array<[number, string]> = [
    [3000, 'EID_START_FAILED'],
    [3001, 'EID_START_FAILED'],
    [3002, 'EID_START_FAILED'],
    [3003, 'EID_START_FAILED'],
    [3004, 'EID_START_FAILED'],
    [3005, 'EID_START_FAILED'],
    [3006, 'EID_START_FAILED'],
    [3007, 'EID_START_FAILED'],
    [1001, 'EID_START_FAILED'],
    [1004, 'EID_START_FAILED'],
    [1005, 'EID_FAILED'],
    [0, 'EID_UPSTREAM_UNAVAILABLE'],
  ];
  for (const [code, expected] of INIT) {
    it(`initSignature code ${code} → ${expected}, named in the operator detail`, async () => {
      const a = await adapter();
      sim.control.switch({ kind: 'error', endpoint: 'initSignature', httpStatus: 400, code });
      const err = await rejectsHub(a.startSign!(signRequest()), expected);
      assert.match(err.detail ?? '', new RegExp(`Freja initSignature: HTTP 400, Freja code ${code}: `));
      assert.doesNotMatch(err.detail ?? '', /unknown code/);
      if (expected === 'EID_START_FAILED') assert.deepEqual(err.userMessage, SIGN_MESSAGES.startFailed);
    });
  }

  it('1012 from the simulator: the signing words of "no Freja eID for this number"', async () => {
    const a = await adapter();
    const err = await rejectsHub(a.startSign!(signRequest({ personalNumber: NOBODY })), 'EID_FAILED');
    assert.deepEqual(err.userMessage, SIGN_MESSAGES.userNotFound);
  });

  it('getOneSignResult errors fail the poll with hint error and signing words', async () => {
    const logged: Logged[] = [];
    const a = await adapter({}, logged);
    const s = await a.startSign!(signRequest());
    sim.control.switch({ kind: 'error', endpoint: 'getOneSignResult', httpStatus: 400, code: 1008 });
    assert.deepEqual(failed(await a.poll(s.handle, { device: 'other' }), 'EID_FAILED', 'error').message, SIGN_MESSAGES.technicalError);
    assert.ok(logged.some((l) => l.msg === 'Freja getOneSignResult failed'));
    sim.control.switch({ kind: 'error', endpoint: 'getOneSignResult', httpStatus: 503 });
    assert.deepEqual(failed(await a.poll(s.handle, { device: 'other' }), 'EID_UPSTREAM_UNAVAILABLE', 'error').message, MESSAGES.unavailable);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the signed sign result', () => {
  const TAMPERED: Array<[string, Record<string, unknown>]> = [
    ['a broken signature', { signature: 'corrupt' }],
    ['an unknown x5t', { x5t: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['an HMAC', { alg: 'HS256' }],
    ['another text signed', { signedData: { text: Buffer.from('Jag avstår från ansökan.', 'utf8').toString('base64') } }],
    ['other binary data signed', { signedData: { binaryData: Buffer.from('something else').toString('base64') } }],
    ['the binary data left out of the signature', { signedData: { binaryData: null } }],
    ['another signRef', { payload: { signRef: 'another-reference' } }],
    ['signatureType SIMPLE', { payload: { signatureType: 'SIMPLE' } }],
    ['no signatureData', { payload: { signatureData: null } }],
    ['a userSignature that is not a JWS', { payload: { signatureData: { userSignature: 'not-a-jws', certificateStatus: 'x' } } }],
    ['status not APPROVED', { payload: { status: 'STARTED' } }],
    ['no SSN', { requestedAttributes: { ssn: null } }],
  ];
  for (const [name, tamper] of TAMPERED) {
    it(`${name} → EID_RESPONSE_INVALID (hint invalidResult)`, async () => {
      const logged: Logged[] = [];
      const a = await adapter({}, logged);
      const s = await a.startSign!(signRequest({ personalNumber: TORE }));
      sim.control.switch({ kind: 'result', authRef: refOf(s.handle), ...tamper } as never);
      app(refOf(s.handle));
      const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
      assert.deepEqual(f.message, SIGN_MESSAGES.technicalError);
      assert.ok(logged.some((l) => l.msg === 'Freja result refused' && /^Freja sign result: /.test(String((l.obj as { detail?: string }).detail))));
      // The untampered result (the switch was used up) is accepted.
      complete(await a.poll(s.handle, { device: 'other' }));
    });
  }

  it('a text-only order refuses a signature that covers binary data', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ data: '' }));
    sim.control.switch({ kind: 'result', authRef: refOf(s.handle), signedData: { binaryData: DATA } });
    app(refOf(s.handle), TORE);
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
  });

  it('an SSN order signed by another number (in a validly signed result) is refused', async () => {
    const a = await adapter();
    const s = await a.startSign!(signRequest({ personalNumber: TORE }));
    sim.control.switch({ kind: 'result', authRef: refOf(s.handle), requestedAttributes: { ssn: { ssn: KARL_JOHAN, country: 'SE' } } });
    app(refOf(s.handle));
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
  });
});

describe('signedContent', () => {
  const h = Buffer.from('{"alg":"ES256"}').toString('base64url');
  const t = Buffer.from('hej').toString('base64url');
  it('reads the text of a three-part and the text and data of a four-part userSignature', () => {
    assert.deepEqual(signedContent(`${h}.${t}.c2ln`), { text: Buffer.from('hej') });
    assert.deepEqual(signedContent(`${h}.${t}.AAE.c2ln`), { text: Buffer.from('hej'), binaryData: Buffer.from([0, 1]) });
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'a.b', `${h}.${t}`, `${h}.${t}.`, `${h}.${t}.a.b.c`, `x.${t}.c2ln`, `${Buffer.from('{}').toString('base64url')}.${t}.c2ln`, `${h}.t+t.c2ln`]) {
      assert.equal(signedContent(bad), undefined, bad);
    }
  });
});
