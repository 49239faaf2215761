import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientConfig } from '../../src/config/types.ts';
import { Accounts, type AccountRecord } from '../../src/provider/accounts.ts';
import {
  CLAIM_COORDINATION_NUMBER,
  CLAIM_EIDAS_COUNTRY,
  CLAIM_EIDAS_PERSON_IDENTIFIER,
  CLAIM_EIDAS_PRID,
  CLAIM_EIDAS_PRID_PERSISTENCE,
  CLAIM_IDENTITY_BINDING,
  CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER,
  CLAIM_PERSONAL_IDENTITY_NUMBER,
  CLAIM_STAFF,
  SCOPE_EIDAS_NATURAL_PERSON,
  claimsFor,
} from '../../src/provider/claims.ts';
import { mappedNumberClaims } from '../../src/provider/provider.ts';

const POPULATION_REGISTER = 'http://id.swedenconnect.se/id-binding/process/populationregister';
const SWEDISH_EID = 'http://id.swedenconnect.se/id-binding/process/swedish-eid';

const eidasAccount = (mapped?: string): AccountRecord => ({
  subjectType: 'eidas',
  subject: 'NO:05068907693',
  method: 'urn:idnav:method:saml:eidas',
  updatedAt: 0,
  givenName: 'Kari',
  familyName: 'Nordmann',
  eidas: {
    country: 'NO',
    prid: 'NO:05068907693',
    pridPersistence: 'A',
    personIdentifier: 'NO/SE/05068907693',
    ...(mapped ? { mappedPersonalIdentityNumber: mapped, personalIdentityNumberBinding: [POPULATION_REGISTER] } : {}),
  },
});

const client = (bindings: string[]): ClientConfig => ({ client_id: 'c', eidas_accepted_identity_bindings: bindings }) as unknown as ClientConfig;

describe('eIDAS claims', () => {
  it('carries prid and pridPersistence in the ID token by scope, the rest in UserInfo, and never a personal identity number', () => {
    const person = Accounts.personClaims(eidasAccount());
    assert.equal(person[CLAIM_PERSONAL_IDENTITY_NUMBER], undefined);
    assert.equal(person[CLAIM_COORDINATION_NUMBER], undefined);
    const scopes = new Set(['openid', SCOPE_EIDAS_NATURAL_PERSON]);
    const idToken = claimsFor('id_token', scopes, undefined, person, true);
    assert.deepEqual(Object.keys(idToken).sort(), [CLAIM_EIDAS_PRID, CLAIM_EIDAS_PRID_PERSISTENCE, 'https://id.oidc.se/claim/authnProvider'].sort());
    const userinfo = claimsFor('userinfo', scopes, undefined, person, true);
    assert.equal(userinfo[CLAIM_EIDAS_PERSON_IDENTIFIER], 'NO/SE/05068907693');
    assert.equal(userinfo[CLAIM_EIDAS_COUNTRY], 'NO');
  });

  it('releases a mapped Swedish number as such, and as the personal identity number only to clients accepting its binding', () => {
    const account = eidasAccount('198602212394');
    assert.deepEqual(mappedNumberClaims(account, client([])), {
      [CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER]: '198602212394',
      [CLAIM_IDENTITY_BINDING]: POPULATION_REGISTER,
    });
    assert.equal(mappedNumberClaims(account, client([SWEDISH_EID]))[CLAIM_PERSONAL_IDENTITY_NUMBER], undefined);
    assert.equal(mappedNumberClaims(account, client([POPULATION_REGISTER]))[CLAIM_PERSONAL_IDENTITY_NUMBER], '198602212394');
    assert.deepEqual(mappedNumberClaims(eidasAccount(), client([POPULATION_REGISTER])), {});
  });
});

describe('claims the client is not allowed', () => {
  it('are not released through the claims parameter either', () => {
    const account = eidasAccount('198602212394');
    const person = { ...Accounts.personClaims(account), ...mappedNumberClaims(account, client([])) };
    const request = {
      id_token: { [CLAIM_EIDAS_PRID]: null, [CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER]: null, [CLAIM_EIDAS_PERSON_IDENTIFIER]: null, given_name: null, [CLAIM_STAFF]: null },
    };
    const released = claimsFor('id_token', new Set(['openid']), request, person, false, ['profile']);
    assert.equal(released.given_name, 'Kari', 'profile is allowed');
    for (const claim of [CLAIM_EIDAS_PRID, CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER, CLAIM_EIDAS_PERSON_IDENTIFIER, CLAIM_STAFF]) {
      assert.equal(released[claim], undefined, claim);
    }
    const allowed = claimsFor('id_token', new Set(['openid']), request, person, false, [SCOPE_EIDAS_NATURAL_PERSON]);
    assert.equal(allowed[CLAIM_EIDAS_PRID], 'NO:05068907693');
    assert.equal(allowed[CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER], undefined, 'needs eidasSwedishIdentity');
  });
});

describe('staff claims', () => {
  it('names the municipality and the employee, and never a personal identity number', () => {
    const account: AccountRecord = {
      subjectType: 'staff',
      subject: 'karlstad:E1001',
      method: 'urn:idnav:method:saml:karlstad-personal',
      updatedAt: 0,
      staff: { tenant: 'karlstad', employeeId: 'E1001', mail: 'anna.larsson@karlstad.se' },
    };
    const person = Accounts.personClaims(account);
    assert.deepEqual(person[CLAIM_STAFF], { tenant: 'karlstad', employee_id: 'E1001' });
    assert.equal(person.email, 'anna.larsson@karlstad.se');
    assert.equal(person[CLAIM_PERSONAL_IDENTITY_NUMBER], undefined);
    assert.equal(Accounts.staffOf(account)?.tenant, 'karlstad');
  });
});
