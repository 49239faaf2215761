/**
 * Helpers for the browser tests: headless Chromium (Debian's package, never a downloaded browser), QR
 * codes read back from what the page shows, axe-core, keyboard navigation and screenshots.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { AxeResults, Result as AxeResult } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestEnv } from '../helpers/env.ts';

const require = createRequire(import.meta.url);

export const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const PROJECT_DIR = resolve(import.meta.dirname, '..', '..');
export const SCREENSHOT_DIR = join(PROJECT_DIR, 'test-results', 'screenshots');
export const DOCS_SCREENSHOT = join(PROJECT_DIR, 'docs', 'screenshots', 'bankid-page.png');
const AXE_SCRIPT = require.resolve('axe-core/axe.min.js');

export const PERSON = '198602212394';
export const PERSON_2 = '194106279161';
export const DEMO = '/demo/e-tjanst/karlstad';

/** `bankid.<qrStartToken>.<seconds since the order started>.<hmac>` */
export const QR_PAYLOAD = /^bankid\.([0-9a-f-]+)\.(\d+)\.([0-9a-f]{64})$/;

/** Why the browser tests cannot run here, or null when Debian's Chromium is installed. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return (
    `Chromium is not installed at ${CHROMIUM}. The browser tests drive Debian's Chromium: install the Debian package ` +
    '`chromium` (apt-get update && apt-get install -y chromium) and run them again.'
  );
}

/** Launches Debian's Chromium; throws (so the tests fail, never skip) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}

// ---- QR codes --------------------------------------------------------------------------------------

interface DecodedPng {
  width: number;
  height: number;
  data: Buffer;
}
const { PNG } = require('pngjs') as { PNG: { sync: { read(png: Buffer): DecodedPng } } };
const jsQR = require('jsqr') as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

/** The text of the QR code in a PNG image, or null when none can be read. */
export function decodeQr(png: Buffer): string | null {
  const img = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length);
  return jsQR(pixels, img.width, img.height)?.data ?? null;
}

export interface QrReading {
  payload: string;
  token: string;
  n: number;
  at: number;
}

/** Screenshots the page's `#qr` element and decodes it (a few attempts, in case a frame is being swapped). */
export async function readQrFromPage(page: Page): Promise<QrReading> {
  const qr = page.locator('#qr');
  let last = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    const at = Date.now();
    const payload = decodeQr(await qr.screenshot());
    if (payload) {
      const m = QR_PAYLOAD.exec(payload);
      assert.ok(m, `the QR code decodes to a BankID payload, not ${JSON.stringify(payload)}`);
      return { payload, token: m[1]!, n: Number(m[2]), at };
    }
    last = 'no QR code found in the screenshot of #qr';
    await page.waitForTimeout(150);
  }
  throw new Error(last);
}

/**
 * The next reading at least `minGapMs` after `previous`: the first that differs from it, or, when the
 * code has not changed within `changeWithinMs` more, the unchanged one (for the caller to fail on).
 */
export async function readNextQr(page: Page, previous: QrReading, minGapMs = 1100, changeWithinMs = 4000): Promise<QrReading> {
  await page.waitForTimeout(Math.max(0, previous.at + minGapMs - Date.now()));
  const giveUpAt = Date.now() + changeWithinMs;
  for (;;) {
    const reading = await readQrFromPage(page);
    if (reading.payload !== previous.payload || Date.now() > giveUpAt) return reading;
    await page.waitForTimeout(200);
  }
}

// ---- waiting ---------------------------------------------------------------------------------------

/** Waits until the element's text (trimmed) equals `expected`; the error names what was there instead. */
export async function waitForText(page: Page, selector: string, expected: string, timeoutMs = 10_000): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, text]) => (document.querySelector(sel!)?.textContent ?? '').trim() === text,
      [selector, expected] as const,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch {
    const actual = await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null);
    throw new assert.AssertionError({ message: `${selector} never showed the expected text within ${timeoutMs} ms`, actual: actual?.trim() ?? null, expected, operator: 'strictEqual' });
  }
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs `fn` after every earlier call has finished (one BankID order is opened at a time). */
let chain: Promise<unknown> = Promise.resolve();
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

// ---- flows -----------------------------------------------------------------------------------------

/**
 * Does what starts a BankID order (choosing BankID, or trying again), one at a time and each until its
 * order exists, so that the newest order at the simulator is this page's; the QR code the page was
 * rendered with confirms it.
 */
async function startOrder(env: TestEnv, page: Page, start: () => Promise<void>): Promise<{ orderRef: string }> {
  const control = env.sims.bankid.control;
  const { orderRef } = await serial(async () => {
    const before = new Set(control.orders().map((o) => o.orderRef));
    await start();
    await waitUntil('the BankID order to start', () => control.orders().some((o) => !before.has(o.orderRef)), 15_000, 20);
    const orders = control.orders();
    assert.equal(orders.filter((o) => !before.has(o.orderRef)).length, 1, 'exactly one order started');
    return { orderRef: orders.at(-1)!.orderRef };
  });
  await page.locator('[data-status-url]').waitFor();
  const href = await page.locator('#dev-app-link').getAttribute('href', { timeout: 1000 }).catch(() => null);
  const shown = href ? new URL(href, env.issuer).searchParams.get('qr') : null;
  const expected = control.currentQr(orderRef);
  if (shown && expected) assert.equal(QR_PAYLOAD.exec(shown)?.[1], QR_PAYLOAD.exec(expected)?.[1], 'the page shows the QR code of the order found');
  return { orderRef };
}

/** The demo e-service of Karlstad, "Logga in" (or the English link), then BankID on the chooser. */
export async function openBankIdPage(env: TestEnv, page: Page, lang: 'sv' | 'en' = 'sv'): Promise<{ orderRef: string }> {
  await page.goto(`${env.issuer}${DEMO}/login${lang === 'en' ? '?lang=en' : ''}`);
  const bankid = page.getByRole('button', { name: 'BankID', exact: true });
  await bankid.waitFor();
  return startOrder(env, page, () => bankid.click());
}

const lastRetry = new WeakMap<Page, number>();

/** On a failed BankID page: "Försök igen" starts a new order and the page is pending again. */
export async function retryBankIdPage(env: TestEnv, page: Page, lang: 'sv' | 'en' = 'sv'): Promise<{ orderRef: string }> {
  // The hub lets one retry per sign-in through every 2 s (two at once would start two orders).
  const since = Date.now() - (lastRetry.get(page) ?? 0);
  if (since < 2200) await page.waitForTimeout(2200 - since);
  lastRetry.set(page, Date.now());
  const button = page.getByRole('button', { name: lang === 'sv' ? 'Försök igen' : 'Try again' });
  const started = await startOrder(env, page, () => button.click());
  await page.locator('#qr').waitFor({ state: 'visible' });
  await page.locator('#launch').waitFor({ state: 'visible' });
  return started;
}

/** The simulated app scans a QR payload (through the hub's dev forward, as the README shows). */
export async function scan(env: TestEnv, qr: string, personalNumber = PERSON): Promise<void> {
  const res = await fetch(`${env.issuer}/dev/bankid-app/scan`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ qr, personalNumber, action: 'approve' }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, `scan answered ${res.status}: ${body}`);
}

/** Waits for the demo RP's start page after a sign-in and checks its `/state`. */
export async function expectSignedIn(env: TestEnv, page: Page, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  await page.waitForURL(`${env.issuer}${DEMO}/`, { timeout: timeoutMs });
  await page.getByRole('heading', { name: /^Du är inloggad som / }).waitFor({ timeout: 5000 });
  const state = (await (await page.request.get(`${env.issuer}${DEMO}/state`)).json()) as Record<string, unknown>;
  assert.equal(state.signedIn, true, `the demo RP's /state: ${JSON.stringify(state)}`);
  return state;
}

// ---- keyboard --------------------------------------------------------------------------------------

export interface Focused {
  tag: string;
  text: string;
  id: string;
  outlineStyle: string;
  outlineWidth: string;
}

export async function focused(page: Page): Promise<Focused | null> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return null;
    const cs = getComputedStyle(el);
    return { tag: el.tagName.toLowerCase(), text: (el.textContent ?? '').trim().replace(/\s+/g, ' '), id: el.id, outlineStyle: cs.outlineStyle, outlineWidth: cs.outlineWidth };
  });
}

/** Presses `key` (Tab or Shift+Tab) until the focused element's text is `text`; checks the focus is visible. */
export async function tabTo(page: Page, text: string | RegExp, key: 'Tab' | 'Shift+Tab' = 'Tab', max = 30): Promise<Focused> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    if (f && (typeof text === 'string' ? f.text === text : text.test(f.text))) {
      assertFocusVisible(f);
      return f;
    }
    seen.push(f ? `<${f.tag}> ${f.text}` : '(nothing)');
  }
  throw new Error(`${key} never reached ${String(text)}; focus went to: ${seen.join(' | ')}`);
}

export function assertFocusVisible(f: Focused): void {
  assert.ok(f.outlineStyle !== 'none' && f.outlineWidth !== '0px', `the focused <${f.tag}> "${f.text}" shows no focus outline (outline ${f.outlineStyle} ${f.outlineWidth})`);
}

// ---- accessibility ---------------------------------------------------------------------------------

/** Runs axe-core on the page (the context must bypass the CSP to inject it). */
export async function runAxe(page: Page): Promise<AxeResult[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const results = await page.evaluate(() => (globalThis as unknown as { axe: { run(): Promise<AxeResults> } }).axe.run());
  assert.ok(results.passes.length > 0, 'axe-core checked the page');
  return results.violations;
}

export function formatViolations(name: string, violations: AxeResult[]): string {
  return violations
    .map((v) => `${name}: [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\n/g, ' ') ?? ''}`).join('\n')}`)
    .join('\n');
}

// ---- screenshots -----------------------------------------------------------------------------------

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The README's screenshot: written when missing, or refreshed with UPDATE_SCREENSHOTS=1 (its QR differs every run). */
export async function docsScreenshot(page: Page): Promise<void> {
  if (existsSync(DOCS_SCREENSHOT) && process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(dirname(DOCS_SCREENSHOT), { recursive: true });
  await page.screenshot({ path: DOCS_SCREENSHOT });
}

export async function newContext(browser: Browser, options: { bypassCSP?: boolean; locale?: string } = {}): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 800, height: 900 }, locale: options.locale ?? 'sv-SE', bypassCSP: options.bypassCSP ?? false });
}
