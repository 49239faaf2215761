/**
 * The security corpus: every attack or defect the adapter must refuse, each with a twin built the same
 * way with that one defect removed, which the adapter must accept (so each case fails for its own
 * reason, not for a broken signature set-up). `generate-corpus.ts` writes them to
 * `fixtures/saml/{invalid,valid}/<case>.xml`; `corpus.test.ts` runs them.
 */
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { HubErrorCode } from '../../src/contracts/errors.ts';
import {
  ATTRS,
  CANCEL,
  EBBA_SAMORDNING,
  LOA2,
  NOW,
  REQUEST_ID,
  TORE,
  assertionXml,
  buildResponse,
  seeded,
  signRoot,
  swedenConnectAttributes,
  testKeys,
  type ResponseSpec,
  type StateSpec,
} from './testkit.ts';
import { ALG } from './xmldsig.ts';

export interface CorpusCase {
  /** File name without `.xml`. */
  name: string;
  /** What the case is, in one line. */
  about: string;
  /** The Response XML: with the defect, or (`defect` false) its valid twin. */
  build(defect: boolean): string;
  expect: { code: HubErrorCode; detail: RegExp };
  /** Config overrides both twins are checked with. */
  config?: Record<string, unknown>;
  /** State overrides (the request the response answers). */
  state?: StateSpec;
  /** The defect is presenting the (valid) response a second time. */
  replay?: boolean;
}

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder';
const AUTHN_FAILED = 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed';
const EVIL = EBBA_SAMORDNING;

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
const print = (doc: Document | Element): string => new XMLSerializer().serializeToString(doc);
const child = (el: Element, ns: string, local: string): Element => {
  for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 1 && (c as Element).namespaceURI === ns && (c as Element).localName === local) return c as Element;
  throw new Error(`no ${local} in ${el.localName}`);
};
const clone = (el: Element): Element => el.cloneNode(true) as Element;
const removeSignature = (el: Element): Element => {
  el.removeChild(child(el, DS, 'Signature'));
  return el;
};
/** Puts the attacker's number where the person's is (text only; signatures are not recomputed). */
const evilText = (el: Element): Element => {
  const stack: Element[] = [el];
  while (stack.length) {
    const e = stack.pop()!;
    for (let c = e.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3 && (c as unknown as { data: string }).data === TORE) (c as unknown as { data: string }).data = EVIL;
      if (c.nodeType === 1) stack.push(c as Element);
    }
  }
  return el;
};

/** The well-formed original every wrapping case starts from. */
const signedBoth = () => buildResponse();
const assertionOnlySigned = () => buildResponse({ signResponse: null });

/** XSW on a Response whose Response is signed (XSW1, XSW2). */
function responseWrap(variant: 1 | 2): string {
  const doc = parse(signedBoth());
  const original = doc.documentElement!;
  const evil = evilText(clone(original));
  evil.setAttribute('ID', '_evil-response');
  const copy = removeSignature(clone(original));
  const signature = child(evil, DS, 'Signature');
  if (variant === 1) signature.appendChild(copy);
  else evil.insertBefore(copy, signature);
  doc.replaceChild(evil, original);
  return print(doc);
}

/** XSW on a Response whose Assertion alone is signed (XSW3–XSW8). */
function assertionWrap(variant: 3 | 4 | 5 | 6 | 7 | 8): string {
  const doc = parse(assertionOnlySigned());
  const response = doc.documentElement!;
  const signed = child(response, SAML, 'Assertion');
  switch (variant) {
    case 3: {
      const evil = evilText(removeSignature(clone(signed)));
      evil.setAttribute('ID', '_evil-assertion');
      response.insertBefore(evil, signed);
      break;
    }
    case 4: {
      const evil = evilText(removeSignature(clone(signed)));
      evil.setAttribute('ID', '_evil-assertion');
      response.removeChild(signed);
      evil.appendChild(signed);
      response.appendChild(evil);
      break;
    }
    case 5: {
      const cleanCopy = removeSignature(clone(signed));
      evilText(signed);
      response.appendChild(cleanCopy);
      break;
    }
    case 6: {
      const cleanCopy = removeSignature(clone(signed));
      evilText(signed);
      child(signed, DS, 'Signature').appendChild(cleanCopy);
      break;
    }
    case 7: {
      const evil = evilText(removeSignature(clone(signed)));
      evil.setAttribute('ID', '_evil-assertion');
      const extensions = doc.createElementNS(SAMLP, 'saml2p:Extensions');
      extensions.appendChild(evil);
      response.insertBefore(extensions, signed);
      break;
    }
    case 8: {
      const cleanCopy = removeSignature(clone(signed));
      evilText(signed);
      const object = doc.createElementNS(DS, 'ds:Object');
      object.appendChild(cleanCopy);
      child(signed, DS, 'Signature').appendChild(object);
      break;
    }
  }
  return print(doc);
}

const ADFS_LIKE = { requireSignedResponse: false };
const OTHER_REQUEST = '_9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6';

/** Responses built from `spec` with the defect, or without it. */
const twin = (good: ResponseSpec, bad: ResponseSpec) => (defect: boolean) => buildResponse(defect ? { ...good, ...bad } : good);

export const CORPUS: readonly CorpusCase[] = [
  // Signature wrapping (Somorovsky et al. 2012; the variants as SAMLRaider builds them).
  {
    name: 'xsw1-response-copy-in-signature',
    about: 'XSW1: an altered Response keeps the signature; the signed original hides inside the Signature',
    build: (d) => (d ? responseWrap(1) : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 Response elements \(another at \/Response\/Signature\/Response\).*signature wrapping/ },
  },
  {
    name: 'xsw2-response-copy-before-signature',
    about: 'XSW2: as XSW1, the signed original placed before the Signature (detached style)',
    build: (d) => (d ? responseWrap(2) : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 Response elements \(another at \/Response\/Response\).*signature wrapping/ },
  },
  {
    name: 'xsw3-evil-assertion-before-signed',
    about: 'XSW3: an unsigned altered Assertion (new ID) before the signed one',
    build: (d) => (d ? assertionWrap(3) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Assertion, \/Response\/Assertion\).*signature wrapping/ },
  },
  {
    name: 'xsw4-signed-assertion-inside-evil',
    about: 'XSW4: an altered Assertion appended, the signed one moved inside it',
    build: (d) => (d ? assertionWrap(4) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Assertion, \/Response\/Assertion\/Assertion\)/ },
  },
  {
    name: 'xsw5-altered-assertion-clean-copy-after',
    about: 'XSW5: the signed Assertion altered in place; an unsigned clean copy appended to the Response',
    build: (d) => (d ? assertionWrap(5) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions.*signature wrapping/ },
  },
  {
    name: 'xsw6-clean-copy-in-assertion-signature',
    about: 'XSW6: the signed Assertion altered in place; the clean copy inside its Signature',
    build: (d) => (d ? assertionWrap(6) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Assertion, \/Response\/Assertion\/Signature\/Assertion\)/ },
  },
  {
    name: 'xsw7-evil-assertion-in-extensions',
    about: 'XSW7: an unsigned altered Assertion inside an Extensions element before the signed one',
    build: (d) => (d ? assertionWrap(7) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Extensions\/Assertion, \/Response\/Assertion\)/ },
  },
  {
    name: 'xsw8-clean-copy-in-signature-object',
    about: 'XSW8: the signed Assertion altered in place; the clean copy in an Object inside its Signature',
    build: (d) => (d ? assertionWrap(8) : assertionOnlySigned()),
    config: ADFS_LIKE,
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Assertion, \/Response\/Assertion\/Signature\/Object\/Assertion\)/ },
  },
  {
    name: 'two-assertions',
    about: 'two assertions, each signed by the IdP, in one signed Response',
    build: (d) => {
      if (!d) return signedBoth();
      const second = signRoot(
        assertionXml({ assertionId: '_second-assertion', attributes: swedenConnectAttributes(EVIL, 'Ebba', 'Samordnadsson') }),
        { key: testKeys()['idp-rsa'] },
      );
      const unsigned = buildResponse({ signResponse: null }).replace('</saml2p:Response>', `${second}</saml2p:Response>`);
      return signRoot(unsigned, { key: testKeys()['idp-rsa'] });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /2 assertions \(at \/Response\/Assertion, \/Response\/Assertion\)/ },
  },
  {
    name: 'duplicate-id',
    about: 'an element in the Response Extensions carries the Assertion ID (reference confusion)',
    build: (d) =>
      buildResponse({ responseExtensions: `<x:Note xmlns:x="urn:idnav:test" ID="${d ? '_a7c3e0f1d2b4a5968778695a4b3c2d1e0' : '_note'}">n</x:Note>` }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the ID "_a7c3e0f1d2b4a5968778695a4b3c2d1e0" is used by more than one element/ },
  },
  {
    name: 'two-root-elements',
    about: 'a second root element after the signed Response (CVE-2022-39299 shape)',
    build: (d) => (d ? `${signedBoth()}<saml2p:Response xmlns:saml2p="${SAMLP}" ID="_second-root" Version="2.0"/>` : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /not well-formed XML/ },
  },

  // Parser tricks.
  {
    name: 'comment-in-nameid',
    about: 'an XML comment inside the NameID of a validly signed Response (canonicalisation drops it)',
    build: (d) => (d ? signedBoth().replace('>b4c1e5f9a2d8c7b6e3f0a9d8c7b6a5f4<', '>b4c1e5f9<!---->a2d8c7b6e3f0a9d8c7b6a5f4<') : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /an XML comment is not allowed \(at \/Response\/Assertion\/Subject\/NameID\)/ },
  },
  {
    name: 'pi-in-attribute',
    about: 'a processing instruction inside the personalIdentityNumber value, signed by the IdP',
    build: (d) =>
      buildResponse({
        beforeAssertionSigned: (xml) => (d ? xml.replace(`>${TORE}<`, `>19860221<?x y?>2394<`) : xml),
      }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /a processing instruction is not allowed \(at \/Response\/Assertion\/AttributeStatement\/Attribute\/AttributeValue\)/ },
  },
  {
    name: 'doctype',
    about: 'a DOCTYPE before a validly signed Response',
    build: (d) => (d ? `<!DOCTYPE saml2p:Response>${signedBoth()}` : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /a DOCTYPE is not allowed/ },
  },
  {
    name: 'entity-expansion',
    about: 'billion laughs: nested entity declarations, expanded inside the NameID',
    build: (d) => {
      if (!d) return signedBoth();
      const entities = ['<!ENTITY lol0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`)].join('');
      return `<!DOCTYPE saml2p:Response [${entities}]>${signedBoth().replace('>b4c1e5f9a2d8c7b6e3f0a9d8c7b6a5f4<', '>&lol9;<')}`;
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /an entity declaration \(<!ENTITY\) is not allowed/ },
  },
  {
    name: 'oversized',
    about: 'a validly signed Response of more than 256 KiB (a huge attribute)',
    build: (d) =>
      buildResponse({
        attributes: [...swedenConnectAttributes(), { name: 'urn:oid:1.2.752.201.3.11', friendlyName: 'userSignature', values: [seeded('oversized')(d ? 200_000 : 2_000).toString('base64')] }],
      }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /is larger than 262144 bytes/ },
  },
  {
    name: 'deeply-nested',
    about: 'a validly signed Response with 40 nested elements in its Extensions',
    build: (d) => {
      const depth = d ? 40 : 3;
      return buildResponse({ responseExtensions: `${'<x:n xmlns:x="urn:idnav:test">'.repeat(depth)}${'</x:n>'.repeat(depth)}` });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /elements nested deeper than 24 levels/ },
  },

  // Signatures and keys.
  {
    name: 'unsigned-response-and-assertion',
    about: 'neither the Response nor the Assertion is signed',
    build: twin({}, { signResponse: null, signAssertion: null }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /neither the Response nor the Assertion is signed/ },
  },
  {
    name: 'response-unsigned',
    about: 'only the Assertion is signed, and this SP requires a signed Response',
    build: twin({}, { signResponse: null }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the Response is not signed/ },
  },
  {
    name: 'assertion-unsigned',
    about: 'only the Response is signed, and this SP publishes WantAssertionsSigned',
    build: twin({}, { signAssertion: null }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the Assertion is not signed/ },
  },
  {
    name: 'signed-by-unknown-key',
    about: 'signed with a key the IdP metadata does not hold, no KeyInfo',
    build: (d) => {
      const k = testKeys();
      const key = d ? { key: k.attacker, keyInfoCert: null } : { key: k['idp-rsa'], keyInfoCert: null };
      return buildResponse({ signResponse: key, signAssertion: key });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /does not verify with any of the 2 trusted key\(s\) \(signed by an unknown key\)/ },
  },
  {
    name: 'key-only-in-keyinfo',
    about: "signed by the attacker, whose certificate rides along in KeyInfo (CVE-2024-32962's trap)",
    build: (d) => {
      const k = testKeys();
      const key = d ? { key: k.attacker } : { key: k['idp-rsa'] };
      return buildResponse({ signResponse: key, signAssertion: key });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /signed with the certificate in its own KeyInfo \(TEST ONLY attacker .*\), which is not one of the IdP's metadata keys/ },
  },
  {
    name: 'tampered-personal-number',
    about: 'the personalIdentityNumber changed after signing',
    build: (d) => (d ? signedBoth().replace(`>${TORE}<`, `>${EVIL}<`) : signedBoth()),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the digest of \/Response does not match its signature/ },
  },
  {
    name: 'rsa-sha1-signature',
    about: 'RSA-SHA1 signatures (not on the profile list)',
    build: (d) => {
      const key = { key: testKeys()['idp-rsa'], ...(d ? { alg: 'rsa-sha1' as const } : {}) };
      return buildResponse({ signResponse: key, signAssertion: key });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /signature algorithm http:\/\/www\.w3\.org\/2000\/09\/xmldsig#rsa-sha1 is not allowed/ },
  },
  {
    name: 'sha1-digest',
    about: 'SHA-1 reference digests',
    build: (d) => {
      const key = { key: testKeys()['idp-rsa'], ...(d ? { digest: 'sha1' as const } : {}) };
      return buildResponse({ signResponse: key, signAssertion: key });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /digest algorithm http:\/\/www\.w3\.org\/2000\/09\/xmldsig#sha1 is not allowed/ },
  },
  {
    name: 'extra-transform',
    about: 'a third transform (inclusive c14n) in the signature references',
    build: (d) => {
      const key = { key: testKeys()['idp-rsa'], ...(d ? { transforms: [ALG.enveloped, 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315', ALG.excC14n] } : {}) };
      return buildResponse({ signResponse: key, signAssertion: key });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /3 transforms in \/Response\/Signature/ },
  },
  {
    name: 'encrypted-to-unknown-key',
    about: 'the assertion encrypted to a key that is not the SP\'s',
    build: (d) => {
      const k = testKeys();
      return buildResponse({ encrypt: { certPem: (d ? k.attacker : k['sp-encryption']).certPem, seed: 'encrypted-to-unknown-key' } });
    },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /cannot be decrypted with any of the 1 SP decryption key\(s\)/ },
  },

  // Binding to this SP, this request, this time.
  {
    name: 'wrong-audience',
    about: 'the assertion is for another SP',
    build: twin({}, { audience: 'https://other-sp.example.org/saml' }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /Audience "https:\/\/other-sp\.example\.org\/saml" is not this SP/ },
  },
  {
    name: 'wrong-recipient',
    about: 'the SubjectConfirmationData names another ACS as Recipient',
    build: twin({}, { recipient: 'https://other-sp.example.org/acs' }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /Recipient "https:\/\/other-sp\.example\.org\/acs" is not this ACS/ },
  },
  {
    name: 'wrong-destination',
    about: 'the Response names another Destination',
    build: twin({}, { destination: 'https://other-sp.example.org/acs' }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /Destination "https:\/\/other-sp\.example\.org\/acs" is not this ACS/ },
  },
  {
    name: 'wrong-in-response-to',
    about: 'the Response answers another request',
    build: twin({}, { inResponseTo: OTHER_REQUEST }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: new RegExp(`InResponseTo "${OTHER_REQUEST}" does not match the request "${REQUEST_ID}"`) },
  },
  {
    name: 'wrong-subject-in-response-to',
    about: 'the Response answers this request, its assertion another one',
    build: twin({}, { subjectInResponseTo: OTHER_REQUEST }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: new RegExp(`SubjectConfirmationData InResponseTo "${OTHER_REQUEST}" does not match`) },
  },
  {
    name: 'unsolicited',
    about: 'no InResponseTo anywhere (IdP-initiated)',
    build: twin({}, { inResponseTo: null, subjectInResponseTo: null }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /unsolicited Response \(no InResponseTo\)/ },
  },
  {
    name: 'wrong-issuer',
    about: 'signed with the IdP key but issued in the name of another entity',
    build: twin({}, { issuer: 'https://evil.example.org/idp' }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the Response Issuer "https:\/\/evil\.example\.org\/idp" is not the IdP/ },
  },
  {
    name: 'wrong-authn-context',
    about: 'LoA 2 where the request asked for LoA 3',
    build: twin({}, { authnContextClassRef: LOA2 }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /AuthnContextClassRef http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa2 was not requested/ },
  },
  {
    name: 'expired',
    about: 'issued 100 s ago with a lifetime of 30 s (more than the minute of clock skew behind)',
    build: twin({ issueInstant: NOW - 100_000, notBefore: NOW - 100_000, notOnOrAfter: NOW + 300_000, authnInstant: NOW - 110_000 }, { notOnOrAfter: NOW - 70_000 }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the assertion has expired \(Conditions NotOnOrAfter 2026-12-01T08:58:50\.000Z/ },
  },
  {
    name: 'not-yet-valid',
    about: 'Conditions NotBefore five minutes ahead (more than the minute of clock skew)',
    build: twin({}, { notBefore: NOW + 300_000, notOnOrAfter: NOW + 600_000 }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the assertion is not yet valid \(Conditions NotBefore 2026-12-01T09:05:00\.000Z/ },
  },
  {
    name: 'stale-issue-instant',
    about: 'a Response issued ten minutes ago that is still formally valid',
    build: twin({}, { issueInstant: NOW - 600_000, notBefore: NOW - 600_000, notOnOrAfter: NOW + 300_000, authnInstant: NOW - 610_000 }),
    state: { at: NOW - 700_000 },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the Response IssueInstant 2026-12-01T08:50:00\.000Z is 600 s old \(at most 180 s\)/ },
  },
  {
    name: 'authn-instant-before-request',
    about: 'ForceAuthn was asked for, but the IdP reused an authentication from before the request',
    build: twin({ authnInstant: NOW - 30_000 }, { authnInstant: NOW - 3_600_000 }),
    state: { force: true },
    expect: { code: 'EID_RESPONSE_INVALID', detail: /AuthnInstant 2026-12-01T08:00:00\.000Z is before the request .*ForceAuthn/ },
  },
  {
    name: 'replayed',
    about: 'a valid Response presented a second time',
    build: () => signedBoth(),
    replay: true,
    expect: { code: 'TRANSACTION_REPLAYED', detail: /assertion _a7c3e0f1d2b4a5968778695a4b3c2d1e0 from https:\/\/idp\.example\.se\/idp has already been used/ },
  },

  // Statuses and attributes.
  {
    name: 'status-cancel',
    about: 'Sweden Connect status cancel: the person cancelled at the IdP',
    build: twin({}, { status: { code: RESPONDER, sub: CANCEL, message: 'User cancelled' } }),
    expect: { code: 'EID_USER_CANCELLED', detail: /cancelled \(Responder\/http:\/\/id\.elegnamnden\.se\/status\/1\.0\/cancel: User cancelled\)/ },
  },
  {
    name: 'status-failure',
    about: 'the IdP failed the authentication',
    build: twin({}, { status: { code: RESPONDER, sub: AUTHN_FAILED, message: 'Authentication failed' } }),
    expect: { code: 'EID_FAILED', detail: /status Responder\/AuthnFailed: Authentication failed/ },
  },
  {
    name: 'invalid-personal-number',
    about: 'a personalIdentityNumber with a wrong check digit, signed by the IdP',
    build: (d) => buildResponse({ attributes: swedenConnectAttributes(d ? '198602212395' : TORE) }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /personalIdentityNumber is not a valid personnummer or samordningsnummer/ },
  },
  {
    name: 'duplicate-attribute',
    about: 'personalIdentityNumber twice, with different values',
    build: (d) =>
      buildResponse({
        attributes: d ? [...swedenConnectAttributes(), { name: ATTRS.personalIdentityNumber, values: [EVIL] }] : swedenConnectAttributes(),
      }),
    expect: { code: 'EID_RESPONSE_INVALID', detail: /the attribute urn:oid:1\.2\.752\.29\.4\.13 appears more than once/ },
  },
];

/** Valid responses beyond the twins: the shapes real IdPs send. */
export const VALID_EXTRAS: ReadonlyArray<{ name: string; about: string; build(): string; config?: Record<string, unknown>; expect: { subjectType: string; subject: string } }> = [
  {
    name: 'encrypted-assertion-aes256-gcm',
    about: 'Sweden Connect style: signed Response, signed and encrypted Assertion (AES-256-GCM, RSA-OAEP)',
    build: () => buildResponse({ encrypt: { certPem: testKeys()['sp-encryption'].certPem, seed: 'encrypted-assertion-aes256-gcm' } }),
    config: { requireEncryptedAssertion: true },
    expect: { subjectType: 'personnummer', subject: TORE },
  },
  {
    name: 'encrypted-assertion-aes128-cbc',
    about: 'the same with AES-128-CBC',
    build: () => buildResponse({ encrypt: { certPem: testKeys()['sp-encryption'].certPem, seed: 'encrypted-assertion-aes128-cbc', algorithm: 'aes128-cbc' } }),
    config: { requireEncryptedAssertion: true },
    expect: { subjectType: 'personnummer', subject: TORE },
  },
  {
    name: 'ecdsa-sha256',
    about: 'Response and Assertion signed with ECDSA-SHA256 (P-256)',
    build: () => buildResponse({ signResponse: { key: testKeys()['idp-ec'] }, signAssertion: { key: testKeys()['idp-ec'] } }),
    expect: { subjectType: 'personnummer', subject: TORE },
  },
  {
    name: 'samordningsnummer',
    about: 'a samordningsnummer in personalIdentityNumber',
    build: () => buildResponse({ attributes: swedenConnectAttributes(EBBA_SAMORDNING, 'Ebba', 'Samordnadsson') }),
    expect: { subjectType: 'samordningsnummer', subject: EBBA_SAMORDNING },
  },
  {
    name: 'response-signed-only',
    about: 'only the Response signed, for an SP that does not ask for signed assertions',
    build: () => buildResponse({ signAssertion: null }),
    config: { sp: { wantAssertionsSigned: false } },
    expect: { subjectType: 'personnummer', subject: TORE },
  },
  {
    name: 'assertion-signed-only',
    about: 'AD FS default: only the Assertion signed',
    build: () => assertionOnlySigned(),
    config: ADFS_LIKE,
    expect: { subjectType: 'personnummer', subject: TORE },
  },
];
