/**
 * The browser's QR encoder (src/login/assets/qr.js): every symbol it draws must decode (jsQR) to the
 * input, use the version a reference encoder (the qrcode package) picks, be module for module the
 * reference's symbol for the same mask, and carry the mask with the lowest penalty.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import jsqr from 'jsqr';
import QRCode from 'qrcode';

type Ecl = 'L' | 'M' | 'Q' | 'H';
type Mask = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

interface QrMatrix {
  size: number;
  version: number;
  ecl: Ecl;
  mask: Mask;
  modules: Uint8Array;
  get(x: number, y: number): boolean;
}

interface IdnavQr {
  matrix(text: string, options?: { ecl?: Ecl; mask?: number }): QrMatrix;
  svgDataUrl(text: string, options?: { margin?: number; ecl?: Ecl; mask?: number }): string;
}

// As the browser runs it: a plain script, here in a context with nothing but the language built-ins
// (no window, document, TextEncoder or btoa).
const sandbox = vm.createContext({});
vm.runInContext(readFileSync(new URL('../../src/login/assets/qr.js', import.meta.url), 'utf8'), sandbox, { filename: 'qr.js' });
const qr = (sandbox as { idnavQr: IdnavQr }).idnavQr;

// jsqr is a CommonJS module: Node's default import is module.exports, which has the decoder as .default.
const jsQR = jsqr.default;

// Reproducible "random" text: a small PRNG (mulberry32).
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(18004);
const asciiText = (length: number): string => Array.from({ length }, () => String.fromCharCode(0x20 + Math.floor(random() * 95))).join('');

/** What BankID's animated QR code carries: bankid.<qrStartToken>.<qrTime>.<HMAC-SHA256 hex>. */
function bankIdPayload(qrTime: number): string {
  const authCode = createHmac('sha256', randomBytes(32)).update(String(qrTime)).digest('hex');
  return `bankid.${randomUUID()}.${qrTime}.${authCode}`;
}

/** RGBA pixels of the symbol: `scale` pixels a module, a light quiet zone of `quiet` modules. */
function render(m: QrMatrix, scale = 4, quiet = 4): { data: Uint8ClampedArray; width: number } {
  const width = (m.size + quiet * 2) * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size; x++) {
      if (!m.get(x, y)) continue;
      for (let py = (y + quiet) * scale; py < (y + quiet + 1) * scale; py++) {
        for (let px = (x + quiet) * scale; px < (x + quiet + 1) * scale; px++) data.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3);
      }
    }
  }
  return { data, width };
}

function assertDecodes(text: string, m: QrMatrix): void {
  const { data, width } = render(m);
  const decoded = jsQR(data, width, width, { inversionAttempts: 'dontInvert' });
  const where = `${JSON.stringify(text)} (version ${m.version}-${m.ecl}, mask ${m.mask})`;
  assert.ok(decoded, `jsQR cannot read ${where}`);
  assert.equal(decoded.version, m.version, `version read from ${where}`);
  assert.deepEqual(decoded.binaryData, [...Buffer.from(text, 'utf8')], `bytes read from ${where}`);
  assert.equal(decoded.data, text, `text read from ${where}`);
}

/** The reference symbol: the qrcode package, text as one byte mode segment (as qr.js encodes it). */
function reference(text: string, ecl: Ecl, mask?: Mask): QRCode.QRCode {
  return QRCode.create([{ data: Buffer.from(text, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: ecl, ...(mask === undefined ? {} : { maskPattern: mask }) });
}

function assertSameAsReference(text: string, m: QrMatrix): void {
  const ref = reference(text, m.ecl, m.mask);
  assert.equal(m.size, ref.modules.size, `size for ${JSON.stringify(text)}`);
  const mine = Array.from({ length: m.size * m.size }, (_, i) => (m.get(i % m.size, Math.floor(i / m.size)) ? 1 : 0));
  assert.deepEqual(mine, [...ref.modules.data], `modules of ${JSON.stringify(text)} (version ${m.version}-${m.ecl}, mask ${m.mask})`);
}

/**
 * The penalty of 7.8.3, written out independently: N1 runs of ≥ 5 (3 + excess), N2 2×2 blocks (3),
 * N3 1:1:3:1:1 with 4 light modules on either side, the quiet zone counting as light (40), N4 10 for
 * each full 5 % of deviation from half dark.
 */
function penalty(m: QrMatrix): number {
  const n = m.size;
  const lines: string[] = [];
  for (let a = 0; a < n; a++) {
    let row = '';
    let column = '';
    for (let b = 0; b < n; b++) {
      row += m.get(b, a) ? '1' : '0';
      column += m.get(a, b) ? '1' : '0';
    }
    lines.push(row, column);
  }
  let score = 0;
  for (const line of lines) {
    for (const run of line.match(/0{5,}|1{5,}/g) ?? []) score += 3 + (run.length - 5);
    const padded = `0000${line}0000`;
    for (let i = padded.indexOf('1011101'); i >= 0; i = padded.indexOf('1011101', i + 1)) {
      if (padded.slice(i - 4, i) === '0000' || padded.slice(i + 7, i + 11) === '0000') score += 40;
    }
  }
  let dark = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (m.get(x, y)) dark++;
      if (x + 1 < n && y + 1 < n && m.get(x, y) === m.get(x + 1, y) && m.get(x, y) === m.get(x, y + 1) && m.get(x, y) === m.get(x + 1, y + 1)) score += 3;
    }
  }
  return score + 10 * Math.floor(Math.abs(20 * dark - 10 * n * n) / (n * n));
}

const bankIdPayloads = Array.from({ length: 300 }, (_, t) => bankIdPayload(t));
const asciiPayloads = Array.from({ length: 200 }, (_, i) => asciiText(i + 1));
const utf8Payloads = ['åäö', 'ÅÄÖ', 'Smörgåsbord på Älvgatan 3', 'Ärende: överklagan – bygglov', '€ 100 för två', '日本語のテキスト', 'ключ', '🙂 🇸🇪 ok', 'a\u0000b\u007fc'];

describe('idnavQr.matrix', () => {
  const masksChosen = new Set<number>();

  it('draws 300 BankID frames (qrTime 0..299) that read back, in the reference version and modules', () => {
    for (const text of bankIdPayloads) {
      const m = qr.matrix(text);
      assertDecodes(text, m);
      assertSameAsReference(text, m);
      // The qrcode package left to itself may split out runs of digits as numeric segments and so
      // sometimes fit a smaller version; byte mode alone never beats that.
      assert.ok(QRCode.create(text, { errorCorrectionLevel: 'L' }).modules.size <= m.size);
      masksChosen.add(m.mask);
    }
  });

  it('draws mixed ASCII of lengths 1..200 and UTF-8 text that read back, in the reference version and modules', () => {
    for (const text of [...asciiPayloads, ...utf8Payloads]) {
      const m = qr.matrix(text);
      assertDecodes(text, m);
      assertSameAsReference(text, m);
      masksChosen.add(m.mask);
    }
  });

  it('has chosen each of the eight masks for some of the payloads above', () => {
    assert.deepEqual([...masksChosen].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('chooses the mask with the lowest penalty (N1–N4), the lower number on a tie', () => {
    for (const text of [...bankIdPayloads.slice(0, 40), ...asciiPayloads.filter((_, i) => i % 5 === 0)]) {
      const scores = ([0, 1, 2, 3, 4, 5, 6, 7] as const).map((mask) => penalty(qr.matrix(text, { mask })));
      const best = scores.indexOf(Math.min(...scores));
      assert.equal(qr.matrix(text).mask, best, `mask for ${JSON.stringify(text)}: penalties ${scores.join(', ')}`);
    }
  });

  it('draws every mask pattern correctly, in small and large versions', () => {
    for (const length of [1, 17, 50, 120, 200, 400, 600]) {
      const text = asciiText(length);
      for (const mask of [0, 1, 2, 3, 4, 5, 6, 7] as const) {
        const m = qr.matrix(text, { mask });
        assert.equal(m.mask, mask);
        assertDecodes(text, m);
        assertSameAsReference(text, m);
      }
    }
  });

  for (const ecl of ['L', 'M', 'Q', 'H'] as const) {
    it(`fills every version 1–40 to capacity at level ${ecl} and moves up one byte later, as the reference does`, () => {
      const long = asciiText(3000);
      const version = (n: number) => {
        try {
          return qr.matrix(long.slice(0, n), { ecl, mask: 0 }).version;
        } catch {
          return 41; // too long for any version
        }
      };
      let low = 1;
      for (let v = 1; v <= 40; v++) {
        // The longest text that fits version v: binary search between the last capacity and 2953.
        let high = 2953;
        while (low < high) {
          const mid = Math.ceil((low + high) / 2);
          if (version(mid) <= v) low = mid;
          else high = mid - 1;
        }
        const full = long.slice(0, low);
        const m = qr.matrix(full, { ecl });
        assert.equal(m.version, v, `${low} bytes at ${ecl}`);
        assert.equal(m.ecl, ecl);
        // jsQR misplaces one alignment pattern of version 23 (30, 54, 74 instead of 78: cozmo/jsQR#251)
        // and reads version 23 symbols only when error correction makes up for it.
        if (v !== 23) assertDecodes(full, m);
        assertSameAsReference(full, m);
        if (v < 40) assert.equal(reference(long.slice(0, low + 1), ecl).version, v + 1, `${low + 1} bytes at ${ecl} need version ${v + 1}`);
        else assert.throws(() => qr.matrix(long.slice(0, low + 1), { ecl }), { name: 'RangeError' });
      }
    });
  }

  it('answers get() with false outside the symbol and rejects unknown options', () => {
    const m = qr.matrix('x');
    assert.equal(m.size, 21);
    assert.equal(m.modules.length, 21 * 21);
    assert.equal(m.get(0, 0), true);
    assert.equal(m.get(-1, 0), false);
    assert.equal(m.get(0, 21), false);
    // (The sandbox has its own RangeError, so compare by name.)
    assert.throws(() => qr.matrix('x', { mask: 8 }), { name: 'RangeError' });
    assert.throws(() => qr.matrix('x', { ecl: 'X' as Ecl }), { name: 'RangeError' });
  });

  it('needs nothing from the page: it adds only idnavQr to its global object', () => {
    assert.deepEqual(Object.keys(sandbox), ['idnavQr']);
  });
});

describe('idnavQr.svgDataUrl', () => {
  function svgOf(url: string): string {
    const prefix = 'data:image/svg+xml;base64,';
    assert.ok(url.startsWith(prefix), url.slice(0, 40));
    const b64 = url.slice(prefix.length);
    assert.match(b64, /^[A-Za-z0-9+/]*={0,2}$/);
    const svg = Buffer.from(b64, 'base64').toString('utf8');
    assert.equal(Buffer.from(svg, 'utf8').toString('base64'), b64, 'canonical base64');
    return svg;
  }

  /** The dark modules the path paints (each subpath a rectangle `Mx yhWv1h-Wz`). */
  function painted(svg: string, width: number): boolean[] {
    const d = /<path [^>]*d="([^"]*)"/.exec(svg)?.[1] ?? '';
    const cells = new Array<boolean>(width * width).fill(false);
    const subpaths = d.match(/M\d+ \d+h\d+v1h-\d+z/g) ?? [];
    assert.equal(subpaths.join(''), d, 'the path is made only of one-module-high rectangles');
    for (const sub of subpaths) {
      const [x, y, w, back] = /^M(\d+) (\d+)h(\d+)v1h-(\d+)z$/.exec(sub)!.slice(1).map(Number) as [number, number, number, number];
      assert.equal(back, w);
      for (let i = 0; i < w; i++) cells[y * width + x + i] = true;
    }
    return cells;
  }

  for (const [text, margin] of [[bankIdPayloads[0]!, undefined], [bankIdPayloads[1]!, 2], ['åäö', 0], [asciiText(180), 4]] as const) {
    it(`draws ${JSON.stringify(text.slice(0, 24))} with a quiet zone of ${margin ?? 'the default 4'} modules`, () => {
      const m = qr.matrix(text);
      const quiet = margin ?? 4;
      const width = m.size + 2 * quiet;
      const svg = svgOf(qr.svgDataUrl(text, margin === undefined ? undefined : { margin }));
      assert.match(svg, new RegExp(`^<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${width}" shape-rendering="crispEdges">`));
      assert.equal(svg.match(/<path /g)?.length, 1, 'one path');
      assert.match(svg, new RegExp(`<rect width="${width}" height="${width}" fill="#fff"/>`), 'a white background');
      assert.match(svg, /<path fill="#000" /);
      const cells = painted(svg, width);
      for (let y = 0; y < width; y++) {
        for (let x = 0; x < width; x++) assert.equal(cells[y * width + x], m.get(x - quiet, y - quiet), `module (${x - quiet}, ${y - quiet})`);
      }
    });
  }
});
