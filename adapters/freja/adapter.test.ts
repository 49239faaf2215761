import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DevPki } from '../../dev/pki.ts';
import type { PollingEidAdapter, PollResult } from '../../src/contracts/eid.ts';
import type { Identity } from '../../src/contracts/identity.ts';
import { bindUserUrl } from './adapter.ts';
import { FREJA_METHOD_URI, frejaModule } from './index.ts';
import { MESSAGES } from './messages.ts';
import { startFrejaSimulator, type FrejaSimulator } from './simulator/server.ts';
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
  testDeps,
  testPki,
  type Logged,
  type TestSimulator,
} from './testkit.ts';

const IP = '192.0.2.10';

let pki: DevPki;
let sim: TestSimulator;
const adapters: PollingEidAdapter[] = [];

async function adapter(overrides: Record<string, unknown> = {}, logged?: Logged[], url = sim.url): Promise<PollingEidAdapter> {
  const a = await makeAdapter(rawConfig(pki, url, overrides), logged);
  adapters.push(a);
  return a;
}

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

const refOf = (handle: string): string => (JSON.parse(handle) as { r: string }).r;

function txOf(ref: string) {
  const tx = sim.control.transactions().find((t) => t.authRef === ref);
  assert.ok(tx, 'the simulator knows the transaction');
  return tx;
}

function approve(ref: string, personalNumber?: string, action: 'approve' | 'cancel' | 'reject' | 'open' = 'approve') {
  const r = sim.control.app({ transactionReference: ref, action, ...(personalNumber ? { personalNumber } : {}) });
  assert.ok(r.ok, `app ${action}: ${r.ok ? '' : r.message}`);
  return r.value;
}

function complete(r: PollResult): Identity {
  assert.equal(r.status, 'complete', `expected complete, got ${JSON.stringify(r)}`);
  return (r as { identity: Identity }).identity;
}

function failed(r: PollResult, code: string, hint?: string): { hint: string; message: { sv: string; en: string } } {
  assert.equal(r.status, 'failed', `expected failed, got ${JSON.stringify(r).slice(0, 300)}`);
  const f = r as Extract<PollResult, { status: 'failed' }>;
  assert.equal(f.code, code);
  if (hint !== undefined) assert.equal(f.hint, hint);
  return f;
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

describe('frejaModule.validate', () => {
  const problemsOf = (config: unknown): Array<[string, string]> => {
    const v = frejaModule.validate(config);
    assert.equal(v.ok, false, 'config should be refused');
    return v.ok ? [] : v.problems;
  };

  it('accepts a PKCS#12 config and fills in the defaults', () => {
    const v = frejaModule.validate(rawConfig(pki, 'https://services.test.frejaeid.com'));
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.config.minRegistrationLevel, 'PLUS');
    assert.deepEqual(v.config.acr, { PLUS: LOA3, EXTENDED: LOA2 });
    assert.deepEqual(v.config.displayName, { sv: 'Freja eID', en: 'Freja eID' });
    assert.equal(v.config.pollIntervalMs, 2000);
    assert.equal(v.config.timeoutMs, 10_000);
    assert.deepEqual(v.config.launch, {});
    assert.equal(v.config.relyingPartyId, undefined);
  });

  it('accepts a PEM pair, several signing certificates and every option', () => {
    const v = frejaModule.validate(
      rawConfig(pki, 'https://services.prod.frejaeid.com', {
        clientCert: { certFile: pki.frejaClientCert, keyFile: pki.frejaClientKey },
        signingCertificates: [pki.frejaSigningCert, pki.frejaSigningNextCert],
        relyingPartyId: 'kommun-rp',
        minRegistrationLevel: 'EXTENDED',
        acr: { PLUS: 'urn:loa3', EXTENDED: 'urn:loa2' },
        displayName: { sv: 'Freja', en: 'Freja' },
        timeoutMs: 5000,
        pollIntervalMs: 3000,
        launch: { insecureDevAppUrl: '/dev/freja-app/' },
      }),
    );
    assert.ok(v.ok, JSON.stringify(v));
  });

  it('reports an http baseUrl and a missing baseUrl', () => {
    assert.deepEqual(problemsOf(rawConfig(pki, 'http://services.test.frejaeid.com')).map(([p]) => p), ['baseUrl']);
    const { baseUrl: _omit, ...config } = rawConfig(pki, 'x');
    assert.deepEqual(problemsOf(config).map(([p]) => p), ['baseUrl']);
  });

  it('reports unreadable and non-PEM signing certificates by their index', () => {
    const problems = problemsOf(
      rawConfig(pki, 'https://services.test.frejaeid.com', {
        signingCertificates: [pki.frejaSigningCert, join(pki.dir, 'no-such-signing.pem'), pki.frejaClientPfx, pki.frejaSigningKey],
      }),
    );
    assert.deepEqual(problems.map(([p]) => p), ['signingCertificates.1', 'signingCertificates.2', 'signingCertificates.3']);
    assert.match(problems[0]![1], /no-such-signing\.pem/);
    assert.match(problems[0]![1], /ENOENT/);
    assert.match(problems[1]![1], /no PEM certificate/);
  });

  it('reports an empty signing certificate list', () => {
    assert.deepEqual(problemsOf(rawConfig(pki, 'https://services.test.frejaeid.com', { signingCertificates: [] })).map(([p]) => p), ['signingCertificates']);
  });

  it('reports a caFile that is not a PEM certificate and a missing client certificate file at once', () => {
    const problems = problemsOf(
      rawConfig(pki, 'https://services.test.frejaeid.com', {
        caFile: pki.frejaClientPfx,
        clientCert: { certFile: join(pki.dir, 'missing.crt'), keyFile: pki.frejaClientKey },
      }),
    );
    assert.deepEqual(problems.map(([p]) => p).sort(), ['caFile', 'clientCert.certFile']);
  });

  it('reports a wrong PKCS#12 passphrase without echoing it', () => {
    const problems = problemsOf(rawConfig(pki, 'https://services.test.frejaeid.com', { clientCert: { pfxFile: pki.frejaClientPfx, passphrase: 'not-it' } }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]![0], /^clientCert\./);
    assert.doesNotMatch(problems[0]![1], /not-it/);
  });

  it('reports nested problems with dotted paths', () => {
    const problems = problemsOf(
      rawConfig(pki, 'https://services.test.frejaeid.com', {
        minRegistrationLevel: 'BASIC',
        displayName: { sv: 'Freja' },
        acr: { PLUS: 'urn:same', EXTENDED: 'urn:same' },
        launch: { devAppUrl: '/x' },
        timeoutMs: 10,
      }),
    );
    assert.deepEqual(problems.map(([p]) => p).sort(), ['displayName.en', 'launch', 'minRegistrationLevel', 'timeoutMs']);
    const same = problemsOf(rawConfig(pki, 'https://services.test.frejaeid.com', { acr: { PLUS: 'urn:same', EXTENDED: 'urn:same' } }));
    assert.deepEqual(same.map(([p]) => p), ['acr.EXTENDED']);
  });

  it('refuses unknown keys', () => {
    assert.deepEqual(problemsOf(rawConfig(pki, 'https://services.test.frejaeid.com', { userInfoType: 'SSN' })).map(([p]) => p), ['']);
  });

  it('create() throws CONFIG_INVALID naming the method when a file has gone', async () => {
    const v = frejaModule.validate(rawConfig(pki, 'https://services.test.frejaeid.com'));
    assert.ok(v.ok);
    const err = await rejectsHub(frejaModule.create('freja', { ...v.config, signingCertificates: [join(pki.dir, 'gone.pem')] }, testDeps()), 'CONFIG_INVALID');
    assert.match(err.detail ?? '', /methods\.freja\.config\.signingCertificates\.0/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('adapter surface', () => {
  it('carries the method URI, display name, acr values and poll interval', async () => {
    const plus = await adapter();
    assert.equal(plus.kind, 'polling');
    assert.equal(plus.id, 'freja');
    assert.equal(plus.methodUri, FREJA_METHOD_URI);
    assert.equal(FREJA_METHOD_URI, 'urn:idnav:method:freja');
    assert.deepEqual(plus.displayName, { sv: 'Freja eID', en: 'Freja eID' });
    assert.deepEqual(plus.acrValues, [LOA3]);
    assert.equal(plus.pollIntervalMs, 2000);
    const extended = await adapter({ minRegistrationLevel: 'EXTENDED' });
    assert.deepEqual(extended.acrValues, [LOA3, LOA2]);
  });

  it('QR payload and launch link are the static bindUserToTransaction URL', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: IP });
    const ref = refOf(started.handle);
    assert.equal(started.autoStartToken, ref);
    const expected = `frejaeid://bindUserToTransaction?transactionReference=${encodeURIComponent(ref)}`;
    assert.equal(a.qrFrame(started.handle, Date.now()), expected);
    assert.equal(a.qrFrame(started.handle, Date.now() + 60_000), expected, 'the same at any time');
    assert.equal(a.launchUrl(ref, 'Mozilla/5.0 (iPhone)'), expected);
    assert.equal(bindUserUrl('a+b/c='), 'frejaeid://bindUserToTransaction?transactionReference=a%2Bb%2Fc%3D');
  });

  it('in dev, the launch link opens the simulated app, which then delivers the transaction', async () => {
    const a = await adapter({ launch: { insecureDevAppUrl: sim.appUrl } });
    const started = await a.start({ endUserIp: IP });
    const link = a.launchUrl(started.autoStartToken!, undefined)!;
    assert.equal(link, `${sim.appUrl}?transactionReference=${encodeURIComponent(started.autoStartToken!)}`);
    const res = await fetch(link);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(txOf(started.autoStartToken!).status, 'DELIVERED_TO_MOBILE');
    const rel = await adapter({ launch: { insecureDevAppUrl: '/dev/freja-app/?lang=en' } });
    assert.equal(rel.launchUrl('r1', undefined), '/dev/freja-app/?lang=en&transactionReference=r1');
  });

  it('initial messages differ for this device and another device', async () => {
    const a = await adapter();
    assert.deepEqual(a.initialMessage('this'), MESSAGES.openingApp);
    assert.deepEqual(a.initialMessage('other'), MESSAGES.scanQr);
  });

  it('health() succeeds against a reachable Freja and throws during an outage', async () => {
    const a = await adapter();
    await a.health();
    sim.control.switch({ kind: 'error', endpoint: 'getOneResult', httpStatus: 503 });
    await rejectsHub(a.health(), 'EID_UPSTREAM_UNAVAILABLE');
    sim.control.switch({ kind: 'error', endpoint: 'getOneResult', httpStatus: 400, code: 1008 });
    await rejectsHub(a.health(), 'EID_FAILED');
  });

  it('a malformed handle is TRANSACTION_NOT_FOUND', async () => {
    const a = await adapter();
    await rejectsHub(a.poll('not json', { device: 'other' }), 'TRANSACTION_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------------------

describe('start', () => {
  it('INFERRED: userInfo N/A, PLUS, every releasable attribute, the end user IP, form encoding', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: IP });
    const tx = txOf(refOf(started.handle));
    assert.equal(tx.userInfoType, 'INFERRED');
    assert.equal(tx.request.userInfo, 'N/A');
    assert.equal(tx.minRegistrationLevel, 'PLUS');
    assert.deepEqual(tx.attributesToReturn, ['SSN', 'BASIC_USER_INFO', 'DATE_OF_BIRTH', 'REGISTRATION_LEVEL']);
    assert.deepEqual(tx.request.originDeviceDetails, { userIpAddress: IP });
    assert.equal(tx.contentType, 'application/x-www-form-urlencoded');
    assert.equal(tx.relyingPartyId, undefined);
    assert.ok(started.startedAt > 0);
  });

  it('SSN: userInfo is Base64 of {"country":"SE","ssn":...}; the handle does not carry the number', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: IP, personalNumber: TORE });
    const tx = txOf(refOf(started.handle));
    assert.equal(tx.userInfoType, 'SSN');
    assert.deepEqual(JSON.parse(Buffer.from(tx.request.userInfo as string, 'base64').toString('utf8')), { country: 'SE', ssn: TORE });
    assert.equal(tx.requiredPersonalNumber, TORE);
    assert.ok(!started.handle.includes(TORE));
    await a.cancel(started.handle);
  });

  it('asks only for the attributes the client may receive (plus SSN and REGISTRATION_LEVEL)', async () => {
    const a = await adapter();
    const none = await a.start({ endUserIp: IP, releasableAttributes: [] });
    assert.deepEqual(txOf(refOf(none.handle)).attributesToReturn, ['SSN', 'REGISTRATION_LEVEL']);
    const name = await a.start({ endUserIp: IP, releasableAttributes: ['name'] });
    assert.deepEqual(txOf(refOf(name.handle)).attributesToReturn, ['SSN', 'BASIC_USER_INFO', 'REGISTRATION_LEVEL']);
    const birth = await a.start({ endUserIp: IP, releasableAttributes: ['birthdate'] });
    assert.deepEqual(txOf(refOf(birth.handle)).attributesToReturn, ['SSN', 'DATE_OF_BIRTH', 'REGISTRATION_LEVEL']);

    approve(refOf(none.handle));
    const identity = complete(await a.poll(none.handle, { device: 'other' }));
    assert.equal(identity.subject, TORE);
    assert.equal(identity.givenName, undefined);
    assert.equal(identity.familyName, undefined);
    assert.equal(identity.name, undefined);
    assert.equal(identity.birthdate, '1986-02-21', 'from the number');
    const payload = JSON.parse(Buffer.from(identity.evidence!.jws!.split('.')[1]!, 'base64url').toString('utf8'));
    assert.deepEqual(Object.keys(payload.requestedAttributes).sort(), ['registrationLevel', 'ssn']);
  });

  it('sends relyingPartyId when configured', async () => {
    const a = await adapter({ relyingPartyId: 'karlstad-kommun' });
    const started = await a.start({ endUserIp: IP });
    assert.equal(txOf(refOf(started.handle)).relyingPartyId, 'karlstad-kommun');
    // Results and cancel are asked for with the same relyingPartyId (the simulator scopes them by it).
    assert.equal((await a.poll(started.handle, { device: 'other' })).status, 'pending');
    await a.cancel(started.handle);
    assert.equal(txOf(refOf(started.handle)).status, 'RP_CANCELED');
  });

  it('leaves out originDeviceDetails when endUserIp is not an IP address', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: 'unknown' });
    assert.equal(txOf(refOf(started.handle)).request.originDeviceDetails, undefined);
  });

  it('refuses a personal number that is not 12 valid digits before calling Freja', async () => {
    const a = await adapter();
    const calls = sim.control.stats().calls.initAuthentication;
    await rejectsHub(a.start({ endUserIp: IP, personalNumber: '8602212394' }), 'INTERNAL');
    assert.equal(sim.control.stats().calls.initAuthentication, calls);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a full sign-in', () => {
  it('INFERRED: STARTED → DELIVERED_TO_MOBILE → APPROVED gives the Identity at PLUS', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: IP });
    const ref = refOf(started.handle);

    const first = await a.poll(started.handle, { device: 'other' });
    assert.deepEqual(first, { status: 'pending', hint: 'STARTED', message: MESSAGES.scanQr });
    assert.deepEqual(await a.poll(started.handle, { device: 'this' }), { status: 'pending', hint: 'STARTED', message: MESSAGES.openingApp });

    approve(ref, undefined, 'open');
    assert.deepEqual(await a.poll(started.handle, { device: 'other' }), { status: 'pending', hint: 'DELIVERED_TO_MOBILE', message: MESSAGES.approveInAppOther });
    assert.deepEqual(await a.poll(started.handle, { device: 'this' }), { status: 'pending', hint: 'DELIVERED_TO_MOBILE', message: MESSAGES.approveInAppThis });

    approve(ref, KARL_JOHAN);
    const calls = sim.control.stats().calls.getOneResult;
    const identity = complete(await a.poll(started.handle, { device: 'other' }));
    assert.equal(sim.control.stats().calls.getOneResult, calls + 1, 'exactly one getOneResult per poll');
    assert.equal(identity.subjectType, 'personnummer');
    assert.equal(identity.subject, KARL_JOHAN);
    assert.equal(identity.givenName, 'Karl Johan');
    assert.equal(identity.familyName, 'Mellansson');
    assert.equal(identity.name, 'Karl Johan Mellansson');
    assert.equal(identity.birthdate, '1902-08-25');
    assert.equal(identity.method, FREJA_METHOD_URI);
    assert.equal(identity.acr, LOA3);
    assert.deepEqual(identity.amr, ['mfa', 'swk']);
    assert.ok(Math.abs(identity.authTime - Date.now() / 1000) < 60);
    assert.equal(identity.evidence!.authRef, ref);
    assert.equal(identity.evidence!.registrationLevel, 'PLUS');
    assert.equal(identity.evidence!.x5t, sim.control.signingX5t());
    assert.equal(identity.evidence!.jws!.split('.').length, 3);

    // Polling again gives the same result (Freja keeps it), signed once.
    const again = complete(await a.poll(started.handle, { device: 'other' }));
    assert.equal(again.evidence!.jws, identity.evidence!.jws);
  });

  it('SSN: the request reaches the phone by itself and a samordningsnummer is recognised', async () => {
    const a = await adapter();
    const started = await a.start({ endUserIp: IP, personalNumber: EBBA_SAMORDNING });
    assert.deepEqual(await a.poll(started.handle, { device: 'other' }), { status: 'pending', hint: 'STARTED', message: MESSAGES.sentToPhone });
    sim.advance(1_000);
    assert.deepEqual(await a.poll(started.handle, { device: 'other' }), { status: 'pending', hint: 'DELIVERED_TO_MOBILE', message: MESSAGES.approveInAppOther });
    approve(refOf(started.handle));
    const identity = complete(await a.poll(started.handle, { device: 'other' }));
    assert.equal(identity.subjectType, 'samordningsnummer');
    assert.equal(identity.subject, EBBA_SAMORDNING);
    assert.equal(identity.birthdate, '1908-03-15');
    assert.equal(identity.givenName, 'Ebba');
  });

  it('EXTENDED: a user with Freja eID Extended gets the EXTENDED acr, a Plus user the PLUS acr', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s1 = await a.start({ endUserIp: IP });
    assert.equal(txOf(refOf(s1.handle)).minRegistrationLevel, 'EXTENDED');
    approve(refOf(s1.handle), SIGRID);
    const sigrid = complete(await a.poll(s1.handle, { device: 'other' }));
    assert.equal(sigrid.subject, SIGRID);
    assert.equal(sigrid.acr, LOA2);
    assert.equal(sigrid.evidence!.registrationLevel, 'EXTENDED');

    const s2 = await a.start({ endUserIp: IP });
    approve(refOf(s2.handle), TORE);
    assert.equal(complete(await a.poll(s2.handle, { device: 'other' })).acr, LOA3);
  });

  it('uses the configured acr mapping', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED', acr: { PLUS: 'urn:test:high', EXTENDED: 'urn:test:substantial' } });
    assert.deepEqual(a.acrValues, ['urn:test:high', 'urn:test:substantial']);
    const s = await a.start({ endUserIp: IP });
    approve(refOf(s.handle), SIGRID);
    assert.equal(complete(await a.poll(s.handle, { device: 'other' })).acr, 'urn:test:substantial');
  });
});

// ---------------------------------------------------------------------------------------------

describe('acceptable acr', () => {
  it('an RP that accepts only LoA3 starts at PLUS and an EXTENDED user cannot approve', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s = await a.start({ endUserIp: IP, acceptableAcr: [LOA3] });
    assert.equal(txOf(refOf(s.handle)).minRegistrationLevel, 'PLUS');
    const refused = sim.control.app({ transactionReference: refOf(s.handle), personalNumber: SIGRID, action: 'approve' });
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error, 'registrationLevelTooLow');
    assert.equal((await a.poll(s.handle, { device: 'other' })).status, 'pending');
    await a.cancel(s.handle);
  });

  it('a result claiming EXTENDED for a PLUS transaction is refused even when signed', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s = await a.start({ endUserIp: IP, acceptableAcr: [LOA3] });
    approve(refOf(s.handle), TORE);
    sim.control.switch({ kind: 'result', requestedAttributes: { registrationLevel: 'EXTENDED' } });
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
    assert.deepEqual(f.message, MESSAGES.levelTooLow);
    // The real result (PLUS) is fine.
    assert.equal(complete(await a.poll(s.handle, { device: 'other' })).acr, LOA3);
  });

  it('a Plus user fails when only the EXTENDED acr is acceptable', async () => {
    const a = await adapter({ minRegistrationLevel: 'EXTENDED' });
    const s = await a.start({ endUserIp: IP, acceptableAcr: [LOA2] });
    assert.equal(txOf(refOf(s.handle)).minRegistrationLevel, 'EXTENDED');
    approve(refOf(s.handle), TORE);
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_FAILED', 'invalidResult');
    assert.deepEqual(f.message, MESSAGES.levelUnsupported);
  });

  it('no reachable acr: EID_UNSUPPORTED before calling Freja', async () => {
    const plus = await adapter();
    const calls = sim.control.stats().calls.initAuthentication;
    const err = await rejectsHub(plus.start({ endUserIp: IP, acceptableAcr: [LOA2] }), 'EID_UNSUPPORTED');
    assert.deepEqual(err.userMessage, MESSAGES.levelUnsupported);
    await rejectsHub(plus.start({ endUserIp: IP, acceptableAcr: ['urn:other'] }), 'EID_UNSUPPORTED');
    assert.equal(sim.control.stats().calls.initAuthentication, calls);
  });

  it('SSN to an EXTENDED user at PLUS: never delivered, ends EXPIRED', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP, personalNumber: SIGRID });
    sim.advance(5_000);
    assert.equal((await a.poll(s.handle, { device: 'other' }) as { hint: string }).hint, 'STARTED');
    const refused = sim.control.app({ transactionReference: refOf(s.handle), action: 'approve' });
    assert.equal(!refused.ok && refused.error, 'registrationLevelTooLow');
    sim.advance(120_000);
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_EXPIRED', 'EXPIRED');
    assert.deepEqual(f.message, MESSAGES.expired);
  });
});

// ---------------------------------------------------------------------------------------------

describe('statuses', () => {
  it('CANCELED in the app → EID_USER_CANCELLED', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP });
    approve(refOf(s.handle), TORE, 'cancel');
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_USER_CANCELLED', 'CANCELED');
    assert.deepEqual(f.message, MESSAGES.userCancelled);
  });

  it('REJECTED → EID_RISK_BLOCKED', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP });
    approve(refOf(s.handle), TORE, 'reject');
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_RISK_BLOCKED', 'REJECTED');
  });

  it('RP_CANCELED → EID_FAILED (the hub, not the user, ended it)', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP });
    await a.cancel(s.handle);
    const f = failed(await a.poll(s.handle, { device: 'other' }), 'EID_FAILED', 'RP_CANCELED');
    assert.deepEqual(f.message, MESSAGES.rpCancelled);
  });

  it('EXPIRED → EID_EXPIRED', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP });
    sim.advance(120_000);
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_EXPIRED', 'EXPIRED');
  });

  it('an unknown or long-gone reference (1100) → EID_EXPIRED', async () => {
    const a = await adapter();
    const handle = JSON.stringify({ r: 'no-such-reference', at: Date.now(), l: 'PLUS', a: ['PLUS'] });
    failed(await a.poll(handle, { device: 'other' }), 'EID_EXPIRED', 'error');
    const s = await a.start({ endUserIp: IP });
    approve(refOf(s.handle));
    sim.advance(11 * 60_000);
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_EXPIRED', 'error');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Freja error codes', () => {
  const INIT: Array<[number, number, string]> = [
    [400, 1000, 'EID_START_FAILED'],
    [400, 1001, 'EID_START_FAILED'],
    [400, 1002, 'EID_START_FAILED'],
    [422, 1002, 'EID_START_FAILED'],
    [400, 1004, 'EID_START_FAILED'],
    [400, 1007, 'EID_START_FAILED'],
    [400, 1008, 'EID_START_FAILED'],
    [400, 1010, 'EID_START_FAILED'],
    [400, 1011, 'EID_START_FAILED'],
    [400, 2002, 'EID_START_FAILED'],
    [400, 4711, 'EID_START_FAILED'],
    [400, 1005, 'EID_FAILED'],
    [400, 1012, 'EID_FAILED'],
    [400, 2000, 'EID_ALREADY_IN_PROGRESS'],
    [400, 0, 'EID_UPSTREAM_UNAVAILABLE'],
  ];
  for (const [httpStatus, code, expected] of INIT) {
    it(`initAuthentication HTTP ${httpStatus} code ${code} → ${expected}`, async () => {
      const a = await adapter();
      sim.control.switch({ kind: 'error', endpoint: 'initAuthentication', httpStatus, code });
      const err = await rejectsHub(a.start({ endUserIp: IP, personalNumber: TORE }), expected);
      assert.ok(err.userMessage, 'a user message');
      assert.match(err.detail ?? '', new RegExp(`code ${code}`));
      assert.ok(!(err.detail ?? '').includes(TORE), 'no personal number in detail');
    });
  }

  const RESULT: Array<[number, number | undefined, string]> = [
    [400, 1100, 'EID_EXPIRED'],
    [400, 1000, 'EID_FAILED'],
    [400, 1004, 'EID_FAILED'],
    [400, 1008, 'EID_FAILED'],
    [400, 1010, 'EID_FAILED'],
    [400, 0, 'EID_UPSTREAM_UNAVAILABLE'],
    [500, undefined, 'EID_UPSTREAM_UNAVAILABLE'],
    [502, undefined, 'EID_UPSTREAM_UNAVAILABLE'],
    [429, undefined, 'EID_UPSTREAM_RATE_LIMITED'],
    [404, undefined, 'EID_RESPONSE_INVALID'],
    [400, undefined, 'EID_RESPONSE_INVALID'],
  ];
  for (const [httpStatus, code, expected] of RESULT) {
    it(`getOneResult HTTP ${httpStatus} code ${code ?? '(none)'} → ${expected}, hint error`, async () => {
      const a = await adapter();
      const s = await a.start({ endUserIp: IP });
      sim.control.switch({ kind: 'error', endpoint: 'getOneResult', httpStatus, ...(code !== undefined ? { code } : {}) });
      failed(await a.poll(s.handle, { device: 'other' }), expected, 'error');
      assert.equal((await a.poll(s.handle, { device: 'other' })).status, 'pending', 'only that call failed');
    });
  }

  it('1005 and 1012 carry their own user messages (real answers of the simulator)', async () => {
    const a = await adapter();
    sim.control.setPerson(TORE, { serviceDisabled: true });
    const disabled = await rejectsHub(a.start({ endUserIp: IP, personalNumber: TORE }), 'EID_FAILED');
    assert.deepEqual(disabled.userMessage, MESSAGES.serviceDisabled);
    assert.ok(!(disabled.detail ?? '').includes(TORE));
    const unknown = await rejectsHub(a.start({ endUserIp: IP, personalNumber: NOBODY }), 'EID_FAILED');
    assert.deepEqual(unknown.userMessage, MESSAGES.userNotFound);
    assert.ok(!(unknown.detail ?? '').includes(NOBODY));
  });

  it('2000: a second sign-in for the same person while one runs', async () => {
    const a = await adapter();
    const first = await a.start({ endUserIp: IP, personalNumber: TORE });
    const err = await rejectsHub(a.start({ endUserIp: IP, personalNumber: TORE }), 'EID_ALREADY_IN_PROGRESS');
    assert.deepEqual(err.userMessage, MESSAGES.alreadyInProgress);
    assert.ok(!(err.detail ?? '').includes(TORE));
    await a.cancel(first.handle);
    const second = await a.start({ endUserIp: IP, personalNumber: TORE });
    await a.cancel(second.handle);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the signed result', () => {
  async function approvedHandle(a: PollingEidAdapter, personalNumber?: string): Promise<string> {
    const s = await a.start({ endUserIp: IP, ...(personalNumber ? { personalNumber } : {}) });
    approve(refOf(s.handle), personalNumber ?? TORE);
    return s.handle;
  }

  const CASES: Array<[string, Parameters<TestSimulator['control']['switch']>[0]]> = [
    ['an unknown x5t', { kind: 'result', x5t: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a bad signature', { kind: 'result', signature: 'corrupt' }],
    ['an HMAC alg', { kind: 'result', alg: 'HS256' }],
    ['another authRef in the payload', { kind: 'result', payload: { authRef: 'another-transaction' } }],
    ['a status other than APPROVED in the payload', { kind: 'result', payload: { status: 'CANCELED' } }],
    ['another minRegistrationLevel in the payload', { kind: 'result', payload: { minRegistrationLevel: 'BASIC' } }],
    ['no requestedAttributes', { kind: 'result', payload: { requestedAttributes: null } }],
    ['no SSN', { kind: 'result', requestedAttributes: { ssn: null } }],
    ['a foreign SSN', { kind: 'result', requestedAttributes: { ssn: { ssn: TORE, country: 'NO' } } }],
    ['an SSN with a bad check digit', { kind: 'result', requestedAttributes: { ssn: { ssn: '198602212395', country: 'SE' } } }],
    ['a BASIC registration level', { kind: 'result', requestedAttributes: { registrationLevel: 'BASIC' } }],
  ];
  for (const [name, s] of CASES) {
    it(`${name} → EID_RESPONSE_INVALID`, async () => {
      const logged: Logged[] = [];
      const a = await adapter({}, logged);
      const handle = await approvedHandle(a);
      sim.control.switch(s);
      failed(await a.poll(handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
      const warning = logged.find((l) => l.msg === 'Freja result refused');
      assert.ok(warning, 'the reason is logged for the operator');
      assert.ok(!JSON.stringify(warning.obj).includes(TORE), 'without the personal number');
      // Without the alteration the same transaction completes.
      complete(await a.poll(handle, { device: 'other' }));
    });
  }

  it('an SSN transaction whose signed number is another person → EID_RESPONSE_INVALID', async () => {
    const a = await adapter();
    const handle = await approvedHandle(a, EBBA_SAMORDNING);
    sim.control.switch({ kind: 'result', requestedAttributes: { ssn: { ssn: TORE, country: 'SE' } } });
    failed(await a.poll(handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
    sim.control.switch({ kind: 'result', payload: { userInfoType: 'INFERRED' } });
    failed(await a.poll(handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
    assert.equal(complete(await a.poll(handle, { device: 'other' })).subject, EBBA_SAMORDNING);
  });

  it('names come only from the signed payload', async () => {
    const a = await adapter();
    const handle = await approvedHandle(a);
    sim.control.switch({ kind: 'result', requestedAttributes: { basicUserInfo: { name: 'Signed', surname: 'Name' } } });
    const identity = complete(await a.poll(handle, { device: 'other' }));
    assert.equal(identity.name, 'Signed Name');
  });

  it('rollover: with both certificates configured the next key verifies; with only the old one it fails', async () => {
    const both = await adapter({ signingCertificates: [pki.frejaSigningCert, pki.frejaSigningNextCert] });
    const oldOnly = await adapter();
    const earlier = await approvedHandle(both);
    assert.equal(complete(await both.poll(earlier, { device: 'other' })).evidence!.x5t, sim.control.signingX5t());

    const next = sim.control.rollover();
    const handle = await approvedHandle(both);
    failed(await oldOnly.poll(handle, { device: 'other' }), 'EID_RESPONSE_INVALID', 'invalidResult');
    const identity = complete(await both.poll(handle, { device: 'other' }));
    assert.equal(identity.evidence!.x5t, next);

    // A result signed before the rollover still verifies (kept as signed).
    assert.equal(complete(await oldOnly.poll(earlier, { device: 'other' })).subject, TORE);
    const nextOnly = await adapter({ signingCertificates: [pki.frejaSigningNextCert] });
    complete(await nextOnly.poll(handle, { device: 'other' }));
  });

  it('a bundle file with both certificates works like two entries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idnav-freja-'));
    try {
      const bundle = join(dir, 'freja-signing-bundle.pem');
      await writeFile(bundle, (await readFile(pki.frejaSigningCert, 'utf8')) + (await readFile(pki.frejaSigningNextCert, 'utf8')));
      const a = await adapter({ signingCertificates: [bundle] });
      complete(await a.poll(await approvedHandle(a), { device: 'other' }));
      sim.control.rollover();
      complete(await a.poll(await approvedHandle(a), { device: 'other' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('cancel', () => {
  it('cancels a pending transaction and never throws for one that has ended', async () => {
    const a = await adapter();
    const s = await a.start({ endUserIp: IP });
    await a.cancel(s.handle);
    assert.equal(txOf(refOf(s.handle)).status, 'RP_CANCELED');
    await a.cancel(s.handle);

    const done = await a.start({ endUserIp: IP });
    approve(refOf(done.handle));
    await a.cancel(done.handle);
    assert.equal(txOf(refOf(done.handle)).status, 'APPROVED');
  });

  it('does not throw when Freja cannot be reached; logs instead', async () => {
    const logged: Logged[] = [];
    const a = await adapter({}, logged);
    const s = await a.start({ endUserIp: IP });
    sim.control.switch({ kind: 'outage', endpoint: 'cancel' });
    await a.cancel(s.handle);
    assert.ok(logged.some((l) => l.msg === 'Freja cancel failed'));
    await a.cancel(s.handle);
  });
});

// ---------------------------------------------------------------------------------------------

describe('transport', () => {
  it('503 with Retry-After → EID_UPSTREAM_UNAVAILABLE with retryAfterMs', async () => {
    const a = await adapter();
    sim.control.switch({ kind: 'error', endpoint: 'initAuthentication', httpStatus: 503, retryAfterSeconds: 7 });
    const err = await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
    assert.equal(err.retryAfterMs, 7000);
    assert.deepEqual(err.userMessage, MESSAGES.unavailable);
  });

  it('a dropped connection → EID_UPSTREAM_UNAVAILABLE (start throws, poll fails with hint error)', async () => {
    const a = await adapter();
    sim.control.switch({ kind: 'outage', endpoint: 'initAuthentication' });
    await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
    const s = await a.start({ endUserIp: IP });
    sim.control.switch({ kind: 'outage', endpoint: 'getOneResult' });
    failed(await a.poll(s.handle, { device: 'other' }), 'EID_UPSTREAM_UNAVAILABLE', 'error');
  });

  it('an answer slower than timeoutMs → EID_UPSTREAM_UNAVAILABLE', async () => {
    const a = await adapter({ timeoutMs: 500 });
    sim.control.switch({ kind: 'delay', endpoint: 'initAuthentication', ms: 1500 });
    await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
  });

  it('nothing listening → EID_UPSTREAM_UNAVAILABLE', async () => {
    const a = await adapter({}, undefined, `https://127.0.0.1:${await closedPort()}`);
    await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
    await rejectsHub(a.health(), 'EID_UPSTREAM_UNAVAILABLE');
  });

  it('a client certificate from another CA is refused by the server', async () => {
    const a = await adapter({ clientCert: { certFile: pki.foreignClientCert, keyFile: pki.foreignClientKey } });
    const calls = sim.control.stats().calls.initAuthentication;
    const err = await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
    assert.match(err.detail ?? '', /client certificate|TLS/i);
    assert.equal(sim.control.stats().calls.initAuthentication, calls, 'no HTTP request got through');
  });

  it('a server whose certificate does not chain to the pinned CA is refused', async () => {
    let unpinned: FrejaSimulator | undefined;
    try {
      unpinned = await startFrejaSimulator({
        tls: {
          cert: await readFile(pki.unpinnedServerCert, 'utf8'),
          key: await readFile(pki.unpinnedServerKey, 'utf8'),
          clientCa: await readFile(pki.frejaClientCa, 'utf8'),
        },
        signing: { cert: await readFile(pki.frejaSigningCert, 'utf8'), key: await readFile(pki.frejaSigningKey, 'utf8') },
        appPort: false,
      });
      const a = await adapter({}, undefined, unpinned.url);
      const err = await rejectsHub(a.start({ endUserIp: IP }), 'EID_UPSTREAM_UNAVAILABLE');
      assert.match(err.detail ?? '', /TLS|CERT|UNABLE/i);
      assert.equal(unpinned.control.stats().calls.initAuthentication, 0);
      // Pinning that server's CA instead proves it was the pin, not the server.
      const pinned = await adapter({ caFile: pki.unpinnedServerCa }, undefined, unpinned.url);
      const s = await pinned.start({ endUserIp: IP });
      assert.ok(s.handle);
    } finally {
      await unpinned?.close();
    }
  });

  it('a caller abort ends the call', async () => {
    const a = await adapter();
    sim.control.switch({ kind: 'delay', endpoint: 'initAuthentication', ms: 1000 });
    await rejectsHub(a.start({ endUserIp: IP }, AbortSignal.timeout(100)), 'EID_UPSTREAM_UNAVAILABLE');
  });
});
