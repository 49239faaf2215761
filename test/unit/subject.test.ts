import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { pairwiseSubject, publicSubject, subjectKey } from '../../src/identity/subject.ts';

const SECRET = 'test-subject-secret-0123456789abcdef';
const OTHER_SECRET = 'another-subject-secret-fedcba9876543210';
const TORE = '198602212394';
const GRETA = '194106279161';
const SAMORDNING = '197010632391';

/** Every run of `len` consecutive characters of `digits`. */
function runs(digits: string, len: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + len <= digits.length; i++) out.push(digits.slice(i, i + len));
  return out;
}

describe('subjectKey', () => {
  it('is se:<12 digits> for a personnummer', () => {
    assert.equal(subjectKey({ subjectType: 'personnummer', subject: TORE }), `se:${TORE}`);
  });

  it('is se:<12 digits> for a samordningsnummer', () => {
    assert.equal(subjectKey({ subjectType: 'samordningsnummer', subject: SAMORDNING }), `se:${SAMORDNING}`);
  });

  it('gives the same key for the same digits whatever the subject type', () => {
    // One number space: the type does not split one person into two subjects.
    assert.equal(
      subjectKey({ subjectType: 'personnummer', subject: SAMORDNING }),
      subjectKey({ subjectType: 'samordningsnummer', subject: SAMORDNING }),
    );
  });

  it('gives different keys for different numbers', () => {
    assert.notEqual(subjectKey({ subjectType: 'personnummer', subject: TORE }), subjectKey({ subjectType: 'personnummer', subject: GRETA }));
  });
});

describe('publicSubject', () => {
  const key = `se:${TORE}`;

  it('is not the personal number and holds no run of six or more of its digits', () => {
    for (const pnr of [TORE, GRETA, SAMORDNING]) {
      const sub = publicSubject(SECRET, `se:${pnr}`);
      assert.ok(!sub.includes(pnr));
      for (const run of runs(pnr, 6)) assert.ok(!sub.includes(run), `sub ${sub} contains ${run} of ${pnr}`);
    }
  });

  it('is a base64url SHA-256 HMAC (43 characters, no padding)', () => {
    const sub = publicSubject(SECRET, key);
    assert.match(sub, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(sub, createHmac('sha256', SECRET).update(`public|${key}`).digest('base64url'));
  });

  it('is stable for the same secret and key', () => {
    assert.equal(publicSubject(SECRET, key), publicSubject(SECRET, key));
  });

  it('changes when the secret changes', () => {
    assert.notEqual(publicSubject(SECRET, key), publicSubject(OTHER_SECRET, key));
  });

  it('differs between people', () => {
    assert.notEqual(publicSubject(SECRET, `se:${TORE}`), publicSubject(SECRET, `se:${GRETA}`));
  });

  it('is the same for a personnummer and a samordningsnummer with the same digits', () => {
    const a = publicSubject(SECRET, subjectKey({ subjectType: 'personnummer', subject: SAMORDNING }));
    const b = publicSubject(SECRET, subjectKey({ subjectType: 'samordningsnummer', subject: SAMORDNING }));
    assert.equal(a, b);
  });
});

describe('pairwiseSubject', () => {
  const pub = publicSubject(SECRET, `se:${TORE}`);

  it('differs between sectors', () => {
    const a = pairwiseSubject(SECRET, 'karlstad.se', pub);
    const b = pairwiseSubject(SECRET, 'hammaro.se', pub);
    assert.notEqual(a, b);
  });

  it('differs from the public sub', () => {
    const pairwise = pairwiseSubject(SECRET, 'karlstad.se', pub);
    assert.notEqual(pairwise, pub);
    assert.match(pairwise, /^[A-Za-z0-9_-]{43}$/);
  });

  it('is stable per sector', () => {
    assert.equal(pairwiseSubject(SECRET, 'karlstad.se', pub), pairwiseSubject(SECRET, 'karlstad.se', pub));
  });

  it('differs between people within one sector', () => {
    const other = publicSubject(SECRET, `se:${GRETA}`);
    assert.notEqual(pairwiseSubject(SECRET, 'karlstad.se', pub), pairwiseSubject(SECRET, 'karlstad.se', other));
  });

  it('changes when the secret changes', () => {
    assert.notEqual(pairwiseSubject(SECRET, 'karlstad.se', pub), pairwiseSubject(OTHER_SECRET, 'karlstad.se', pub));
  });

  it('holds no run of six or more digits of the personal number', () => {
    for (const sector of ['karlstad.se', 'hammaro.se', 'https://rp.example']) {
      const pairwise = pairwiseSubject(SECRET, sector, pub);
      for (const run of runs(TORE, 6)) assert.ok(!pairwise.includes(run));
    }
  });
});
