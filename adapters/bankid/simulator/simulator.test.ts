import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { Agent, request } from 'undici';
import { SignedXml } from 'xml-crypto';
import { ensureDevPki, type DevPki } from '../../../dev/pki.ts';
import {
  generateSigningCredentials,
  isValidPersonalNumber,
  loadTestPersons,
  luhnCheckDigit,
  parseQrPayload,
  qrAuthCode,
  qrPayload,
  startBankIdSimulator,
  verifyQr,
  type BankIdSimulator,
  type CompletionData,
} from './server.ts';

const TORE = '198602212394';
const GRETA = '194106279161';
const OSKAR = '190501121230';
const BANKID_TYPES = 'http://www.bankid.com/signature/v1.0.0/types';

/** Verifies a base64 XML signature against a certificate; the signed `<bankIdSignedData>`, or undefined when it does not verify. */
function verifiedSignedData(signatureBase64: string, certPem: string): Element | undefined {
  const xml = Buffer.from(signatureBase64, 'base64').toString('utf8');
  const verifier = new SignedXml({ publicCert: certPem });
  verifier.loadSignature(xml);
  let valid: boolean;
  try {
    valid = verifier.checkSignature(xml);
  } catch {
    valid = false;
  }
  if (!valid) return undefined;
  return verifier
    .getSignedReferences()
    .map((ref) => new DOMParser().parseFromString(ref, 'text/xml').documentElement!)
    .find((el) => el.localName === 'bankIdSignedData' && el.namespaceURI === BANKID_TYPES);
}

const signedText = (data: Element, name: string): string | null | undefined => data.getElementsByTagNameNS(BANKID_TYPES, name)[0]?.textContent;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

async function toAnswer(r: Awaited<ReturnType<typeof request>>): Promise<Answer> {
  const text = await r.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

describe('BankID simulator', () => {
  let root: string;
  let pki: DevPki;
  let sim: BankIdSimulator;
  let agent: Agent;
  let clock = Date.now();
  const advance = (ms: number) => {
    clock += ms;
  };

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'idnav-bankid-sim-'));
    pki = await ensureDevPki(path.join(root, 'pki'));
    sim = await startBankIdSimulator({
      serverCert: await readFile(pki.bankidServerCert, 'utf8'),
      serverKey: await readFile(pki.bankidServerKey, 'utf8'),
      clientCa: await readFile(pki.rpCa, 'utf8'),
      now: () => clock,
    });
    agent = new Agent({
      connect: {
        cert: await readFile(pki.rpCert, 'utf8'),
        key: await readFile(pki.rpKey, 'utf8'),
        ca: await readFile(pki.bankidServerCa, 'utf8'),
      },
    });
  });

  after(async () => {
    await agent?.close();
    await sim?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    sim.control.reset({ stats: true, orders: true });
  });

  const rp = async (endpoint: string, body: unknown, init: { method?: string; contentType?: string; raw?: string } = {}) =>
    toAnswer(
      await request(`${sim.rpUrl}/${endpoint}`, {
        method: (init.method ?? 'POST') as 'POST',
        headers: { 'content-type': init.contentType ?? 'application/json' },
        ...(init.method === 'GET' ? {} : { body: init.raw ?? JSON.stringify(body) }),
        dispatcher: agent,
      }),
    );

  const app = async (p: string, body?: unknown, init: { method?: string; form?: Record<string, string> } = {}) => {
    const method = init.method ?? (body === undefined && !init.form ? 'GET' : 'POST');
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(init.form).toString();
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return toAnswer(await request(`${sim.appUrl}${p}`, { method: method as 'GET', headers, ...(payload !== undefined ? { body: payload } : {}) }));
  };

  /** Starts an order and remembers the clock at creation (the QR clock's zero). */
  const startAuth = async (extra: Record<string, unknown> = {}, endpoint = 'auth') => {
    const createdAt = clock;
    const r = await rp(endpoint, { endUserIp: '192.0.2.10', ...extra });
    assert.equal(r.status, 200, r.text);
    const o = r.json as { orderRef: string; autoStartToken: string; qrStartToken: string; qrStartSecret: string };
    const qrNow = () => qrPayload(o.qrStartToken, o.qrStartSecret, Math.floor((clock - createdAt) / 1000));
    return { ...o, createdAt, qrNow };
  };

  const collect = async (orderRef: string) => rp('collect', { orderRef });

  describe('QR code', () => {
    it('matches the published test vectors', () => {
      const secret = 'd28db9a7-4cde-429e-a983-359be676944c';
      const token = '67df3917-fa0d-44e5-b327-edcc928297f8';
      assert.equal(qrAuthCode(secret, 0), 'dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8');
      assert.equal(qrAuthCode(secret, 1), '949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2');
      assert.equal(qrAuthCode(secret, 2), 'a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3');
      const payload = qrPayload(token, secret, 0);
      assert.equal(payload, `bankid.${token}.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8`);
      const parsed = parseQrPayload(payload)!;
      assert.deepEqual(parsed, { qrStartToken: token, qrTime: 0, qrAuthCode: qrAuthCode(secret, 0) });
      const check = { qrStartSecret: secret, createdAt: 1_000_000, maxAgeMs: 5000, maxFutureMs: 1500 };
      assert.equal(verifyQr(parseQrPayload(qrPayload(token, secret, 2))!, { ...check, now: 1_002_500 }), 'ok');
      assert.equal(verifyQr(parsed, { ...check, now: 1_005_001 }), 'qrExpired');
      assert.equal(verifyQr(parseQrPayload(qrPayload(token, secret, 9))!, { ...check, now: 1_000_000 }), 'qrInvalid');
      assert.equal(verifyQr({ ...parsed, qrAuthCode: qrAuthCode('another-secret', 0) }, { ...check, now: 1_000_000 }), 'qrInvalid');
      for (const bad of ['bankid.x.0.abc', `bankid.${token}.00.${'a'.repeat(64)}`, `BANKID.${token}.0.${'a'.repeat(64)}`, `bankid.${token}.-1.${'a'.repeat(64)}`]) {
        assert.equal(parseQrPayload(bad), undefined, bad);
      }
    });
  });

  describe('test persons', () => {
    it('have valid personal identity numbers that cannot be living people', () => {
      const persons = loadTestPersons();
      const numbers = persons.map((p) => p.personalNumber);
      assert.ok(numbers.includes('198602212394') && numbers.includes('194106279161'));
      for (const p of persons) {
        assert.ok(isValidPersonalNumber(p.personalNumber), p.personalNumber);
        assert.equal(luhnCheckDigit(p.personalNumber.slice(2, 11)), Number(p.personalNumber[11]));
        const published = p.personalNumber === '198602212394' || p.personalNumber === '194106279161';
        assert.ok(published || Number(p.personalNumber.slice(0, 4)) < 1910, p.personalNumber);
        assert.equal(p.name, `${p.givenName} ${p.surname}`);
      }
      assert.ok(persons.some((p) => Number(p.personalNumber.slice(6, 8)) > 60), 'a samordningsnummer');
      assert.ok(persons.some((p) => p.givenName.includes(' ')), 'a person with a middle name');
      assert.equal(luhnCheckDigit('640823323'), 4);
      assert.equal(isValidPersonalNumber('198602212395'), false);
      assert.equal(isValidPersonalNumber('19860230239x'), false);
      assert.equal(isValidPersonalNumber('190802302420'), false, 'no 30 February');
    });
  });

  describe('RP API', () => {
    it('runs an order from auth to complete', async () => {
      const text = 'Logga in på Karlstads kommun ✓';
      const o = await startAuth({ userVisibleData: Buffer.from(text).toString('base64'), userNonVisibleData: 'bm9uY2U=' });
      for (const key of ['orderRef', 'autoStartToken', 'qrStartToken', 'qrStartSecret'] as const) {
        assert.match(o[key], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      }
      assert.deepEqual((await collect(o.orderRef)).json, { orderRef: o.orderRef, status: 'pending', hintCode: 'outstandingTransaction' });

      advance(2300);
      const opened = await app('/scan', { qr: o.qrNow(), personalNumber: GRETA, action: 'open' });
      assert.deepEqual(opened.json, { status: 'pending' });
      assert.deepEqual((await collect(o.orderRef)).json, { orderRef: o.orderRef, status: 'pending', hintCode: 'userSign' });

      advance(1000);
      const approved = await app('/scan', { qr: o.qrNow(), personalNumber: GRETA, action: 'approve' });
      assert.equal(approved.status, 200);
      assert.deepEqual(approved.json, { status: 'complete' }, 'no orderRef and no returnUrl for the other device');

      const done = await collect(o.orderRef);
      assert.equal(done.status, 200);
      assert.equal(done.json.status, 'complete');
      assert.equal(done.json.hintCode, undefined);
      const data = done.json.completionData as CompletionData;
      assert.deepEqual(data.user, { personalNumber: GRETA, name: 'Greta Testdotter', givenName: 'Greta', surname: 'Testdotter' });
      assert.equal(data.device.ipAddress, '127.0.0.1');
      assert.match(data.device.uhi, /^[A-Za-z0-9+/]+=*$/);
      assert.match(data.bankIdIssueDate, /^\d{4}-\d{2}-\d{2}$/);
      assert.deepEqual(data.stepUp, { mrtd: false });
      const xml = Buffer.from(data.signature, 'base64').toString('utf8');
      assert.match(xml, /^<\?xml/);
      assert.ok(xml.includes(GRETA));
      assert.ok(xml.includes(Buffer.from(text).toString('base64')));
      assert.ok(xml.includes('<usrNonVisibleData>bm9uY2U=</usrNonVisibleData>'));
      assert.ok(xml.includes('<SignatureValue>'));
      assert.equal(Buffer.from(data.ocspResponse, 'base64')[0], 0x30);

      // Still collectable within the window; not after it.
      assert.equal((await collect(o.orderRef)).json.status, 'complete');
      advance(180_001);
      const late = await collect(o.orderRef);
      assert.equal(late.status, 400);
      assert.equal(late.json.errorCode, 'invalidParameters');
    });

    it('signs, with userVisibleData required', async () => {
      const missing = await rp('sign', { endUserIp: '192.0.2.10' });
      assert.equal(missing.status, 400);
      assert.equal(missing.json.errorCode, 'invalidParameters');
      const o = await startAuth({ userVisibleData: Buffer.from('Jag godkänner').toString('base64'), returnRisk: true }, 'sign');
      assert.equal(sim.control.scan({ qr: o.qrNow(), personalNumber: OSKAR }).ok, true);
      const done = await collect(o.orderRef);
      assert.equal(done.json.completionData.user.personalNumber, OSKAR);
      assert.equal(done.json.completionData.risk, 'low');
      assert.match(Buffer.from(done.json.completionData.signature, 'base64').toString(), /<funcId>Signing<\/funcId>/);
    });

    it('refuses a client without a certificate and one from a foreign CA (no HTTP answer)', async () => {
      const ca = await readFile(pki.bankidServerCa, 'utf8');
      const noCert = new Agent({ connect: { ca } });
      const foreign = new Agent({
        connect: { ca, cert: await readFile(pki.foreignClientCert, 'utf8'), key: await readFile(pki.foreignClientKey, 'utf8') },
      });
      try {
        for (const dispatcher of [noCert, foreign]) {
          await assert.rejects(
            request(`${sim.rpUrl}/auth`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ endUserIp: '192.0.2.10' }),
              dispatcher,
            }),
          );
        }
      } finally {
        await noCert.close();
        await foreign.close();
      }
      assert.equal(sim.control.stats().calls.auth, 0);
    });

    it('answers transport errors like BankID', async () => {
      const charset = await rp('auth', { endUserIp: '192.0.2.10' }, { contentType: 'application/json; charset=UTF-8' });
      assert.equal(charset.status, 415);
      assert.deepEqual(Object.keys(charset.json), ['errorCode', 'details']);
      assert.equal(charset.json.errorCode, 'unsupportedMediaType');

      const get = await rp('auth', undefined, { method: 'GET' });
      assert.equal(get.status, 405);
      assert.equal(get.json.errorCode, 'methodNotAllowed');

      const unknown = await rp('nope', {});
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errorCode, 'notFound');

      const malformed = await rp('auth', undefined, { raw: '{"endUserIp": ' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.errorCode, 'invalidParameters');
      assert.equal(typeof malformed.json.details, 'string');
    });

    it('validates fields', async () => {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['no endUserIp', {}],
        ['endUserIp not an IP', { endUserIp: 'localhost' }],
        ['userVisibleData not base64', { endUserIp: '192.0.2.1', userVisibleData: 'inte base64!' }],
        ['userVisibleData too long', { endUserIp: '192.0.2.1', userVisibleData: 'QUFB'.repeat(10_001) }],
        ['bad check digit', { endUserIp: '192.0.2.1', requirement: { personalNumber: '198602212395' } }],
        ['10 digits', { endUserIp: '192.0.2.1', requirement: { personalNumber: '8602212394' } }],
        ['returnUrl too long', { endUserIp: '192.0.2.1', returnUrl: `https://rp.example/${'a'.repeat(500)}` }],
        ['unknown format', { endUserIp: '192.0.2.1', userVisibleData: 'YQ==', userVisibleDataFormat: 'html' }],
        ['bad cardReader', { endUserIp: '192.0.2.1', requirement: { cardReader: 'class3' } }],
      ];
      for (const [name, body] of cases) {
        const r = await rp('auth', body);
        assert.equal(r.status, 400, name);
        assert.equal(r.json.errorCode, 'invalidParameters', name);
        assert.ok(r.json.details.length > 0, name);
      }
      const ok = await rp('auth', {
        endUserIp: '2001:db8::1',
        requirement: { personalNumber: TORE, pinCode: true, certificatePolicies: ['1.2.3.4.*'] },
        returnUrl: 'https://rp.example/return#nonce',
        web: { referringDomain: 'example.se', userAgent: 'x', deviceIdentifier: 'y' },
      });
      assert.equal(ok.status, 200, ok.text);
    });

    it('cancels, and refuses unknown or ended orders', async () => {
      const unknown = await collect('00000000-0000-4000-8000-000000000000');
      assert.equal(unknown.status, 400);
      assert.equal(unknown.json.errorCode, 'invalidParameters');

      const o = await startAuth();
      const cancelled = await rp('cancel', { orderRef: o.orderRef });
      assert.equal(cancelled.status, 200);
      assert.deepEqual(cancelled.json, {});
      assert.equal((await rp('cancel', { orderRef: o.orderRef })).json.errorCode, 'invalidParameters');
      assert.equal((await collect(o.orderRef)).json.errorCode, 'invalidParameters');
      assert.equal((await rp('cancel', { orderRef: 'nope' })).json.errorCode, 'invalidParameters');
      assert.equal((await app('/scan', { qr: o.qrNow() })).json.error, 'orderNotPending');
    });

    it('keeps one order per person', async () => {
      const first = await startAuth({ requirement: { personalNumber: TORE } });
      const second = await rp('auth', { endUserIp: '192.0.2.10', requirement: { personalNumber: TORE } });
      assert.equal(second.status, 400);
      assert.equal(second.json.errorCode, 'alreadyInProgress');
      assert.deepEqual((await collect(first.orderRef)).json, { orderRef: first.orderRef, status: 'failed', hintCode: 'cancelled' });
      assert.equal(sim.control.orders().length, 1, 'no order created');

      // Binding a person in the app cancels that person's other running order.
      const required = await startAuth({ requirement: { personalNumber: GRETA } });
      const free = await startAuth();
      assert.equal(sim.control.scan({ qr: free.qrNow(), personalNumber: GRETA }).ok, true);
      assert.equal((await collect(free.orderRef)).json.status, 'complete');
      assert.equal((await collect(required.orderRef)).json.hintCode, 'cancelled');
    });

    it('refuses approval by another person than required', async () => {
      const o = await startAuth({ requirement: { personalNumber: TORE } });
      const wrong = await app('/scan', { qr: o.qrNow(), personalNumber: GRETA });
      assert.equal(wrong.status, 409);
      assert.equal(wrong.json.error, 'personMismatch');
      assert.equal(typeof wrong.json.message, 'string');
      assert.deepEqual((await collect(o.orderRef)).json, { orderRef: o.orderRef, status: 'pending', hintCode: 'userSign' });
      const right = await app('/scan', { qr: o.qrNow(), personalNumber: TORE });
      assert.deepEqual(right.json, { status: 'complete' });
    });

    it('fails with startFailed and expiredTransaction on time', async () => {
      const idle = await startAuth();
      advance(29_999);
      assert.equal((await collect(idle.orderRef)).json.hintCode, 'outstandingTransaction');
      const scanned = await startAuth();
      assert.equal(sim.control.scan({ qr: scanned.qrNow(), action: 'open' }).ok, true);
      advance(2);
      assert.deepEqual((await collect(idle.orderRef)).json, { orderRef: idle.orderRef, status: 'failed', hintCode: 'startFailed' });
      assert.equal((await app('/scan', { qr: idle.qrNow() })).json.error, 'orderNotPending');

      advance(179_997);
      assert.equal((await collect(scanned.orderRef)).json.hintCode, 'userSign');
      advance(1);
      assert.deepEqual((await collect(scanned.orderRef)).json, {
        orderRef: scanned.orderRef,
        status: 'failed',
        hintCode: 'expiredTransaction',
      });
      // The failed window (5 min) counts from when the order failed, not from the collect.
      advance(300_000);
      assert.equal((await collect(scanned.orderRef)).json.hintCode, 'expiredTransaction');
      advance(1);
      assert.equal((await collect(scanned.orderRef)).json.errorCode, 'invalidParameters');
      assert.deepEqual(sim.control.orders(), [], 'dropped after their windows');
    });

    it('handles phone orders', async () => {
      const r = await rp('phone/auth', { personalNumber: OSKAR, callInitiator: 'RP' });
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json), ['orderRef']);
      assert.equal((await collect(r.json.orderRef)).json.hintCode, 'userCallConfirm');
      assert.equal((await rp('phone/auth', { personalNumber: OSKAR, callInitiator: 'someone' })).status, 400);
      assert.deepEqual((await app('/phone', { personalNumber: OSKAR, action: 'approve' })).json, { status: 'complete' });
      assert.equal((await collect(r.json.orderRef)).json.completionData.user.personalNumber, OSKAR);
    });
  });

  describe('signing', () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

    it('validates the texts of /sign with the details BankID answers', async () => {
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['no userVisibleData', {}, 'Invalid userVisibleData'],
        ['empty userVisibleData', { userVisibleData: '' }, 'Invalid userVisibleData'],
        ['userVisibleData not base64', { userVisibleData: 'Jag godkänner' }, 'Invalid userVisibleData'],
        ['userVisibleData unpadded', { userVisibleData: 'YQ' }, 'Invalid userVisibleData'],
        ['userVisibleData not UTF-8', { userVisibleData: Buffer.from([0xff, 0xfe, 0x41]).toString('base64') }, 'Invalid userVisibleData'],
        ['userVisibleData too long', { userVisibleData: 'QUFB'.repeat(10_001) }, 'Invalid userVisibleData'],
        ['userVisibleData not a string', { userVisibleData: 42 }, 'Invalid userVisibleData'],
        ['empty userNonVisibleData', { userVisibleData: 'YQ==', userNonVisibleData: '' }, 'Invalid userNonVisibleData'],
        ['userNonVisibleData not base64', { userVisibleData: 'YQ==', userNonVisibleData: 'a b' }, 'Invalid userNonVisibleData'],
        ['userNonVisibleData too long', { userVisibleData: 'YQ==', userNonVisibleData: 'QUFB'.repeat(50_001) }, 'Invalid userNonVisibleData'],
        ['unknown format', { userVisibleData: 'YQ==', userVisibleDataFormat: 'plaintext' }, 'Invalid userVisibleDataFormat'],
      ];
      for (const [name, body, details] of cases) {
        const r = await rp('sign', { endUserIp: '192.0.2.10', ...body });
        assert.equal(r.status, 400, name);
        assert.deepEqual(r.json, { errorCode: 'invalidParameters', details }, name);
      }
      assert.equal(sim.control.orders().length, 0);
      // Exactly at the limits.
      const ok = await rp('sign', {
        endUserIp: '192.0.2.10',
        userVisibleData: 'QUFB'.repeat(10_000),
        userNonVisibleData: 'QUFB'.repeat(50_000),
        userVisibleDataFormat: 'simpleMarkdownV1',
      });
      assert.equal(ok.status, 200, ok.text);
    });

    it('shows the text to sign in the app and signs it with its key', async () => {
      const text = '# Bygglov\n\nJag godkänner <villkoren> & "avgiften" för *Storgatan 1*.';
      const tbs = b64('ärendenummer=2024-1234');
      const o = await startAuth({ userVisibleData: b64(text), userVisibleDataFormat: 'simpleMarkdownV1', userNonVisibleData: tbs }, 'sign');

      const page = await app(`/?qr=${encodeURIComponent(o.qrNow())}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /<h1>Skriv under/);
      assert.ok(page.text.includes('Jag godkänner &lt;villkoren&gt; &amp; &quot;avgiften&quot; för *Storgatan 1*.'), 'the text, decoded and escaped');
      assert.ok(page.text.includes('simpleMarkdownV1'));

      const opened = await app('/scan', { qr: o.qrNow(), action: 'open' });
      assert.deepEqual(opened.json, { status: 'pending', userVisibleData: text, userVisibleDataFormat: 'simpleMarkdownV1' });
      const approved = await app('/scan', { qr: o.qrNow(), personalNumber: GRETA });
      assert.deepEqual(approved.json, { status: 'complete', userVisibleData: text, userVisibleDataFormat: 'simpleMarkdownV1' });

      const done = await collect(o.orderRef);
      assert.equal(done.json.status, 'complete');
      const data = done.json.completionData as CompletionData;
      assert.equal(data.user.personalNumber, GRETA);
      const signed = verifiedSignedData(data.signature, sim.signingCert);
      assert.ok(signed, 'the signature verifies against signingCert');
      assert.equal(signedText(signed, 'usrVisibleData'), b64(text));
      assert.equal(signed.getElementsByTagNameNS(BANKID_TYPES, 'usrVisibleData')[0]?.getAttribute('format'), 'simpleMarkdownV1');
      assert.equal(signedText(signed, 'usrNonVisibleData'), tbs);
      assert.equal(signedText(signed, 'funcId'), 'Signing');
      assert.match(signedText(signed, 'nonce') ?? '', /^[A-Za-z0-9+/]{27}=$/);

      // The person is named in the signed KeyInfo, and the certificate there is signingCert.
      const xml = Buffer.from(data.signature, 'base64').toString('utf8');
      assert.ok(xml.includes(`serialNumber=${GRETA}`));
      const der = sim.signingCert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
      assert.ok(xml.includes(`<X509Certificate>${der}</X509Certificate>`));

      // Any change breaks it.
      const tampered = Buffer.from(xml.replace(tbs, b64('ärendenummer=2024-9999')), 'utf8').toString('base64');
      assert.equal(verifiedSignedData(tampered, sim.signingCert), undefined);
      const otherPerson = Buffer.from(xml.replace(`serialNumber=${GRETA}`, `serialNumber=${TORE}`), 'utf8').toString('base64');
      assert.equal(verifiedSignedData(otherPerson, sim.signingCert), undefined, 'the KeyInfo is signed too');
      assert.equal(verifiedSignedData(data.signature, generateSigningCredentials().cert), undefined, 'another key does not verify it');
    });

    it('gives the text to the autostarted app and after a decision by the phone', async () => {
      const o = await startAuth({ userVisibleData: b64('Skriv under avtalet') }, 'sign');
      const started = await app('/autostart', { autoStartToken: o.autoStartToken, action: 'open' });
      assert.deepEqual(started.json, { status: 'pending', userVisibleData: 'Skriv under avtalet' });

      const phone = await rp('phone/sign', { personalNumber: TORE, callInitiator: 'RP', userVisibleData: b64('Telefonavtal') });
      assert.equal(phone.status, 200, phone.text);
      const confirmed = await app('/phone', { personalNumber: TORE });
      assert.deepEqual(confirmed.json, { status: 'complete', userVisibleData: 'Telefonavtal' });
      const signature = (await collect(phone.json.orderRef)).json.completionData.signature;
      assert.equal(signedText(verifiedSignedData(signature, sim.signingCert)!, 'usrVisibleData'), b64('Telefonavtal'));
    });

    it('takes its signing key and certificate from the options, and checks them', async () => {
      const given = generateSigningCredentials();
      const base = {
        serverCert: await readFile(pki.bankidServerCert, 'utf8'),
        serverKey: await readFile(pki.bankidServerKey, 'utf8'),
        clientCa: await readFile(pki.rpCa, 'utf8'),
      };
      const own = await startBankIdSimulator({ ...base, signingKey: given.key, signingCert: given.cert });
      try {
        assert.equal(own.signingCert, given.cert);
        const r = await request(`${own.rpUrl}/sign`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ endUserIp: '192.0.2.10', userVisibleData: b64('Med egen nyckel') }),
          dispatcher: agent,
        });
        const order = (await r.body.json()) as { orderRef: string; qrStartToken: string; qrStartSecret: string };
        assert.equal(own.control.scan({ qr: own.control.currentQr(order.orderRef)! }).ok, true);
        const done = await request(`${own.rpUrl}/collect`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ orderRef: order.orderRef }),
          dispatcher: agent,
        });
        const answer = (await done.body.json()) as { completionData: CompletionData };
        assert.ok(verifiedSignedData(answer.completionData.signature, given.cert));
      } finally {
        await own.close();
      }
      const other = generateSigningCredentials();
      await assert.rejects(startBankIdSimulator({ ...base, signingKey: other.key, signingCert: given.cert }), /does not belong/);
      await assert.rejects(startBankIdSimulator({ ...base, signingKey: given.key }), /both or neither/);
      await assert.rejects(startBankIdSimulator({ ...base, signingKey: 'not a key', signingCert: given.cert }), /signingKey/);
    });
  });

  describe('simulated app', () => {
    it('refuses a QR code older than the limit', async () => {
      const o = await startAuth();
      const first = o.qrNow();
      advance(5001);
      const old = await app('/scan', { qr: first });
      assert.equal(old.status, 400);
      assert.equal(old.json.error, 'qrExpired');
      assert.equal((await collect(o.orderRef)).json.hintCode, 'outstandingTransaction');
      assert.deepEqual((await app('/scan', { qr: o.qrNow() })).json, { status: 'complete' });
    });

    it('refuses forged, malformed and unknown codes', async () => {
      const o = await startAuth();
      const forged = `bankid.${o.qrStartToken}.0.${qrAuthCode('not-the-secret', 0)}`;
      const r = await app('/scan', { qr: forged });
      assert.equal(r.status, 400);
      assert.equal(r.json.error, 'qrInvalid');
      assert.equal((await app('/scan', { qr: 'bankid.nonsense' })).json.error, 'qrInvalid');
      const unknown = await app('/scan', { qr: qrPayload('00000000-0000-4000-8000-000000000000', 's', 0) });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.error, 'orderNotFound');
      const future = await app('/scan', { qr: qrPayload(o.qrStartToken, o.qrStartSecret, 3) });
      assert.equal(future.json.error, 'qrInvalid');
      assert.equal((await app('/scan', { qr: o.qrNow(), action: 'fly' })).json.error, 'invalidRequest');
      assert.equal((await app('/scan', { qr: o.qrNow(), personalNumber: '123' })).json.error, 'invalidRequest');
      assert.equal((await app('/scan', 'not an object')).json.error, 'invalidRequest');
      assert.equal((await collect(o.orderRef)).json.status, 'pending');
    });

    it('starts by autostart token: started, then userSign, returnUrl on approval', async () => {
      const o = await startAuth({ returnUrl: 'https://rp.example/cb?n=1' });
      assert.deepEqual((await app('/autostart', { autoStartToken: o.autoStartToken, action: 'open' })).json, { status: 'pending' });
      assert.equal((await collect(o.orderRef)).json.hintCode, 'started');
      advance(1000);
      assert.equal((await collect(o.orderRef)).json.hintCode, 'userSign');
      advance(40_000);
      const done = await app('/autostart', { autoStartToken: o.autoStartToken, personalNumber: TORE });
      assert.deepEqual(done.json, { status: 'complete', returnUrl: 'https://rp.example/cb?n=1' });
      const data = (await collect(o.orderRef)).json.completionData as CompletionData;
      assert.equal(data.device.ipAddress, '192.0.2.10');
      assert.equal((await app('/autostart', { autoStartToken: o.autoStartToken })).json.error, 'orderNotPending');
    });

    it('cancels from the app with userCancel', async () => {
      const o = await startAuth();
      assert.deepEqual((await app('/autostart', { autoStartToken: o.autoStartToken, action: 'cancel' })).json, { status: 'cancelled' });
      assert.deepEqual((await collect(o.orderRef)).json, { orderRef: o.orderRef, status: 'failed', hintCode: 'userCancel' });
    });

    it('serves an accessible page with relative URLs only', async () => {
      const home = await app('/');
      assert.equal(home.status, 200);
      assert.match(String(home.headers['content-type']), /^text\/html/);
      assert.match(String(home.headers['content-security-policy']), /default-src 'self'/);
      assert.match(home.text, /<title>Simulerad BankID-app \(idnav dev\)<\/title>/);
      assert.match(home.text, /<html lang="sv">/);
      assert.match(home.text, /<label for="qr">/);
      assert.doesNotMatch(home.text, /(href|src|action)="(\/|https?:)/);
      assert.doesNotMatch(home.text, /<script>|style="/);
      for (const asset of ['/app.js', '/app.css']) assert.equal((await app(asset)).status, 200);
      assert.equal((await app('/persons')).json.length, loadTestPersons().length);
    });

    it('scans on the page, then approves with a one-time form token', async () => {
      const o = await startAuth({ userVisibleData: Buffer.from('Hej <b>då</b>').toString('base64'), returnUrl: 'https://rp.example/cb' });
      const page = await app(`/?qr=${encodeURIComponent(o.qrNow())}`);
      assert.equal(page.status, 200);
      assert.ok(page.text.includes('192.0.2.10'));
      assert.ok(page.text.includes('Hej &lt;b&gt;då&lt;/b&gt;'), 'userVisibleData decoded and escaped');
      assert.match(page.text, /action="approve"/);
      assert.doesNotMatch(page.text, /(href|src|action)="(\/|https?:)/);
      assert.equal((await collect(o.orderRef)).json.hintCode, 'userSign');
      const session = /name="session" value="([^"]+)"/.exec(page.text)![1]!;

      const done = await app('/approve', undefined, { form: { session, personalNumber: OSKAR, action: 'approve' } });
      assert.equal(done.status, 200, 'no redirect for a QR order');
      assert.match(done.text, /Klart — gå tillbaka till webbläsaren/);
      assert.equal((await collect(o.orderRef)).json.completionData.user.personalNumber, OSKAR);

      const again = await app('/approve', undefined, { form: { session, personalNumber: OSKAR, action: 'approve' } });
      assert.equal(again.status, 400);

      const tooOld = await startAuth();
      const stale = tooOld.qrNow();
      advance(6000);
      const refused = await app(`/?qr=${encodeURIComponent(stale)}`);
      assert.equal(refused.status, 400);
      assert.match(refused.text, /för gammal/);
    });

    it('starts on the page by autostart token and redirects to returnUrl', async () => {
      const o = await startAuth({ returnUrl: 'https://rp.example/cb?state=x' });
      const page = await app(`/?autostarttoken=${o.autoStartToken}&redirect=null`);
      assert.equal(page.status, 200);
      assert.equal((await collect(o.orderRef)).json.hintCode, 'started');
      const session = /name="session" value="([^"]+)"/.exec(page.text)![1]!;
      const done = await app('/approve', undefined, { form: { session, personalNumber: TORE, action: 'approve' } });
      assert.equal(done.status, 303);
      assert.equal(done.headers.location, 'https://rp.example/cb?state=x');

      const noReturnUrl = await startAuth({ requirement: { personalNumber: GRETA } });
      const page3 = await app(`/?autostarttoken=${noReturnUrl.autoStartToken}&redirect=${encodeURIComponent('https://rp.example/launch')}`);
      const session3 = /name="session" value="([^"]+)"/.exec(page3.text)![1]!;
      const mismatch = await app('/approve', undefined, { form: { session: session3, personalNumber: TORE, action: 'approve' } });
      assert.equal(mismatch.status, 409);
      assert.match(mismatch.text, /annan person/);
      assert.equal((await collect(noReturnUrl.orderRef)).json.status, 'pending');
      const session4 = /name="session" value="([^"]+)"/.exec(mismatch.text)![1]!;
      assert.notEqual(session4, session3);
      const launched = await app('/approve', undefined, { form: { session: session4, personalNumber: GRETA, action: 'approve' } });
      assert.equal(launched.status, 303);
      assert.equal(launched.headers.location, 'https://rp.example/launch', 'the launch link redirect when there is no returnUrl');

      const other = await startAuth();
      const page2 = await app(`/?autostarttoken=${other.autoStartToken}`);
      const session2 = /name="session" value="([^"]+)"/.exec(page2.text)![1]!;
      const cancelled = await app('/approve', undefined, { form: { session: session2, personalNumber: TORE, action: 'cancel' } });
      assert.match(cancelled.text, /Avbrutet/);
      assert.equal((await collect(other.orderRef)).json.hintCode, 'userCancel');
    });
  });

  describe('switches and statistics', () => {
    it('answers the next n calls with an error', async () => {
      sim.control.switch({ kind: 'error', endpoint: 'auth', count: 2, httpStatus: 503, errorCode: 'maintenance' });
      for (let i = 0; i < 2; i++) {
        const r = await rp('auth', { endUserIp: '192.0.2.1' });
        assert.equal(r.status, 503);
        assert.deepEqual(Object.keys(r.json), ['errorCode', 'details']);
        assert.equal(r.json.errorCode, 'maintenance');
      }
      assert.equal((await rp('auth', { endUserIp: '192.0.2.1' })).status, 200);
      assert.equal(sim.control.orders().length, 1);

      const o = await startAuth();
      const cases = [
        { endpoint: 'collect', httpStatus: 500, errorCode: 'internalError' },
        { endpoint: 'collect', httpStatus: 408, errorCode: 'requestTimeout' },
        { endpoint: 'collect', httpStatus: 401, errorCode: 'unauthorized' },
        { endpoint: 'collect', httpStatus: 400, errorCode: 'someNewErrorCode', details: 'Something new' },
        { endpoint: 'any', httpStatus: 400, errorCode: 'alreadyInProgress' },
      ] as const;
      for (const c of cases) {
        sim.control.switch({ kind: 'error', ...c });
        const r = await collect(o.orderRef);
        assert.equal(r.status, c.httpStatus);
        assert.equal(r.json.errorCode, c.errorCode);
        if ('details' in c) assert.equal(r.json.details, c.details);
      }
      sim.control.switch({ kind: 'error', endpoint: 'cancel', httpStatus: 408, errorCode: 'requestTimeout' });
      assert.equal((await collect(o.orderRef)).status, 200, 'a cancel switch leaves collect alone');
      assert.equal((await rp('cancel', { orderRef: o.orderRef })).status, 408);
      assert.equal((await collect(o.orderRef)).json.status, 'pending', 'the switched cancel did nothing');
    });

    it('rate limits with headers', async () => {
      const o = await startAuth();
      sim.control.switch({ kind: 'error', endpoint: 'collect', httpStatus: 429, retryAfterSeconds: 3 });
      const limited = await collect(o.orderRef);
      assert.equal(limited.status, 429);
      assert.equal(limited.text, '{}');
      assert.equal(limited.headers['retry-after'], '3');
      assert.equal(limited.headers['ratelimit-reset'], '3');
      assert.equal(limited.headers['ratelimit-remaining'], '0');
      assert.ok(limited.headers['ratelimit-limit']);
      sim.control.switch({ kind: 'error', endpoint: 'collect', httpStatus: 429, body: 'empty' });
      const empty = await collect(o.orderRef);
      assert.equal(empty.status, 429);
      assert.equal(empty.text, '');
      assert.equal(empty.headers['retry-after'], '1');
    });

    it('delays answers', async () => {
      const o = await startAuth();
      sim.control.switch({ kind: 'delay', endpoint: 'collect', ms: 250 });
      const t0 = performance.now();
      assert.equal((await collect(o.orderRef)).status, 200);
      assert.ok(performance.now() - t0 >= 240);
      const t1 = performance.now();
      await collect(o.orderRef);
      assert.ok(performance.now() - t1 < 240, 'only the next call');
    });

    it('forces collect answers, and reset clears them', async () => {
      const a = await startAuth();
      const b = await startAuth();
      sim.control.switch({ kind: 'collect', orderRef: a.orderRef, status: 'pending', hintCode: 'someNewPendingHint' });
      assert.equal((await collect(a.orderRef)).json.hintCode, 'someNewPendingHint');
      assert.equal((await collect(b.orderRef)).json.hintCode, 'outstandingTransaction');
      sim.control.reset();
      assert.equal((await collect(a.orderRef)).json.hintCode, 'outstandingTransaction');

      sim.control.switch({ kind: 'collect', status: 'pending', hintCode: 'noClient' });
      assert.equal((await collect(a.orderRef)).json.hintCode, 'noClient');
      assert.equal((await collect(b.orderRef)).json.hintCode, 'noClient');
      const c = await startAuth();
      assert.equal((await collect(c.orderRef)).json.hintCode, 'outstandingTransaction', 'only orders that existed');

      sim.control.switch({ kind: 'collect', status: 'failed', hintCode: 'certificateErr' });
      for (const o of [a, b, c]) {
        assert.deepEqual((await collect(o.orderRef)).json, { orderRef: o.orderRef, status: 'failed', hintCode: 'certificateErr' });
      }
      sim.control.reset();
      assert.equal((await collect(a.orderRef)).json.hintCode, 'certificateErr', 'a failed order stays failed');
      assert.throws(() => sim.control.switch({ kind: 'collect', orderRef: 'nope', status: 'failed', hintCode: 'x' }));
      sim.control.switch({ kind: 'error', endpoint: 'collect', httpStatus: 503, errorCode: 'maintenance', count: 5 });
      sim.control.reset();
      assert.equal((await collect(a.orderRef)).status, 200);
    });

    it('counts calls and records collect times', async () => {
      const o = await startAuth();
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        times.push(clock);
        await collect(o.orderRef);
        advance(2000);
      }
      await rp('cancel', { orderRef: o.orderRef });
      const stats = sim.control.stats();
      assert.deepEqual(stats.collects[o.orderRef], times);
      assert.equal(stats.calls.auth, 1);
      assert.equal(stats.calls.collect, 3);
      assert.equal(stats.calls.cancel, 1);
      assert.equal(stats.calls.sign, 0);
    });

    it('offers the same control over HTTP', async () => {
      const o = await startAuth();
      const bad = await app('/control/switch', { kind: 'error', endpoint: 'everything', httpStatus: 503 });
      assert.equal(bad.status, 400);
      assert.equal((await app('/control/switch', { kind: 'error', endpoint: 'collect', httpStatus: 503, errorCode: 'maintenance' })).status, 200);
      assert.equal((await collect(o.orderRef)).status, 503);
      assert.equal((await app('/control/switch', { kind: 'delay', endpoint: 'auth', ms: 10, count: 3 })).status, 200);
      assert.equal((await app('/control/reset', {})).status, 200);
      const stats = (await app('/control/stats')).json;
      assert.deepEqual(stats.collects[o.orderRef], [clock]);
      const orders = (await app('/control/orders')).json;
      assert.equal(orders.length, 1);
      assert.deepEqual(
        { orderRef: orders[0].orderRef, status: orders[0].status, hintCode: orders[0].hintCode, createdAt: orders[0].createdAt },
        { orderRef: o.orderRef, status: 'pending', hintCode: 'outstandingTransaction', createdAt: o.createdAt },
      );
      const qr = (await app(`/control/qr?orderRef=${o.orderRef}`)).json;
      assert.equal(qr.qr, o.qrNow());
      assert.equal((await app('/control/reset', { stats: true })).status, 200);
      assert.deepEqual((await app('/control/stats')).json.collects, {});
    });
  });
});
