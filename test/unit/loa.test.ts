import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meetingAny, meets } from '../../src/identity/loa.ts';

const U2 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa2';
const U3 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';
const C3 = 'http://id.elegnamnden.se/loa/1.0/loa3';
const C2 = 'http://id.elegnamnden.se/loa/1.0/loa2';

describe('levels of assurance', () => {
  it('meets a request at the same or a lower level', () => {
    assert.ok(meets(U3, U3));
    assert.ok(meets(U3, U2));
    assert.ok(!meets(U2, U3));
  });

  it('lets a certified level meet an uncertified requirement, never the other way round', () => {
    assert.ok(meets(C3, U3));
    assert.ok(meets(C3, U2));
    assert.ok(!meets(U3, C3));
    assert.ok(!meets(U3, C2));
  });

  it('matches unknown values only exactly', () => {
    assert.ok(meets('urn:x:acr', 'urn:x:acr'));
    assert.ok(!meets('urn:x:acr', U2));
    assert.ok(!meets(U3, 'urn:x:acr'));
  });

  it('filters what a method can offer by what the RP accepts', () => {
    assert.deepEqual(meetingAny([U3, U2], [U3]), [U3]);
    assert.deepEqual(meetingAny([U3, U2], [U2]), [U3, U2]);
    assert.deepEqual(meetingAny([U3, U2], []), [U3, U2]);
    assert.deepEqual(meetingAny([U2], [C3]), []);
  });
});
