/**
 * Test material for the SAML adapter: the fixed test keys under `fixtures/saml/keys/`, a Response
 * builder (RSA and ECDSA signatures, encrypted assertions) and an IdP metadata builder, all
 * deterministic: ECDSA uses RFC 6979 nonces and encryption a seeded generator, so the corpus generator
 * writes the same bytes every time. Test code only; nothing here is used by the adapter.
 */
import {
  X509Certificate,
  constants,
  createHash,
  createHmac,
  createCipheriv,
  createPrivateKey,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import type { AdapterDeps, RedirectEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import type { Store } from '../../src/contracts/store.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { encodeState, type SamlState } from './adapter.ts';
import { samlModule } from './index.ts';
import { escapeAttr, escapeText } from './xml.ts';
import { ALG } from './xmldsig.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO_ROOT, 'fixtures', 'saml');
export const KEYS_DIR = path.join(FIXTURES, 'keys');

/** The fixed clock of the corpus and of most tests. */
export const NOW = Date.parse('2026-12-01T09:00:00.000Z');
export const ISSUER = 'https://idnav.example.se';
export const METHOD_ID = 'sc';
export const IDP = 'https://idp.example.se/idp';
export const SSO_REDIRECT = 'https://idp.example.se/idp/profile/SAML2/Redirect/SSO';
export const SSO_POST = 'https://idp.example.se/idp/profile/SAML2/POST/SSO';
export const REQUEST_ID = '_4c0a1d2e3f405162738495a6b7c8d9e0f1a2b3c4';
export const RELAY_STATE = 'tx-0001';
export const acsOf = (id = METHOD_ID) => `${ISSUER}/login/saml/${id.replace(/^saml:/, '')}/acs`;
export const spEntityOf = (id = METHOD_ID) => `${ISSUER}/saml/${id.replace(/^saml:/, '')}`;

export const LOA3 = 'http://id.elegnamnden.se/loa/1.0/loa3';
export const LOA2 = 'http://id.elegnamnden.se/loa/1.0/loa2';
export const EIDAS_NF_SUB = 'http://id.elegnamnden.se/loa/1.0/eidas-nf-sub';
export const EIDAS_NF_HIGH = 'http://id.elegnamnden.se/loa/1.0/eidas-nf-high';
export const PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
export const CANCEL = 'http://id.elegnamnden.se/status/1.0/cancel';

/** Test persons (fixtures/test-persons.json). */
export const TORE = '198602212394';
export const EBBA_SAMORDNING = '190803752427';

export interface KeyPair {
  key: KeyObject;
  keyPem: string;
  certPem: string;
  /** base64 DER. */
  cert: string;
  file: { key: string; cert: string };
}

export type KeyName = 'idp-rsa' | 'idp-rsa-next' | 'idp-ec' | 'attacker' | 'sp-signing' | 'sp-encryption' | 'sp-encryption-old' | 'metadata-signer';

let keyCache: Record<KeyName, KeyPair> | undefined;

/** The committed test keys (test material only: never use them anywhere else). */
export function testKeys(): Record<KeyName, KeyPair> {
  if (keyCache) return keyCache;
  const names: KeyName[] = ['idp-rsa', 'idp-rsa-next', 'idp-ec', 'attacker', 'sp-signing', 'sp-encryption', 'sp-encryption-old', 'metadata-signer'];
  const out = {} as Record<KeyName, KeyPair>;
  for (const n of names) {
    const file = { key: path.join(KEYS_DIR, `${n}.key.pem`), cert: path.join(KEYS_DIR, `${n}.crt.pem`) };
    const keyPem = readFileSync(file.key, 'utf8');
    const certPem = readFileSync(file.cert, 'utf8');
    out[n] = { key: createPrivateKey(keyPem), keyPem, certPem, cert: new X509Certificate(certPem).raw.toString('base64'), file };
  }
  keyCache = out;
  return out;
}

// ---- Deterministic randomness, ECDSA (RFC 6979) and RSA-OAEP ----

/** A seeded byte generator (HMAC-SHA256 in counter mode): the same seed gives the same bytes. */
export function seeded(seed: string): (n: number) => Buffer {
  let counter = 0;
  return (n) => {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const block = createHmac('sha256', seed).update(String(counter++)).digest();
      parts.push(block);
      have += block.length;
    }
    return Buffer.concat(parts).subarray(0, n);
  };
}

const P256 = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
type Point = { x: bigint; y: bigint } | null;
function add(P: Point, Q: Point): Point {
  const { p, a } = P256;
  if (!P) return Q;
  if (!Q) return P;
  if (P.x === Q.x && mod(P.y + Q.y, p) === 0n) return null;
  const l = P.x === Q.x && P.y === Q.y ? mod((3n * P.x * P.x + a) * inv(2n * P.y, p), p) : mod((Q.y - P.y) * inv(Q.x - P.x, p), p);
  const x = mod(l * l - P.x - Q.x, p);
  return { x, y: mod(l * (P.x - x) - P.y, p) };
}
function mul(k: bigint, P: Point): Point {
  let R: Point = null;
  let A = P;
  while (k > 0n) {
    if (k & 1n) R = add(R, A);
    A = add(A, A);
    k >>= 1n;
  }
  return R;
}
const toInt = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const toBytes = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');

/** ECDSA P-256 with SHA-256 and an RFC 6979 nonce; the signature as XML-DSig wants it (r || s). */
export function ecdsaP256Sign(data: string | Buffer, privateKey: KeyObject): Buffer {
  const { n } = P256;
  const d = toInt(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const h = createHash('sha256').update(data).digest();
  const e = mod(toInt(h), n);
  const x = toBytes(d);
  const h1 = toBytes(e);
  let V = Buffer.alloc(32, 1);
  let K = Buffer.alloc(32, 0);
  K = createHmac('sha256', K).update(Buffer.concat([V, Buffer.from([0]), x, h1])).digest();
  V = createHmac('sha256', K).update(V).digest();
  K = createHmac('sha256', K).update(Buffer.concat([V, Buffer.from([1]), x, h1])).digest();
  V = createHmac('sha256', K).update(V).digest();
  for (;;) {
    V = createHmac('sha256', K).update(V).digest();
    const k = toInt(V);
    if (k > 0n && k < n) {
      const R = mul(k, { x: P256.gx, y: P256.gy })!;
      const r = mod(R.x, n);
      const s = mod(inv(k, n) * (e + r * d), n);
      if (r !== 0n && s !== 0n) return Buffer.concat([toBytes(r), toBytes(s)]);
    }
    K = createHmac('sha256', K).update(Buffer.concat([V, Buffer.from([0])])).digest();
    V = createHmac('sha256', K).update(V).digest();
  }
}

class EcdsaSha256Signer {
  getAlgorithmName(): string {
    return ALG.ecdsaSha256;
  }
  getSignature(signedInfo: string, privateKey: KeyObject | string): string {
    const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
    const signature = ecdsaP256Sign(signedInfo, key);
    if (!nodeVerify('sha256', Buffer.from(signedInfo), { key, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('RFC 6979 signature does not verify');
    return signature.toString('base64');
  }
  verifySignature(): boolean {
    throw new Error('sign only');
  }
}

function mgf1(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let c = 0; out.length * 20 < length; c++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(c);
    out.push(createHash('sha1').update(Buffer.concat([seed, counter])).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RSA-OAEP (SHA-1, MGF1-SHA-1) with a given seed, so that the ciphertext is reproducible. */
export function oaepEncrypt(message: Buffer, publicKeyPem: string, seed: Buffer): Buffer {
  const k = new X509Certificate(publicKeyPem).publicKey.asymmetricKeyDetails!.modulusLength! / 8;
  const lHash = createHash('sha1').update('').digest();
  const ps = Buffer.alloc(k - message.length - 2 * 20 - 2, 0);
  const db = Buffer.concat([lHash, ps, Buffer.from([1]), message]);
  const dbMask = mgf1(seed, db.length);
  const maskedDb = Buffer.from(db.map((b, i) => b ^ dbMask[i]!));
  const seedMask = mgf1(maskedDb, 20);
  const maskedSeed = Buffer.from(seed.map((b, i) => b ^ seedMask[i]!));
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_NO_PADDING }, em);
}

// ---- XML signing and encryption ----

export type SignatureKind = 'rsa-sha256' | 'ecdsa-sha256' | 'rsa-sha1';

export interface SignSpec {
  key: KeyPair;
  alg?: SignatureKind;
  /** Put this certificate in KeyInfo (default: the signer's own); `null` leaves KeyInfo out. */
  keyInfoCert?: string | null;
  digest?: 'sha256' | 'sha1';
  transforms?: string[];
}

const SIGNATURE_URI: Record<SignatureKind, string> = { 'rsa-sha256': ALG.rsaSha256, 'ecdsa-sha256': ALG.ecdsaSha256, 'rsa-sha1': ALG.rsaSha1 };

/** Signs the root element of `xml` (enveloped, placed after its Issuer). */
export function signRoot(xml: string, spec: SignSpec): string {
  const alg = spec.alg ?? (spec.key.key.asymmetricKeyType === 'ec' ? 'ecdsa-sha256' : 'rsa-sha256');
  const sig = new SignedXml({
    privateKey: spec.key.keyPem,
    signatureAlgorithm: SIGNATURE_URI[alg],
    canonicalizationAlgorithm: ALG.excC14n,
  });
  sig.SignatureAlgorithms[ALG.ecdsaSha256] = EcdsaSha256Signer as unknown as new () => SignatureAlgorithm;
  const certificate = spec.keyInfoCert === undefined ? spec.key.cert : spec.keyInfoCert;
  sig.getKeyInfoContent = ({ prefix } = {}) => {
    if (!certificate) return null;
    const p = prefix ? `${prefix}:` : '';
    return `<${p}X509Data><${p}X509Certificate>${certificate}</${p}X509Certificate></${p}X509Data>`;
  };
  sig.addReference({
    xpath: '/*',
    transforms: spec.transforms ?? [ALG.enveloped, ALG.excC14n],
    digestAlgorithm: spec.digest === 'sha1' ? ALG.sha1 : ALG.sha256,
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

export interface EncryptSpec {
  /** Recipient certificate (PEM). */
  certPem: string;
  /** Seed of the symmetric key, IV and OAEP seed. */
  seed: string;
  algorithm?: 'aes256-gcm' | 'aes128-cbc';
}

/** `<saml2:EncryptedAssertion>` around `assertionXml`, the way Shibboleth-based IdPs write it. */
export function encryptAssertion(assertionXml: string, spec: EncryptSpec): string {
  const rng = seeded(spec.seed);
  const gcm = (spec.algorithm ?? 'aes256-gcm') === 'aes256-gcm';
  const key = rng(gcm ? 32 : 16);
  const iv = rng(gcm ? 12 : 16);
  let payload: Buffer;
  if (gcm) {
    const c = createCipheriv('aes-256-gcm', key, iv);
    payload = Buffer.concat([iv, c.update(assertionXml, 'utf8'), c.final(), c.getAuthTag()]);
  } else {
    const c = createCipheriv('aes-128-cbc', key, iv);
    payload = Buffer.concat([iv, c.update(assertionXml, 'utf8'), c.final()]);
  }
  const encryptedKey = oaepEncrypt(key, spec.certPem, rng(20));
  const dataAlg = gcm ? 'http://www.w3.org/2009/xmlenc11#aes256-gcm' : 'http://www.w3.org/2001/04/xmlenc#aes128-cbc';
  const cert = new X509Certificate(spec.certPem).raw.toString('base64');
  return (
    '<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">' +
    `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Id="_ed${rng(8).toString('hex')}" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
    `<xenc:EncryptionMethod Algorithm="${dataAlg}"/>` +
    '<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">' +
    `<xenc:EncryptedKey Id="_ek${rng(8).toString('hex')}">` +
    '<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>' +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${encryptedKey.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    '</xenc:EncryptedKey>' +
    '</ds:KeyInfo>' +
    `<xenc:CipherData><xenc:CipherValue>${payload.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    '</xenc:EncryptedData>' +
    '</saml2:EncryptedAssertion>'
  );
}

// ---- Responses ----

export interface Attr {
  name: string;
  friendlyName?: string;
  values: string[];
  /** Raw XML of the values instead of `values` (for a processing instruction or nested elements). */
  rawValues?: string[];
}

export const ATTRS = {
  personalIdentityNumber: 'urn:oid:1.2.752.29.4.13',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  dateOfBirth: 'urn:oid:1.3.6.1.5.5.7.9.1',
  c: 'urn:oid:2.5.4.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  prid: 'urn:oid:1.2.752.201.3.4',
  pridPersistence: 'urn:oid:1.2.752.201.3.5',
  personalIdentityNumberBinding: 'urn:oid:1.2.752.201.3.6',
  eidasPersonIdentifier: 'urn:oid:1.2.752.201.3.7',
  mappedPersonalIdentityNumber: 'urn:oid:1.2.752.201.3.16',
} as const;

/** Tore Testsson as a Sweden Connect IdP describes him (ELN-AP-Pnr-01). */
export function swedenConnectAttributes(number = TORE, given = 'Tore', sn = 'Testsson'): Attr[] {
  return [
    { name: ATTRS.personalIdentityNumber, friendlyName: 'personalIdentityNumber', values: [number] },
    { name: ATTRS.givenName, friendlyName: 'givenName', values: [given] },
    { name: ATTRS.sn, friendlyName: 'sn', values: [sn] },
    { name: ATTRS.displayName, friendlyName: 'displayName', values: [`${given} ${sn}`] },
    { name: ATTRS.dateOfBirth, friendlyName: 'dateOfBirth', values: [`${number.slice(0, 4)}-${number.slice(4, 6)}-${String(Number(number.slice(6, 8)) % 60).padStart(2, '0')}`] },
  ];
}

export interface ResponseSpec {
  attributes?: Attr[];
  responseId?: string;
  assertionId?: string;
  /** InResponseTo of the Response; null leaves it out. */
  inResponseTo?: string | null;
  /** InResponseTo of the SubjectConfirmationData; default as the Response's; null leaves it out. */
  subjectInResponseTo?: string | null;
  destination?: string | null;
  recipient?: string;
  audience?: string;
  issuer?: string;
  issueInstant?: number;
  assertionIssueInstant?: number;
  notBefore?: number;
  notOnOrAfter?: number;
  subjectNotOnOrAfter?: number;
  authnInstant?: number;
  authnContextClassRef?: string;
  nameId?: string;
  nameIdXml?: string;
  status?: { code: string; sub?: string; message?: string };
  signResponse?: SignSpec | null;
  signAssertion?: SignSpec | null;
  encrypt?: EncryptSpec | null;
  /** Raw XML put inside `<saml2p:Extensions>` of the Response. */
  responseExtensions?: string;
  acs?: string;
  spEntityId?: string;
  /** Post-processing of the assertion XML before it is signed (the IdP signs what this returns). */
  beforeAssertionSigned?: (xml: string) => string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** The assertion alone (unsigned). */
export function assertionXml(s: ResponseSpec = {}): string {
  const now = NOW;
  const acs = s.acs ?? acsOf();
  const inResponseTo = s.subjectInResponseTo === undefined ? (s.inResponseTo === undefined ? REQUEST_ID : s.inResponseTo) : s.subjectInResponseTo;
  const attributes = s.attributes ?? swedenConnectAttributes();
  const attrXml = attributes
    .map(
      (a) =>
        `<saml2:Attribute${a.friendlyName ? ` FriendlyName="${escapeAttr(a.friendlyName)}"` : ''} Name="${escapeAttr(a.name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">` +
        (a.rawValues ?? a.values.map(escapeText))
          .map((v) => `<saml2:AttributeValue xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:string">${v}</saml2:AttributeValue>`)
          .join('') +
        '</saml2:Attribute>',
    )
    .join('');
  return (
    `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="${s.assertionId ?? '_a7c3e0f1d2b4a5968778695a4b3c2d1e0'}" IssueInstant="${iso(s.assertionIssueInstant ?? s.issueInstant ?? now - 5_000)}" Version="2.0">` +
    `<saml2:Issuer>${escapeText(s.issuer ?? IDP)}</saml2:Issuer>` +
    '<saml2:Subject>' +
    (s.nameIdXml ??
      `<saml2:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" NameQualifier="${escapeAttr(IDP)}" SPNameQualifier="${escapeAttr(s.spEntityId ?? spEntityOf())}">${escapeText(s.nameId ?? 'b4c1e5f9a2d8c7b6e3f0a9d8c7b6a5f4')}</saml2:NameID>`) +
    '<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
    `<saml2:SubjectConfirmationData Address="192.0.2.10"${inResponseTo === null ? '' : ` InResponseTo="${escapeAttr(inResponseTo)}"`} NotOnOrAfter="${iso(s.subjectNotOnOrAfter ?? s.notOnOrAfter ?? now + 300_000)}" Recipient="${escapeAttr(s.recipient ?? acs)}"/>` +
    '</saml2:SubjectConfirmation>' +
    '</saml2:Subject>' +
    `<saml2:Conditions NotBefore="${iso(s.notBefore ?? now - 65_000)}" NotOnOrAfter="${iso(s.notOnOrAfter ?? now + 300_000)}">` +
    `<saml2:AudienceRestriction><saml2:Audience>${escapeText(s.audience ?? s.spEntityId ?? spEntityOf())}</saml2:Audience></saml2:AudienceRestriction>` +
    '</saml2:Conditions>' +
    `<saml2:AuthnStatement AuthnInstant="${iso(s.authnInstant ?? now - 10_000)}" SessionIndex="_s9f8e7d6c5b4a3">` +
    `<saml2:AuthnContext><saml2:AuthnContextClassRef>${escapeText(s.authnContextClassRef ?? LOA3)}</saml2:AuthnContextClassRef></saml2:AuthnContext>` +
    '</saml2:AuthnStatement>' +
    (attributes.length ? `<saml2:AttributeStatement>${attrXml}</saml2:AttributeStatement>` : '') +
    '</saml2:Assertion>'
  );
}

/** A whole Response: the assertion signed, encrypted, embedded, and the Response signed, as `s` says. */
export function buildResponse(s: ResponseSpec = {}): string {
  const keys = testKeys();
  const now = NOW;
  const status = s.status ?? { code: SUCCESS };
  let assertion = '';
  if (status.code === SUCCESS) {
    assertion = assertionXml(s);
    if (s.beforeAssertionSigned) assertion = s.beforeAssertionSigned(assertion);
    const signAssertion = s.signAssertion === undefined ? { key: keys['idp-rsa'] } : s.signAssertion;
    if (signAssertion) assertion = signRoot(assertion, signAssertion);
    if (s.encrypt) assertion = encryptAssertion(assertion, s.encrypt);
  }
  const inResponseTo = s.inResponseTo === undefined ? REQUEST_ID : s.inResponseTo;
  const destination = s.destination === undefined ? (s.acs ?? acsOf()) : s.destination;
  const statusXml =
    `<saml2p:Status><saml2p:StatusCode Value="${status.code}">${status.sub ? `<saml2p:StatusCode Value="${status.sub}"/>` : ''}</saml2p:StatusCode>` +
    (status.message ? `<saml2p:StatusMessage>${escapeText(status.message)}</saml2p:StatusMessage>` : '') +
    '</saml2p:Status>';
  let response =
    `<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol"${destination === null ? '' : ` Destination="${escapeAttr(destination)}"`} ID="${s.responseId ?? '_r1e2s3p4o5n6s7e8a9b0c1d2e3f4a5b6'}"${inResponseTo === null ? '' : ` InResponseTo="${escapeAttr(inResponseTo)}"`} IssueInstant="${iso(s.issueInstant ?? now - 5_000)}" Version="2.0">` +
    `<saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">${escapeText(s.issuer ?? IDP)}</saml2:Issuer>` +
    (s.responseExtensions ? `<saml2p:Extensions>${s.responseExtensions}</saml2p:Extensions>` : '') +
    statusXml +
    assertion +
    '</saml2p:Response>';
  const signResponse = s.signResponse === undefined ? { key: keys['idp-rsa'] } : s.signResponse;
  if (signResponse) response = signRoot(response, signResponse);
  return response;
}

export const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

// ---- Metadata ----

export interface IdpMetadataSpec {
  entityId?: string;
  signingCerts?: string[];
  ssoRedirect?: string | null;
  ssoPost?: string | null;
  validUntil?: number;
  certifications?: string[];
  categories?: string[];
  /** Other entities in the aggregate. */
  others?: string[];
  /** Sign with this key (default: the federation's metadata signer); null leaves it unsigned. */
  sign?: SignSpec | null;
  /** As a single EntityDescriptor instead of an aggregate. */
  single?: boolean;
}

export function idpEntityXml(m: IdpMetadataSpec = {}): string {
  const keys = testKeys();
  const certs = m.signingCerts ?? [keys['idp-rsa'].cert, keys['idp-ec'].cert];
  const attrs = (name: string, values: string[]) =>
    values.length
      ? `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values.map((v) => `<saml:AttributeValue>${escapeText(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`
      : '';
  const certifications = m.certifications ?? [LOA3];
  const categories = m.categories ?? ['http://id.elegnamnden.se/ec/1.0/loa3-pnr'];
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${escapeAttr(m.entityId ?? IDP)}">` +
    '<md:Extensions><mdattr:EntityAttributes xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">' +
    attrs('urn:oasis:names:tc:SAML:attribute:assurance-certification', certifications) +
    attrs('http://macedir.org/entity-category', categories) +
    '</mdattr:EntityAttributes></md:Extensions>' +
    '<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    certs
      .map(
        (c) =>
          `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      )
      .join('') +
    '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>' +
    (m.ssoRedirect === null ? '' : `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeAttr(m.ssoRedirect ?? SSO_REDIRECT)}"/>`) +
    (m.ssoPost === null ? '' : `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeAttr(m.ssoPost ?? SSO_POST)}"/>`) +
    '</md:IDPSSODescriptor>' +
    '</md:EntityDescriptor>'
  );
}

/** Federation metadata (an aggregate by default) with the IdP in it, signed by the metadata signer. */
export function buildIdpMetadata(m: IdpMetadataSpec = {}): string {
  const keys = testKeys();
  const validUntil = m.validUntil ?? NOW + 7 * 86_400_000;
  const entity = idpEntityXml(m);
  let xml = m.single
    ? entity.replace('<md:EntityDescriptor ', `<md:EntityDescriptor ID="_md${createHash('sha1').update(entity).digest('hex').slice(0, 16)}" validUntil="${iso(validUntil)}" `)
    : `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_fed${createHash('sha1').update(entity).digest('hex').slice(0, 16)}" Name="urn:idnav:test:federation" validUntil="${iso(validUntil)}">` +
      entity +
      (m.others ?? []).join('') +
      '</md:EntitiesDescriptor>';
  const sign = m.sign === undefined ? { key: keys['metadata-signer'] } : m.sign;
  if (sign) xml = signMetadataRoot(xml, sign);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml}\n`;
}

/** Metadata has no Issuer: the signature goes first in the root. */
function signMetadataRoot(xml: string, spec: SignSpec): string {
  const sig = new SignedXml({ privateKey: spec.key.keyPem, signatureAlgorithm: ALG.rsaSha256, canonicalizationAlgorithm: ALG.excC14n });
  sig.getKeyInfoContent = () => null;
  sig.addReference({ xpath: '/*', transforms: [ALG.enveloped, ALG.excC14n], digestAlgorithm: ALG.sha256 });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: '/*', action: 'prepend' } });
  return sig.getSignedXml();
}

// ---- Adapters ----

export interface Logged {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export interface TestContext {
  now: () => number;
  store: Store;
  logged: Logged[];
  deps: AdapterDeps;
  setNow(ms: number): void;
}

export function testContext(start = NOW, issuer: string | null = ISSUER): TestContext {
  let t = start;
  const logged: Logged[] = [];
  const now = () => t;
  const store = createMemoryStore({ now });
  const log = (level: Logged['level']) => (obj: object, msg?: string) => {
    logged.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
  };
  return {
    now,
    store,
    logged,
    setNow: (ms) => {
      t = ms;
    },
    deps: { baseDir: FIXTURES, ...(issuer ? { issuer } : {}), store, now, log: { info: log('info'), warn: log('warn'), error: log('error') } },
  };
}

/** A config for the corpus IdP (`fixtures/saml/metadata/idp.xml`), with overrides merged in. */
export function rawConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const k = testKeys();
  const base: Record<string, unknown> = {
    profile: 'sweden-connect',
    idp: {
      entityId: IDP,
      metadataFile: path.join(FIXTURES, 'metadata', 'idp.xml'),
      metadataSigningCertFiles: [k['metadata-signer'].file.cert],
    },
    sp: {
      signingKeyFile: k['sp-signing'].file.key,
      signingCertFile: k['sp-signing'].file.cert,
      encryptionKeyFiles: [k['sp-encryption'].file.key],
      encryptionCertFile: k['sp-encryption'].file.cert,
      entityCategories: ['http://id.elegnamnden.se/ec/1.0/loa3-pnr', 'http://id.swedenconnect.se/general-ec/1.0/accepts-coordination-number'],
    },
    requireEncryptedAssertion: false,
  };
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const key of ['idp', 'sp'] as const) {
    if (overrides[key]) merged[key] = { ...(base[key] as object), ...(overrides[key] as object) };
  }
  return merged;
}

/** Builds an adapter through the module, exactly as the hub does. */
export async function makeAdapter(raw: Record<string, unknown>, ctx: TestContext, id = METHOD_ID): Promise<RedirectEidAdapter> {
  const checked = samlModule.validate(raw);
  if (!checked.ok) throw new Error(`config invalid: ${checked.problems.map((p) => p.join(': ')).join('; ')}`);
  return samlModule.create(id, checked.config, ctx.deps);
}

export interface StateSpec {
  id?: string;
  at?: number;
  acs?: string;
  loa?: string[];
  force?: boolean;
  rs?: string;
}

/** The state `begin` would have returned for the corpus request. */
export function corpusState(s: StateSpec = {}): string {
  const state: SamlState = {
    v: 1,
    id: s.id ?? REQUEST_ID,
    at: s.at ?? NOW - 60_000,
    acs: s.acs ?? acsOf(),
    loa: s.loa ?? [LOA3],
    force: s.force ?? false,
    rs: s.rs ?? RELAY_STATE,
  };
  return encodeState(state);
}

/** Asserts that `promise` rejects with a HubError of `code`; returns it. */
export async function rejectsHub(promise: Promise<unknown>, code: string): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HubError && err.code === code) return err;
    throw new Error(`expected HubError ${code}, got ${err instanceof HubError ? `${err.code}: ${err.detail}` : String(err)}`, { cause: err });
  }
  throw new Error(`expected HubError ${code}, but it resolved`);
}

/** Node's own ECDSA (random nonce), for tests that need a signature the RFC 6979 code did not make. */
export function nodeEcdsaSign(data: string, key: KeyObject): Buffer {
  return nodeSign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' });
}
