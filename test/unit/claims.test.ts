import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLAIM_AUTHN_PROVIDER,
  CLAIM_COORDINATION_NUMBER,
  CLAIM_PERSONAL_IDENTITY_NUMBER,
  SCOPE_NATURAL_PERSON_INFO,
  SCOPE_NATURAL_PERSON_NUMBER,
  claimsFor,
  type ClaimsRequest,
} from '../../src/provider/claims.ts';

const PNR = '198602212394';
const SAMORDNING = '197010632391';
const METHOD = 'urn:idnav:method:bankid';

const person = (): Record<string, string | undefined> => ({
  given_name: 'Tore',
  family_name: 'Testsson',
  name: 'Tore Testsson',
  birthdate: '1986-02-21',
  [CLAIM_PERSONAL_IDENTITY_NUMBER]: PNR,
  [CLAIM_AUTHN_PROVIDER]: METHOD,
});

const NAME_CLAIMS = ['given_name', 'family_name', 'name', 'birthdate'];
const scopes = (...s: string[]) => new Set(['openid', ...s]);

describe('claimsFor: naturalPersonNumber scope', () => {
  const granted = scopes(SCOPE_NATURAL_PERSON_NUMBER);

  it('puts the personal identity number in the ID token', () => {
    const idToken = claimsFor('id_token', granted, undefined, person(), true);
    assert.equal(idToken[CLAIM_PERSONAL_IDENTITY_NUMBER], PNR);
  });

  it('puts the personal identity number in userinfo', () => {
    const userinfo = claimsFor('userinfo', granted, undefined, person(), true);
    assert.equal(userinfo[CLAIM_PERSONAL_IDENTITY_NUMBER], PNR);
  });

  it('treats a coordination number the same way', () => {
    const p = { ...person(), [CLAIM_PERSONAL_IDENTITY_NUMBER]: undefined, [CLAIM_COORDINATION_NUMBER]: SAMORDNING };
    assert.equal(claimsFor('id_token', granted, undefined, p, true)[CLAIM_COORDINATION_NUMBER], SAMORDNING);
    assert.equal(claimsFor('userinfo', granted, undefined, p, true)[CLAIM_COORDINATION_NUMBER], SAMORDNING);
    assert.ok(!(CLAIM_PERSONAL_IDENTITY_NUMBER in claimsFor('id_token', granted, undefined, p, true)));
  });

  it('keeps the number out of the ID token without the scope', () => {
    const idToken = claimsFor('id_token', scopes(SCOPE_NATURAL_PERSON_INFO), undefined, person(), true);
    assert.ok(!(CLAIM_PERSONAL_IDENTITY_NUMBER in idToken));
  });
});

describe('claimsFor: name claims', () => {
  it('go to userinfo only, not the ID token, by scope', () => {
    for (const s of [scopes('profile'), scopes(SCOPE_NATURAL_PERSON_INFO), scopes(SCOPE_NATURAL_PERSON_INFO, SCOPE_NATURAL_PERSON_NUMBER)]) {
      const idToken = claimsFor('id_token', s, undefined, person(), true);
      const userinfo = claimsFor('userinfo', s, undefined, person(), true);
      for (const c of NAME_CLAIMS) {
        assert.ok(!(c in idToken), `${c} must not be in the ID token`);
        assert.equal(userinfo[c], person()[c]);
      }
    }
  });

  it('go to the ID token when the claims parameter asks for them there', () => {
    const request: ClaimsRequest = { id_token: { given_name: null, family_name: { essential: true } } };
    const idToken = claimsFor('id_token', scopes(SCOPE_NATURAL_PERSON_INFO), request, person(), true);
    assert.equal(idToken.given_name, 'Tore');
    assert.equal(idToken.family_name, 'Testsson');
    // Only what was asked for.
    assert.ok(!('name' in idToken));
    assert.ok(!('birthdate' in idToken));
  });

  it('leave userinfo when the claims parameter names only the ID token', () => {
    const request: ClaimsRequest = { id_token: { given_name: null } };
    const userinfo = claimsFor('userinfo', scopes(SCOPE_NATURAL_PERSON_INFO), request, person(), true);
    assert.ok(!('given_name' in userinfo));
    // Claims the parameter does not mention keep their scope destination.
    assert.equal(userinfo.family_name, 'Testsson');
  });

  it('go to both destinations when the claims parameter names both', () => {
    const request: ClaimsRequest = { id_token: { name: null }, userinfo: { name: null } };
    assert.equal(claimsFor('id_token', scopes('profile'), request, person(), true).name, 'Tore Testsson');
    assert.equal(claimsFor('userinfo', scopes('profile'), request, person(), true).name, 'Tore Testsson');
  });
});

describe('claimsFor: the claims parameter destination wins', () => {
  it('asking for the number in userinfo only keeps it out of the ID token even with the scope', () => {
    const request: ClaimsRequest = { userinfo: { [CLAIM_PERSONAL_IDENTITY_NUMBER]: { essential: true } } };
    const granted = scopes(SCOPE_NATURAL_PERSON_NUMBER);
    const idToken = claimsFor('id_token', granted, request, person(), true);
    const userinfo = claimsFor('userinfo', granted, request, person(), true);
    assert.ok(!(CLAIM_PERSONAL_IDENTITY_NUMBER in idToken));
    assert.equal(userinfo[CLAIM_PERSONAL_IDENTITY_NUMBER], PNR);
  });

  it('asking for the number in the ID token releases it there without the scope', () => {
    const request: ClaimsRequest = { id_token: { [CLAIM_PERSONAL_IDENTITY_NUMBER]: null } };
    const idToken = claimsFor('id_token', scopes(), request, person(), true);
    assert.equal(idToken[CLAIM_PERSONAL_IDENTITY_NUMBER], PNR);
  });

  it('a null destination in the claims parameter counts as not asked', () => {
    const request: ClaimsRequest = { id_token: null, userinfo: null };
    const idToken = claimsFor('id_token', scopes(SCOPE_NATURAL_PERSON_NUMBER), request, person(), true);
    assert.equal(idToken[CLAIM_PERSONAL_IDENTITY_NUMBER], PNR);
    assert.ok(!('name' in idToken));
  });
});

describe('claimsFor: a client not allowed the number', () => {
  it('never gets it by scope', () => {
    const granted = scopes(SCOPE_NATURAL_PERSON_NUMBER, SCOPE_NATURAL_PERSON_INFO);
    for (const use of ['id_token', 'userinfo'] as const) {
      const out = claimsFor(use, granted, undefined, person(), false);
      assert.ok(!(CLAIM_PERSONAL_IDENTITY_NUMBER in out), use);
    }
  });

  it('never gets it through the claims parameter', () => {
    const request: ClaimsRequest = {
      id_token: { [CLAIM_PERSONAL_IDENTITY_NUMBER]: { essential: true }, [CLAIM_COORDINATION_NUMBER]: null },
      userinfo: { [CLAIM_PERSONAL_IDENTITY_NUMBER]: { essential: true }, [CLAIM_COORDINATION_NUMBER]: null },
    };
    const p = { ...person(), [CLAIM_COORDINATION_NUMBER]: SAMORDNING };
    for (const use of ['id_token', 'userinfo'] as const) {
      const out = claimsFor(use, scopes(SCOPE_NATURAL_PERSON_NUMBER), request, p, false);
      assert.ok(!(CLAIM_PERSONAL_IDENTITY_NUMBER in out), use);
      assert.ok(!(CLAIM_COORDINATION_NUMBER in out), use);
      assert.ok(!Object.values(out).includes(PNR), use);
      assert.ok(!Object.values(out).includes(SAMORDNING), use);
    }
  });

  it('still gets the other claims', () => {
    const userinfo = claimsFor('userinfo', scopes(SCOPE_NATURAL_PERSON_INFO), undefined, person(), false);
    assert.equal(userinfo.name, 'Tore Testsson');
    const idToken = claimsFor('id_token', scopes(), undefined, person(), false);
    assert.equal(idToken[CLAIM_AUTHN_PROVIDER], METHOD);
  });
});

describe('claimsFor: authnProvider', () => {
  it('goes to the ID token only', () => {
    const granted = scopes(SCOPE_NATURAL_PERSON_NUMBER, SCOPE_NATURAL_PERSON_INFO);
    assert.equal(claimsFor('id_token', granted, undefined, person(), true)[CLAIM_AUTHN_PROVIDER], METHOD);
    assert.ok(!(CLAIM_AUTHN_PROVIDER in claimsFor('userinfo', granted, undefined, person(), true)));
  });
});

describe('claimsFor: values', () => {
  it('drops undefined values', () => {
    const p: Record<string, string | undefined> = {
      given_name: undefined,
      family_name: 'Testsson',
      name: undefined,
      birthdate: undefined,
      [CLAIM_PERSONAL_IDENTITY_NUMBER]: undefined,
      [CLAIM_AUTHN_PROVIDER]: undefined,
    };
    const request: ClaimsRequest = { id_token: { given_name: null }, userinfo: { name: null } };
    const granted = scopes(SCOPE_NATURAL_PERSON_NUMBER, SCOPE_NATURAL_PERSON_INFO);
    assert.deepEqual(claimsFor('userinfo', granted, request, p, true), { family_name: 'Testsson' });
    assert.deepEqual(claimsFor('id_token', granted, request, p, true), {});
  });

  it('returns the exact ID token set for the number scope (no name claims, the number and authnProvider)', () => {
    assert.deepEqual(claimsFor('id_token', scopes(SCOPE_NATURAL_PERSON_NUMBER, SCOPE_NATURAL_PERSON_INFO), undefined, person(), true), {
      [CLAIM_PERSONAL_IDENTITY_NUMBER]: PNR,
      [CLAIM_AUTHN_PROVIDER]: METHOD,
    });
  });

  it('does not modify the person object', () => {
    const p = person();
    const before = { ...p };
    claimsFor('id_token', scopes(SCOPE_NATURAL_PERSON_NUMBER), { id_token: { name: null } }, p, false);
    assert.deepEqual(p, before);
  });
});
