import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luhnCheckDigit, parsePersonalNumber } from '../../src/identity/personnummer.ts';

// Check digits in this file were computed independently of the code under test.

describe('luhnCheckDigit', () => {
  it('computes the check digit over the nine digits YYMMDDNNN', () => {
    assert.equal(luhnCheckDigit('860221239'), 4);
    assert.equal(luhnCheckDigit('410627916'), 1);
    // 640823-3234: Skatteverket's example.
    assert.equal(luhnCheckDigit('640823323'), 4);
    assert.equal(luhnCheckDigit('701063239'), 1);
  });

  it('gives 0 when the weighted sum is a multiple of ten', () => {
    // 5 at an even index doubles to 10 -> 1; 9 at an odd index stays 9: 1 + 9 = 10.
    assert.equal(luhnCheckDigit('590000000'), 0);
    assert.equal(luhnCheckDigit('000000000'), 0);
  });

  it('folds doubled digits above nine (9 * 2 = 18 -> 9)', () => {
    // Only the first digit counts: 9 doubled is 18 -> 1 + 8 = 9 -> check digit 1.
    assert.equal(luhnCheckDigit('900000000'), 1);
    // A digit at an odd index is not doubled: 8 -> check digit 2.
    assert.equal(luhnCheckDigit('080000000'), 2);
    // 8 at an even index: 16 -> 7 -> check digit 3.
    assert.equal(luhnCheckDigit('800000000'), 3);
  });
});

describe('parsePersonalNumber: valid personnummer', () => {
  const cases: Array<[string, string]> = [
    ['198602212394', '1986-02-21'],
    ['194106279161', '1941-06-27'],
    ['196408233234', '1964-08-23'],
    ['189912300085', '1899-12-30'],
  ];
  for (const [pnr, birthdate] of cases) {
    it(`accepts ${pnr}`, () => {
      assert.deepEqual(parsePersonalNumber(pnr), { normalized: pnr, type: 'personnummer', birthdate });
    });
  }

  it('accepts 29 February in a leap year (2000)', () => {
    assert.deepEqual(parsePersonalNumber('200002292381'), { normalized: '200002292381', type: 'personnummer', birthdate: '2000-02-29' });
  });
});

describe('parsePersonalNumber: samordningsnummer', () => {
  it('types day + 60 as a samordningsnummer and subtracts 60 for the birthdate', () => {
    // 701063-2391
    assert.deepEqual(parsePersonalNumber('197010632391'), {
      normalized: '197010632391',
      type: 'samordningsnummer',
      birthdate: '1970-10-03',
    });
  });

  it('pads a single-digit birth day (day 61 -> 01)', () => {
    assert.deepEqual(parsePersonalNumber('198602612395'), {
      normalized: '198602612395',
      type: 'samordningsnummer',
      birthdate: '1986-02-01',
    });
  });

  it('accepts the simulator test person with a samordningsnummer', () => {
    const parsed = parsePersonalNumber('190803752427');
    assert.equal(parsed?.type, 'samordningsnummer');
    assert.equal(parsed?.birthdate, '1908-03-15');
  });

  it('refuses day 60 (neither a real day nor day + 60 of one)', () => {
    assert.equal(parsePersonalNumber('198602602396'), undefined);
  });

  it('refuses a samordningsnummer whose day minus 60 is impossible (31 February)', () => {
    assert.equal(parsePersonalNumber('198602912399'), undefined);
  });
});

describe('parsePersonalNumber: refusals', () => {
  it('refuses a wrong check digit', () => {
    assert.equal(parsePersonalNumber('198602212395'), undefined);
    assert.equal(parsePersonalNumber('196408233235'), undefined);
    assert.equal(parsePersonalNumber('197010632392'), undefined);
  });

  it('refuses impossible dates even with a correct check digit', () => {
    assert.equal(parsePersonalNumber('198602302393'), undefined, '30 February');
    assert.equal(parsePersonalNumber('198613212391'), undefined, 'month 13');
    assert.equal(parsePersonalNumber('198602002399'), undefined, 'day 00');
    assert.equal(parsePersonalNumber('190002291235'), undefined, '29 February 1900 (not a leap year)');
  });

  it('refuses month 00', () => {
    // 860021-2396: the check digit is right, only the month is wrong.
    assert.equal(parsePersonalNumber('198600212396'), undefined);
  });

  it('refuses the 10-digit form and separators', () => {
    assert.equal(parsePersonalNumber('8602212394'), undefined);
    assert.equal(parsePersonalNumber('860221-2394'), undefined);
    assert.equal(parsePersonalNumber('19860221-2394'), undefined);
    assert.equal(parsePersonalNumber('860221+2394'), undefined);
  });

  it('refuses wrong lengths', () => {
    assert.equal(parsePersonalNumber(''), undefined);
    assert.equal(parsePersonalNumber('19860221239'), undefined);
    assert.equal(parsePersonalNumber('1986022123944'), undefined);
  });

  it('refuses non-digits and surrounding whitespace', () => {
    assert.equal(parsePersonalNumber('19860221239a'), undefined);
    assert.equal(parsePersonalNumber('１９８６０２２１２３９４'), undefined, 'full-width digits');
    assert.equal(parsePersonalNumber(' 198602212394'), undefined);
    assert.equal(parsePersonalNumber('198602212394\n'), undefined);
  });

  it('refuses centuries outside 1800-2099', () => {
    // Same ten digits as a valid number: only the century is wrong.
    assert.equal(parsePersonalNumber('218602212394'), undefined);
    assert.equal(parsePersonalNumber('178602212394'), undefined);
  });

  it('refuses values that are not strings', () => {
    for (const value of [198602212394, undefined, null, {}, ['198602212394'], true, 198602212394n]) {
      assert.equal(parsePersonalNumber(value), undefined, String(value));
    }
  });
});
