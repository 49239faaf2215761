import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { RedirectBegin, RedirectEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import type { SamlState } from './adapter.ts';
import { samlModule } from './index.ts';
import { IdpMetadataSource } from './metadata.ts';
import {
  ATTRS,
  EBBA_SAMORDNING,
  EIDAS_NF_HIGH,
  EIDAS_NF_SUB,
  FIXTURES,
  IDP,
  ISSUER,
  LOA3,
  NOW,
  PPT,
  SSO_POST,
  SSO_REDIRECT,
  TORE,
  acsOf,
  b64,
  buildIdpMetadata,
  buildResponse,
  corpusState,
  makeAdapter,
  rawConfig,
  rejectsHub,
  spEntityOf,
  swedenConnectAttributes,
  testContext,
  testKeys,
  type Attr,
  type ResponseSpec,
} from './testkit.ts';
import { trustedKeyFromCertificate } from './xmldsig.ts';

const keys = testKeys();
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'idnav-saml-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const adapters: RedirectEidAdapter[] = [];
after(async () => {
  for (const a of adapters) await a.close();
});

async function adapter(overrides: Record<string, unknown> = {}, ctx = testContext(), id = 'sc'): Promise<RedirectEidAdapter> {
  const a = await makeAdapter(rawConfig(overrides), ctx, id);
  adapters.push(a);
  return a;
}

const stateOf = (begin: RedirectBegin) => JSON.parse(begin.state) as SamlState;

/** begin, then the IdP's answer built from `spec` for that request, then complete. */
async function signIn(a: RedirectEidAdapter, spec: ResponseSpec = {}, options: { forceAuthn?: boolean; acceptableAcr?: string[] } = {}) {
  const begun = await a.begin({
    returnUrl: acsOf(a.id),
    relayState: 'rs-1',
    forceAuthn: options.forceAuthn ?? false,
    lang: 'sv',
    ...(options.acceptableAcr ? { acceptableAcr: options.acceptableAcr } : {}),
  });
  const state = stateOf(begun);
  const xml = buildResponse({ acs: state.acs, spEntityId: spEntityOf(a.id), inResponseTo: state.id, ...spec });
  return a.complete({ url: state.acs, fields: { SAMLResponse: b64(xml), RelayState: 'rs-1' }, state: begun.state });
}

const encryptTo = (which: 'sp-encryption' | 'sp-encryption-old', seed: string) => ({ certPem: keys[which].certPem, seed });

describe('SAML adapter: Sweden Connect profile', () => {
  it('signs a person in from a signed Response with a signed, encrypted assertion', async () => {
    const ctx = testContext();
    const a = await adapter({ requireEncryptedAssertion: true }, ctx);
    assert.equal(a.kind, 'redirect');
    assert.equal(a.methodUri, 'urn:idnav:method:saml:sc');
    assert.deepEqual(a.acrValues, ['http://id.swedenconnect.se/loa/1.0/uncertified-loa3']);
    assert.equal(a.tenant, undefined);
    const identity = await signIn(a, { assertionId: '_happy', encrypt: encryptTo('sp-encryption', 'happy') });
    assert.equal(identity.subjectType, 'personnummer');
    assert.equal(identity.subject, TORE);
    assert.equal(identity.givenName, 'Tore');
    assert.equal(identity.familyName, 'Testsson');
    assert.equal(identity.name, 'Tore Testsson');
    assert.equal(identity.birthdate, '1986-02-21');
    assert.equal(identity.method, 'urn:idnav:method:saml:sc');
    assert.equal(identity.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
    assert.deepEqual(identity.amr, ['mfa']);
    assert.equal(identity.authTime, Math.floor((NOW - 10_000) / 1000));
    assert.deepEqual(identity.evidence, {
      assertionId: '_happy',
      issuer: IDP,
      authnInstant: new Date(NOW - 10_000).toISOString(),
      authnContextClassRef: LOA3,
      responseId: '_r1e2s3p4o5n6s7e8a9b0c1d2e3f4a5b6',
    });
    assert.equal(identity.eidas, undefined);
    assert.equal(identity.staff, undefined);
  });

  it('tells a samordningsnummer from a personnummer', async () => {
    const a = await adapter();
    const identity = await signIn(a, { attributes: swedenConnectAttributes(EBBA_SAMORDNING, 'Ebba', 'Samordnadsson') });
    assert.equal(identity.subjectType, 'samordningsnummer');
    assert.equal(identity.subject, EBBA_SAMORDNING);
    assert.equal(identity.birthdate, '1908-03-15');
  });

  it('verifies ECDSA-SHA256 signatures (P-256) with the key from the metadata', async () => {
    const a = await adapter();
    const ec = { key: keys['idp-ec'] };
    const identity = await signIn(a, { signResponse: ec, signAssertion: ec, encrypt: encryptTo('sp-encryption', 'ecdsa') });
    assert.equal(identity.subject, TORE);
  });

  it('refuses an ECDSA signature when the metadata holds only the RSA key', async () => {
    const file = path.join(tmp, 'rsa-only.xml');
    await writeFile(file, buildIdpMetadata({ signingCerts: [keys['idp-rsa'].cert] }));
    const a = await adapter({ idp: { metadataFile: file } });
    const ec = { key: keys['idp-ec'], keyInfoCert: null };
    const err = await rejectsHub(signIn(a, { signResponse: ec, signAssertion: ec }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /does not verify with any of the 1 trusted key/);
  });

  it('accepts every signing key the metadata lists (IdP key rollover)', async () => {
    const file = path.join(tmp, 'rollover.xml');
    await writeFile(file, buildIdpMetadata({ signingCerts: [keys['idp-rsa'].cert, keys['idp-rsa-next'].cert] }));
    const a = await adapter({ idp: { metadataFile: file } });
    const next = { key: keys['idp-rsa-next'] };
    assert.equal((await signIn(a, { assertionId: '_n1', signResponse: next, signAssertion: next })).subject, TORE);
    assert.equal((await signIn(a, { assertionId: '_n2' })).subject, TORE);
  });

  it('decrypts with the previous encryption key during a rollover, and says so', async () => {
    const ctx = testContext();
    const a = await adapter(
      {
        requireEncryptedAssertion: true,
        sp: { encryptionKeyFiles: [keys['sp-encryption'].file.key, keys['sp-encryption-old'].file.key], encryptionCertFile: keys['sp-encryption'].file.cert },
      },
      ctx,
    );
    assert.equal((await signIn(a, { assertionId: '_new', encrypt: encryptTo('sp-encryption', 'new') })).subject, TORE);
    assert.equal(ctx.logged.filter((l) => /previous encryption key/.test(l.msg ?? '')).length, 0);
    assert.equal((await signIn(a, { assertionId: '_old', encrypt: encryptTo('sp-encryption-old', 'old') })).subject, TORE);
    assert.equal(ctx.logged.filter((l) => /previous encryption key/.test(l.msg ?? '')).length, 1);

    const current = await adapter({ requireEncryptedAssertion: true }, testContext(), 'sc2');
    const err = await rejectsHub(signIn(current, { encrypt: encryptTo('sp-encryption-old', 'old2') }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /cannot be decrypted with any of the 1 SP decryption key/);
  });

  it('refuses a plain assertion when encryption is required (the profile default)', async () => {
    const a = await adapter({ requireEncryptedAssertion: undefined });
    const err = await rejectsHub(signIn(a), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /the assertion is not encrypted/);
  });

  it('binds each request to one answer, and each assertion to one use', async () => {
    const a = await adapter();
    const begun = await a.begin({ returnUrl: acsOf(), relayState: 'rs-1', forceAuthn: false, lang: 'sv' });
    const { id } = stateOf(begun);
    const answer = (assertionId: string) => ({
      url: acsOf(),
      fields: { SAMLResponse: b64(buildResponse({ inResponseTo: id, assertionId })) },
      state: begun.state,
    });
    await a.complete(answer('_first'));
    const replayed = await rejectsHub(a.complete(answer('_first')), 'TRANSACTION_REPLAYED');
    assert.match(replayed.detail!, /assertion _first .* has already been used/);
    const second = await rejectsHub(a.complete(answer('_second')), 'TRANSACTION_REPLAYED');
    assert.match(second.detail!, /request .* has already been answered/);
  });

  it('keeps an assertion ID in the Store until its NotOnOrAfter, shared by every adapter on that Store', async () => {
    const ctx = testContext();
    const one = await adapter({}, ctx);
    const other = await adapter({}, ctx);
    await one.complete({ url: acsOf(), fields: { SAMLResponse: b64(buildResponse()) }, state: corpusState() });
    await rejectsHub(other.complete({ url: acsOf(), fields: { SAMLResponse: b64(buildResponse()) }, state: corpusState() }), 'TRANSACTION_REPLAYED');
  });

  it('tolerates the configured clock skew and no more', async () => {
    const ahead = { issueInstant: NOW + 45_000, assertionIssueInstant: NOW + 45_000, notBefore: NOW + 45_000, authnInstant: NOW + 40_000 };
    const lenient = await adapter();
    assert.equal((await signIn(lenient, { assertionId: '_skew1', ...ahead })).subject, TORE);
    const strict = await adapter({ clockSkewSeconds: 30 }, testContext(), 'strict');
    const err = await rejectsHub(signIn(strict, { assertionId: '_skew2', ...ahead }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /IssueInstant .* is in the future/);
    assert.equal(samlModule.validate(rawConfig({ clockSkewSeconds: 120 })).ok, false);
  });

  it('with ForceAuthn, refuses an authentication from before the request', async () => {
    const a = await adapter();
    const err = await rejectsHub(signIn(a, { authnInstant: NOW - 600_000 }, { forceAuthn: true }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /ForceAuthn/);
    assert.equal((await signIn(a, { assertionId: '_fresh', authnInstant: NOW - 1_000 }, { forceAuthn: true })).subject, TORE);
  });

  it('refuses an answer to a request older than maxRequestAgeSeconds', async () => {
    const ctx = testContext();
    const a = await adapter({}, ctx);
    await rejectsHub(
      a.complete({ url: acsOf(), fields: { SAMLResponse: b64(buildResponse()) }, state: corpusState({ at: NOW - 1_801_000 }) }),
      'EID_EXPIRED',
    );
  });

  it('checks where the answer arrived, its RelayState, its form and the state', async () => {
    const a = await adapter();
    const good = { url: acsOf(), fields: { SAMLResponse: b64(buildResponse()), RelayState: 'tx-0001' }, state: corpusState() };
    assert.match((await rejectsHub(a.complete({ ...good, url: 'https://evil.example.org/login/saml/sc/acs' }), 'EID_RESPONSE_INVALID')).detail!, /arrived at/);
    assert.match((await rejectsHub(a.complete({ ...good, fields: { ...good.fields, RelayState: 'other' } }), 'EID_RESPONSE_INVALID')).detail!, /RelayState/);
    assert.match((await rejectsHub(a.complete({ ...good, fields: {} }), 'EID_RESPONSE_INVALID')).detail!, /no SAMLResponse/);
    assert.match((await rejectsHub(a.complete({ ...good, fields: { SAMLResponse: '%%%not base64' } }), 'EID_RESPONSE_INVALID')).detail!, /not base64/);
    await rejectsHub(a.complete({ ...good, state: '{"v":2}' }), 'TRANSACTION_MISMATCH');
    await rejectsHub(a.complete({ ...good, state: 'not json' }), 'TRANSACTION_MISMATCH');
  });

  it('answers anything a browser can post with a HubError or the signed identity, never another exception', async () => {
    const a = await adapter();
    const valid = buildResponse();
    const inputs: string[] = ['', '<', '<x/>', 'A'.repeat(8), Buffer.from([0xff, 0xfe, 0x00]).toString('base64')];
    for (let i = 0; i < 120; i++) {
      const at = (i * 7919) % valid.length;
      inputs.push(b64(valid.slice(0, at)));
      inputs.push(b64(valid.slice(0, at) + String.fromCharCode(33 + (i % 90)) + valid.slice(at + 1)));
    }
    for (const input of inputs) {
      let identity;
      try {
        identity = await a.complete({ url: acsOf(), fields: { SAMLResponse: input || '=' }, state: corpusState() });
      } catch (err) {
        assert.ok(err instanceof HubError, `not a HubError: ${String(err)}`);
        assert.ok(['EID_RESPONSE_INVALID', 'EID_FAILED', 'TRANSACTION_REPLAYED'].includes(err.code), `${err.code}: ${err.detail}`);
        continue;
      }
      // A change outside the signed bytes (an unused namespace declaration, KeyInfo) changes nothing read.
      assert.equal(identity.subject, TORE);
    }
  });
});

describe('SAML adapter: eIDAS profile', () => {
  const eidasAttributes = (extra: Attr[] = []): Attr[] => [
    { name: ATTRS.prid, values: ['NO:05068907693'] },
    { name: ATTRS.pridPersistence, values: ['A'] },
    { name: ATTRS.eidasPersonIdentifier, values: ['NO/SE/05068907693'] },
    { name: ATTRS.c, values: ['NO'] },
    { name: ATTRS.dateOfBirth, values: ['1989-06-05'] },
    { name: ATTRS.givenName, values: ['Kari'] },
    { name: ATTRS.sn, values: ['Nordmann'] },
    ...extra,
  ];
  const eidasConfig = { profile: 'eidas', requireEncryptedAssertion: true };
  const POPULATION_REGISTER = 'http://id.swedenconnect.se/id-binding/process/populationregister';

  it('makes the prid the subject and keeps mappedPersonalIdentityNumber apart', async () => {
    const a = await adapter(eidasConfig);
    assert.deepEqual(a.acrValues, ['http://id.swedenconnect.se/loa/1.0/uncertified-eidas-sub', 'http://id.swedenconnect.se/loa/1.0/uncertified-eidas-high']);
    const identity = await signIn(a, {
      authnContextClassRef: EIDAS_NF_SUB,
      attributes: eidasAttributes([
        { name: ATTRS.mappedPersonalIdentityNumber, values: [TORE] },
        { name: ATTRS.personalIdentityNumberBinding, values: [POPULATION_REGISTER] },
      ]),
      encrypt: encryptTo('sp-encryption', 'eidas'),
    });
    assert.equal(identity.subjectType, 'eidas');
    assert.equal(identity.subject, 'NO:05068907693');
    assert.equal(identity.acr, 'http://id.swedenconnect.se/loa/1.0/uncertified-eidas-sub');
    assert.deepEqual(identity.amr, ['mfa']);
    assert.equal(identity.birthdate, '1989-06-05');
    assert.deepEqual(identity.eidas, {
      country: 'NO',
      prid: 'NO:05068907693',
      pridPersistence: 'A',
      personIdentifier: 'NO/SE/05068907693',
      mappedPersonalIdentityNumber: TORE,
      personalIdentityNumberBinding: [POPULATION_REGISTER],
    });
    assert.ok(!JSON.stringify({ ...identity, eidas: undefined }).includes(TORE), 'the mapped number appears nowhere but in identity.eidas');
  });

  it('leaves out a mapped number that comes without its binding', async () => {
    const ctx = testContext();
    const a = await adapter(eidasConfig, ctx);
    const identity = await signIn(a, {
      authnContextClassRef: EIDAS_NF_HIGH,
      attributes: eidasAttributes([{ name: ATTRS.mappedPersonalIdentityNumber, values: [TORE] }]),
      encrypt: encryptTo('sp-encryption', 'eidas-2'),
    });
    assert.equal(identity.eidas?.mappedPersonalIdentityNumber, undefined);
    assert.ok(ctx.logged.some((l) => /without personalIdentityNumberBinding/.test(l.msg ?? '')));
    assert.ok(!JSON.stringify(ctx.logged).includes(TORE), 'the number is not logged');
  });

  it('asks only for the levels the relying party accepts, and holds the IdP to them', async () => {
    const a = await adapter(eidasConfig);
    const high = ['http://id.swedenconnect.se/loa/1.0/uncertified-eidas-high'];
    const begun = await a.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'en', acceptableAcr: high });
    assert.deepEqual(stateOf(begun).loa, [EIDAS_NF_HIGH]);
    const request = inflateRawSync(Buffer.from(new URL((begun as { url: string }).url).searchParams.get('SAMLRequest')!, 'base64')).toString();
    assert.match(request, /Comparison="exact"><saml:AuthnContextClassRef[^>]*>http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/eidas-nf-high</);
    assert.doesNotMatch(request, /eidas-nf-sub/);
    const xml = buildResponse({ inResponseTo: stateOf(begun).id, authnContextClassRef: EIDAS_NF_SUB, attributes: eidasAttributes(), encrypt: encryptTo('sp-encryption', 'x') });
    const err = await rejectsHub(a.complete({ url: acsOf(), fields: { SAMLResponse: b64(xml) }, state: begun.state }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /eidas-nf-sub was not requested/);
    await rejectsHub(a.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'en', acceptableAcr: ['http://id.swedenconnect.se/loa/1.0/uncertified-loa3'] }), 'EID_UNSUPPORTED');
  });

  it('refuses a malformed prid', async () => {
    const a = await adapter(eidasConfig);
    const attributes = eidasAttributes().map((x) => (x.name === ATTRS.prid ? { ...x, values: ['not a prid'] } : x));
    const err = await rejectsHub(signIn(a, { authnContextClassRef: EIDAS_NF_SUB, attributes, encrypt: encryptTo('sp-encryption', 'p') }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /prid/);
  });
});

describe('SAML adapter: staff profile (AD FS)', () => {
  const CLAIMS = {
    objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
    mail: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    given: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
    surname: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
    upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  };
  const staffConfig = {
    profile: 'staff',
    tenant: 'karlstad',
    requireSignedResponse: false,
    staffIdAttribute: CLAIMS.objectId,
    attributeNames: { mail: CLAIMS.mail, givenName: CLAIMS.given, sn: CLAIMS.surname, eduPersonPrincipalName: CLAIMS.upn },
    displayName: { sv: 'Karlstads kommun – anställd', en: 'Karlstad municipality – staff' },
  };
  const staffAttributes: Attr[] = [
    { name: CLAIMS.objectId, values: ['4f7c1b2a-9d3e-4c1f-8a6b-2e5d7c9f0a1b'] },
    { name: CLAIMS.mail, values: ['anna.larsson@karlstad.se', 'a.larsson@karlstad.se'] },
    { name: CLAIMS.given, values: ['Anna'] },
    { name: CLAIMS.surname, values: ['Larsson'] },
    { name: CLAIMS.upn, values: ['anna.larsson@karlstad.se'] },
  ];

  it('makes a tenant-scoped staff identity from an AD FS answer (assertion signed only)', async () => {
    const a = await adapter(staffConfig, testContext(), 'karlstad-personal');
    assert.equal(a.tenant, 'karlstad');
    assert.deepEqual(a.acrValues, [PPT]);
    const identity = await signIn(a, { signResponse: null, authnContextClassRef: PPT, attributes: staffAttributes });
    assert.equal(identity.subjectType, 'staff');
    assert.equal(identity.subject, 'karlstad:4f7c1b2a-9d3e-4c1f-8a6b-2e5d7c9f0a1b');
    assert.deepEqual(identity.staff, {
      tenant: 'karlstad',
      employeeId: '4f7c1b2a-9d3e-4c1f-8a6b-2e5d7c9f0a1b',
      mail: 'anna.larsson@karlstad.se',
      eduPersonPrincipalName: 'anna.larsson@karlstad.se',
    });
    assert.equal(identity.name, 'Anna Larsson');
    assert.equal(identity.acr, PPT);
    assert.deepEqual(identity.amr, ['pwd']);
    assert.equal(identity.method, 'urn:idnav:method:saml:karlstad-personal');
  });

  it('can take the employee id from the NameID, and refuses an answer without it', async () => {
    const a = await adapter({ ...staffConfig, staffIdAttribute: 'NameID' }, testContext(), 'nameid');
    const identity = await signIn(a, { signResponse: null, authnContextClassRef: PPT, attributes: staffAttributes, nameId: 'KARLSTAD\\anla01' });
    assert.equal(identity.subject, 'karlstad:KARLSTAD\\anla01');
    const b = await adapter(staffConfig, testContext(), 'noid');
    const err = await rejectsHub(signIn(b, { signResponse: null, authnContextClassRef: PPT, attributes: staffAttributes.slice(1) }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /staffIdAttribute .* is missing/);
  });

  it('requires a tenant', () => {
    const v = samlModule.validate(rawConfig({ ...staffConfig, tenant: undefined }));
    assert.equal(v.ok, false);
    assert.deepEqual(v.ok ? [] : v.problems.map((p) => p[0]), ['tenant']);
  });
});

describe('SAML adapter: AuthnRequest', () => {
  it('HTTP-Redirect: a deflated AuthnRequest whose query signature verifies with the SP certificate', async () => {
    const ctx = testContext();
    const a = await adapter({}, ctx);
    const begun = await a.begin({ returnUrl: acsOf(), relayState: "rs with space*'~!()", forceAuthn: true, lang: 'sv' });
    assert.equal(begun.binding, 'redirect');
    const url = (begun as { url: string }).url;
    assert.ok(url.startsWith(`${SSO_REDIRECT}?`));
    // Verify over the octets as they appear in the URL, as an IdP does.
    const raw = url.slice(url.indexOf('?') + 1).split('&');
    const param = (name: string) => raw.find((p) => p.startsWith(`${name}=`))!;
    const octets = [param('SAMLRequest'), param('RelayState'), param('SigAlg')].join('&');
    const signature = Buffer.from(decodeURIComponent(param('Signature').slice('Signature='.length)), 'base64');
    assert.equal(decodeURIComponent(param('SigAlg').slice(7)), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    assert.ok(cryptoVerify('RSA-SHA256', Buffer.from(octets), createPublicKey(keys['sp-signing'].certPem), signature), 'the query signature verifies');
    assert.equal(new URL(url).searchParams.get('RelayState'), "rs with space*'~!()");

    const xml = inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString();
    const req = new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
    const state = stateOf(begun);
    assert.equal(req.getAttribute('ID'), state.id);
    assert.equal(req.getAttribute('Destination'), SSO_REDIRECT);
    assert.equal(req.getAttribute('AssertionConsumerServiceURL'), acsOf());
    assert.equal(req.getAttribute('ProtocolBinding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    assert.equal(req.getAttribute('ForceAuthn'), 'true');
    assert.match(xml, /<saml:Issuer[^>]*>https:\/\/idnav\.example\.se\/saml\/sc</);
    assert.match(xml, /<samlp:RequestedAuthnContext[^>]*Comparison="exact"><saml:AuthnContextClassRef[^>]*>http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa3</);
    assert.match(xml, /Format="urn:oasis:names:tc:SAML:2\.0:nameid-format:persistent"/);
    assert.deepEqual(state, { v: 1, id: state.id, at: NOW, acs: acsOf(), loa: [LOA3], force: true, rs: "rs with space*'~!()" });
    assert.match(state.id, /^_[0-9a-f]{40}$/);
  });

  it('HTTP-POST: an enveloped-signed AuthnRequest that verifies with the SP certificate', async () => {
    const a = await adapter({ binding: 'post' });
    const begun = await a.begin({ returnUrl: acsOf(), relayState: 'rs-post', forceAuthn: false, lang: 'en' });
    assert.equal(begun.binding, 'post');
    if (begun.binding !== 'post') return;
    assert.equal(begun.url, SSO_POST);
    assert.deepEqual(Object.keys(begun.fields).sort(), ['RelayState', 'SAMLRequest']);
    assert.equal(begun.fields['RelayState'], 'rs-post');
    const xml = Buffer.from(begun.fields['SAMLRequest']!, 'base64').toString('utf8');
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const signature = doc.getElementsByTagNameNS(DS, 'Signature')[0]!;
    const sig = new SignedXml({ publicCert: keys['sp-signing'].certPem });
    sig.loadSignature(signature as unknown as globalThis.Node);
    assert.ok(sig.checkSignature(xml));
    assert.equal(doc.documentElement!.getAttribute('ForceAuthn'), null);
    assert.equal(doc.documentElement!.getAttribute('ID'), stateOf(begun).id);
  });

  it('leaves RequestedAuthnContext out when told to, and still checks the level received', async () => {
    const a = await adapter({ requestAuthnContext: false });
    const begun = await a.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'sv' });
    const xml = inflateRawSync(Buffer.from(new URL((begun as { url: string }).url).searchParams.get('SAMLRequest')!, 'base64')).toString();
    assert.doesNotMatch(xml, /RequestedAuthnContext/);
    const response = buildResponse({ inResponseTo: stateOf(begun).id, authnContextClassRef: 'http://id.elegnamnden.se/loa/1.0/loa2' });
    await rejectsHub(a.complete({ url: acsOf(), fields: { SAMLResponse: b64(response) }, state: begun.state }), 'EID_RESPONSE_INVALID');
  });

  it('refuses a RelayState longer than the 80 bytes SAML allows', async () => {
    const a = await adapter();
    await rejectsHub(a.begin({ returnUrl: acsOf(), relayState: 'x'.repeat(81), forceAuthn: false, lang: 'sv' }), 'INTERNAL');
  });

  it('warns when the ACS it is given is not the one in its metadata', async () => {
    const ctx = testContext();
    const a = await adapter({}, ctx);
    await a.begin({ returnUrl: 'https://other-host.example.se/login/saml/sc/acs', relayState: 'r', forceAuthn: false, lang: 'sv' });
    assert.ok(ctx.logged.some((l) => l.level === 'warn' && /ACS differs/.test(l.msg ?? '')));
  });

  it('falls back to HTTP-POST when the IdP has no Redirect endpoint, and refuses a binding it lacks', async () => {
    const file = path.join(tmp, 'post-only.xml');
    await writeFile(file, buildIdpMetadata({ ssoRedirect: null }));
    const a = await adapter({ idp: { metadataFile: file } });
    assert.equal((await a.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'sv' })).binding, 'post');
    const b = await adapter({ idp: { metadataFile: file }, binding: 'redirect' });
    await rejectsHub(b.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'sv' }), 'CONFIG_INVALID');
  });
});

describe('SAML adapter: SP metadata', () => {
  it('describes this SP: entityID, ACS, keys, entity categories, UI info and organisation', async () => {
    const a = await adapter({
      sp: {
        description: { sv: 'Inloggning till kommunens e-tjänster', en: "Sign-in to the municipality's e-services" },
        organization: {
          name: { sv: 'Region Exempel', en: 'Region Example' },
          displayName: { sv: 'Region Exempel', en: 'Region Example' },
          url: { sv: 'https://www.example.se', en: 'https://www.example.se/en' },
        },
        contacts: [{ type: 'technical', company: 'Region Exempel', email: 'idnav@example.se' }],
      },
    });
    const xml = a.metadata!();
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const root = doc.documentElement!;
    assert.equal(root.getAttribute('entityID'), spEntityOf());
    const sp = root.getElementsByTagNameNS(MD, 'SPSSODescriptor')[0]!;
    assert.equal(sp.getAttribute('AuthnRequestsSigned'), 'true');
    assert.equal(sp.getAttribute('WantAssertionsSigned'), 'true');
    const acs = sp.getElementsByTagNameNS(MD, 'AssertionConsumerService')[0]!;
    assert.equal(acs.getAttribute('Location'), `${ISSUER}/login/saml/sc/acs`);
    assert.equal(acs.getAttribute('Binding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    const keyFor = (use: string) =>
      (Array.from(sp.getElementsByTagNameNS(MD, 'KeyDescriptor')) as Element[]).find((k) => k.getAttribute('use') === use)!.getElementsByTagNameNS(DS, 'X509Certificate')[0]!.textContent;
    assert.equal(keyFor('signing'), keys['sp-signing'].cert);
    assert.equal(keyFor('encryption'), keys['sp-encryption'].cert);
    const categories = (Array.from(root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Attribute')) as Element[]).find(
      (x) => x.getAttribute('Name') === 'http://macedir.org/entity-category',
    )!;
    assert.deepEqual(
      (Array.from(categories.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AttributeValue')) as Element[]).map((v) => v.textContent),
      ['http://id.elegnamnden.se/ec/1.0/loa3-pnr', 'http://id.swedenconnect.se/general-ec/1.0/accepts-coordination-number'],
    );
    const names = (Array.from(root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:metadata:ui', 'DisplayName')) as Element[]).map((e) => [e.getAttribute('xml:lang'), e.textContent]);
    assert.deepEqual(names, [
      ['sv', 'Svensk e-legitimation'],
      ['en', 'Swedish e-ID'],
    ]);
    assert.equal(root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:metadata:ui', 'Description').length, 2);
    assert.equal(root.getElementsByTagNameNS(MD, 'OrganizationURL')[1]!.textContent, 'https://www.example.se/en');
    assert.equal(root.getElementsByTagNameNS(MD, 'EmailAddress')[0]!.textContent, 'mailto:idnav@example.se');
  });

  it('names its URLs and method URI after the method id without a saml: prefix', async () => {
    const a = await adapter({}, testContext(), 'saml:eidas-test');
    assert.equal(a.methodUri, 'urn:idnav:method:saml:eidas-test');
    assert.match(a.metadata!(), /entityID="https:\/\/idnav\.example\.se\/saml\/eidas-test"/);
    assert.match(a.metadata!(), /Location="https:\/\/idnav\.example\.se\/login\/saml\/eidas-test\/acs"/);
    assert.equal((await signIn(a)).subject, TORE);
  });

  it('takes a configured entityID, and needs the hub issuer', async () => {
    const a = await adapter({ entityId: 'https://idnav.example.se/sp' });
    assert.match(a.metadata!(), /entityID="https:\/\/idnav\.example\.se\/sp"/);
    const checked = samlModule.validate(rawConfig());
    assert.ok(checked.ok);
    await rejectsHub(samlModule.create('sc', checked.config, testContext(NOW, null).deps), 'CONFIG_INVALID');
  });
});

describe('SAML adapter: IdP metadata', () => {
  async function withMetadata(xml: string, overrides: Record<string, unknown> = {}) {
    const file = path.join(tmp, `md-${Math.random().toString(36).slice(2)}.xml`);
    await writeFile(file, xml);
    return adapter({ ...overrides, idp: { metadataFile: file, ...((overrides['idp'] as object) ?? {}) } });
  }

  it('is read from the signed bytes of a verified aggregate; a single signed EntityDescriptor works too', async () => {
    const others = ['<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://other.example.se/idp"/>'];
    const a = await withMetadata(buildIdpMetadata({ others }));
    assert.equal((await signIn(a)).subject, TORE);
    const b = await withMetadata(buildIdpMetadata({ single: true }));
    assert.equal((await signIn(b)).subject, TORE);
  });

  it('is refused unsigned, tampered, signed by another key, expired, or without the IdP', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unsigned', buildIdpMetadata({ sign: null }), /is not signed/],
      ['tampered', buildIdpMetadata().replace(SSO_REDIRECT, 'https://evil.example.org/sso'), /digest .* does not match/],
      ['other signer', buildIdpMetadata({ sign: { key: keys.attacker } }), /does not verify with any of the 1 trusted key/],
      ['expired', buildIdpMetadata({ validUntil: NOW - 1000 }), /expired at/],
      ['no such entity', buildIdpMetadata({ entityId: 'https://someone-else.example.se/idp' }), /no EntityDescriptor with entityID https:\/\/idp\.example\.se\/idp/],
      ['doctype', `<!DOCTYPE x>${buildIdpMetadata()}`.replace('<?xml version="1.0" encoding="UTF-8"?>\n', ''), /DOCTYPE/],
    ];
    for (const [what, xml, detail] of cases) {
      const file = path.join(tmp, `bad-${what.replace(/ /g, '-')}.xml`);
      await writeFile(file, xml);
      const err = await rejectsHub(makeAdapter(rawConfig({ idp: { metadataFile: file } }), testContext()), 'CONFIG_INVALID');
      assert.match(err.detail!, detail, what);
    }
  });

  it('may be an unsigned local file only with insecureUnsignedMetadata', async () => {
    const a = await withMetadata(buildIdpMetadata({ sign: null }), { idp: { insecureUnsignedMetadata: true, metadataSigningCertFiles: [] } });
    assert.equal((await signIn(a)).subject, TORE);
    const v = samlModule.validate(rawConfig({ idp: { metadataFile: undefined, metadataUrl: 'https://md.example.se/idp.xml', insecureUnsignedMetadata: true } }));
    assert.equal(v.ok, false);
    assert.ok(!v.ok && v.problems.some(([p]) => p === 'idp.insecureUnsignedMetadata'));
  });

  it('never takes the IdP key from a response: a key the metadata does not hold is refused even in KeyInfo', async () => {
    const a = await adapter();
    const evil = { key: keys.attacker };
    const err = await rejectsHub(signIn(a, { signResponse: evil, signAssertion: evil }), 'EID_RESPONSE_INVALID');
    assert.match(err.detail!, /KeyInfo is never trusted/);
  });

  describe('from a URL', () => {
    let server: Server;
    let base: string;
    let served = buildIdpMetadata();
    let status = 200;
    const requests: string[] = [];
    before(async () => {
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url} ${req.headers['if-none-match'] ?? ''}`);
        if (status !== 200) {
          res.writeHead(status).end();
          return;
        }
        if (req.headers['if-none-match'] === '"v1"' && served === buildIdpMetadata()) {
          res.writeHead(304).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', etag: served === buildIdpMetadata() ? '"v1"' : '"v2"' }).end(served);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('contacts nothing at create, loads on first use, and keeps the last good metadata when a refresh fails', async () => {
      requests.length = 0;
      const ctx = testContext();
      const a = await adapter({ idp: { metadataFile: undefined, metadataUrl: `${base}/md.xml` } }, ctx);
      assert.equal(requests.length, 0, 'create contacted nothing');
      assert.equal((await signIn(a, { assertionId: '_u1' })).subject, TORE);
      assert.equal(requests.length, 1);
      await a.health();
      assert.equal(requests.length, 1, 'health uses the metadata already loaded');

      const source = new IdpMetadataSource(
        {
          entityId: IDP,
          url: `${base}/md.xml`,
          signingKeys: [trustedKeyFromCertificate(keys['metadata-signer'].certPem)],
          allowUnsigned: false,
          refreshMs: 3_600_000,
          timeoutMs: 2000,
          maxBytes: 1 << 20,
        },
        ctx.deps,
      );
      const first = await source.get();
      assert.deepEqual(first.signingKeys.map((k) => k.certificate), [keys['idp-rsa'].cert, keys['idp-ec'].cert]);
      await source.refresh();
      assert.match(requests.at(-1)!, /"v1"$/, 'the refresh is conditional (ETag)');
      status = 503;
      await source.refresh();
      assert.match(source.lastError!, /HTTP 503/);
      assert.equal(await source.get(), first, 'the last good metadata is kept');
      assert.ok(ctx.logged.some((l) => l.level === 'warn' && /keeping the last good metadata/.test(l.msg ?? '')));
      status = 200;
      served = buildIdpMetadata({ signingCerts: [keys['idp-rsa-next'].cert] });
      await source.refresh();
      assert.deepEqual((await source.get()).signingKeys.map((k) => k.certificate), [keys['idp-rsa-next'].cert]);
      served = buildIdpMetadata({ signingCerts: [keys['idp-rsa-next'].cert], sign: { key: keys.attacker } });
      await source.refresh();
      assert.deepEqual((await source.get()).signingKeys.map((k) => k.certificate), [keys['idp-rsa-next'].cert], 'a forged refresh changes nothing');
      source.close();
      served = buildIdpMetadata();
    });

    it('makes health and begin fail with EID_UPSTREAM_UNAVAILABLE when no metadata can be had', async () => {
      status = 500;
      try {
        const a = await adapter({ idp: { metadataFile: undefined, metadataUrl: `${base}/down.xml` } });
        await rejectsHub(a.health(), 'EID_UPSTREAM_UNAVAILABLE');
        await rejectsHub(a.begin({ returnUrl: acsOf(), relayState: 'r', forceAuthn: false, lang: 'sv' }), 'EID_UPSTREAM_UNAVAILABLE');
      } finally {
        status = 200;
      }
    });
  });
});

describe('SAML adapter: config', () => {
  it('reports every problem at once with its dotted path', async () => {
    const v = samlModule.validate({
      profile: 'sweden-connect',
      idp: { entityId: IDP, metadataFile: 'a.xml', metadataUrl: 'http://md.example.se/x.xml' },
      sp: { signingKeyFile: '/nonexistent/key.pem', signingCertFile: keys['idp-rsa'].file.cert, encryptionKeyFiles: [] },
      clockSkewSeconds: 300,
      unknownKey: 1,
    });
    assert.equal(v.ok, false);
    const paths = v.ok ? [] : v.problems.map((p) => p[0]);
    assert.ok(paths.includes('clockSkewSeconds'), paths.join());
    assert.ok(paths.includes(''), `unknown key reported: ${paths.join()}`);
  });

  it('names unreadable files, mismatched certificates and missing encryption keys', () => {
    const problems = (overrides: Record<string, unknown>) => {
      const v = samlModule.validate(rawConfig(overrides));
      return v.ok ? [] : v.problems;
    };
    assert.deepEqual(problems({ sp: { signingCertFile: keys['idp-rsa'].file.cert } }).map((p) => p[0]), ['sp.signingCertFile']);
    assert.deepEqual(problems({ sp: { encryptionCertFile: keys['sp-encryption-old'].file.cert } }).map((p) => p[0]), ['sp.encryptionCertFile']);
    assert.deepEqual(problems({ sp: { signingKeyFile: keys['idp-ec'].file.key } }).map((p) => p[0]).sort(), ['sp.signingCertFile', 'sp.signingKeyFile']);
    assert.deepEqual(problems({ requireEncryptedAssertion: true, sp: { encryptionKeyFiles: [], encryptionCertFile: undefined } }).map((p) => p[0]), ['sp.encryptionKeyFiles']);
    assert.deepEqual(problems({ idp: { metadataSigningCertFiles: [path.join(FIXTURES, 'nope.pem')] } }).map((p) => p[1].slice(0, 11)), ['cannot read']);
    assert.deepEqual(problems({ requireSignedResponse: false, sp: { wantAssertionsSigned: false } }).map((p) => p[0]), ['requireSignedResponse']);
    assert.deepEqual(problems({ requestedLoa: ['http://id.elegnamnden.se/loa/1.0/loa4'] }).map((p) => p[0]), ['requestedLoa.0']);
    assert.deepEqual(problems({ requestedLoa: ['http://id.elegnamnden.se/loa/1.0/loa4'], acrMap: { 'http://id.elegnamnden.se/loa/1.0/loa4': 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3' } }), []);
    assert.deepEqual(problems({ idp: { metadataFile: undefined, metadataUrl: 'http://md.example.se/x.xml' } }).map((p) => p[0]), ['idp.metadataUrl']);
    assert.deepEqual(problems({ tenant: 'karlstad' }).map((p) => p[0]), ['tenant']);
  });

  it('maps official levels to the uncertified ones unless reviewed', async () => {
    assert.deepEqual((await adapter({ reviewed: true })).acrValues, [LOA3]);
    assert.deepEqual(
      (await adapter({ requestedLoa: [LOA3], acrMap: { [LOA3]: 'https://example.se/loa/custom' } })).acrValues,
      ['https://example.se/loa/custom'],
    );
  });
});
