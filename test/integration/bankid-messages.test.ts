/**
 * Every BankID hint code and error code, each produced by a simulator switch, shown to the user as
 * BankID's recommended message (RFA) in Swedish and in English; unknown codes fall back as BankID says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RFA } from '../../adapters/bankid/messages.ts';
import type { SimulatorSwitch } from '../../adapters/bankid/simulator/server.ts';
import type { Localized } from '../../src/contracts/identity.ts';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, openLogin, redirectUriFor, rpFor, statusUrlOf, waitForStatus, type Status } from '../helpers/flows.ts';

const UPDATE_APP = { sv: 'Din BankID-app behöver uppdateras. Uppdatera appen och försök igen.', en: 'Your BankID app needs to be updated. Please update the app and try again.' };

type Device = 'other' | 'this';
interface CollectCase { kind: 'collect'; status: 'pending' | 'failed'; hint: string; device: Device; expected: Localized }
interface ErrorCase { kind: 'error'; endpoint: 'auth' | 'collect'; httpStatus: number; errorCode?: string; expected: Localized }
interface DelayCase { kind: 'delay'; expected: Localized }
type Case = CollectCase | ErrorCase | DelayCase;

const CASES: Record<string, Case> = {
  'pending outstandingTransaction (QR)': { kind: 'collect', status: 'pending', hint: 'outstandingTransaction', device: 'other', expected: RFA.RFA1 },
  'pending outstandingTransaction (this device)': { kind: 'collect', status: 'pending', hint: 'outstandingTransaction', device: 'this', expected: RFA.RFA13 },
  'pending noClient': { kind: 'collect', status: 'pending', hint: 'noClient', device: 'other', expected: RFA.RFA1 },
  'pending started (computer)': { kind: 'collect', status: 'pending', hint: 'started', device: 'this', expected: RFA.RFA15A },
  'pending userSign': { kind: 'collect', status: 'pending', hint: 'userSign', device: 'other', expected: RFA.RFA9 },
  'pending userMrtd': { kind: 'collect', status: 'pending', hint: 'userMrtd', device: 'other', expected: RFA.RFA23 },
  'pending userCallConfirm': { kind: 'collect', status: 'pending', hint: 'userCallConfirm', device: 'other', expected: RFA.RFA21 },
  'pending unknown hint': { kind: 'collect', status: 'pending', hint: 'someFutureHint', device: 'other', expected: RFA.RFA21 },
  'failed expiredTransaction': { kind: 'collect', status: 'failed', hint: 'expiredTransaction', device: 'other', expected: RFA.RFA8 },
  'failed certificateErr': { kind: 'collect', status: 'failed', hint: 'certificateErr', device: 'other', expected: RFA.RFA16 },
  'failed userCancel': { kind: 'collect', status: 'failed', hint: 'userCancel', device: 'other', expected: RFA.RFA6 },
  'failed cancelled': { kind: 'collect', status: 'failed', hint: 'cancelled', device: 'other', expected: RFA.RFA3 },
  'failed startFailed (QR)': { kind: 'collect', status: 'failed', hint: 'startFailed', device: 'other', expected: RFA.RFA17B },
  'failed startFailed (this device)': { kind: 'collect', status: 'failed', hint: 'startFailed', device: 'this', expected: RFA.RFA17A },
  'failed userDeclinedCall': { kind: 'collect', status: 'failed', hint: 'userDeclinedCall', device: 'other', expected: RFA.RFA6 },
  'failed notSupportedByUserApp': { kind: 'collect', status: 'failed', hint: 'notSupportedByUserApp', device: 'other', expected: UPDATE_APP },
  'failed transactionRiskBlocked': { kind: 'collect', status: 'failed', hint: 'transactionRiskBlocked', device: 'other', expected: RFA.RFA22 },
  'failed unknown hint': { kind: 'collect', status: 'failed', hint: 'someFutureFailure', device: 'other', expected: RFA.RFA22 },
  'auth alreadyInProgress': { kind: 'error', endpoint: 'auth', httpStatus: 400, errorCode: 'alreadyInProgress', expected: RFA.RFA4 },
  'auth invalidParameters': { kind: 'error', endpoint: 'auth', httpStatus: 400, errorCode: 'invalidParameters', expected: RFA.RFA5 },
  'auth unauthorized': { kind: 'error', endpoint: 'auth', httpStatus: 401, errorCode: 'unauthorized', expected: RFA.RFA5 },
  'auth notFound': { kind: 'error', endpoint: 'auth', httpStatus: 404, errorCode: 'notFound', expected: RFA.RFA5 },
  'auth methodNotAllowed': { kind: 'error', endpoint: 'auth', httpStatus: 405, errorCode: 'methodNotAllowed', expected: RFA.RFA5 },
  'auth requestTimeout': { kind: 'error', endpoint: 'auth', httpStatus: 408, errorCode: 'requestTimeout', expected: RFA.RFA5 },
  'auth unsupportedMediaType': { kind: 'error', endpoint: 'auth', httpStatus: 415, errorCode: 'unsupportedMediaType', expected: RFA.RFA5 },
  'auth 429 rate limited': { kind: 'error', endpoint: 'auth', httpStatus: 429, expected: RFA.RFA5 },
  'auth internalError': { kind: 'error', endpoint: 'auth', httpStatus: 500, errorCode: 'internalError', expected: RFA.RFA5 },
  'auth maintenance': { kind: 'error', endpoint: 'auth', httpStatus: 503, errorCode: 'maintenance', expected: RFA.RFA5 },
  'auth unknown errorCode': { kind: 'error', endpoint: 'auth', httpStatus: 400, errorCode: 'someNewErrorCode', expected: RFA.RFA22 },
  'collect maintenance': { kind: 'error', endpoint: 'collect', httpStatus: 503, errorCode: 'maintenance', expected: RFA.RFA5 },
  'collect internalError': { kind: 'error', endpoint: 'collect', httpStatus: 500, errorCode: 'internalError', expected: RFA.RFA5 },
  'collect 429 rate limited': { kind: 'error', endpoint: 'collect', httpStatus: 429, expected: RFA.RFA5 },
  'auth timeout (slow BankID)': { kind: 'delay', expected: RFA.RFA5 },
};

let env: TestEnv;
const results = new Map<string, { sv: Status; en: Status; pageHtml: string }>();

/** Runs one case end to end: its own browser and sign-in, the switch, then the status in both languages. */
async function runCase(name: string, c: Case): Promise<void> {
  const rp = await rpFor(env, 'kommun-app');
  const browser = new Browser();
  const req = await authorizationRequest(rp, redirectUriFor(env, 'kommun-app'));
  const authUrl = req.url;
  if (c.kind === 'error' && c.endpoint === 'auth') {
    // The switch must hit this case's /auth and no other: serialise the start of such cases.
    await serial(async () => {
      env.sims.bankid.control.switch({ kind: 'error', endpoint: 'auth', count: 1, httpStatus: c.httpStatus, ...(c.errorCode ? { errorCode: c.errorCode } : {}) } as SimulatorSwitch);
      await openAndRecord(name, browser, authUrl, req);
    });
    return;
  }
  if (c.kind === 'delay') {
    await serial(async () => {
      env.sims.bankid.control.switch({ kind: 'delay', endpoint: 'auth', count: 1, ms: 1800 });
      await openAndRecord(name, browser, authUrl, req);
    });
    return;
  }
  // Orders start one at a time so that each case knows its own order (and no error switch hits it).
  const { opened, orderRef } = await serial(async () => {
    const o = await openLogin(browser, req);
    return { opened: o, orderRef: env.sims.bankid.control.orders().at(-1)!.orderRef };
  });
  const statusUrl = statusUrlOf(opened.pageUrl!, opened.html!);
  if (c.kind === 'collect' && c.device === 'this') {
    const launch = /id="launch" href="([^"]+)"/.exec(opened.html!)![1]!.replace(/&amp;/g, '&');
    const res = await browser.get(new URL(launch, opened.pageUrl));
    assert.equal(res.status, 302);
  }
  if (c.kind === 'collect') env.sims.bankid.control.switch({ kind: 'collect', orderRef, status: c.status, hintCode: c.hint });
  // Passing collect errors are retried: three in a row end the order.
  else env.sims.bankid.control.switch({ kind: 'error', endpoint: 'collect', count: 3, httpStatus: c.httpStatus, ...(c.errorCode ? { errorCode: c.errorCode } : {}) } as SimulatorSwitch);
  const wanted = c.kind === 'collect' ? (s: Status) => s.hintCode === c.hint : (s: Status) => s.status === 'failed';
  const sv = await waitForStatus(browser, statusUrl, wanted, 12_000);
  const en = await browser.json<Status>(`${statusUrl.href}?lang=en`);
  const pageHtml = await (await browser.get(opened.pageUrl!)).text();
  results.set(name, { sv, en, pageHtml });
}

let chain: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

async function openAndRecord(name: string, browser: Browser, _url: URL, req: Awaited<ReturnType<typeof authorizationRequest>>) {
  const opened = await openLogin(browser, req);
  const statusUrl = statusUrlOf(opened.pageUrl!, opened.html!);
  const sv = await browser.json<Status>(statusUrl);
  const en = await browser.json<Status>(`${statusUrl.href}?lang=en`);
  results.set(name, { sv, en, pageHtml: opened.html! });
}

before(async () => {
  // A short adapter timeout so that a slow BankID is a timeout within the test.
  env = await startTestEnv({
    demo: false,
    override: (c) => ({ ...c, methods: c.methods.map((m) => (m.type === 'bankid' ? { ...m, config: { ...m.config, timeoutMs: 1000 } } : m)) }),
  });
  // A collect error switch hits whichever order is collected next, so those cases run alone, afterwards.
  const entries = Object.entries(CASES);
  const collectErrors = entries.filter(([, c]) => c.kind === 'error' && c.endpoint === 'collect');
  await Promise.all(entries.filter((e) => !collectErrors.includes(e)).map(([name, c]) => runCase(name, c)));
  for (const [name, c] of collectErrors) await runCase(name, c);
});
after(() => env.close());

describe('BankID hint codes and error codes become BankID recommended messages', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const r = results.get(name);
      assert.ok(r, 'the case ran');
      assert.equal(r.sv.message, c.expected.sv, 'Swedish');
      assert.equal(r.en.message, c.expected.en, 'English');
      if (c.kind === 'collect' && c.status === 'pending') {
        assert.equal(r.sv.status, 'pending');
        assert.ok(r.sv.qr, 'the QR code keeps coming while pending');
      } else {
        assert.equal(r.sv.status, 'failed');
        assert.ok(r.sv.retry && r.sv.next, 'try again and back to the service');
        assert.match(r.pageHtml, /Försök igen|Try again/);
        assert.doesNotMatch(r.pageHtml, /Internal Server Error/);
      }
    });
  }
});

describe('a passing BankID failure during collect', () => {
  it('does not end the order: the next collect continues it to completion', async () => {
    const rp = await rpFor(env, 'kommun-app');
    const browser = new Browser();
    const req = await authorizationRequest(rp, redirectUriFor(env, 'kommun-app'));
    const opened = await openLogin(browser, req);
    const statusUrl = statusUrlOf(opened.pageUrl!, opened.html!);
    const first = await browser.json<Status>(statusUrl);
    env.sims.bankid.control.switch({ kind: 'error', endpoint: 'collect', count: 1, httpStatus: 503, errorCode: 'maintenance' });
    const scanned = env.sims.bankid.control.scan({ qr: first.qr!, personalNumber: '198602212394', action: 'approve' });
    assert.ok(scanned.ok, JSON.stringify(scanned));
    const done = await waitForStatus(browser, statusUrl, undefined, 12_000);
    assert.equal(done.status, 'complete');
    assert.ok(env.logs.some((l) => l.includes('will retry')), 'the failed collect was retried');
  });
});
