// QR Code encoder (ISO/IEC 18004:2015, Model 2) for the e-ID page: draws BankID's animated QR code
// in the browser from the payload in the status JSON, so the hub no longer renders images per frame.
// Plain script without dependencies (served as a static file under a strict CSP); it needs neither
// window nor document.
//
//   idnavQr.matrix(text, { ecl = 'L', mask }) → { size, version, ecl, mask, modules, get(x, y) }
//     text is encoded in byte mode as UTF-8 (no ECI), in the smallest version (1–40) that fits at
//     the error correction level ecl ('L', 'M', 'Q' or 'H'). modules is a Uint8Array of size × size,
//     row by row (index y * size + x), 1 = dark. get(x, y) → true for a dark module at column x,
//     row y; false outside the symbol. mask (0–7) forces a mask pattern; by default the one with the
//     lowest penalty (rules N1–N4) is used.
//   idnavQr.svgDataUrl(text, { margin = 4, ecl, mask }) → 'data:image/svg+xml;base64,…': black
//     modules on white, one module = one SVG unit, with a quiet zone of margin modules.
(function () {
  'use strict';

  // ---- Tables (ISO/IEC 18004:2015 table 9), index = version; 0 is unused ------------------------
  // Error correction codewords per block.
  var EC_PER_BLOCK = {
    L: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    M: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
    Q: [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    H: [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  };
  // Number of error correction blocks (both groups together).
  var BLOCKS = {
    L: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
    M: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
    Q: [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
    H: [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
  };
  // The two format information bits of each level (note: not in the order L, M, Q, H).
  var ECL_BITS = { L: 1, M: 0, Q: 3, H: 2 };

  // Modules left for data and error correction codewords (including the 0–7 remainder bits):
  // all modules minus finders with separators and format info, timing, alignment and version info.
  function rawDataModules(ver) {
    var n = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
      var align = Math.floor(ver / 7) + 2;
      n -= (25 * align - 10) * align - 55; // alignment patterns, minus their overlap with timing
      if (ver >= 7) n -= 36; // two 6×3 version information blocks
    }
    return n;
  }

  function dataCodewords(ver, ecl) {
    return Math.floor(rawDataModules(ver) / 8) - EC_PER_BLOCK[ecl][ver] * BLOCKS[ecl][ver];
  }

  // Centre coordinates of the alignment patterns (annex E), the same list for rows and columns: 6,
  // then from size − 7 downwards in equal even steps; the gap next to 6 takes what is left. Gives
  // table E.1 for every version, including the irregular version 32 (6, 34, 60, 86, 112, 138).
  function alignmentPositions(ver) {
    if (ver === 1) return [];
    var count = Math.floor(ver / 7) + 2;
    var size = ver * 4 + 17;
    var step = Math.floor((ver * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
    var pos = [6];
    for (var p = size - 7; pos.length < count; p -= step) pos.splice(1, 0, p);
    return pos;
  }

  // ---- Reed–Solomon over GF(256), primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D) -------------
  var EXP = new Uint8Array(512);
  var LOG = new Uint8Array(256);
  (function () {
    for (var i = 0, x = 1; i < 255; i++) {
      EXP[i] = x;
      LOG[x] = i;
      x <<= 1;
      if (x & 0x100) x ^= 0x11d;
    }
    for (var j = 255; j < 512; j++) EXP[j] = EXP[j - 255];
  })();

  function gfMul(a, b) {
    return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
  }

  // Generator polynomial (x − α⁰)(x − α¹)…(x − α^(degree−1)); coefficients from the highest power
  // down, the leading 1 left out.
  var generators = {};
  function generator(degree) {
    if (generators[degree]) return generators[degree];
    var g = [1];
    for (var i = 0; i < degree; i++) {
      var next = new Array(g.length + 1).fill(0);
      for (var j = 0; j < g.length; j++) {
        next[j] ^= g[j];
        next[j + 1] ^= gfMul(g[j], EXP[i]);
      }
      g = next;
    }
    return (generators[degree] = g.slice(1));
  }

  // The remainder of data(x)·x^degree divided by the generator: the error correction codewords.
  function reedSolomon(data, degree) {
    var g = generator(degree);
    var rem = new Array(degree).fill(0);
    for (var i = 0; i < data.length; i++) {
      var factor = data[i] ^ rem.shift();
      rem.push(0);
      for (var j = 0; j < degree; j++) rem[j] ^= gfMul(g[j], factor);
    }
    return rem;
  }

  // ---- Data ---------------------------------------------------------------------------------------
  function utf8(text) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      var c = text.codePointAt(i);
      if (c > 0xffff) i++; // the low surrogate belongs to this code point
      else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as TextEncoder does
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }

  // Byte mode segment, terminator, padding, then the error correction blocks interleaved.
  function codewords(bytes, ecl) {
    var ver, countBits;
    for (ver = 1; ver <= 40; ver++) {
      countBits = ver <= 9 ? 8 : 16; // character count indicator length for byte mode
      if (4 + countBits + bytes.length * 8 <= dataCodewords(ver, ecl) * 8) break;
    }
    if (ver > 40) throw new RangeError('text too long for a QR code');
    var capacity = dataCodewords(ver, ecl) * 8;
    var bits = [];
    function put(value, length) {
      for (var i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    }
    put(4, 4); // mode indicator 0100: byte
    put(bytes.length, countBits);
    bytes.forEach(function (b) { put(b, 8); });
    put(0, Math.min(4, capacity - bits.length)); // terminator, shortened when the symbol is full
    put(0, (8 - (bits.length % 8)) % 8);
    var data = [];
    for (var i = 0; i < bits.length; i += 8) {
      var byte = 0;
      for (var j = 0; j < 8; j++) byte = (byte << 1) | bits[i + j];
      data.push(byte);
    }
    for (var pad = 0xec; data.length < capacity / 8; pad ^= 0xec ^ 0x11) data.push(pad);

    // Split into blocks. Table 9 lists two groups per version; the second group's blocks hold one
    // data codeword more. Both follow from the totals: with n blocks and t codewords in all, the
    // first n − t mod n blocks have ⌊t / n⌋ codewords each (data plus error correction).
    var blockCount = BLOCKS[ecl][ver];
    var ecLength = EC_PER_BLOCK[ecl][ver];
    var total = Math.floor(rawDataModules(ver) / 8);
    var shortBlocks = blockCount - (total % blockCount);
    var shortData = Math.floor(total / blockCount) - ecLength;
    var blocks = [];
    for (var b = 0, k = 0; b < blockCount; b++) {
      var len = shortData + (b < shortBlocks ? 0 : 1);
      var block = data.slice(k, k + len);
      k += len;
      blocks.push({ data: block, ec: reedSolomon(block, ecLength) });
    }
    // Interleave: the i-th data codeword of every block in turn (short blocks run out first),
    // then the i-th error correction codeword of every block.
    var out = [];
    for (var i2 = 0; i2 <= shortData; i2++) {
      blocks.forEach(function (bl) { if (i2 < bl.data.length) out.push(bl.data[i2]); });
    }
    for (var i3 = 0; i3 < ecLength; i3++) {
      blocks.forEach(function (bl) { out.push(bl.ec[i3]); });
    }
    return { version: ver, codewords: out };
  }

  // ---- Symbol -------------------------------------------------------------------------------------
  // BCH codes: the remainder of value · x^(degree of poly) divided by poly, appended to value.
  function bch(value, poly, polyDegree) {
    var rem = value << polyDegree;
    for (var i = 31 - Math.clz32(rem); i >= polyDegree; i--) if ((rem >>> i) & 1) rem ^= poly << (i - polyDegree);
    return (value << polyDegree) | rem;
  }

  // Mask patterns 000–111 (table 10): a data module is inverted where the condition holds. The
  // standard writes them with i = row and j = column; here x = column, y = row.
  var MASKS = [
    function (x, y) { return (x + y) % 2 === 0; },
    function (x, y) { return y % 2 === 0; },
    function (x, y) { return x % 3 === 0; },
    function (x, y) { return (x + y) % 3 === 0; },
    function (x, y) { return (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0; },
    function (x, y) { return ((x * y) % 2) + ((x * y) % 3) === 0; },
    function (x, y) { return (((x * y) % 2) + ((x * y) % 3)) % 2 === 0; },
    function (x, y) { return (((x + y) % 2) + ((x * y) % 3)) % 2 === 0; },
  ];

  function Grid(version) {
    this.version = version;
    this.size = version * 4 + 17;
    this.modules = new Uint8Array(this.size * this.size);
    this.reserved = new Uint8Array(this.size * this.size); // function patterns and format/version info
  }
  Grid.prototype.fn = function (x, y, dark) {
    this.modules[y * this.size + x] = dark ? 1 : 0;
    this.reserved[y * this.size + x] = 1;
  };

  // Finder patterns with their separators, timing patterns, alignment patterns; format and version
  // areas are reserved here and written by drawFormat and drawVersion.
  Grid.prototype.drawPatterns = function () {
    var s = this.size;
    for (var i = 0; i < s; i++) {
      this.fn(6, i, i % 2 === 0);
      this.fn(i, 6, i % 2 === 0);
    }
    var self = this;
    [[3, 3], [s - 4, 3], [3, s - 4]].forEach(function (c) {
      for (var dy = -4; dy <= 4; dy++) {
        for (var dx = -4; dx <= 4; dx++) {
          var x = c[0] + dx, y = c[1] + dy, d = Math.max(Math.abs(dx), Math.abs(dy));
          if (x >= 0 && x < s && y >= 0 && y < s) self.fn(x, y, d !== 2 && d !== 4);
        }
      }
    });
    var pos = alignmentPositions(this.version), last = pos.length - 1;
    pos.forEach(function (cy, i) {
      pos.forEach(function (cx, j) {
        // None where a finder pattern is (the three corners other than bottom right).
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
        for (var dy = -2; dy <= 2; dy++) {
          for (var dx = -2; dx <= 2; dx++) self.fn(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
        }
      });
    });
    this.drawFormat('L', 0); // reserves the areas; rewritten once the mask is chosen
    this.drawVersion();
  };

  // Format information: 2 bits of level, 3 bits of mask, BCH(15,5) with generator 0x537, XOR 0x5412
  // (so it is never all light). Bit 14 is the most significant. Two copies: around the top-left
  // finder, and split between the other two finders; plus the dark module at (8, size − 8).
  Grid.prototype.drawFormat = function (ecl, mask) {
    var bits = bch((ECL_BITS[ecl] << 3) | mask, 0x537, 10) ^ 0x5412;
    var s = this.size;
    for (var i = 0; i < 15; i++) {
      var bit = ((bits >>> i) & 1) === 1;
      // First copy: bits 0–7 down column 8 from the top (skipping the timing row 6), bits 8–14
      // leftwards along row 8 (skipping the timing column 6).
      if (i < 6) this.fn(8, i, bit);
      else if (i < 8) this.fn(8, i + 1, bit);
      else if (i === 8) this.fn(7, 8, bit);
      else this.fn(14 - i, 8, bit);
      // Second copy: bits 0–7 leftwards along row 8 from the right edge, bits 8–14 down column 8
      // to the bottom edge.
      if (i < 8) this.fn(s - 1 - i, 8, bit);
      else this.fn(8, s - 15 + i, bit);
    }
    this.fn(8, s - 8, true);
  };

  // Version information (version ≥ 7): 6 bits of version, BCH(18,6) with generator 0x1F25. Bit i
  // goes to (size − 11 + i mod 3, ⌊i / 3⌋) near the top-right finder and, transposed, near the
  // bottom-left one.
  Grid.prototype.drawVersion = function () {
    if (this.version < 7) return;
    var bits = bch(this.version, 0x1f25, 12);
    for (var i = 0; i < 18; i++) {
      var bit = ((bits >>> i) & 1) === 1;
      var a = this.size - 11 + (i % 3), b = Math.floor(i / 3);
      this.fn(a, b, bit);
      this.fn(b, a, bit);
    }
  };

  // Codeword bits, most significant first, in two-module-wide columns from the right edge, going
  // up and down in turn, skipping function modules and the vertical timing pattern's column.
  Grid.prototype.drawData = function (data) {
    var s = this.size, n = 0, total = data.length * 8;
    for (var right = s - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      var upward = ((right + 1) & 2) === 0;
      for (var v = 0; v < s; v++) {
        var y = upward ? s - 1 - v : v;
        for (var j = 0; j < 2; j++) {
          var idx = y * s + right - j;
          if (this.reserved[idx]) continue;
          // Remainder bits past the last codeword stay light (then masked like any data module).
          this.modules[idx] = n < total ? (data[n >>> 3] >>> (7 - (n & 7))) & 1 : 0;
          n++;
        }
      }
    }
  };

  Grid.prototype.applyMask = function (mask) {
    var s = this.size, f = MASKS[mask];
    for (var y = 0; y < s; y++) {
      for (var x = 0; x < s; x++) if (!this.reserved[y * s + x] && f(x, y)) this.modules[y * s + x] ^= 1;
    }
  };

  // Penalty score (7.8.3): N1 = 3 (+1 per module past 5) for each run of ≥ 5 modules of one colour
  // in a row or column; N2 = 3 for each 2×2 block of one colour (overlapping blocks each count);
  // N3 = 40 for each 1:1:3:1:1 dark:light:dark:light:dark pattern with 4 light modules before or
  // after it (the quiet zone outside the symbol counts as light); N4 = 10 for each full 5 % that
  // the share of dark modules deviates from 50 %.
  Grid.prototype.penalty = function () {
    var s = this.size, m = this.modules, score = 0, dark = 0;
    var line = new Uint8Array(s + 8); // one row or column at [4, s + 4), with 4 light modules each side
    for (var pass = 0; pass < 2; pass++) {
      for (var a = 0; a < s; a++) {
        for (var b = 0; b < s; b++) line[b + 4] = pass === 0 ? m[a * s + b] : m[b * s + a];
        var run = 1;
        for (var i = 5; i < s + 4; i++) {
          if (line[i] === line[i - 1]) run++;
          else { if (run >= 5) score += run - 2; run = 1; }
        }
        if (run >= 5) score += run - 2;
        for (var p = 4; p + 7 <= s + 4; p++) {
          if (line[p] && !line[p + 1] && line[p + 2] && line[p + 3] && line[p + 4] && !line[p + 5] && line[p + 6] &&
            (!(line[p - 1] | line[p - 2] | line[p - 3] | line[p - 4]) || !(line[p + 7] | line[p + 8] | line[p + 9] | line[p + 10]))) score += 40;
        }
      }
    }
    for (var y = 0; y < s; y++) {
      for (var x = 0; x < s; x++) {
        var v = m[y * s + x];
        dark += v;
        if (x < s - 1 && y < s - 1 && v === m[y * s + x + 1] && v === m[(y + 1) * s + x] && v === m[(y + 1) * s + x + 1]) score += 3;
      }
    }
    score += Math.floor(Math.abs(dark * 20 - s * s * 10) / (s * s)) * 10;
    return score;
  };

  function matrix(text, options) {
    var ecl = (options && options.ecl) || 'L';
    if (!EC_PER_BLOCK[ecl]) throw new RangeError('error correction level must be L, M, Q or H');
    var forced = options && options.mask;
    var encoded = codewords(utf8(String(text)), ecl);
    var sym = new Grid(encoded.version);
    sym.drawPatterns();
    sym.drawData(encoded.codewords);
    var best = -1, bestScore = Infinity, bestModules = null;
    for (var mask = 0; mask < 8; mask++) {
      if (forced !== undefined && forced !== null && mask !== forced) continue;
      sym.applyMask(mask);
      sym.drawFormat(ecl, mask);
      var score = forced === undefined || forced === null ? sym.penalty() : 0;
      if (score < bestScore) { best = mask; bestScore = score; bestModules = sym.modules.slice(); }
      sym.applyMask(mask); // XOR again: back to the unmasked data
    }
    if (best < 0) throw new RangeError('mask must be 0–7');
    var size = sym.size;
    return {
      size: size,
      version: encoded.version,
      ecl: ecl,
      mask: best,
      modules: bestModules,
      get: function (x, y) {
        return x >= 0 && y >= 0 && x < size && y < size && bestModules[y * size + x] === 1;
      },
    };
  }

  // Base64 of an ASCII string (the SVG is ASCII); btoa would do, but is not part of the language.
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function base64(ascii) {
    var out = '';
    for (var i = 0; i < ascii.length; i += 3) {
      var a = ascii.charCodeAt(i), b = ascii.charCodeAt(i + 1), c = ascii.charCodeAt(i + 2);
      var n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < ascii.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < ascii.length ? B64[n & 63] : '=');
    }
    return out;
  }

  // One path: each horizontal run of dark modules is a rectangle one module high.
  function svgDataUrl(text, options) {
    var margin = options && options.margin !== undefined ? options.margin : 4;
    var q = matrix(text, options);
    var full = q.size + margin * 2;
    var d = '';
    for (var y = 0; y < q.size; y++) {
      for (var x = 0; x < q.size; x++) {
        if (!q.get(x, y)) continue;
        var start = x;
        while (q.get(x + 1, y)) x++;
        d += 'M' + (start + margin) + ' ' + (y + margin) + 'h' + (x - start + 1) + 'v1h-' + (x - start + 1) + 'z';
      }
    }
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + full + ' ' + full + '" shape-rendering="crispEdges">' +
      '<rect width="' + full + '" height="' + full + '" fill="#fff"/><path fill="#000" d="' + d + '"/></svg>';
    return 'data:image/svg+xml;base64,' + base64(svg);
  }

  globalThis.idnavQr = { matrix: matrix, svgDataUrl: svgDataUrl };
})();
