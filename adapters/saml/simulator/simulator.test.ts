import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import xmlenc from 'xml-encryption';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ALG, generateTestKeyPair, selfSignedCertificate, withEcdsa } from './crypto.ts';
import { loadOrCreateSimulatorKeys } from './keys.ts';
import { computePrid, loadForeignPersons, loadStaff, loadSwedishPersons } from './persons.ts';
import {
  ATTR,
  EC_ACCEPTS_COORDINATION_NUMBER,
  LOA,
  readAutoPostForm,
  readSessionKey,
  startSamlIdpSimulator,
  STATUS,
  type LoginOutcome,
  type SamlIdpSimulator,
} from './server.ts';
import { nodeSamlSp, sendAuthnRequest, signInWithFetch, spMetadata, testSp, type TestSp } from './testkit.ts';
import { NS } from './xml.ts';

const TORE = '198602212394';
const EBBA_SAMORDNING = '190803752427';

let sim: SamlIdpSimulator;
let sp: TestSp;
let metadata: string;

before(async () => {
  sp = testSp();
  metadata = spMetadata(sp, { displayName: 'Testtjänsten' });
  sim = await startSamlIdpSimulator({
    spMetadata: metadata,
    personas: {
      eidas: { profile: 'eidas' },
      'sweden-connect': { profile: 'sweden-connect' },
      'karlstad-adfs': { profile: 'staff' },
      'sweden-connect-ec': { profile: 'sweden-connect', signing: { alg: 'ecdsa-sha256' } },
    },
  });
});

after(async () => {
  await sim?.close();
});

beforeEach(() => sim.control.reset());

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
const decode = (o: LoginOutcome): string => Buffer.from(o.SAMLResponse, 'base64').toString('utf8');

function statusOf(xml: string): { code: string; sub?: string } {
  const doc = parse(xml);
  const top = doc.getElementsByTagNameNS(NS.samlp, 'StatusCode').item(0)!;
  const sub = doc.getElementsByTagNameNS(NS.samlp, 'StatusCode').item(1);
  return sub ? { code: top.getAttribute('Value')!, sub: sub.getAttribute('Value')! } : { code: top.getAttribute('Value')! };
}

/** Verifies the enveloped signature of the document's root with xml-crypto (ECDSA included) against `cert`. */
function verifyRootSignature(xml: string, cert: string): boolean {
  const doc = parse(xml);
  const root = doc.documentElement!;
  const sigs = Array.from({ length: root.childNodes.length }, (_, i) => root.childNodes.item(i)).filter(
    (n) => n !== null && n.nodeType === 1 && (n as unknown as Element).localName === 'Signature',
  );
  if (sigs.length !== 1) return false;
  const sig = withEcdsa(new SignedXml({ publicCert: cert }));
  sig.loadSignature(sigs[0] as unknown as Node);
  try {
    if (!sig.checkSignature(xml)) return false;
  } catch {
    return false;
  }
  const ref = sig.getReferences()[0]!;
  return ref.uri === `#${root.getAttribute('ID')}`;
}

function decryptAssertion(responseXml: string, key: string): Promise<string> {
  const doc = parse(responseXml);
  const encrypted = doc.getElementsByTagNameNS(NS.xenc, 'EncryptedData').item(0);
  assert.ok(encrypted, 'the response carries an EncryptedData');
  return new Promise((resolve, reject) =>
    xmlenc.decrypt(encrypted!.toString(), { key, disallowDecryptionWithInsecureAlgorithm: true }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

/** A hand-made AuthnRequest, signed on the redirect binding with `key` (or unsigned). */
function redirectUrl(
  ssoUrl: string,
  xml: string,
  o: { key?: string; sigAlg?: string; relayState?: string; hash?: string; dsaEncoding?: 'der' | 'ieee-p1363' } = {},
): string {
  const params = [`SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
  if (o.relayState) params.push(`RelayState=${encodeURIComponent(o.relayState)}`);
  if (o.key) {
    const sigAlg = o.sigAlg ?? ALG.rsaSha256;
    params.push(`SigAlg=${encodeURIComponent(sigAlg)}`);
    const key = createPrivateKey(o.key);
    const signature = cryptoSign(o.hash ?? 'sha256', Buffer.from(params.join('&')), { key, dsaEncoding: o.dsaEncoding ?? 'der' });
    params.push(`Signature=${encodeURIComponent(signature.toString('base64'))}`);
  }
  return `${ssoUrl}?${params.join('&')}`;
}

function authnRequestXml(o: { id?: string; destination?: string; issuer?: string; acs?: string; loas?: string[]; doctype?: boolean; extra?: string; instant?: string }): string {
  const rac = o.loas
    ? `<samlp:RequestedAuthnContext Comparison="exact">${o.loas.map((l) => `<saml:AuthnContextClassRef>${l}</saml:AuthnContextClassRef>`).join('')}</samlp:RequestedAuthnContext>`
    : '';
  return (
    (o.doctype ? '<!DOCTYPE samlp:AuthnRequest [<!ENTITY sp "x">]>' : '') +
    `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${o.id ?? `_r${Math.random().toString(16).slice(2)}`}" Version="2.0" IssueInstant="${o.instant ?? new Date().toISOString()}"` +
    (o.destination !== undefined ? ` Destination="${o.destination}"` : '') +
    ` AssertionConsumerServiceURL="${o.acs ?? sp.acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${o.issuer ?? sp.entityId}</saml:Issuer>${o.extra ?? ''}<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>${rac}</samlp:AuthnRequest>`
  );
}

async function jsonLogin(persona: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(sim.idps[persona]!.loginUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function loginPageFor(persona: string, o: Parameters<typeof nodeSamlSp>[2] = {}, binding: 'redirect' | 'post' = 'redirect') {
  const saml = nodeSamlSp(sim.idps[persona]!, sp, { binding, ...o });
  const res = await sendAuthnRequest(saml, binding);
  const html = await res.text();
  return { saml, res, html, sessionKey: res.headers.get('x-simulator-session') ?? undefined };
}

describe('test persons and prid', () => {
  it('computes prid as the eIDAS constructed-attributes specification does (its own examples)', () => {
    assert.equal(computePrid('NO/SE/05068907693'), 'NO:05068907693');
    assert.equal(computePrid('DK/SE/09208-2002-2-194967071622'), 'DK:09208-2002-2-194967071622');
    assert.equal(computePrid('UK/DK/1234567890'), undefined);
    assert.equal(computePrid('DE/SE/#12345-3456//ABC'), 'DE:12345-3456-abc');
    assert.equal(computePrid('DE/SE/aErf#(EAd9)'), 'DE:0aerf-ead9');
    assert.equal(computePrid('de/se/aErf#(EAd)'), undefined);
    assert.equal(computePrid('DE/SE/(1952 12 14-1122)'), 'DE:19521214-1122');
    assert.equal(computePrid('DE/SE/1234567890123456789012345678901'), 'DE:3b7184c0ceaf76a9607a31e4e1f87f');
    assert.equal(computePrid('DE/SE/1234567890123456789012345678901', 'colresist-eIDAS'), 'DE:1hc3tpoleczqu3t8jz2995k2rq7nt8');
    assert.equal(computePrid('AT/SE/Zk2ME2pjxwzQOjVeFGeqSIage34=', 'special-characters-eIDAS'), 'AT:50bwytdle2mzexopcolmdhmhznihms');
  });

  it('loads the fixtures: Swedish citizens, foreign citizens with prid, Karlstad staff', () => {
    const swedes = loadSwedishPersons();
    const ebba = swedes.find((p) => p.personalIdentityNumber === EBBA_SAMORDNING)!;
    assert.equal(ebba.coordinationNumber, true);
    assert.equal(ebba.dateOfBirth, '1908-03-15');
    const foreign = loadForeignPersons();
    const no = foreign.find((p) => p.c === 'NO')!;
    assert.equal(no.prid, 'NO:05868941253');
    assert.equal(no.pridPersistence, 'A');
    assert.equal(foreign.find((p) => p.c === 'DE')!.pridPersistence, 'B');
    const bound = foreign.find((p) => p.id === 'fi-erik')!;
    assert.equal(bound.mappedPersonalIdentityNumber, '190310092374');
    assert.deepEqual(bound.personalIdentityNumberBinding, ['http://id.swedenconnect.se/id-binding/process/populationregister']);
    for (const s of loadStaff()) assert.match(s.mail, /@karlstad\.se$/);
  });

  it('makes self-signed test certificates for RSA and EC keys', () => {
    for (const alg of ['rsa-sha256', 'ecdsa-sha256'] as const) {
      const kp = generateTestKeyPair(alg, 'unit test');
      const cert = new X509Certificate(kp.cert);
      assert.ok(cert.verify(cert.publicKey));
      assert.ok(cert.checkPrivateKey(createPrivateKey(kp.key)));
      assert.equal(cert.publicKey.asymmetricKeyType, alg === 'rsa-sha256' ? 'rsa' : 'ec');
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.match(selfSignedCertificate(privateKey, { commonName: 'x', days: 30 }), /BEGIN CERTIFICATE/);
  });
});

describe('dev keys', () => {
  it('are generated once into a directory and read back unchanged', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'saml-idp-keys-'));
    try {
      const first = await loadOrCreateSimulatorKeys(dir, ['eidas', 'sweden-connect'], 'ecdsa-sha256');
      const again = await loadOrCreateSimulatorKeys(dir, ['eidas', 'sweden-connect'], 'rsa-sha256');
      assert.equal(again.eidas!.signing.cert, first.eidas!.signing.cert);
      assert.equal(again.eidas!.signing.alg, 'ecdsa-sha256');
      assert.equal(again['sweden-connect']!.metadataSigning.key, first['sweden-connect']!.metadataSigning.key);
      assert.equal(new X509Certificate(again.eidas!.metadataSigning.cert).publicKey.asymmetricKeyType, 'rsa');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('metadata', () => {
  it('is signed (enveloped, RSA-SHA256, exc-c14n) and verifies with the metadata certificate only', async () => {
    const res = await fetch(sim.idps.eidas!.metadataUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /application\/samlmetadata\+xml/);
    const xml = await res.text();
    assert.ok(verifyRootSignature(xml, sim.idps.eidas!.metadataSigningCert));
    assert.equal(verifyRootSignature(xml, sim.idps['sweden-connect']!.metadataSigningCert), false);
    assert.match(xml, /<ds:SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"\/>/);
    assert.match(xml, /<ds:CanonicalizationMethod Algorithm="http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#"\/>/);
    // A changed byte breaks it.
    assert.equal(verifyRootSignature(xml.replace('WantAuthnRequestsSigned="true"', 'WantAuthnRequestsSigned="false"'), sim.idps.eidas!.metadataSigningCert), false);
  });

  it('describes the IdP: signing key, both SSO bindings, WantAuthnRequestsSigned, LoAs, entity categories, mdui', async () => {
    const xml = await (await fetch(sim.idps.eidas!.metadataUrl)).text();
    const doc = parse(xml);
    const root = doc.documentElement!;
    assert.equal(root.getAttribute('entityID'), sim.idps.eidas!.entityId);
    const idp = doc.getElementsByTagNameNS(NS.md, 'IDPSSODescriptor').item(0)!;
    assert.equal(idp.getAttribute('WantAuthnRequestsSigned'), 'true');
    const sso = Array.from(doc.getElementsByTagNameNS(NS.md, 'SingleSignOnService'));
    assert.deepEqual(
      sso.map((s) => [s.getAttribute('Binding'), s.getAttribute('Location')]),
      [
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', sim.idps.eidas!.ssoUrl],
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', sim.idps.eidas!.ssoUrl],
      ],
    );
    const keys = Array.from(doc.getElementsByTagNameNS(NS.md, 'KeyDescriptor'));
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.getAttribute('use'), 'signing');
    const certB64 = keys[0]!.getElementsByTagNameNS(NS.ds, 'X509Certificate').item(0)!.textContent;
    assert.equal(certB64, new X509Certificate(sim.idps.eidas!.signingCert).raw.toString('base64'));
    assert.match(xml, /Name="urn:oasis:names:tc:SAML:attribute:assurance-certification"/);
    assert.match(xml, /<saml:AttributeValue>http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/eidas-nf-sub<\/saml:AttributeValue>/);
    assert.match(xml, /http:\/\/id\.elegnamnden\.se\/ec\/1\.0\/eidas-naturalperson/);
    assert.match(xml, /<mdui:DisplayName xml:lang="sv">Utländsk e-legitimation \(eIDAS, test\)<\/mdui:DisplayName>/);
    assert.match(xml, /<mdui:Logo /);
    assert.doesNotMatch(xml, /<!DOCTYPE/);
    const staff = await (await fetch(sim.idps['karlstad-adfs']!.metadataUrl)).text();
    assert.match(staff, /<shibmd:Scope [^>]*regexp="false">karlstad\.se<\/shibmd:Scope>/);
  });

  it('publishes old and new signing keys during a rollover, and signs with the new one', async () => {
    const oldCert = sim.idps['sweden-connect']!.signingCert;
    const newCert = sim.control.rotateSigningKey('sweden-connect');
    assert.deepEqual(sim.control.signingCerts('sweden-connect'), [newCert, oldCert]);
    const xml = await (await fetch(sim.idps['sweden-connect']!.metadataUrl)).text();
    assert.equal(parse(xml).getElementsByTagNameNS(NS.md, 'KeyDescriptor').length, 2);
    assert.ok(verifyRootSignature(xml, sim.idps['sweden-connect']!.metadataSigningCert));

    const onlyOld = nodeSamlSp(sim.idps['sweden-connect']!, sp, { idpCerts: [oldCert] });
    const out = await signInWithFetch(await onlyOld.getAuthorizeUrlAsync('rs', undefined, {}), sim, 'sweden-connect', TORE);
    await assert.rejects(onlyOld.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse }), /signature/i);
    const both = nodeSamlSp(sim.idps['sweden-connect']!, sp, { idpCerts: sim.control.signingCerts('sweden-connect') });
    const out2 = await signInWithFetch(await both.getAuthorizeUrlAsync('rs', undefined, {}), sim, 'sweden-connect', TORE);
    const { profile } = await both.validatePostResponseAsync({ SAMLResponse: out2.SAMLResponse });
    assert.equal(profile?.[ATTR.personalIdentityNumber], TORE);
    sim.control.retireOldSigningKeys('sweden-connect');
    assert.deepEqual(sim.control.signingCerts('sweden-connect'), [newCert]);
  });
});

describe('AuthnRequest checks', () => {
  for (const binding of ['redirect', 'post'] as const) {
    it(`accepts a signed request on the HTTP-${binding === 'redirect' ? 'Redirect' : 'POST'} binding and shows the login page`, async () => {
      const { res, html, sessionKey } = await loginPageFor('sweden-connect', {}, binding);
      assert.equal(res.status, 200);
      assert.ok(sessionKey);
      assert.equal(readSessionKey(html), sessionKey);
      const csp = res.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.doesNotMatch(html, /<script/i);
      assert.doesNotMatch(html, /\sstyle=/i);
      assert.match(html, /Logga in/);
      assert.match(html, /Avbryt/);
      assert.match(html, /Testtjänsten/);
      assert.match(html, /Tore Testsson/);
      const last = sim.control.lastRequest('sweden-connect')!;
      assert.equal(last.outcome, 'accepted');
      assert.equal(last.binding, binding);
      assert.match(last.xml!, /<samlp:AuthnRequest/);
      assert.equal(last.issuer, sp.entityId);
      assert.equal(last.relayState, 'rs-1');
      assert.equal(sim.control.stats()['sweden-connect']!.accepted, 1);
    });
  }

  const refusals: Array<{ name: string; pattern: RegExp; url: () => Promise<string | Response> }> = [
    {
      name: 'an unsigned redirect request',
      pattern: /not signed/,
      url: () => nodeSamlSp(sim.idps.eidas!, sp, { extra: { privateKey: undefined } }).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'an unsigned POST request',
      pattern: /not signed/,
      url: () => sendAuthnRequest(nodeSamlSp(sim.idps.eidas!, sp, { binding: 'post', extra: { privateKey: undefined } }), 'post'),
    },
    {
      name: 'a redirect request signed by another key',
      pattern: /signature is not valid/,
      url: () => nodeSamlSp(sim.idps.eidas!, sp, { extra: { privateKey: generateTestKeyPair().key } }).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'a POST request signed by another key',
      pattern: /signature is not valid/,
      url: () => sendAuthnRequest(nodeSamlSp(sim.idps.eidas!, sp, { binding: 'post', extra: { privateKey: generateTestKeyPair().key } }), 'post'),
    },
    {
      name: 'a redirect request whose signature was altered',
      pattern: /signature is not valid/,
      url: async () => (await nodeSamlSp(sim.idps.eidas!, sp).getAuthorizeUrlAsync('rs', undefined, {})).replace(/RelayState=rs/, 'RelayState=rt'),
    },
    {
      name: 'a request signed with RSA-SHA1',
      pattern: /SHA-1/,
      url: () => nodeSamlSp(sim.idps.eidas!, sp, { extra: { signatureAlgorithm: 'sha1' } }).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'a request for another Destination',
      pattern: /Destination .* is not this IdP's SSO endpoint/,
      url: () => nodeSamlSp({ ...sim.idps.eidas!, ssoUrl: `${sim.idps.eidas!.ssoUrl}?tenant=other` }, sp).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'a request without Destination',
      pattern: /no Destination/,
      url: async () => redirectUrl(sim.idps.eidas!.ssoUrl, authnRequestXml({}), { key: sp.signing.key }),
    },
    {
      name: 'a request with an ACS that is not in the SP metadata',
      pattern: /AssertionConsumerServiceURL .* is not an HTTP-POST ACS/,
      url: () => nodeSamlSp(sim.idps.eidas!, { ...sp, acsUrl: 'https://sp.idnav.test/saml/evil-acs' }).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'a request from an unknown SP',
      pattern: /unknown/,
      url: () => nodeSamlSp(sim.idps.eidas!, { ...sp, entityId: 'https://unknown.idnav.test/sp' }).getAuthorizeUrlAsync('rs', undefined, {}),
    },
    {
      name: 'a request with a DOCTYPE',
      pattern: /document type declaration/,
      url: async () => redirectUrl(sim.idps.eidas!.ssoUrl, authnRequestXml({ doctype: true, destination: sim.idps.eidas!.ssoUrl }), { key: sp.signing.key }),
    },
    {
      name: 'a request that is too old',
      pattern: /too old/,
      url: async () =>
        redirectUrl(sim.idps.eidas!.ssoUrl, authnRequestXml({ destination: sim.idps.eidas!.ssoUrl, instant: new Date(Date.now() - 10 * 60_000).toISOString() }), {
          key: sp.signing.key,
        }),
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with a readable error page (HTTP 400)`, async () => {
      const u = await r.url();
      const res = typeof u === 'string' ? await fetch(u) : u;
      const html = await res.text();
      assert.equal(res.status, 400, html);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      assert.match(html, /Felaktig inloggningsförfrågan/);
      const last = sim.control.lastRequest('eidas')!;
      assert.equal(last.outcome, 'refused');
      assert.match(last.error!, r.pattern);
      assert.equal(res.headers.get('x-simulator-session'), null);
      assert.equal(sim.control.stats().eidas!.refused, 1);
    });
  }

  it('refuses a replayed request', async () => {
    const url = await nodeSamlSp(sim.idps.eidas!, sp).getAuthorizeUrlAsync('rs', undefined, {});
    assert.equal((await fetch(url)).status, 200);
    const again = await fetch(url);
    assert.equal(again.status, 400);
    assert.match(sim.control.lastRequest('eidas')!.error!, /replay/);
  });

  it('refuses a request that arrives after the clock moved on', async () => {
    const url = await nodeSamlSp(sim.idps.eidas!, sp).getAuthorizeUrlAsync('rs', undefined, {});
    sim.control.advanceClock(6 * 60_000);
    assert.equal((await fetch(url)).status, 400);
    assert.match(sim.control.lastRequest('eidas')!.error!, /too old/);
  });

  it('verifies an ECDSA query-string signature (DER or r||s) from an SP with an EC key', async () => {
    const ecSp: TestSp = { ...sp, entityId: 'https://ec-sp.idnav.test/sp', signing: generateTestKeyPair('ecdsa-sha256', 'EC SP') };
    sim.control.setSpMetadata(spMetadata(ecSp), 'eidas');
    for (const dsaEncoding of ['der', 'ieee-p1363'] as const) {
      const xml = authnRequestXml({ issuer: ecSp.entityId, destination: sim.idps.eidas!.ssoUrl });
      const res = await fetch(redirectUrl(sim.idps.eidas!.ssoUrl, xml, { key: ecSp.signing.key, sigAlg: ALG.ecdsaSha256, dsaEncoding, relayState: 'x y' }));
      assert.equal(res.status, 200, await res.text());
    }
  });

  it('answers a request with no supported LoA with Requester/NoAuthnContext, signed, without assertion', async () => {
    const { res, html } = await loginPageFor('sweden-connect', { authnContext: [LOA.loa4] });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self'/);
    const form = readAutoPostForm(html);
    assert.equal(form.action, sp.acsUrl);
    assert.equal(form.fields.RelayState, 'rs-1');
    const xml = Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8');
    assert.deepEqual(statusOf(xml), { code: STATUS.requester, sub: STATUS.noAuthnContext });
    assert.doesNotMatch(xml, /Assertion/);
    assert.ok(verifyRootSignature(xml, sim.idps['sweden-connect']!.signingCert));
    assert.equal(sim.control.lastRequest('sweden-connect')!.outcome, 'status');
  });

  it('answers a passive request with Responder/NoPassive (the simulator keeps no session)', async () => {
    const { html } = await loginPageFor('sweden-connect', { extra: { passive: true } });
    const xml = Buffer.from(readAutoPostForm(html).fields.SAMLResponse!, 'base64').toString('utf8');
    assert.deepEqual(statusOf(xml), { code: STATUS.responder, sub: STATUS.noPassive });
  });

  it('answers a non-exact comparison with Requester/RequestUnsupported', async () => {
    const { html } = await loginPageFor('sweden-connect', { authnContext: [LOA.loa3], extra: { racComparison: 'minimum' } });
    const xml = Buffer.from(readAutoPostForm(html).fields.SAMLResponse!, 'base64').toString('utf8');
    assert.deepEqual(statusOf(xml), { code: STATUS.requester, sub: STATUS.requestUnsupported });
  });

  it('refuses a DEFLATE-compressed SAMLRequest on the HTTP-POST binding', async () => {
    const saml = nodeSamlSp(sim.idps.eidas!, sp, { binding: 'post', extra: { skipRequestCompression: false } });
    const res = await sendAuthnRequest(saml, 'post');
    assert.equal(res.status, 400);
    assert.match(sim.control.lastRequest('eidas')!.error!, /without DEFLATE/);
  });

  it('refuses to answer a Sweden Connect request when the SP has no encryption key', async () => {
    sim.control.setSpMetadata(spMetadata(sp, { withEncryptionKey: false }));
    const { res } = await loginPageFor('sweden-connect');
    assert.equal(res.status, 400);
    assert.match(sim.control.lastRequest('sweden-connect')!.error!, /no RSA encryption certificate/);
  });
});

describe('round trips with @node-saml/node-saml as the SP', () => {
  for (const binding of ['redirect', 'post'] as const) {
    it(`Sweden Connect (${binding}): encrypted, signed Response and Assertion with ELN-AP-Pnr-01`, async () => {
      const { saml, sessionKey } = await loginPageFor('sweden-connect', { authnContext: [LOA.loa3], binding }, binding);
      const { status, json } = await jsonLogin('sweden-connect', { sessionKey, personId: TORE });
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.acsUrl, sp.acsUrl);
      assert.equal(json.RelayState, 'rs-1');
      const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: json.SAMLResponse as string, RelayState: 'rs-1' });
      assert.ok(profile);
      assert.equal(profile.issuer, sim.idps['sweden-connect']!.entityId);
      assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
      assert.equal(profile[ATTR.personalIdentityNumber], TORE);
      assert.equal(profile[ATTR.givenName], 'Tore');
      assert.equal(profile[ATTR.sn], 'Testsson');
      assert.equal(profile[ATTR.displayName], 'Tore Testsson');
      assert.equal(profile[ATTR.dateOfBirth], '1986-02-21');
      const issued = sim.control.lastResponse('sweden-connect')!;
      assert.match(issued.xml, /<saml2:EncryptedAssertion/);
      assert.match(issued.xml, /Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#aes256-cbc"/);
      assert.match(issued.xml, /Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#rsa-oaep-mgf1p"/);
      assert.doesNotMatch(issued.xml, /<saml2:Assertion /);
      const a = issued.assertionXml!;
      assert.match(a, /<saml2:AuthnContextClassRef>http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa3<\/saml2:AuthnContextClassRef>/);
      assert.match(a, /<saml2:Audience>https:\/\/sp\.idnav\.test\/saml\/sp<\/saml2:Audience>/);
      assert.match(a, /<saml2:SubjectConfirmationData Address="127\.0\.0\.1" InResponseTo="_[0-9a-f]+" NotOnOrAfter="[^"]+" Recipient="https:\/\/sp\.idnav\.test\/saml\/acs"\/>/);
      assert.equal(a.match(/<saml2:SubjectConfirmation /g)!.length, 1);
      assert.match(a, /NameFormat="urn:oasis:names:tc:SAML:2\.0:attrname-format:uri"/);
      assert.equal(sim.control.stats()['sweden-connect']!.logins, 1);
    });
  }

  it('eIDAS: ELN-AP-eIDAS-NatPer-01 with prid, mapped personnummer and AuthenticatingAuthority', async () => {
    const { saml, sessionKey } = await loginPageFor('eidas', { authnContext: [LOA.loa3, LOA.eidasNfHigh] });
    const { json } = await jsonLogin('eidas', { sessionKey, personId: 'fi-erik' });
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: json.SAMLResponse as string });
    assert.ok(profile);
    assert.equal(profile[ATTR.prid], 'FI:029817346r');
    assert.equal(profile[ATTR.pridPersistence], 'C');
    assert.equal(profile[ATTR.eidasPersonIdentifier], 'FI/SE/29817346R');
    assert.equal(profile[ATTR.c], 'FI');
    assert.equal(profile[ATTR.dateOfBirth], '1903-10-09');
    assert.equal(profile[ATTR.mappedPersonalIdentityNumber], '190310092374');
    assert.equal(profile[ATTR.personalIdentityNumberBinding], 'http://id.swedenconnect.se/id-binding/process/populationregister');
    assert.match(String(profile[ATTR.transactionIdentifier]), /^_[0-9a-f]{32}$/);
    assert.equal(profile[ATTR.personalIdentityNumber], undefined);
    const a = sim.control.lastResponse('eidas')!.assertionXml!;
    assert.match(a, /<saml2:AuthnContextClassRef>http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/eidas-nf-high<\/saml2:AuthnContextClassRef><saml2:AuthenticatingAuthority>https:\/\/eidas\.fi\.test\/proxy-service\/metadata<\/saml2:AuthenticatingAuthority>/);
  });

  it('eIDAS: the default LoA is eidas-nf-sub; a German citizen has a hashed prid and no mapped number', async () => {
    const saml = nodeSamlSp(sim.idps.eidas!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'eidas', 'de-erika');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.equal(profile?.[ATTR.prid], 'DE:b981f0cee1ac976a9972f3d787d880');
    assert.equal(profile?.[ATTR.pridPersistence], 'B');
    assert.equal(profile?.[ATTR.mappedPersonalIdentityNumber], undefined);
    assert.match(sim.control.lastResponse('eidas')!.assertionXml!, /loa\/1\.0\/eidas-nf-sub</);
  });

  it('staff (AD FS): employee number, mail, eduPersonPrincipalName, names', async () => {
    const saml = nodeSamlSp(sim.idps['karlstad-adfs']!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'karlstad-adfs', 'lena');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.ok(profile);
    assert.equal(profile[ATTR.employeeNumber], '100234');
    assert.equal(profile[ATTR.mail], 'lena.klaralvsson@karlstad.se');
    assert.equal(profile[ATTR.eduPersonPrincipalName], 'lekl0234@karlstad.se');
    assert.equal(profile[ATTR.givenName], 'Lena');
    assert.equal(profile[ATTR.sn], 'Klarälvsson');
    assert.equal(profile[ATTR.displayName], 'Lena Klarälvsson');
    assert.match(sim.control.lastResponse('karlstad-adfs')!.assertionXml!, /loa\/1\.0\/loa2</);
  });

  it('staff without an SP encryption key: a plain, signed assertion (as AD FS does)', async () => {
    sim.control.setSpMetadata(spMetadata(sp, { withEncryptionKey: false }), 'karlstad-adfs');
    const saml = nodeSamlSp(sim.idps['karlstad-adfs']!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'karlstad-adfs', 'sara');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.equal(profile?.[ATTR.givenName], 'Sara Maria');
    assert.match(decode(out), /<saml2:Assertion /);
  });

  it('the persistent NameID is stable for a person and SP, and differs between SPs', async () => {
    const other: TestSp = { ...sp, entityId: 'https://other.idnav.test/sp', acsUrl: 'https://other.idnav.test/acs' };
    sim.control.setSpMetadata(`<md:EntitiesDescriptor xmlns:md="${NS.md}">${spMetadata(sp)}${spMetadata(other)}</md:EntitiesDescriptor>`);
    const ids: string[] = [];
    for (const s of [sp, sp, other]) {
      const saml = nodeSamlSp(sim.idps['sweden-connect']!, s);
      const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
      ids.push((await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse })).profile!.nameID);
    }
    assert.equal(ids[0], ids[1]);
    assert.notEqual(ids[0], ids[2]);
    assert.doesNotMatch(ids[0]!, new RegExp(TORE));
  });

  it('ECDSA-SHA256: node-saml cannot verify it; xml-crypto with an ECDSA algorithm added does', async () => {
    const idp = sim.idps['sweden-connect-ec']!;
    assert.equal(new X509Certificate(idp.signingCert).publicKey.asymmetricKeyType, 'ec');
    const saml = nodeSamlSp(idp, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect-ec', TORE);
    // node-saml 5.1 (xml-crypto's built-in algorithms) has no ECDSA.
    await assert.rejects(saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse }));
    const xml = decode(out);
    assert.match(xml, /<ds:SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#ecdsa-sha256"\/>/);
    assert.match(xml, /<ds:DigestMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#sha256"\/>/);
    assert.ok(verifyRootSignature(xml, idp.signingCert));
    assert.equal(verifyRootSignature(xml, sim.idps['sweden-connect']!.signingCert), false);
    const assertion = await decryptAssertion(xml, sp.encryption.key);
    assert.ok(verifyRootSignature(assertion, idp.signingCert), 'the decrypted assertion is signed (the SP wants signed assertions)');
    assert.match(assertion, /<saml2:AttributeValue [^>]*>198602212394<\/saml2:AttributeValue>/);
  });

  it('honours the AES-GCM algorithm an SP declares for its encryption key', async () => {
    sim.control.setSpMetadata(spMetadata(sp, { encryptionMethods: ['http://www.w3.org/2009/xmlenc11#aes256-gcm'] }));
    const saml = nodeSamlSp(sim.idps['sweden-connect']!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
    assert.match(decode(out), /xmlenc11#aes256-gcm/);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.equal(profile?.[ATTR.personalIdentityNumber], TORE);
  });
});

describe('the login page and the scripted login', () => {
  it('cancel: Responder + http://id.elegnamnden.se/status/1.0/cancel, no assertion', async () => {
    const { saml, sessionKey } = await loginPageFor('eidas');
    const { json } = await jsonLogin('eidas', { sessionKey, action: 'cancel' });
    const xml = Buffer.from(json.SAMLResponse as string, 'base64').toString('utf8');
    assert.deepEqual(statusOf(xml), { code: STATUS.responder, sub: STATUS.cancel });
    assert.doesNotMatch(xml, /Assertion/);
    assert.ok(verifyRootSignature(xml, sim.idps.eidas!.signingCert));
    await assert.rejects(saml.validatePostResponseAsync({ SAMLResponse: json.SAMLResponse as string }), /Responder/);
    assert.equal(sim.control.stats().eidas!.cancels, 1);
  });

  it('the page form posts back an auto-submitting form (script file, visible button) to the ACS', async () => {
    const { sessionKey } = await loginPageFor('karlstad-adfs');
    const res = await fetch(sim.idps['karlstad-adfs']!.loginUrl, {
      method: 'POST',
      body: new URLSearchParams({ sessionKey: sessionKey!, personId: 'olle', action: 'login' }),
    });
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.match(html, /<script src="autopost\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /<button type="submit"/);
    const form = readAutoPostForm(html);
    assert.equal(form.action, sp.acsUrl);
    assert.deepEqual(Object.keys(form.fields).sort(), ['RelayState', 'SAMLResponse']);
    const js = await fetch(`${sim.url}/karlstad-adfs/autopost.js`);
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.match(await js.text(), /submit\(\)/);
  });

  it('the login can be driven by the AuthnRequest ID instead of the session key, and only once', async () => {
    await loginPageFor('sweden-connect');
    const requestId = sim.control.lastRequest('sweden-connect')!.id!;
    assert.equal(sim.control.sessions('sweden-connect').length, 1);
    const first = await jsonLogin('sweden-connect', { requestId, personId: TORE });
    assert.equal(first.status, 200);
    assert.equal(first.json.inResponseTo, requestId);
    const again = await jsonLogin('sweden-connect', { requestId, personId: TORE });
    assert.equal(again.status, 404);
    assert.equal(again.json.error, 'sessionNotFound');
    assert.equal(sim.control.sessions().length, 0);
  });

  it('refuses an unknown person and keeps the sign-in open', async () => {
    const { sessionKey } = await loginPageFor('sweden-connect');
    const r = await jsonLogin('sweden-connect', { sessionKey, personId: '190101019801' });
    assert.equal(r.status, 404);
    assert.equal(r.json.error, 'personNotFound');
    assert.equal((await jsonLogin('sweden-connect', { sessionKey, personId: TORE })).status, 200);
  });

  it('a samordningsnummer is refused when the SP lacks accepts-coordination-number (a personnummer is needed)', async () => {
    const { sessionKey } = await loginPageFor('sweden-connect');
    const r = await jsonLogin('sweden-connect', { sessionKey, personId: EBBA_SAMORDNING });
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'coordinationNumberNotAccepted');
    assert.match(String(r.json.messageSv), /kräver ett svenskt personnummer/);
    // On the page the same message is shown, and the sign-in can go on.
    const page = await fetch(sim.idps['sweden-connect']!.loginUrl, {
      method: 'POST',
      body: new URLSearchParams({ sessionKey: sessionKey!, personId: EBBA_SAMORDNING, action: 'login' }),
    });
    const html = await page.text();
    assert.equal(page.status, 403);
    assert.match(html, /role="alert">Tjänsten du försöker logga in på kräver ett svenskt personnummer/);
    assert.match(html, new RegExp(`value="${EBBA_SAMORDNING}" checked`));
    assert.equal((await jsonLogin('sweden-connect', { sessionKey, personId: TORE })).status, 200);
  });

  it('a samordningsnummer is released in personalIdentityNumber when the SP declares accepts-coordination-number', async () => {
    sim.control.setSpMetadata(spMetadata(sp, { entityCategories: ['http://id.elegnamnden.se/ec/1.0/loa3-pnr', EC_ACCEPTS_COORDINATION_NUMBER] }));
    const saml = nodeSamlSp(sim.idps['sweden-connect']!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', EBBA_SAMORDNING);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.equal(profile?.[ATTR.personalIdentityNumber], EBBA_SAMORDNING);
    assert.equal(profile?.[ATTR.dateOfBirth], '1908-03-15');
  });

  it('a mapped samordningsnummer (eIDAS) is released without the entity category', async () => {
    const saml = nodeSamlSp(sim.idps.eidas!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'eidas', 'dk-ebba');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse });
    assert.equal(profile?.[ATTR.mappedPersonalIdentityNumber], EBBA_SAMORDNING);
    assert.equal(profile?.[ATTR.personalIdentityNumberBinding], 'http://id.swedenconnect.se/id-binding/process/swedish-eid');
  });

  it('eIDAS country preselection (Scoping) limits the persons', async () => {
    const { html, sessionKey } = await loginPageFor('eidas', {
      extra: { scoping: { idpList: [{ entries: [{ providerId: 'http://id.swedenconnect.se/eidas/1.0/proxy-service/no' }] }] } },
    });
    assert.match(html, /Solveig Prøvesen/);
    assert.doesNotMatch(html, /Erika Mustermann/);
    assert.equal((await jsonLogin('eidas', { sessionKey, personId: 'de-erika' })).status, 409);
    assert.equal((await jsonLogin('eidas', { sessionKey, personId: 'NO:05868941253' })).status, 200);
  });

  it('PrincipalSelection: another person than the selected one gets UnknownPrincipal', async () => {
    const { sessionKey, html } = await loginPageFor('sweden-connect', {
      extra: {
        samlAuthnRequestExtensions: {
          'psc:PrincipalSelection': { '@xmlns:psc': NS.psc, 'psc:MatchValue': { '@Name': ATTR.personalIdentityNumber, '#text': TORE } },
        },
      },
    });
    assert.match(html, /Tore Testsson/);
    assert.doesNotMatch(html, /Greta Testdotter/);
    const r = await jsonLogin('sweden-connect', { sessionKey, personId: '194106279161' });
    assert.equal(r.status, 200);
    assert.deepEqual(statusOf(Buffer.from(r.json.SAMLResponse as string, 'base64').toString('utf8')), { code: STATUS.responder, sub: STATUS.unknownPrincipal });
  });

  it('control.login answers a pending login page in-process', async () => {
    await loginPageFor('eidas');
    const out = await sim.control.login({ requestId: sim.control.lastRequest('eidas')!.id!, personId: 'no-solveig' });
    assert.equal(out.status, STATUS.success);
    assert.equal(sim.control.lastResponse('eidas')!.personId, 'no-solveig');
  });
});

describe('response faults for SP tests', () => {
  const cases: Array<{ fault: Parameters<SamlIdpSimulator['control']['failNext']>[0]; rejects: RegExp }> = [
    { fault: 'bad-signature', rejects: /signature/i },
    { fault: 'unsigned', rejects: /signature/i },
    { fault: 'untrusted-key', rejects: /signature/i },
    { fault: 'tampered-assertion', rejects: /signature/i },
    { fault: 'wrong-audience', rejects: /audience/i },
    { fault: 'wrong-in-response-to', rejects: /InResponseTo/i },
    { fault: 'expired', rejects: /expired|NotOnOrAfter|subject confirmation/i },
    { fault: 'status-failure', rejects: /Responder/ },
  ];
  for (const c of cases) {
    it(`failNext('${c.fault}') bends the next response, which node-saml then rejects`, async () => {
      sim.control.failNext(c.fault, { persona: 'sweden-connect' });
      const saml = nodeSamlSp(sim.idps['sweden-connect']!, sp);
      const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
      await assert.rejects(saml.validatePostResponseAsync({ SAMLResponse: out.SAMLResponse }), c.rejects);
      assert.equal(sim.control.lastResponse('sweden-connect')!.fault, c.fault);
      // Only the next one.
      const out2 = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
      assert.ok((await saml.validatePostResponseAsync({ SAMLResponse: out2.SAMLResponse })).profile);
    });
  }

  it('wrong-loa, two-assertions and doctype produce what the SP must refuse by its own checks', async () => {
    sim.control.failNext('wrong-loa');
    const saml = nodeSamlSp(sim.idps['sweden-connect']!, sp, { authnContext: [LOA.loa3] });
    await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
    assert.match(sim.control.lastResponse()!.assertionXml!, /loa\/1\.0\/loa1</);
    sim.control.failNext('two-assertions');
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
    assert.equal(decode(out).match(/<saml2:EncryptedAssertion/g)!.length, 2);
    sim.control.failNext('doctype');
    const out3 = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'sweden-connect', TORE);
    assert.match(decode(out3), /^<!DOCTYPE saml2p:Response \[<!ENTITY /);
  });

  it('the HTTP control API sets faults, moves the clock and reports', async () => {
    const post = (path: string, body: unknown) => fetch(`${sim.url}/control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('fail-next', { fault: 'cancel', persona: 'eidas' })).status, 200);
    assert.equal((await post('fail-next', { fault: 'nonsense' })).status, 400);
    const saml = nodeSamlSp(sim.idps.eidas!, sp);
    const out = await signInWithFetch(await saml.getAuthorizeUrlAsync('x', undefined, {}), sim, 'eidas', 'no-solveig');
    assert.deepEqual(statusOf(decode(out)), { code: STATUS.responder, sub: STATUS.cancel });
    const clock = (await (await post('clock', { at: '2030-01-01T00:00:00Z' })).json()) as { now: string };
    assert.equal(clock.now, '2030-01-01T00:00:00.000Z');
    assert.equal(sim.control.now(), Date.parse('2030-01-01T00:00:00Z'));
    const stats = (await (await fetch(`${sim.url}/control/stats`)).json()) as Record<string, { responses: number }>;
    assert.equal(stats.eidas!.responses, 1);
    const last = (await (await fetch(`${sim.url}/control/last-request?persona=eidas`)).json()) as { outcome: string };
    assert.equal(last.outcome, 'accepted');
    assert.equal((await post('reset', {})).status, 200);
    assert.notEqual(sim.control.now(), Date.parse('2030-01-01T00:00:00Z'));
  });

  it('assertion times follow the injected clock', async () => {
    const at = Date.parse('2031-05-01T10:00:00Z');
    sim.control.setClock(at);
    const xml = authnRequestXml({ destination: sim.idps['sweden-connect']!.ssoUrl, instant: new Date(at).toISOString() });
    const page = await fetch(redirectUrl(sim.idps['sweden-connect']!.ssoUrl, xml, { key: sp.signing.key }));
    assert.equal(page.status, 200, await page.clone().text());
    const out = await sim.control.login({ sessionKey: page.headers.get('x-simulator-session')!, personId: TORE });
    assert.equal(out.status, STATUS.success);
    const a = sim.control.lastResponse('sweden-connect')!.assertionXml!;
    assert.match(a, /IssueInstant="2031-05-01T10:00:00\.000Z"/);
    assert.match(a, /<saml2:Conditions NotBefore="2031-05-01T10:00:00\.000Z" NotOnOrAfter="2031-05-01T10:05:00\.000Z">/);
    assert.match(a, /AuthnInstant="2031-05-01T10:00:00\.000Z"/);
  });
});

describe('dev pages', () => {
  it('serve an overview and a persona page without script', async () => {
    const index = await fetch(`${sim.url}/`);
    const html = await index.text();
    assert.equal(index.status, 200);
    assert.match(html, /Utländsk e-legitimation/);
    assert.doesNotMatch(html, /<script/);
    const redirect = await fetch(`${sim.url}/eidas`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    const page = await (await fetch(`${sim.url}/eidas/`)).text();
    assert.match(page, /Solveig Prøvesen/);
    const persons = (await (await fetch(`${sim.url}/karlstad-adfs/persons`)).json()) as Array<{ id: string }>;
    assert.deepEqual(
      persons.map((p) => p.id),
      ['lena', 'olle', 'sara'],
    );
    assert.equal((await fetch(`${sim.url}/nobody/metadata`)).status, 404);
  });
});
