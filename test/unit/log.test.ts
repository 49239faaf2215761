import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HubError } from '../../src/errors.ts';
import { createLogger, scrubString, type Logger } from '../../src/log.ts';

const PNR12 = '198602212394';
const PNR10 = '8602212394';
const PNR10_DASH = '860221-2394';
const SAMORDNING = '197010632391';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJzMjU2LWFiYyJ9.eyJzdWIiOiJ4IiwiYXVkIjoiZGVtbyJ9.c2lnbmF0dXJlLWJ5dGVz';

/** A logger writing to an array; `entries()` parses every line. */
function capture(level = 'trace'): { log: Logger; lines: string[]; entries: () => Array<Record<string, any>> } {
  const lines: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

/** Asserts that no digit run of a personal number (12 or 10 digits) survived anywhere in the raw lines. */
function assertNoPnr(lines: string[], ...numbers: string[]): void {
  const raw = lines.join('\n');
  for (const n of numbers) {
    assert.ok(!raw.includes(n), `${n} leaked: ${raw}`);
    assert.ok(!raw.includes(n.slice(2)), `${n.slice(2)} leaked: ${raw}`);
  }
}

describe('createLogger: redaction of known keys', () => {
  it('redacts personalNumber, qrStartSecret, client_secret, access_token and handle at the top level', () => {
    const { log, lines, entries } = capture();
    log.info(
      {
        personalNumber: PNR12,
        qrStartSecret: 'd28db9a7-4cde-429e-a983-359be676944c',
        client_secret: 'very-secret-client-secret',
        access_token: 'opaque-access-token-value',
        handle: '{"o":"order-ref","s":"qr-secret"}',
      },
      'order started',
    );
    const [e] = entries();
    assert.equal(e!.personalNumber, '[redacted]');
    assert.equal(e!.qrStartSecret, '[redacted]');
    assert.equal(e!.client_secret, '[redacted]');
    assert.equal(e!.access_token, '[redacted]');
    assert.equal(e!.handle, '[redacted]');
    assert.equal(e!.msg, 'order started');
    const raw = lines.join('');
    for (const secret of ['d28db9a7', 'very-secret-client-secret', 'opaque-access-token-value', 'order-ref', 'qr-secret']) {
      assert.ok(!raw.includes(secret), `${secret} leaked`);
    }
    assertNoPnr(lines, PNR12);
  });

  it('redacts the same keys one level down', () => {
    const { log, lines, entries } = capture();
    log.info({ order: { personalNumber: PNR12, handle: 'h-value', qrStartSecret: 'qs-value' }, client: { client_secret: 'cs-value' } }, 'nested');
    const [e] = entries();
    assert.equal(e!.order.personalNumber, '[redacted]');
    assert.equal(e!.order.handle, '[redacted]');
    assert.equal(e!.order.qrStartSecret, '[redacted]');
    assert.equal(e!.client.client_secret, '[redacted]');
    const raw = lines.join('');
    for (const secret of ['h-value', 'qs-value', 'cs-value']) assert.ok(!raw.includes(secret), `${secret} leaked`);
  });

  it('redacts authorization and cookie request headers', () => {
    const { log, lines, entries } = capture();
    log.info({ req: { headers: { authorization: 'Bearer tok-123', cookie: '_session=abc' } } }, 'request');
    const [e] = entries();
    assert.equal(e!.req.headers.authorization, '[redacted]');
    assert.equal(e!.req.headers.cookie, '[redacted]');
    assert.ok(!lines.join('').includes('tok-123'));
    assert.ok(!lines.join('').includes('_session=abc'));
  });
});

describe('createLogger: scrubbing of free text', () => {
  it('replaces a 12-digit personal number in the message', () => {
    const { log, lines, entries } = capture();
    log.info(`sign-in completed for ${PNR12} just now`);
    assert.equal(entries()[0]!.msg, 'sign-in completed for [pnr] just now');
    assertNoPnr(lines, PNR12);
  });

  it('replaces 10-digit personal numbers, with and without separator, in the message', () => {
    const { log, lines, entries } = capture();
    log.warn(`lookup of ${PNR10} and ${PNR10_DASH} failed`);
    assert.equal(entries()[0]!.msg, 'lookup of [pnr] and [pnr] failed');
    assert.ok(!lines.join('').includes('2394'));
  });

  it('replaces personal numbers in printf arguments', () => {
    const { log, lines, entries } = capture();
    log.info('person %s retried %d times', PNR12, 3);
    assert.equal(entries()[0]!.msg, 'person [pnr] retried 3 times');
    assertNoPnr(lines, PNR12);
  });

  it('replaces personal numbers in nested values of any key', () => {
    const { log, lines, entries } = capture();
    log.info(
      { detail: { upstream: { text: `BankID said ${PNR12} is busy` } }, list: [SAMORDNING, { note: `ten digits ${PNR10}` }] },
      'upstream answer',
    );
    const [e] = entries();
    assert.equal(e!.detail.upstream.text, 'BankID said [pnr] is busy');
    assert.deepEqual(e!.list, ['[pnr]', { note: 'ten digits [pnr]' }]);
    assertNoPnr(lines, PNR12, SAMORDNING);
  });

  it('replaces a JWT-looking string in the message and in values', () => {
    const { log, lines, entries } = capture();
    log.info({ note: `got ${JWT}` }, `token ${JWT} refused`);
    const [e] = entries();
    assert.equal(e!.msg, 'token [jwt] refused');
    assert.equal(e!.note, 'got [jwt]');
    assert.ok(!lines.join('').includes('eyJ'));
    assert.ok(!lines.join('').includes('c2lnbmF0dXJlLWJ5dGVz'));
  });

  it("scrubs an Error's message under err", () => {
    const { log, lines, entries } = capture();
    log.error({ err: new Error(`collect failed for ${PNR12} with ${JWT}`) }, 'request failed');
    const [e] = entries();
    assert.equal(e!.msg, 'request failed');
    assert.equal(typeof e!.err, 'object');
    assert.equal(e!.err.message, 'collect failed for [pnr] with [jwt]');
    assertNoPnr(lines, PNR12);
    assert.ok(!lines.join('').includes('eyJ'));
  });

  it("scrubs a HubError's detail", () => {
    const { log, lines, entries } = capture();
    log.warn({ err: new HubError('EID_FAILED', { detail: `person ${PNR10_DASH} refused` }) }, 'sign-in failed');
    const [e] = entries();
    assert.match(e!.err.message, /^EID_FAILED: person \[pnr\] refused$/);
    assert.ok(!lines.join('').includes('2394'));
  });
});

describe('createLogger: ordinary fields survive', () => {
  it('keeps method, errorCode, counts, booleans and the base fields', () => {
    const { log, entries } = capture();
    log.info({ method: 'bankid', errorCode: 'EID_EXPIRED', count: 3, durationMs: 1234, retried: false, tenant: 'karlstad' }, 'sign-in ended');
    const [e] = entries();
    assert.equal(e!.method, 'bankid');
    assert.equal(e!.errorCode, 'EID_EXPIRED');
    assert.equal(e!.count, 3);
    assert.equal(e!.durationMs, 1234);
    assert.equal(e!.retried, false);
    assert.equal(e!.tenant, 'karlstad');
    assert.equal(e!.service, 'idnav');
    assert.equal(e!.level, 30);
    assert.equal(e!.msg, 'sign-in ended');
  });

  it('keeps short numbers, order references and URLs in text', () => {
    const { log, entries } = capture();
    const orderRef = '131daac9-16c6-4618-beb0-365768f37288';
    log.info({ orderRef, url: 'https://appapi2.test.bankid.com/rp/v6.0/collect', port: '8443' }, 'HTTP 503 after 2 attempts');
    const [e] = entries();
    assert.equal(e!.orderRef, orderRef);
    assert.equal(e!.url, 'https://appapi2.test.bankid.com/rp/v6.0/collect');
    assert.equal(e!.port, '8443');
    assert.equal(e!.msg, 'HTTP 503 after 2 attempts');
  });

  it('scrubs what pino formats after the log formatter: error messages, printf arguments, child bindings', () => {
    const { log, lines } = capture();
    log.error(new Error(`failed for ${PNR12}`));
    log.error({ err: new Error(`lookup of ${PNR10_DASH}`) });
    log.info('args %o %s', { a: PNR12 }, `x ${PNR12}`);
    log.child({ note: `for ${PNR12}` }).child({ deeper: SAMORDNING }).info('child');
    log.info({ a: { b: { c: { d: { e: { f: { g: { h: PNR12 } } } } } } } }, 'deep');
    const all = lines.join('');
    assert.ok(!all.includes(PNR12) && !all.includes(PNR10_DASH) && !all.includes(SAMORDNING), all);
    const first = JSON.parse(lines[0]!);
    assert.equal(first.msg, 'failed for [pnr]');
    assert.equal(first.err.type, 'Error');
    assert.match(first.err.stack, /^Error: failed for \[pnr\]/);
  });

  it('keeps the type and code of a HubError', () => {
    const { log, entries } = capture();
    log.warn({ err: new HubError('EID_EXPIRED', { detail: 'order expired' }) }, 'poll failed');
    const [e] = entries();
    assert.equal(e!.err.type, 'HubError');
    assert.equal(e!.err.code, 'EID_EXPIRED');
  });

  it('honours the level', () => {
    const { log, lines } = capture('warn');
    log.info('not written');
    log.warn('written');
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]!).msg, 'written');
  });
});

describe('scrubString', () => {
  it('replaces personal numbers and JWTs and leaves other text alone', () => {
    assert.equal(scrubString(`a ${PNR12} b`), 'a [pnr] b');
    assert.equal(scrubString(`${PNR10_DASH}`), '[pnr]');
    assert.equal(scrubString('19860221-2394'), '[pnr]');
    assert.equal(scrubString(`Bearer ${JWT}`), 'Bearer [jwt]');
    assert.equal(scrubString('nothing to see, 12345 and EID_EXPIRED'), 'nothing to see, 12345 and EID_EXPIRED');
  });
});
