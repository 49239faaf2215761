import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';
import type { AdapterDeps, PollingEidAdapter, PollingSignRequest, PollResult } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import type { BankIdConfig } from './config.ts';
import { BANKID_METHOD_URI, bankIdModule } from './index.ts';
import { RFA, RFA_SIGN, SIGN_REQUEST_REFUSED, errorOutcome, failedOutcome, pendingMessage } from './messages.ts';
import { qrAuthCode, qrPayload } from './qr.ts';
import { startBankIdSimulator, type BankIdSimulator } from './simulator/server.ts';

const TORE = '198602212394';
const GRETA = '194106279161';
const EBBA_SAMORDNING = '190803752427';
const DEFAULT_ACR = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';
const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const deps: AdapterDeps = { baseDir: process.cwd(), now: Date.now, log: { info() {}, warn() {}, error() {} } };

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Asserts a HubError with this code; returns it for further checks. */
async function rejectsHub(promise: Promise<unknown>, code: string): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code, `code (detail: ${err.detail})`);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

const BANKID_TYPES = 'http://www.bankid.com/signature/v1.0.0/types';

/**
 * Verifies a `completionData.signature` (base64 XML) against a certificate with xml-crypto, as a relying
 * party would, and returns the `<bankIdSignedData>` the signature covers (read from the signed
 * references only, never from the unverified document).
 */
function verifiedSignedData(signatureBase64: string, certPem: string): Element {
  const xml = Buffer.from(signatureBase64, 'base64').toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  assert.equal(doc.documentElement?.localName, 'Signature', 'the signature is the document, as BankID sends it');
  assert.equal(doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature').length, 1);
  const verifier = new SignedXml({ publicCert: certPem });
  verifier.loadSignature(xml);
  assert.equal(verifier.checkSignature(xml), true, 'the XML signature verifies against the certificate');
  const signed = verifier.getSignedReferences().map((ref) => new DOMParser().parseFromString(ref, 'text/xml').documentElement!);
  const data = signed.find((el) => el.localName === 'bankIdSignedData' && el.namespaceURI === BANKID_TYPES);
  assert.ok(data, 'bankIdSignedData is covered by the signature');
  return data;
}

const signedField = (data: Element, name: string): Element | undefined => data.getElementsByTagNameNS(BANKID_TYPES, name)[0];

let pki: DevPki;
let sim: BankIdSimulator;

before(async () => {
  pki = await ensureDevPki(join(tmpdir(), 'idnav-test-pki'));
  sim = await startBankIdSimulator({
    serverCert: await readFile(pki.bankidServerCert, 'utf8'),
    serverKey: await readFile(pki.bankidServerKey, 'utf8'),
    clientCa: await readFile(pki.rpCa, 'utf8'),
  });
});

after(async () => {
  await sim?.close();
});

/** The raw config block as an operator writes it (before validation). */
function rawConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    baseUrl: sim.rpUrl,
    caFile: pki.bankidServerCa,
    clientCert: { pfxFile: pki.rpPfx, passphrase: pki.rpPfxPassphrase },
    ...overrides,
  };
}

function validConfig(overrides: Record<string, unknown> = {}): BankIdConfig {
  const v = bankIdModule.validate(rawConfig(overrides));
  if (!v.ok) assert.fail(`config should be valid: ${JSON.stringify(v.problems)}`);
  return v.config;
}

/** Problems of a config that must not validate. */
function problemsOf(config: unknown): Array<[string, string]> {
  const v = bankIdModule.validate(config);
  assert.equal(v.ok, false, 'config should be refused');
  return v.ok ? [] : v.problems;
}

// ---------------------------------------------------------------------------------------------

describe('qr', () => {
  // BankID's published test vectors (RP guidelines, animated QR code).
  const secret = 'd28db9a7-4cde-429e-a983-359be676944c';
  const token = '67df3917-fa0d-44e5-b327-edcc928297f8';
  const codes = [
    'dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8',
    '949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2',
    'a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3',
  ];

  it('qrAuthCode matches the published vectors for t = 0, 1, 2', () => {
    codes.forEach((code, t) => assert.equal(qrAuthCode(secret, t), code, `t=${t}`));
  });

  it('qrPayload builds bankid.<token>.<time>.<code>', () => {
    const start = 1_700_000_000_000;
    assert.equal(qrPayload(token, secret, start, start), `bankid.${token}.0.${codes[0]}`);
    assert.equal(qrPayload(token, secret, start, start + 2000), `bankid.${token}.2.${codes[2]}`);
  });

  it('counts whole seconds since the start (1999 ms -> 1)', () => {
    const start = 1_700_000_000_000;
    assert.equal(qrPayload(token, secret, start, start + 999), `bankid.${token}.0.${codes[0]}`);
    assert.equal(qrPayload(token, secret, start, start + 1000), `bankid.${token}.1.${codes[1]}`);
    assert.equal(qrPayload(token, secret, start, start + 1999), `bankid.${token}.1.${codes[1]}`);
  });

  it('never shows a negative time when the clock is behind the start', () => {
    const start = 1_700_000_000_000;
    assert.equal(qrPayload(token, secret, start, start - 5000), `bankid.${token}.0.${codes[0]}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('bankIdModule.validate', () => {
  it('accepts a PKCS#12 config and fills in the defaults', () => {
    const v = bankIdModule.validate(rawConfig());
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.config.acr, DEFAULT_ACR);
    assert.deepEqual(v.config.displayName, { sv: 'BankID', en: 'BankID' });
    assert.equal(v.config.pollIntervalMs, 2000);
    assert.equal(v.config.timeoutMs, 10_000);
    assert.deepEqual(v.config.launch, {});
  });

  it('accepts a PEM certificate and key pair', () => {
    const v = bankIdModule.validate(rawConfig({ clientCert: { certFile: pki.rpCert, keyFile: pki.rpKey } }));
    assert.ok(v.ok, JSON.stringify(v));
    assert.deepEqual(v.config.clientCert, { certFile: pki.rpCert, keyFile: pki.rpKey });
  });

  it('reports a certificate and key that do not belong together', () => {
    const v = bankIdModule.validate(rawConfig({ clientCert: { certFile: pki.rpCert, keyFile: pki.foreignClientKey } }));
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems.map(([p]) => p), ['clientCert.keyFile']);
    assert.match(v.problems[0]![1], /does not belong/);
  });

  it('reports a missing baseUrl', () => {
    const { baseUrl: _omit, ...config } = rawConfig();
    const problems = problemsOf(config);
    assert.deepEqual(problems.map(([p]) => p), ['baseUrl']);
  });

  it('reports an http baseUrl (BankID is only spoken over TLS)', () => {
    const problems = problemsOf(rawConfig({ baseUrl: 'http://appapi2.test.bankid.com/rp/v6.0' }));
    assert.deepEqual(problems.map(([p]) => p), ['baseUrl']);
  });

  it('reports an unreadable caFile with the file and the reason', () => {
    const missing = join(pki.dir, 'no-such-ca.pem');
    const problems = problemsOf(rawConfig({ caFile: missing }));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]![0], 'caFile');
    assert.match(problems[0]![1], /no-such-ca\.pem/);
    assert.match(problems[0]![1], /ENOENT/);
  });

  it('reports a caFile that is not a PEM certificate', () => {
    const problems = problemsOf(rawConfig({ caFile: pki.rpPfx }));
    assert.deepEqual(problems.map(([p]) => p), ['caFile']);
  });

  it('reports a legacy PKCS#12 with the openssl command that converts it', () => {
    const problems = problemsOf(rawConfig({ clientCert: { pfxFile: pki.rpPfxLegacy, passphrase: pki.rpPfxPassphrase } }));
    assert.equal(problems.length, 1);
    const [path, message] = problems[0]!;
    assert.equal(path, 'clientCert.pfxFile');
    assert.match(message, /openssl pkcs12/);
    assert.ok(message.includes(pki.rpPfxLegacy), 'names the file');
  });

  it('reports a wrong passphrase under clientCert', () => {
    const problems = problemsOf(rawConfig({ clientCert: { pfxFile: pki.rpPfx, passphrase: 'not-the-passphrase' } }));
    assert.equal(problems.length, 1);
    const [path, message] = problems[0]!;
    assert.match(path, /^clientCert\./);
    assert.match(message, /passphrase/i);
    assert.doesNotMatch(message, /not-the-passphrase/, 'the passphrase itself is not echoed');
  });

  it('reports nested problems with dotted paths', () => {
    const problems = problemsOf(rawConfig({ displayName: { sv: 'BankID' }, timeoutMs: 10 }));
    const paths = problems.map(([p]) => p).sort();
    assert.deepEqual(paths, ['displayName.en', 'timeoutMs']);
  });

  it('reports every unreadable file at once', () => {
    const problems = problemsOf(
      rawConfig({ caFile: join(pki.dir, 'missing-ca.pem'), clientCert: { certFile: join(pki.dir, 'missing.crt'), keyFile: join(pki.dir, 'missing.key') } }),
    );
    assert.deepEqual(problems.map(([p]) => p).sort(), ['caFile', 'clientCert.certFile', 'clientCert.keyFile']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('bankIdModule.create', () => {
  it('contacts nothing: a baseUrl on a closed port still creates the adapter; health() then fails', async () => {
    const port = await closedPort();
    const adapter = await bankIdModule.create('bankid', validConfig({ baseUrl: `https://127.0.0.1:${port}/rp/v6.0`, timeoutMs: 2000 }), deps);
    try {
      assert.equal(adapter.kind, 'polling');
      assert.equal(adapter.id, 'bankid');
      assert.equal(adapter.methodUri, BANKID_METHOD_URI);
      assert.deepEqual(adapter.acrValues, [DEFAULT_ACR]);
      assert.equal(adapter.pollIntervalMs, 2000);
      const err = await rejectsHub(adapter.health(), 'EID_UPSTREAM_UNAVAILABLE');
      assert.match(err.detail ?? '', /ECONNREFUSED/);
      assert.deepEqual(err.userMessage, RFA.RFA5);
    } finally {
      await adapter.close();
    }
  });

  it('refuses with CONFIG_INVALID when a file has gone since validation', async () => {
    const config = validConfig();
    const gone = { ...config, caFile: join(pki.dir, 'removed-ca.pem') };
    const err = await rejectsHub(bankIdModule.create('bankid', gone, deps), 'CONFIG_INVALID');
    assert.match(err.detail ?? '', /methods\.bankid\.config\.caFile/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('BankID adapter against the simulator (mutual TLS)', () => {
  let adapter: PollingEidAdapter;

  before(async () => {
    adapter = await bankIdModule.create('bankid', validConfig(), deps);
  });
  after(async () => {
    await adapter?.close();
  });
  beforeEach(() => {
    sim.control.reset({ orders: true });
  });

  it('health() resolves against a reachable BankID', async () => {
    await adapter.health();
  });

  it('happy path: start, QR, approve in the app, poll until complete', async () => {
    const started = await adapter.start({ endUserIp: '192.0.2.10', userAgent: DESKTOP_UA });
    assert.equal(typeof started.handle, 'string');
    assert.equal(typeof started.autoStartToken, 'string');
    assert.ok(Math.abs(started.startedAt - Date.now()) < 5000);

    // Before the app has the order: pending, with the message for the chosen device.
    const waiting = await adapter.poll(started.handle, { device: 'other' });
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.status === 'pending' && waiting.hint, 'outstandingTransaction');
    assert.deepEqual(waiting.status === 'pending' && waiting.message, RFA.RFA1);

    const qr = adapter.qrFrame(started.handle, Date.now());
    assert.ok(qr, 'a QR payload');
    assert.match(qr, /^bankid\.[0-9a-f-]{36}\.\d+\.[0-9a-f]{64}$/);
    const scanned = sim.control.scan({ qr, personalNumber: TORE, action: 'approve' });
    assert.deepEqual(scanned, { ok: true, value: { status: 'complete' } });

    const result = await adapter.poll(started.handle, { device: 'other' });
    assert.equal(result.status, 'complete', JSON.stringify(result));
    if (result.status !== 'complete') return;
    const id = result.identity;
    assert.equal(id.subjectType, 'personnummer');
    assert.equal(id.subject, TORE);
    assert.equal(id.givenName, 'Tore');
    assert.equal(id.familyName, 'Testsson');
    assert.equal(id.name, 'Tore Testsson');
    assert.equal(id.birthdate, '1986-02-21');
    assert.equal(id.acr, DEFAULT_ACR);
    assert.equal(id.method, 'urn:idnav:method:bankid');
    assert.deepEqual(id.amr, ['mfa', 'swk']);
    assert.ok(Math.abs(id.authTime - Date.now() / 1000) < 60);
    assert.ok(id.evidence, 'evidence');
    assert.equal(typeof id.evidence.signature, 'string');
    assert.ok(id.evidence.signature.length > 100);
    assert.equal(typeof id.evidence.ocspResponse, 'string');
    assert.ok(id.evidence.ocspResponse.length > 10);
    assert.equal(id.evidence.deviceIp, '127.0.0.1');
  });

  it('types a samordningsnummer from BankID as such', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    const qr = adapter.qrFrame(started.handle, Date.now())!;
    assert.equal(sim.control.scan({ qr, personalNumber: EBBA_SAMORDNING }).ok, true);
    const result = await adapter.poll(started.handle, { device: 'other' });
    assert.equal(result.status, 'complete');
    if (result.status !== 'complete') return;
    assert.equal(result.identity.subjectType, 'samordningsnummer');
    assert.equal(result.identity.subject, EBBA_SAMORDNING);
    assert.equal(result.identity.birthdate, '1908-03-15');
  });

  it('qrFrame advances with the clock and the simulator accepts the current frame', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    const f0 = adapter.qrFrame(started.handle, started.startedAt)!;
    const f1 = adapter.qrFrame(started.handle, started.startedAt + 1999)!;
    const f2 = adapter.qrFrame(started.handle, started.startedAt + 2000)!;
    const [, token0, time0, code0] = f0.split('.');
    const [, token1, time1, code1] = f1.split('.');
    assert.equal(time0, '0');
    assert.equal(time1, '1');
    assert.equal(f2.split('.')[2], '2');
    assert.equal(token0, token1);
    assert.notEqual(code0, code1);
    // A frame is pure: the same moment gives the same payload.
    assert.equal(adapter.qrFrame(started.handle, started.startedAt + 1999), f1);
    assert.equal(sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, action: 'open' }).ok, true);
    const pending = await adapter.poll(started.handle, { device: 'other' });
    assert.equal(pending.status, 'pending');
    assert.equal(pending.status === 'pending' && pending.hint, 'userSign');
    assert.deepEqual(pending.status === 'pending' && pending.message, RFA.RFA9);
    await adapter.cancel(started.handle);
  });

  it('a cancel in the app fails the order with userCancel', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    assert.deepEqual(sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, action: 'cancel' }), { ok: true, value: { status: 'cancelled' } });
    const result = await adapter.poll(started.handle, { device: 'other' });
    assert.deepEqual(result, { status: 'failed', code: 'EID_USER_CANCELLED', hint: 'userCancel', message: RFA.RFA6 });
  });

  it('startFailed maps to RFA17A on this device and RFA17B on another', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    sim.control.switch({ kind: 'collect', status: 'failed', hintCode: 'startFailed' });
    const here = await adapter.poll(started.handle, { device: 'this' });
    assert.deepEqual(here, { status: 'failed', code: 'EID_START_FAILED', hint: 'startFailed', message: RFA.RFA17A });
    const there = await adapter.poll(started.handle, { device: 'other' });
    assert.deepEqual(there, { status: 'failed', code: 'EID_START_FAILED', hint: 'startFailed', message: RFA.RFA17B });
  });

  it('cancel() of an ended order does not throw', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    assert.equal(sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, personalNumber: TORE }).ok, true);
    assert.equal((await adapter.poll(started.handle, { device: 'other' })).status, 'complete');
    const warnings: object[] = [];
    const watched = await bankIdModule.create('bankid', validConfig(), { ...deps, log: { ...deps.log, warn: (o: object) => void warnings.push(o) } });
    try {
      await watched.cancel(started.handle);
      await watched.cancel(started.handle);
      assert.deepEqual(warnings, [], 'an ended order is not worth a warning');
    } finally {
      await watched.close();
    }
  });

  it('cancel() of a pending order cancels it at BankID', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    await adapter.cancel(started.handle);
    const order = sim.control.orders().find((o) => o.status === 'cancelledByRp');
    assert.ok(order, 'the simulator saw the cancel');
  });

  it('a second order for the same person is refused with EID_ALREADY_IN_PROGRESS and RFA4', async () => {
    await adapter.start({ endUserIp: '127.0.0.1', personalNumber: TORE });
    const err = await rejectsHub(adapter.start({ endUserIp: '127.0.0.1', personalNumber: TORE }), 'EID_ALREADY_IN_PROGRESS');
    assert.deepEqual(err.userMessage, RFA.RFA4);
  });

  it('maps 503 maintenance to EID_UPSTREAM_UNAVAILABLE and 429 to EID_UPSTREAM_RATE_LIMITED with retryAfterMs', async () => {
    sim.control.switch({ kind: 'error', endpoint: 'auth', httpStatus: 503, errorCode: 'maintenance' });
    const down = await rejectsHub(adapter.start({ endUserIp: '127.0.0.1' }), 'EID_UPSTREAM_UNAVAILABLE');
    assert.deepEqual(down.userMessage, RFA.RFA5);
    sim.control.switch({ kind: 'error', endpoint: 'auth', httpStatus: 429, retryAfterSeconds: 3, body: 'empty' });
    const limited = await rejectsHub(adapter.start({ endUserIp: '127.0.0.1' }), 'EID_UPSTREAM_RATE_LIMITED');
    assert.equal(limited.retryAfterMs, 3000);
    // The switches are used up: the next call works.
    const started = await adapter.start({ endUserIp: '127.0.0.1' });
    await adapter.cancel(started.handle);
  });

  it('refuses an endUserIp that is not an IP address without calling BankID', async () => {
    sim.control.reset({ stats: true });
    await rejectsHub(adapter.start({ endUserIp: 'localhost' }), 'INTERNAL');
    assert.equal(sim.control.stats().calls.auth, 0);
  });

  it('launchUrl: bankid:/// on a computer, the universal link on a phone', () => {
    const token = '7c40b5c9-fa74-49cf-b98c-bfe651f9a7c6';
    assert.equal(adapter.launchUrl(token, DESKTOP_UA), `bankid:///?autostarttoken=${token}&redirect=null`);
    assert.equal(adapter.launchUrl(token, undefined), `bankid:///?autostarttoken=${token}&redirect=null`);
    assert.equal(adapter.launchUrl(token, IPHONE_UA), `https://app.bankid.com/?autostarttoken=${token}&redirect=null`);
    assert.equal(adapter.launchUrl('a b&c', DESKTOP_UA), 'bankid:///?autostarttoken=a%20b%26c&redirect=null');
  });

  it('launchUrl: the simulated app when launch.insecureDevAppUrl is set', async () => {
    const devAdapter = await bankIdModule.create('bankid', validConfig({ launch: { insecureDevAppUrl: '/dev/bankid-app/' } }), deps);
    try {
      const token = '7c40b5c9-fa74-49cf-b98c-bfe651f9a7c6';
      assert.equal(devAdapter.launchUrl(token, DESKTOP_UA), `/dev/bankid-app/?autostarttoken=${token}&redirect=null`);
      assert.equal(devAdapter.launchUrl(token, IPHONE_UA), `/dev/bankid-app/?autostarttoken=${token}&redirect=null`);
    } finally {
      await devAdapter.close();
    }
  });

  it('initialMessage depends on the device', () => {
    assert.deepEqual(adapter.initialMessage('this'), RFA.RFA13);
    assert.deepEqual(adapter.initialMessage('other'), RFA.RFA1);
  });

  it('a malformed handle is TRANSACTION_NOT_FOUND', async () => {
    assert.throws(() => adapter.qrFrame('not json', Date.now()), (err: unknown) => err instanceof HubError && err.code === 'TRANSACTION_NOT_FOUND');
    await rejectsHub(adapter.poll('{"o":1}', { device: 'other' }), 'TRANSACTION_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------

describe('BankID signing against the simulator', () => {
  let adapter: PollingEidAdapter;
  const data = Buffer.from(JSON.stringify({ tbs: 'ärende 2024-1234', digest: 'c2hhMjU2' })).toString('base64');

  /** A sign request with defaults that BankID accepts. */
  const signRequest = (overrides: Partial<PollingSignRequest> = {}): PollingSignRequest => ({
    endUserIp: '192.0.2.10',
    userAgent: DESKTOP_UA,
    visibleText: 'Jag intygar att uppgifterna i ansökan om bygglov är riktiga.\nÅsa Öberg, Storgatan 1',
    visibleFormat: 'text',
    data,
    ...overrides,
  });

  const startSign = (req: PollingSignRequest) => {
    assert.ok(adapter.startSign, 'the BankID adapter can sign');
    return adapter.startSign(req);
  };

  /** Asserts a refusal before anything is sent to BankID. */
  async function refused(req: PollingSignRequest, detail: RegExp): Promise<void> {
    sim.control.reset({ stats: true });
    const err = await rejectsHub(startSign(req), 'EID_START_FAILED');
    assert.match(err.detail ?? '', detail);
    assert.deepEqual(err.userMessage, SIGN_REQUEST_REFUSED);
    assert.equal(sim.control.stats().calls.sign, 0, 'BankID was not called');
  }

  const complete = (r: PollResult) => {
    assert.equal(r.status, 'complete', JSON.stringify(r));
    return r as Extract<PollResult, { status: 'complete' }>;
  };

  before(async () => {
    adapter = await bankIdModule.create('bankid', validConfig(), deps);
  });
  after(async () => {
    await adapter?.close();
  });
  beforeEach(() => {
    sim.control.reset({ orders: true, stats: true });
  });

  it('signs a plain text: /sign, the signing messages while pending, a signature that verifies', async () => {
    const req = signRequest();
    const started = await startSign(req);
    assert.equal(typeof started.autoStartToken, 'string');
    assert.equal(sim.control.stats().calls.sign, 1);
    assert.equal(sim.control.stats().calls.auth, 0);
    assert.deepEqual(JSON.parse(started.handle).k, 's', 'the handle marks a signing order');

    const waiting = await adapter.poll(started.handle, { device: 'other' });
    assert.deepEqual(waiting, { status: 'pending', hint: 'outstandingTransaction', message: RFA.RFA1 });

    // The app shows what is signed.
    const opened = sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, action: 'open' });
    assert.deepEqual(opened, { ok: true, value: { status: 'pending', userVisibleData: req.visibleText } });

    const signing = await adapter.poll(started.handle, { device: 'other' });
    assert.deepEqual(signing, { status: 'pending', hint: 'userSign', message: RFA_SIGN.RFA9 });
    assert.match(RFA_SIGN.RFA9.sv, /välj Skriv under\.$/);

    const approved = sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, personalNumber: TORE });
    assert.equal(approved.ok && approved.value.status, 'complete');

    const result = complete(await adapter.poll(started.handle, { device: 'other' }));
    assert.equal(result.identity.subject, TORE);
    assert.equal(result.identity.name, 'Tore Testsson');
    assert.equal(result.identity.method, BANKID_METHOD_URI);
    const signature = result.signature;
    assert.ok(signature, 'a signing order completes with a signature');
    assert.equal(signature.format, 'bankid-xmldsig');
    assert.equal(typeof signature.ocspResponse, 'string');
    assert.equal(Buffer.from(signature.ocspResponse!, 'base64')[0], 0x30, 'a DER OCSPResponse');

    const signed = verifiedSignedData(signature.value, sim.signingCert);
    const visible = signedField(signed, 'usrVisibleData')!;
    assert.equal(Buffer.from(visible.textContent ?? '', 'base64').toString('utf8'), req.visibleText);
    assert.equal(visible.getAttribute('format'), null, 'plain text has no format');
    const nonVisible = signedField(signed, 'usrNonVisibleData')!;
    assert.equal(nonVisible.textContent, data, 'usrNonVisibleData is exactly the data sent');
    assert.equal(signedField(signed, 'funcId')?.textContent, 'Signing');
  });

  it('signs markdown as simpleMarkdownV1; on this device the sign texts of RFA15 apply', async () => {
    const visibleText = '# Ansökan om bygglov\n\n*Fastighet:* Storgatan 1\n\n+ Ritningar bifogade';
    const req = signRequest({ visibleText, visibleFormat: 'markdown' });
    const started = await startSign(req);

    const opened = sim.control.autostart({ autoStartToken: started.autoStartToken!, action: 'open' });
    assert.deepEqual(opened, { ok: true, value: { status: 'pending', userVisibleData: visibleText, userVisibleDataFormat: 'simpleMarkdownV1' } });
    const searching = await adapter.poll(started.handle, { device: 'this' });
    assert.deepEqual(searching, { status: 'pending', hint: 'started', message: RFA_SIGN.RFA15A });

    sim.control.switch({ kind: 'collect', status: 'pending', hintCode: 'somethingNew' });
    const unknown = await adapter.poll(started.handle, { device: 'this' });
    assert.deepEqual(unknown, { status: 'pending', hint: 'somethingNew', message: RFA_SIGN.RFA21 });
    sim.control.reset();

    assert.equal(sim.control.autostart({ autoStartToken: started.autoStartToken!, personalNumber: GRETA }).ok, true);
    const result = complete(await adapter.poll(started.handle, { device: 'this' }));
    assert.equal(result.identity.subject, GRETA);
    const signed = verifiedSignedData(result.signature!.value, sim.signingCert);
    const visible = signedField(signed, 'usrVisibleData')!;
    assert.equal(visible.getAttribute('format'), 'simpleMarkdownV1');
    assert.equal(Buffer.from(visible.textContent ?? '', 'base64').toString('utf8'), visibleText);
    assert.equal(signedField(signed, 'usrNonVisibleData')?.textContent, data);
  });

  it('binds the signature to the requested person: nobody else can approve', async () => {
    const started = await startSign(signRequest({ personalNumber: TORE }));
    const qr = () => adapter.qrFrame(started.handle, Date.now())!;
    const other = sim.control.scan({ qr: qr(), personalNumber: GRETA });
    assert.equal(other.ok, false);
    assert.equal(!other.ok && other.error, 'personMismatch');
    const still = await adapter.poll(started.handle, { device: 'other' });
    assert.equal(still.status, 'pending', 'the order waits for the right person');

    assert.equal(sim.control.scan({ qr: qr(), personalNumber: TORE }).ok, true);
    const result = complete(await adapter.poll(started.handle, { device: 'other' }));
    assert.equal(result.identity.subject, TORE);
    assert.equal(result.signature?.format, 'bankid-xmldsig');
  });

  it('refuses a completion by another person than the one the order was restricted to', async () => {
    // BankID enforces the restriction; should an answer say otherwise, the adapter does not accept it.
    const forTore = await startSign(signRequest({ personalNumber: TORE }));
    assert.doesNotMatch(forTore.handle, new RegExp(TORE), 'the handle keeps a digest, not the number');
    const open = await startSign(signRequest());
    assert.equal(sim.control.scan({ qr: adapter.qrFrame(open.handle, Date.now())!, personalNumber: GRETA }).ok, true);
    // The answer to an unrestricted order, collected as if it were Tore's order.
    const mixed = JSON.stringify({ ...JSON.parse(open.handle), p: JSON.parse(forTore.handle).p });
    const err = await rejectsHub(adapter.poll(mixed, { device: 'other' }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail ?? '', /another person/);
    assert.doesNotMatch(err.detail ?? '', /\d{12}/, 'no personal number in the operator detail');
    await adapter.cancel(forTore.handle);
  });

  it('refuses a signature that does not cover the text and data sent', async () => {
    const first = await startSign(signRequest());
    const second = await startSign(signRequest({ visibleText: 'Något helt annat', data: Buffer.from('annat').toString('base64') }));
    assert.equal(sim.control.scan({ qr: adapter.qrFrame(second.handle, Date.now())!, personalNumber: GRETA }).ok, true);
    const { v, n } = JSON.parse(first.handle) as { v: string; n: string };
    const otherText = JSON.stringify({ ...JSON.parse(second.handle), v });
    const err = await rejectsHub(adapter.poll(otherText, { device: 'other' }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail ?? '', /usrVisibleData/);
    // A completed order can be collected again within its window.
    const otherData = JSON.stringify({ ...JSON.parse(second.handle), n });
    const err2 = await rejectsHub(adapter.poll(otherData, { device: 'other' }), 'EID_RESPONSE_INVALID');
    assert.match(err2.detail ?? '', /usrNonVisibleData/);
    assert.equal((await adapter.poll(second.handle, { device: 'other' })).status, 'complete', 'with its own handle the answer is accepted');
    await adapter.cancel(first.handle);
  });

  it('accepts the text and the data at exactly BankID\'s limits', async () => {
    // 15 000 two-byte characters: 30 000 bytes of UTF-8, 40 000 characters of base64.
    const started = await startSign(signRequest({ visibleText: 'ö'.repeat(15_000), data: 'QUFB'.repeat(50_000) }));
    assert.equal(sim.control.stats().calls.sign, 1);
    await adapter.cancel(started.handle);
  });

  it('refuses, without calling BankID, what BankID would refuse', async () => {
    await refused(signRequest({ visibleText: '' }), /visibleText.*empty/);
    await refused(signRequest({ visibleText: ' \n\t ' }), /visibleText.*empty/);
    await refused(signRequest({ visibleText: 'ö'.repeat(15_001) }), /40004 characters.*at most 40000/);
    await refused(signRequest({ visibleFormat: 'html' as 'text' }), /visibleFormat/);
    await refused(signRequest({ data: '' }), /data.*empty/);
    await refused(signRequest({ data: 'inte base64!' }), /not base64/);
    await refused(signRequest({ data: 'YQ' }), /not base64/);
    await refused(signRequest({ data: 'YWJj\nZGVm' }), /not base64/);
    await refused(signRequest({ data: 'YWJj-_8=' }), /not base64/);
    await refused(signRequest({ data: 'QUFB'.repeat(50_001) }), /200004 characters.*at most 200000/);
    sim.control.reset({ stats: true });
    await rejectsHub(startSign(signRequest({ endUserIp: 'localhost' })), 'INTERNAL');
    assert.equal(sim.control.stats().calls.sign, 0);
  });

  it('a cancel in the app fails a signing order with userCancel', async () => {
    const started = await startSign(signRequest());
    const cancelled = sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())!, action: 'cancel' });
    assert.deepEqual(cancelled, { ok: true, value: { status: 'cancelled', userVisibleData: signRequest().visibleText } });
    const result = await adapter.poll(started.handle, { device: 'other' });
    assert.deepEqual(result, { status: 'failed', code: 'EID_USER_CANCELLED', hint: 'userCancel', message: RFA.RFA6 });
  });

  it('identification orders complete without a signature', async () => {
    const started = await adapter.start({ endUserIp: '127.0.0.1', personalNumber: TORE });
    assert.equal(JSON.parse(started.handle).k, undefined);
    assert.equal(sim.control.scan({ qr: adapter.qrFrame(started.handle, Date.now())! }).ok, true);
    const result = complete(await adapter.poll(started.handle, { device: 'other' }));
    assert.equal(result.identity.subject, TORE);
    assert.equal(result.signature, undefined);
    // BankID signs an identification too; the simulator's verifies all the same.
    const signed = verifiedSignedData(result.identity.evidence!.signature!, sim.signingCert);
    assert.equal(signedField(signed, 'funcId')?.textContent, 'Identification');
  });
});

// ---------------------------------------------------------------------------------------------

describe('TLS pinning and client certificates', () => {
  it('refuses a server certificate from a CA other than the pinned one', async () => {
    const impostor = await startBankIdSimulator({
      serverCert: await readFile(pki.unpinnedServerCert, 'utf8'),
      serverKey: await readFile(pki.unpinnedServerKey, 'utf8'),
      clientCa: await readFile(pki.rpCa, 'utf8'),
    });
    // Pinned to BankID's (stand-in) root, as validConfig() is.
    const adapter = await bankIdModule.create('bankid', validConfig({ baseUrl: impostor.rpUrl, timeoutMs: 5000 }), deps);
    try {
      const err = await rejectsHub(adapter.start({ endUserIp: '127.0.0.1' }), 'EID_UPSTREAM_UNAVAILABLE');
      assert.match(err.detail ?? '', /TLS|certificate/i);
      assert.deepEqual(err.userMessage, RFA.RFA5);
      assert.equal(impostor.control.stats().calls.auth, 0, 'no request reached the impostor');
    } finally {
      await adapter.close();
      await impostor.close();
    }
  });

  it('is refused by BankID with a client certificate from a foreign CA', async () => {
    const config = validConfig({ clientCert: { certFile: pki.foreignClientCert, keyFile: pki.foreignClientKey }, timeoutMs: 5000 });
    const adapter = await bankIdModule.create('bankid', config, deps);
    try {
      sim.control.reset({ stats: true });
      await rejectsHub(adapter.start({ endUserIp: '127.0.0.1' }), 'EID_UPSTREAM_UNAVAILABLE');
      await rejectsHub(adapter.health(), 'EID_UPSTREAM_UNAVAILABLE');
      assert.equal(sim.control.stats().calls.auth, 0, 'no request got through');
    } finally {
      await adapter.close();
    }
  });

  it('works with the PEM pair of the right client certificate', async () => {
    const adapter = await bankIdModule.create('bankid', validConfig({ clientCert: { certFile: pki.rpCert, keyFile: pki.rpKey } }), deps);
    try {
      await adapter.health();
    } finally {
      await adapter.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('messages', () => {
  it('outstandingTransaction: RFA13 on this device, RFA1 on another', () => {
    assert.deepEqual(pendingMessage('outstandingTransaction', 'this', false), RFA.RFA13);
    assert.deepEqual(pendingMessage('outstandingTransaction', 'other', false), RFA.RFA1);
    assert.deepEqual(pendingMessage('noClient', 'this', true), RFA.RFA1);
  });

  it('started: RFA15B on a phone, RFA15A on a computer', () => {
    assert.deepEqual(pendingMessage('started', 'this', true), RFA.RFA15B);
    assert.deepEqual(pendingMessage('started', 'this', false), RFA.RFA15A);
  });

  it('userSign and userMrtd', () => {
    assert.deepEqual(pendingMessage('userSign', 'other', false), RFA.RFA9);
    assert.deepEqual(pendingMessage('userMrtd', 'other', false), RFA.RFA23);
  });

  it('a signing order: Skriv under instead of Identifiera, signing instead of identification', () => {
    assert.deepEqual(pendingMessage('userSign', 'other', false, 'sign'), RFA_SIGN.RFA9);
    assert.deepEqual(pendingMessage('started', 'this', false, 'sign'), RFA_SIGN.RFA15A);
    assert.deepEqual(pendingMessage('started', 'this', true, 'sign'), RFA_SIGN.RFA15B);
    assert.deepEqual(pendingMessage('somethingNew', 'other', false, 'sign'), RFA_SIGN.RFA21);
    // The same as for an identification where BankID's texts do not differ.
    assert.deepEqual(pendingMessage('outstandingTransaction', 'this', false, 'sign'), RFA.RFA13);
    assert.deepEqual(pendingMessage('outstandingTransaction', 'other', false, 'sign'), RFA.RFA1);
    assert.deepEqual(pendingMessage('noClient', 'other', false, 'sign'), RFA.RFA1);
    assert.deepEqual(pendingMessage('userMrtd', 'other', false, 'sign'), RFA.RFA23);
    assert.match(RFA_SIGN.RFA9.sv, /Skriv under/);
    assert.match(RFA_SIGN.RFA9.en, /select Sign\.$/);
    for (const key of ['RFA15A', 'RFA15B'] as const) {
      assert.match(RFA_SIGN[key].sv, /underskriften/);
      assert.doesNotMatch(RFA_SIGN[key].sv, /identifieringen/);
    }
  });

  it('unknown pending hints fall back to RFA21, unknown failures to RFA22', () => {
    assert.deepEqual(pendingMessage('somethingNew', 'this', false), RFA.RFA21);
    assert.deepEqual(pendingMessage('', 'other', true), RFA.RFA21);
    assert.deepEqual(failedOutcome('somethingNew', 'this'), { code: 'EID_FAILED', message: RFA.RFA22 });
  });

  it('failed hints', () => {
    assert.deepEqual(failedOutcome('startFailed', 'this'), { code: 'EID_START_FAILED', message: RFA.RFA17A });
    assert.deepEqual(failedOutcome('startFailed', 'other'), { code: 'EID_START_FAILED', message: RFA.RFA17B });
    assert.deepEqual(failedOutcome('expiredTransaction', 'other'), { code: 'EID_EXPIRED', message: RFA.RFA8 });
    assert.deepEqual(failedOutcome('certificateErr', 'other'), { code: 'EID_CERTIFICATE_INVALID', message: RFA.RFA16 });
    assert.deepEqual(failedOutcome('userCancel', 'other'), { code: 'EID_USER_CANCELLED', message: RFA.RFA6 });
    assert.deepEqual(failedOutcome('cancelled', 'other'), { code: 'EID_FAILED', message: RFA.RFA3 });
    assert.equal(failedOutcome('transactionRiskBlocked', 'other').code, 'EID_RISK_BLOCKED');
  });

  it('errorOutcome: 429, 503, alreadyInProgress, integration faults and unknown 400', () => {
    assert.deepEqual(errorOutcome(429, undefined), { code: 'EID_UPSTREAM_RATE_LIMITED', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(429, 'alreadyInProgress'), { code: 'EID_UPSTREAM_RATE_LIMITED', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(503, undefined), { code: 'EID_UPSTREAM_UNAVAILABLE', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(503, 'maintenance'), { code: 'EID_UPSTREAM_UNAVAILABLE', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(500, 'internalError'), { code: 'EID_UPSTREAM_UNAVAILABLE', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(400, 'alreadyInProgress'), { code: 'EID_ALREADY_IN_PROGRESS', message: RFA.RFA4 });
    assert.deepEqual(errorOutcome(400, 'invalidParameters'), { code: 'EID_RESPONSE_INVALID', message: RFA.RFA5 });
    assert.deepEqual(errorOutcome(400, 'somethingNew'), { code: 'EID_FAILED', message: RFA.RFA22 });
    assert.deepEqual(errorOutcome(400, undefined), { code: 'EID_FAILED', message: RFA.RFA22 });
  });

  it('every RFA text exists in Swedish and English', () => {
    for (const [name, text] of [...Object.entries(RFA), ...Object.entries(RFA_SIGN), ['SIGN_REQUEST_REFUSED', SIGN_REQUEST_REFUSED] as const]) {
      assert.ok(text.sv.length > 0 && text.en.length > 0, name);
      assert.notEqual(text.sv, text.en, name);
    }
  });
});
