/**
 * The SAML Response the simulator sends to the SP's assertion consumer service, as the Sweden Connect
 * deployment profile (§6) describes it: a signed Response (enveloped, RSA-SHA256 or ECDSA-SHA256, SHA-256
 * digests, exclusive canonicalisation) holding one Assertion, encrypted for the SP (RSA-OAEP key transport,
 * AES-CBC or AES-GCM content encryption) and signed itself when asked. Error responses carry a status and
 * no assertion. `ResponseFault`s bend one response for tests of the SP's checks.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import xmlenc from 'xml-encryption';
import { generateTestKeyPair, signingKey, signXml, type SigningKey } from './crypto.ts';
import { ATTRNAME_FORMAT_URI, escapeXml, instant, NAMEID_FORMAT, newId, NS } from './xml.ts';

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  versionMismatch: 'urn:oasis:names:tc:SAML:2.0:status:VersionMismatch',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  requestUnsupported: 'urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
  cancel: 'http://id.elegnamnden.se/status/1.0/cancel',
  fraud: 'http://id.elegnamnden.se/status/1.0/fraud',
  possibleFraud: 'http://id.elegnamnden.se/status/1.0/possibleFraud',
} as const;

export interface StatusSpec {
  /** Top-level: Requester, Responder or VersionMismatch. */
  code: string;
  subCode?: string;
  message?: string;
}

/**
 * One response bent for a test of the SP:
 * - `status-failure`: Responder + AuthnFailed; `cancel`: Responder + …/status/1.0/cancel; `fraud`: Responder + …/fraud;
 * - `bad-signature`: the Response signature value is altered after signing;
 * - `unsigned`: neither the Response nor the Assertion is signed; `unsigned-assertion`: only the Response is signed;
 * - `tampered-assertion`: the Assertion is signed, then an attribute value is changed (the Response signature still verifies);
 * - `untrusted-key`: signed with a fresh key that is not in the metadata;
 * - `wrong-audience`, `wrong-recipient`, `wrong-destination`, `wrong-in-response-to`, `wrong-issuer`: that value points elsewhere;
 * - `expired`: issued 10 minutes ago (every NotOnOrAfter has passed); `not-yet-valid`: issued 10 minutes ahead;
 * - `wrong-loa`: AuthnContextClassRef is LoA 1, which nobody requests;
 * - `unencrypted`: a plain Assertion although the persona encrypts; `two-assertions`: a second, unsigned Assertion for another subject;
 * - `doctype`: the Response starts with a DOCTYPE declaring an entity.
 */
export type ResponseFault =
  | 'status-failure'
  | 'cancel'
  | 'fraud'
  | 'bad-signature'
  | 'unsigned'
  | 'unsigned-assertion'
  | 'tampered-assertion'
  | 'untrusted-key'
  | 'wrong-audience'
  | 'wrong-recipient'
  | 'wrong-destination'
  | 'wrong-in-response-to'
  | 'wrong-issuer'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-loa'
  | 'unencrypted'
  | 'two-assertions'
  | 'doctype';

export const RESPONSE_FAULTS: readonly ResponseFault[] = [
  'status-failure',
  'cancel',
  'fraud',
  'bad-signature',
  'unsigned',
  'unsigned-assertion',
  'tampered-assertion',
  'untrusted-key',
  'wrong-audience',
  'wrong-recipient',
  'wrong-destination',
  'wrong-in-response-to',
  'wrong-issuer',
  'expired',
  'not-yet-valid',
  'wrong-loa',
  'unencrypted',
  'two-assertions',
  'doctype',
];

export const isResponseFault = (v: unknown): v is ResponseFault => typeof v === 'string' && (RESPONSE_FAULTS as readonly string[]).includes(v);

export const DATA_ENCRYPTION = {
  aes128cbc: 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  aes256cbc: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  aes128gcm: 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  aes256gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
} as const;
export type DataEncryptionAlgorithm = (typeof DATA_ENCRYPTION)[keyof typeof DATA_ENCRYPTION];
const SUPPORTED_DATA_ENCRYPTION: readonly string[] = Object.values(DATA_ENCRYPTION);

export const KEY_TRANSPORT_RSA_OAEP_MGF1P = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/**
 * The content encryption algorithm for an SP: the first one its metadata declares that the simulator
 * supports, else AES-256-CBC (every Sweden Connect party must support CBC; GCM only when declared).
 */
export function chooseDataEncryption(declared: readonly string[], forced?: DataEncryptionAlgorithm): DataEncryptionAlgorithm {
  if (forced) return forced;
  return (declared.find((a) => SUPPORTED_DATA_ENCRYPTION.includes(a)) as DataEncryptionAlgorithm | undefined) ?? DATA_ENCRYPTION.aes256cbc;
}

export interface SamlAttribute {
  name: string;
  friendlyName: string;
  values: string[];
}

export interface AssertionInput {
  spEntityId: string;
  nameId: { value: string; format: string };
  /** The user agent's address, for SubjectConfirmationData/@Address. */
  address?: string;
  authnInstant: number;
  loa: string;
  /** entityIDs for AuthnContext/AuthenticatingAuthority (the foreign eIDAS node). */
  authenticatingAuthorities: string[];
  attributes: SamlAttribute[];
  sessionIndex: string;
}

export interface ResponseInput {
  idpEntityId: string;
  /** The ACS URL: Response/@Destination and SubjectConfirmationData/@Recipient. */
  acsUrl: string;
  inResponseTo: string;
  now: number;
  status: StatusSpec;
  assertion?: AssertionInput;
  signing: SigningKey;
  signAssertion: boolean;
  /** Encrypt the assertion with this RSA certificate (PEM). */
  encryption?: { cert: string; algorithm: DataEncryptionAlgorithm };
  /** How long the assertion and its bearer confirmation are valid. Default 5 minutes. */
  lifetimeMs?: number;
  fault?: ResponseFault;
}

export interface BuiltResponse {
  /** The Response as sent (before base64). */
  xml: string;
  responseId: string;
  assertionId?: string;
  /** The Assertion before encryption (signed if it was signed), for tests and debugging. */
  assertionXml?: string;
  status: StatusSpec;
}

const FAULT_STATUS: Partial<Record<ResponseFault, StatusSpec>> = {
  'status-failure': { code: STATUS.responder, subCode: STATUS.authnFailed, message: 'Authentication failed (simulated)' },
  cancel: { code: STATUS.responder, subCode: STATUS.cancel, message: 'The user cancelled the authentication' },
  fraud: { code: STATUS.responder, subCode: STATUS.fraud, message: 'The authentication was stopped: suspected fraud (simulated)' },
};

const ELSEWHERE = 'https://elsewhere.idnav.test/saml';

function statusXml(s: StatusSpec): string {
  const sub = s.subCode ? `<saml2p:StatusCode Value="${escapeXml(s.subCode)}"/>` : '';
  const message = s.message ? `<saml2p:StatusMessage>${escapeXml(s.message)}</saml2p:StatusMessage>` : '';
  return `<saml2p:Status><saml2p:StatusCode Value="${escapeXml(s.code)}">${sub}</saml2p:StatusCode>${message}</saml2p:Status>`;
}

function attributeXml(a: SamlAttribute): string {
  const values = a.values
    .map((v) => `<saml2:AttributeValue xmlns:xsd="${NS.xsd}" xmlns:xsi="${NS.xsi}" xsi:type="xsd:string">${escapeXml(v)}</saml2:AttributeValue>`)
    .join('');
  return `<saml2:Attribute FriendlyName="${escapeXml(a.friendlyName)}" Name="${escapeXml(a.name)}" NameFormat="${ATTRNAME_FORMAT_URI}">${values}</saml2:Attribute>`;
}

interface AssertionXmlInput {
  id: string;
  issuer: string;
  issueInstant: number;
  audience: string;
  recipient: string;
  inResponseTo: string;
  lifetimeMs: number;
  a: AssertionInput;
}

function assertionXml(x: AssertionXmlInput): string {
  const notOnOrAfter = instant(x.issueInstant + x.lifetimeMs);
  const address = x.a.address ? ` Address="${escapeXml(x.a.address)}"` : '';
  const nameQualifiers =
    x.a.nameId.format === NAMEID_FORMAT.persistent ? ` NameQualifier="${escapeXml(x.issuer)}" SPNameQualifier="${escapeXml(x.audience)}"` : '';
  const authorities = x.a.authenticatingAuthorities.map((a) => `<saml2:AuthenticatingAuthority>${escapeXml(a)}</saml2:AuthenticatingAuthority>`).join('');
  return (
    `<saml2:Assertion xmlns:saml2="${NS.saml}" ID="${x.id}" IssueInstant="${instant(x.issueInstant)}" Version="2.0">` +
    `<saml2:Issuer Format="${NAMEID_FORMAT.entity}">${escapeXml(x.issuer)}</saml2:Issuer>` +
    `<saml2:Subject>` +
    `<saml2:NameID Format="${escapeXml(x.a.nameId.format)}"${nameQualifiers}>${escapeXml(x.a.nameId.value)}</saml2:NameID>` +
    `<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml2:SubjectConfirmationData${address} InResponseTo="${escapeXml(x.inResponseTo)}" NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(x.recipient)}"/>` +
    `</saml2:SubjectConfirmation>` +
    `</saml2:Subject>` +
    `<saml2:Conditions NotBefore="${instant(x.issueInstant)}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml2:AudienceRestriction><saml2:Audience>${escapeXml(x.audience)}</saml2:Audience></saml2:AudienceRestriction>` +
    `</saml2:Conditions>` +
    `<saml2:AuthnStatement AuthnInstant="${instant(x.a.authnInstant)}" SessionIndex="${escapeXml(x.a.sessionIndex)}">` +
    `<saml2:AuthnContext><saml2:AuthnContextClassRef>${escapeXml(x.a.loa)}</saml2:AuthnContextClassRef>${authorities}</saml2:AuthnContext>` +
    `</saml2:AuthnStatement>` +
    `<saml2:AttributeStatement>${x.a.attributes.map(attributeXml).join('')}</saml2:AttributeStatement>` +
    `</saml2:Assertion>`
  );
}

const ASSERTION_XPATH = "/*[local-name(.)='Assertion']";
const RESPONSE_XPATH = "/*[local-name(.)='Response']";

export function encryptXml(xml: string, cert: string, algorithm: DataEncryptionAlgorithm): Promise<string> {
  const rsaPub = createPublicKey(cert).export({ type: 'spki', format: 'pem' }) as string;
  return new Promise((resolve, reject) => {
    xmlenc.encrypt(
      xml,
      {
        rsa_pub: rsaPub,
        pem: cert,
        encryptionAlgorithm: algorithm,
        keyEncryptionAlgorithm: KEY_TRANSPORT_RSA_OAEP_MGF1P,
        disallowEncryptionWithInsecureAlgorithm: true,
        warnInsecureAlgorithm: false,
      },
      (err, result) => (err ? reject(err) : resolve(result.trim())),
    );
  });
}

/** Whether a certificate can receive an encrypted assertion (RSA key transport). */
export const canEncryptFor = (cert: string): boolean => new X509Certificate(cert).publicKey.asymmetricKeyType === 'rsa';

const untrustedKeys: Partial<Record<SigningKey['alg'], SigningKey>> = {};

/** A key of the same kind that appears in no metadata (made once per process). */
function untrustedKey(alg: SigningKey['alg']): SigningKey {
  untrustedKeys[alg] ??= signingKey(generateTestKeyPair(alg, 'Unknown signer (not in any metadata)'));
  return untrustedKeys[alg]!;
}

/** Builds, signs and (when asked) encrypts one Response. */
export async function buildResponse(i: ResponseInput): Promise<BuiltResponse> {
  const fault = i.fault;
  const status = (fault && FAULT_STATUS[fault]) ?? i.status;
  const success = status.code === STATUS.success;
  const shift = fault === 'expired' ? -10 * 60_000 : fault === 'not-yet-valid' ? 10 * 60_000 : 0;
  const now = i.now + shift;
  const issuer = fault === 'wrong-issuer' ? `${ELSEWHERE}/unknown-idp` : i.idpEntityId;
  const key = fault === 'untrusted-key' ? untrustedKey(i.signing.alg) : i.signing;
  const inResponseTo = fault === 'wrong-in-response-to' ? newId() : i.inResponseTo;
  const lifetimeMs = i.lifetimeMs ?? 5 * 60_000;
  const responseId = newId();
  let assertionId: string | undefined;
  let plainAssertion: string | undefined;
  let inner = '';

  if (success && i.assertion) {
    const a: AssertionInput = fault === 'wrong-loa' ? { ...i.assertion, loa: 'http://id.elegnamnden.se/loa/1.0/loa1' } : i.assertion;
    const base: AssertionXmlInput = {
      id: newId(),
      issuer,
      issueInstant: now,
      audience: fault === 'wrong-audience' ? `${ELSEWHERE}/other-sp` : a.spEntityId,
      recipient: fault === 'wrong-recipient' ? `${ELSEWHERE}/acs` : i.acsUrl,
      inResponseTo,
      lifetimeMs,
      a: { ...a, authnInstant: a.authnInstant + shift },
    };
    assertionId = base.id;
    const signAssertion = (i.signAssertion || fault === 'tampered-assertion') && fault !== 'unsigned' && fault !== 'unsigned-assertion';
    let xml = assertionXml(base);
    if (signAssertion) xml = signXml(xml, key, { xpath: ASSERTION_XPATH, after: `${ASSERTION_XPATH}/*[local-name(.)='Issuer']` });
    if (fault === 'tampered-assertion') {
      // Change the first attribute value after the assertion was signed.
      xml = xml.replace(/(<saml2:AttributeValue[^>]*>)([^<]*)(<)/, (_m, open: string, value: string, close: string) => `${open}${value}X${close}`);
    }
    plainAssertion = xml;
    const assertions = [xml];
    if (fault === 'two-assertions') {
      const other = assertionXml({ ...base, id: newId(), a: { ...base.a, nameId: { ...base.a.nameId, value: `${base.a.nameId.value}-other` } } });
      assertions.push(other);
    }
    const encrypt = i.encryption && fault !== 'unencrypted' ? i.encryption : undefined;
    for (const one of assertions) {
      inner += encrypt ? `<saml2:EncryptedAssertion xmlns:saml2="${NS.saml}">${await encryptXml(one, encrypt.cert, encrypt.algorithm)}</saml2:EncryptedAssertion>` : one;
    }
  }

  let xml =
    `<saml2p:Response xmlns:saml2p="${NS.samlp}" Destination="${escapeXml(fault === 'wrong-destination' ? `${ELSEWHERE}/acs` : i.acsUrl)}" ID="${responseId}"` +
    ` InResponseTo="${escapeXml(inResponseTo)}" IssueInstant="${instant(now)}" Version="2.0">` +
    `<saml2:Issuer xmlns:saml2="${NS.saml}" Format="${NAMEID_FORMAT.entity}">${escapeXml(issuer)}</saml2:Issuer>` +
    statusXml(status) +
    inner +
    `</saml2p:Response>`;
  if (fault !== 'unsigned') xml = signXml(xml, key, { xpath: RESPONSE_XPATH, after: `${RESPONSE_XPATH}/*[local-name(.)='Issuer']` });
  if (fault === 'bad-signature') {
    xml = xml.replace(/<ds:SignatureValue>([A-Za-z0-9+/])/, (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`);
  }
  if (fault === 'doctype') xml = `<!DOCTYPE saml2p:Response [<!ENTITY idp "${escapeXml(issuer)}">]>${xml}`;
  const out: BuiltResponse = { xml, responseId, status };
  if (assertionId !== undefined) out.assertionId = assertionId;
  if (plainAssertion !== undefined) out.assertionXml = plainAssertion;
  return out;
}
