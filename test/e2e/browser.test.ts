/**
 * The hub in a real browser: headless Chromium (Debian's package) against the hub with the BankID
 * simulator and the demo relying parties. What a person sees and does: the tenant-branded chooser,
 * the animated QR code read back from the screen, the same-device flow through the simulated app,
 * the languages, BankID's messages for every hint code, accessibility (axe-core), keyboard-only use,
 * and screenshots for review (test-results/screenshots/) and for the README (docs/screenshots/).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parse } from 'yaml';
import { RFA, failedOutcome } from '../../adapters/bankid/messages.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import {
  CHROMIUM,
  DEMO,
  PERSON,
  PERSON_2,
  PROJECT_DIR,
  assertFocusVisible,
  chromiumMissing,
  decodeQr,
  docsScreenshot,
  expectSignedIn,
  focused,
  formatViolations,
  launchChromium,
  newContext,
  openBankIdPage,
  readNextQr,
  readQrFromPage,
  retryBankIdPage,
  runAxe,
  scan,
  screenshot,
  tabTo,
  waitForText,
  waitUntil,
  type QrReading,
} from './helpers.ts';

let env: TestEnv;
let browser: Browser;
const contexts = new Set<BrowserContext>();

async function context(options: { bypassCSP?: boolean } = {}): Promise<{ ctx: BrowserContext; page: Page }> {
  if (!browser) throw new Error(chromiumMissing() ?? 'the browser did not start');
  const ctx = await newContext(browser, options);
  contexts.add(ctx);
  const page = await ctx.newPage();
  return { ctx, page };
}

async function closeContext(ctx: BrowserContext): Promise<void> {
  contexts.delete(ctx);
  await ctx.close();
}

/** `#rrggbb` to the `rgb(r, g, b)` a computed style reports. */
function rgb(hex: string): string {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** The demo RP's `/state` as the browser's own cookies see it. */
async function rpState(page: Page): Promise<Record<string, unknown>> {
  return (await (await page.request.get(`${env.issuer}${DEMO}/state`)).json()) as Record<string, unknown>;
}

/** Signs the context in through the QR path: the order's current QR (from the simulator) is scanned. */
async function signIn(page: Page): Promise<void> {
  const { orderRef } = await openBankIdPage(env, page);
  const qr = env.sims.bankid.control.currentQr(orderRef);
  assert.ok(qr, 'the order has a QR code');
  await scan(env, qr);
  await expectSignedIn(env, page);
}

before(async () => {
  // Without Chromium every test fails with the reason (none is skipped).
  if (chromiumMissing()) return;
  browser = await launchChromium();
  env = await startTestEnv();
});

after(async () => {
  for (const ctx of contexts) await ctx.close().catch(() => undefined);
  await browser?.close();
  await env?.close();
});

it(`Chromium is installed (${CHROMIUM})`, () => {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
});

describe('sign-in with BankID on another device (QR code)', () => {
  it('Karlstad e-service → branded chooser → animated QR read from the screen → scanned → signed in', async () => {
    const { ctx, page } = await context();
    await page.goto(`${env.issuer}${DEMO}/`);
    await page.getByRole('link', { name: 'Logga in', exact: true }).click();

    // The chooser carries Karlstad's name and stylesheet.
    await page.waitForURL(/\/login\/[^/]+$/);
    await page.getByRole('heading', { name: 'Välj hur du vill logga in' }).waitFor();
    const karlstad = parse(readFileSync(join(PROJECT_DIR, 'config', 'tenants', 'karlstad.yaml'), 'utf8')) as { name: { sv: string }; branding: { primaryColor: string } };
    assert.ok(await page.locator('header').getByText(karlstad.name.sv).isVisible(), `${karlstad.name.sv} is named in the header`);
    assert.match(await page.title(), new RegExp(karlstad.name.sv));
    const sheet = await page.evaluate(() =>
      Array.from(document.styleSheets).filter((s) => s.href?.endsWith('/assets/tenant/karlstad.css')).map((s) => s.cssRules.length),
    );
    assert.equal(sheet.length, 1, 'the tenant stylesheet is linked');
    assert.ok(sheet[0]! > 0, 'the tenant stylesheet loaded');
    const headerBg = await page.locator('header').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(headerBg, rgb(karlstad.branding.primaryColor), "the header has Karlstad's primary colour");
    await screenshot(page, 'chooser');

    await page.getByRole('button', { name: 'BankID', exact: true }).click();
    await page.getByRole('heading', { name: 'Logga in med BankID' }).waitFor();
    const qr = page.locator('#qr');
    await qr.waitFor({ state: 'visible' });
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 150 && box.height >= 150, `the QR code is shown large enough: ${JSON.stringify(box)}`);
    await waitForText(page, '#message', RFA.RFA1.sv);
    await screenshot(page, 'bankid-sv');
    await docsScreenshot(page);

    // Three moments at least 1.1 s apart: the same order, a new frame each time.
    const readings: QrReading[] = [];
    for (let i = 0; i < 3; i++) {
      readings.push(i === 0 ? await readQrFromPage(page) : await readNextQr(page, readings[i - 1]!));
      const shown = await qr.getAttribute('data-qr');
      if (shown !== null) assert.ok(shown.startsWith(`bankid.${readings[i]!.token}.`), 'data-qr names the same order as the image');
    }
    for (let i = 1; i < readings.length; i++) {
      assert.ok(readings[i]!.at - readings[i - 1]!.at >= 1100, 'the readings are at least 1.1 s apart');
      assert.equal(readings[i]!.token, readings[0]!.token, 'every frame belongs to the same order');
      assert.ok(readings[i]!.n > readings[i - 1]!.n, `the QR code changes: frame ${readings[i - 1]!.n} then ${readings[i]!.n} (${readings.map((r) => r.payload).join(', ')})`);
      assert.notEqual(readings[i]!.payload, readings[i - 1]!.payload);
    }

    await scan(env, readings.at(-1)!.payload);
    const state = await expectSignedIn(env, page);
    assert.ok(state.sub, 'the RP received a subject');
    await closeContext(ctx);
  });
});

describe('sign-in with Freja eID', () => {
  it('chooser → Freja eID → the QR code read from the screen → approved in the simulated app → signed in', async () => {
    const { ctx, page } = await context();
    await page.goto(`${env.issuer}${DEMO}/login`);
    await page.getByRole('button', { name: 'Freja eID', exact: true }).click();
    await page.getByRole('heading', { name: 'Logga in med Freja eID' }).waitFor();
    await page.locator('#qr').waitFor({ state: 'visible' });
    assert.ok(await page.getByRole('link', { name: 'Öppna Freja eID på den här enheten' }).isVisible());
    let payload: string | null = null;
    await waitUntil('a QR code on the screen', async () => (payload = decodeQr(await page.locator('#qr').screenshot())) !== null);
    assert.match(payload!, /^frejaeid:\/\/bindUserToTransaction\?transactionReference=/);
    const ref = new URL(payload!.replace('frejaeid://', 'https://x/')).searchParams.get('transactionReference')!;
    const res = await fetch(`${env.issuer}/dev/freja-app/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transactionReference: ref, personalNumber: PERSON_2, action: 'approve' }),
    });
    assert.equal(res.status, 200, await res.text());
    const state = await expectSignedIn(env, page);
    assert.equal((state.idTokenClaims as Record<string, unknown>)['https://id.oidc.se/claim/authnProvider'], 'urn:idnav:method:freja');
    await screenshot(page, 'freja-signed-in');
    await closeContext(ctx);
  });
});

describe('sign-in with a foreign eID (eIDAS) through the SAML connector', () => {
  it('chooser → the connector’s page → a Norwegian test citizen → the signed answer posted back → signed in', async () => {
    const { ctx, page } = await context();
    await page.goto(`${env.issuer}${DEMO}/login`);
    await page.getByRole('button', { name: 'Utländsk e-legitimation (eIDAS, test)' }).click();
    await page.waitForURL(/\/eidas\/sso/);
    await page.getByLabel(/Solveig/).check();
    await page.locator('button[name="action"][value="login"]').click();
    // The connector's answer is posted to the hub by an auto-submitting form, then the RP is reached.
    const state = await expectSignedIn(env, page);
    const claims = state.idTokenClaims as Record<string, unknown>;
    assert.equal(claims['https://id.oidc.se/claim/authnProvider'], 'urn:idnav:method:saml:eidas');
    assert.equal(claims.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-eidas-sub');
    await closeContext(ctx);
  });
});

describe('registry details on the demo e-service', () => {
  it('a guardian sees their two children, and the page passes axe', async () => {
    // axe-core is injected as a script: only this page lifts the CSP for it.
    const { ctx, page } = await context({ bypassCSP: true });
    const { orderRef } = await openBankIdPage(env, page);
    await scan(env, env.sims.bankid.control.currentQr(orderRef)!, PERSON);
    await expectSignedIn(env, page);
    const children = page.locator('ul.children li');
    await children.first().waitFor();
    assert.deepEqual(await page.locator('ul.children .child-name').allTextContents(), ['Alva Testsson', 'Elis Testsson']);
    assert.match((await page.locator('dd.municipality').textContent()) ?? '', /Karlstad \(1780\)/);
    const violations = await runAxe(page);
    assert.deepEqual(violations, [], formatViolations('demo e-service with registry details', violations));
    await screenshot(page, 'guardian-children');
    await closeContext(ctx);
  });
});

describe('sign-in with BankID on this device', () => {
  it('"Öppna BankID på den här enheten" → the simulated app → Legitimera → back at the e-service, signed in', async () => {
    const { ctx, page } = await context();
    await page.goto(`${env.issuer}${DEMO}/`);
    await page.getByRole('link', { name: 'Logga in', exact: true }).click();
    await page.getByRole('button', { name: 'BankID', exact: true }).click();
    await page.getByRole('link', { name: 'Öppna BankID på den här enheten' }).click();

    // Dev mode: the launch link opens the simulated app with the autostart token.
    await page.waitForURL((u) => u.pathname === '/dev/bankid-app/' && u.searchParams.has('autostarttoken'));
    await page.getByRole('heading', { name: /^Legitimera dig/ }).waitFor();
    await page.getByLabel(/^Testperson/).selectOption(PERSON_2);
    await screenshot(page, 'bankid-app');
    const returned = page.waitForRequest((r) => /\/login\/[^/]+\/eid\/bankid\/return\?n=/.test(r.url()));
    await page.getByRole('button', { name: /^Legitimera/ }).click();
    await returned; // the app returns to the hub's page, which continues the sign-in

    const state = await expectSignedIn(env, page);
    const claims = state.idTokenClaims as Record<string, unknown>;
    assert.equal(claims['https://id.oidc.se/claim/personalIdentityNumber'], PERSON_2, 'the person chosen in the app signed in');
    await closeContext(ctx);
  });
});

describe('languages', () => {
  it('Swedish by default, English through ui_locales, and the language switch', async () => {
    const { ctx, page } = await context();
    await page.goto(`${env.issuer}${DEMO}/`);
    await page.getByRole('link', { name: 'Logga in', exact: true }).click();
    await page.getByRole('heading', { name: 'Välj hur du vill logga in' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
    await page.getByRole('button', { name: 'BankID', exact: true }).click();
    await page.getByRole('heading', { name: 'Logga in med BankID' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
    await waitForText(page, '#message', RFA.RFA1.sv);

    // The switch on the BankID page keeps the order and changes every text.
    await page.getByRole('link', { name: 'In English' }).click();
    await page.getByRole('heading', { name: 'Sign in with BankID' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await waitForText(page, '#message', RFA.RFA1.en);
    assert.ok(await page.getByRole('link', { name: 'Open BankID on this device' }).isVisible());
    await page.getByRole('link', { name: 'På svenska' }).click();
    await page.getByRole('heading', { name: 'Logga in med BankID' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
    await closeContext(ctx);

    // The demo's English link sends ui_locales=en.
    const en = await context();
    await en.page.goto(`${env.issuer}${DEMO}/`);
    await en.page.getByRole('link', { name: 'Sign in (English)' }).click();
    await en.page.waitForURL(/\/login\/[^/]+$/);
    await en.page.getByRole('heading', { name: 'Choose how to sign in' }).waitFor();
    assert.equal(await en.page.locator('html').getAttribute('lang'), 'en');
    await en.page.getByRole('button', { name: 'BankID', exact: true }).click();
    await en.page.getByRole('heading', { name: 'Sign in with BankID' }).waitFor();
    assert.equal(await en.page.locator('html').getAttribute('lang'), 'en');
    await waitForText(en.page, '#message', RFA.RFA1.en);
    await en.page.locator('#qr').waitFor({ state: 'visible' });
    await screenshot(en.page, 'bankid-en');
    await closeContext(en.ctx);
  });
});

describe('BankID hint codes shown as BankID recommended messages', () => {
  interface HintCase {
    status: 'pending' | 'failed';
    hint: string;
    lang: 'sv' | 'en';
    expected: { sv: string; en: string };
  }
  const pending = (hint: string, expected: { sv: string; en: string }, lang: 'sv' | 'en' = 'sv'): HintCase => ({ status: 'pending', hint, lang, expected });
  const failed = (hint: string, expected: { sv: string; en: string }, lang: 'sv' | 'en' = 'sv'): HintCase => ({ status: 'failed', hint, lang, expected });
  const UPDATE_APP = failedOutcome('notSupportedByUserApp', 'other').message;
  const CASES: HintCase[] = [
    pending('outstandingTransaction', RFA.RFA1),
    pending('noClient', RFA.RFA1),
    pending('started', RFA.RFA15A),
    pending('userSign', RFA.RFA9),
    pending('userMrtd', RFA.RFA23),
    pending('someFutureHint', RFA.RFA21),
    failed('expiredTransaction', RFA.RFA8),
    failed('certificateErr', RFA.RFA16),
    failed('userCancel', RFA.RFA6),
    failed('cancelled', RFA.RFA3),
    failed('startFailed', RFA.RFA17B),
    failed('userDeclinedCall', RFA.RFA6),
    failed('notSupportedByUserApp', UPDATE_APP),
    failed('transactionRiskBlocked', RFA.RFA22),
    failed('someFutureFailure', RFA.RFA22),
    pending('started', RFA.RFA15A, 'en'),
    pending('userSign', RFA.RFA9, 'en'),
    failed('userCancel', RFA.RFA6, 'en'),
    failed('startFailed', RFA.RFA17B, 'en'),
    failed('notSupportedByUserApp', UPDATE_APP, 'en'),
  ];
  const PARALLEL = 5;
  const outcomes = new Map<HintCase, Error | null>();

  /**
   * One case on a worker's page. The page is reused (a new page costs far more than a navigation); after
   * a failed case in the same language the next order is started with "Försök igen" / "Try again".
   */
  async function runCase(page: Page, c: HintCase, viaRetry: boolean): Promise<void> {
    const { orderRef } = viaRetry ? await retryBankIdPage(env, page, c.lang) : await openBankIdPage(env, page, c.lang);
    const switchedAt = Date.now();
    env.sims.bankid.control.switch({ kind: 'collect', orderRef, status: c.status, hintCode: c.hint });
    // A pending RFA1 is also the first message: make sure the page has asked since the switch.
    await waitUntil(`a collect of ${orderRef} after the switch`, () => (env.sims.bankid.control.stats().collects[orderRef] ?? []).some((t) => t >= switchedAt), 10_000);
    await waitForText(page, '#message', c.expected[c.lang], 8000);
    const tryAgain = page.getByRole('button', { name: c.lang === 'sv' ? 'Försök igen' : 'Try again' });
    if (c.status === 'failed') {
      assert.ok(await tryAgain.isVisible(), 'a failed order offers to try again');
      assert.ok(await page.locator('#launch').isHidden(), 'a failed order hides the launch button');
      assert.ok(await page.locator('#qr').isHidden(), 'a failed order hides the QR code');
      if (c.hint === 'userCancel' && c.lang === 'sv') await screenshot(page, 'bankid-failed');
    } else {
      assert.ok(await tryAgain.isHidden(), 'a pending order does not offer to try again');
      assert.ok(await page.locator('#launch').isVisible(), 'a pending order keeps the launch button');
      assert.ok(await page.locator('#qr').isVisible(), 'a pending order keeps the QR code');
    }
  }

  before(async () => {
    // Separate browsers (contexts) side by side; each runs its cases one after the other.
    const queue = [...CASES];
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        const { ctx, page } = await context();
        let failedIn: 'sv' | 'en' | null = null;
        for (let c = queue.shift(); c; c = queue.shift()) {
          const outcome: Error | null = await runCase(page, c, failedIn === c.lang).then(() => null, (err: Error) => err);
          outcomes.set(c, outcome);
          failedIn = !outcome && c.status === 'failed' ? c.lang : null;
        }
        await closeContext(ctx);
      }),
    );
  });

  for (const c of CASES) {
    it(`${c.status} ${c.hint} (${c.lang})`, () => {
      assert.ok(outcomes.has(c), 'the case ran');
      const err = outcomes.get(c);
      if (err) throw err;
    });
  }
});

describe('accessibility (axe-core)', () => {
  const findings: string[] = [];
  // One browser for these pages; axe-core is injected, which the hub's CSP rightly forbids to users.
  let ctx: BrowserContext;
  let page: Page;
  before(async () => ({ ctx, page } = await context({ bypassCSP: true })));
  after(() => closeContext(ctx));

  async function check(p: Page, name: string): Promise<void> {
    const violations = await runAxe(p);
    if (violations.length) findings.push(formatViolations(name, violations));
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.equal(blocking.length, 0, `serious or critical accessibility violations:\n${formatViolations(name, blocking)}`);
  }

  after(() => {
    if (findings.length) console.log(`axe-core findings (minor and moderate do not fail the test):\n${findings.join('\n')}`);
  });

  it('the chooser and the BankID page, pending and failed', async () => {
    await page.goto(`${env.issuer}${DEMO}/login`);
    await page.getByRole('heading', { name: 'Välj hur du vill logga in' }).waitFor();
    await check(page, 'chooser');

    const { orderRef } = await openBankIdPage(env, page);
    await page.locator('#qr').waitFor({ state: 'visible' });
    await check(page, 'BankID page (pending)');

    env.sims.bankid.control.switch({ kind: 'collect', orderRef, status: 'failed', hintCode: 'userCancel' });
    await waitForText(page, '#message', RFA.RFA6.sv);
    await check(page, 'BankID page (failed)');
  });

  it('error pages: an unknown sign-in and a forged abort', async () => {
    const unknown = await page.goto(`${env.issuer}/login/unknown-uid`);
    assert.ok(unknown && unknown.status() >= 400, 'an unknown sign-in is an error');
    await page.getByRole('heading', { name: 'Något gick fel' }).waitFor();
    await check(page, 'error page (unknown sign-in)');

    await page.goto(`${env.issuer}${DEMO}/login`);
    await page.getByRole('heading', { name: 'Välj hur du vill logga in' }).waitFor();
    const uid = new URL(page.url()).pathname.split('/')[2]!;
    const forged = await page.goto(`${env.issuer}/login/${uid}/abort?t=forged`);
    assert.ok(forged && forged.status() >= 400, 'a forged abort is refused');
    await page.getByRole('heading', { name: 'Något gick fel' }).waitFor();
    assert.ok(await page.getByRole('alert').isVisible(), 'the error is announced');
    await screenshot(page, 'error');
    await check(page, 'error page (forged abort)');
  });

  it('the logout confirmation', async () => {
    await signIn(page);
    await page.getByRole('button', { name: 'Logga ut' }).click();
    await page.getByRole('heading', { name: 'Logga ut' }).waitFor();
    await screenshot(page, 'logout');
    await check(page, 'logout page');
  });
});

describe('keyboard only', () => {
  let ctx: BrowserContext;
  let page: Page;
  before(async () => ({ ctx, page } = await context()));
  after(() => closeContext(ctx));

  it('from the e-service to the chooser, BankID, and cancel back: Tab, Shift+Tab, Enter and Space', async () => {
    await page.goto(`${env.issuer}${DEMO}/`);
    await tabTo(page, 'Logga in');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Välj hur du vill logga in' }).waitFor();

    await tabTo(page, 'BankID');
    const before = env.sims.bankid.control.orders().length;
    await page.keyboard.press('Space');
    await page.getByRole('heading', { name: 'Logga in med BankID' }).waitFor();
    assert.equal(env.sims.bankid.control.orders().length, before + 1, 'BankID chosen with the keyboard started an order');
    const orderRef = env.sims.bankid.control.orders().at(-1)!.orderRef;

    // Past the cancel button to the last link, then back.
    await tabTo(page, /Simulerad BankID-app/);
    const cancel = await tabTo(page, 'Avbryt', 'Shift+Tab');
    assert.equal(cancel.tag, 'button');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname.startsWith(`${DEMO}/`));
    await page.getByRole('heading', { name: 'Inloggningen avbröts' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /access_denied/);
    assert.equal((await rpState(page)).signedIn, false);
    await waitUntil('the cancelled order to end at BankID', () => env.sims.bankid.control.orders().find((o) => o.orderRef === orderRef)?.status !== 'pending', 5000);
  });

  it('the logout confirmation with the keyboard', async () => {
    await signIn(page);
    await tabTo(page, 'Logga ut');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Logga ut' }).waitFor();
    let f = await focused(page);
    if (f?.text !== 'Ja, logga ut') f = await tabTo(page, 'Ja, logga ut');
    assertFocusVisible(f);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${env.issuer}${DEMO}/`);
    await page.getByRole('heading', { name: 'Du är inte inloggad' }).waitFor();
    assert.equal((await rpState(page)).signedIn, false);
  });
});
