/**
 * `completionData` evidence: an XML signature document shaped like BankID's signature profile, signed
 * for real with the simulator's signing key (xml-crypto), and a DER OCSPResponse envelope that is only
 * a placeholder (random bytes where the BasicOCSPResponse would be). The signature verifies against the
 * simulator's signing certificate; it carries what an RP stores for audit: the person, the texts shown
 * and signed (base64, as sent), and a nonce.
 *
 * Layout as BankID's (an enveloping XMLDSig): `<Signature>` with two references, `#bidSignedData` (the
 * `<bankIdSignedData>` in `<Object>`) and `#bidKeyInfo` (the `<KeyInfo>`), inclusive C14N 1.0,
 * RSA-SHA256 and SHA-256 digests. The simulator's rendition: one key and certificate for every person
 * (BankID uses the person's own certificate chain), the person named in `<X509SubjectName>`, and
 * invented `<clientInfo>` values.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { TestPerson } from './persons.ts';
import type { SigningCredentials } from './signing.ts';

export interface EvidenceInput {
  kind: 'auth' | 'sign';
  person: TestPerson;
  userVisibleData?: string;
  userNonVisibleData?: string;
  userVisibleDataFormat?: string;
  uhi: string;
  certificatePolicy: string;
}

const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const BANKID_SIGNATURE_TYPES = 'http://www.bankid.com/signature/v1.0.0/types';

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The base64 DER of a PEM certificate. */
const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/** The `<bankIdSignedData>` element: what the person signed and what the app and service add. */
function signedData(e: EvidenceInput): string {
  const nonce = randomBytes(20).toString('base64');
  const visible = e.userVisibleData
    ? `<usrVisibleData charset="UTF-8" visible="wysiwys"${e.userVisibleDataFormat ? ` format="${xmlEscape(e.userVisibleDataFormat)}"` : ''}>${e.userVisibleData}</usrVisibleData>`
    : '';
  const nonVisible = e.userNonVisibleData ? `<usrNonVisibleData>${e.userNonVisibleData}</usrNonVisibleData>` : '';
  return (
    `<bankIdSignedData xmlns="${BANKID_SIGNATURE_TYPES}" Id="bidSignedData">` +
    visible +
    nonVisible +
    `<srvInfo><name>${b64('cn=Simulated BankID RP API (idnav dev),o=Testbank A AB (publ) (idnav dev),c=SE')}</name>` +
    `<nonce>${nonce}</nonce><displayName>${b64('idnav dev')}</displayName></srvInfo>` +
    `<clientInfo><funcId>${e.kind === 'sign' ? 'Signing' : 'Identification'}</funcId><version>${b64('Personal=8.0.0.0&BankID_exe=8.0.0.0&platform=simulator')}</version>` +
    `<env><ai><type>${b64('SIMULATOR')}</type><deviceInfo>${b64('idnav dev')}</deviceInfo><uhi>${e.uhi}</uhi><fsib>0</fsib><utb>cs1</utb>` +
    `<requirement><condition><type>CertificatePolicies</type><value>${xmlEscape(e.certificatePolicy)}</value></condition></requirement>` +
    `<uauth>pw</uauth><tls>${b64('TLSv1.3')}</tls></ai></env></clientInfo></bankIdSignedData>`
  );
}

/** The base64 of the signed XML document, as `completionData.signature` carries it. */
export function signatureXml(e: EvidenceInput, credentials: SigningCredentials): string {
  const subject =
    `CN=${e.person.name} ${e.person.personalNumber},name=${e.person.name},givenName=${e.person.givenName},` +
    `surname=${e.person.surname},serialNumber=${e.person.personalNumber},O=Testbank A AB (publ) (idnav dev),C=SE`;
  const keyInfo = `<X509Data><X509SubjectName>${xmlEscape(subject)}</X509SubjectName><X509Certificate>${pemBody(credentials.cert)}</X509Certificate></X509Data>`;
  const sig = new SignedXml({
    privateKey: credentials.key,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: C14N,
    keyInfoAttributes: { Id: 'bidKeyInfo' },
    getKeyInfoContent: () => keyInfo,
    objects: [{ content: signedData(e) }],
  });
  sig.addReference({ xpath: "//*[@Id='bidSignedData']", transforms: [C14N], digestAlgorithm: SHA256, type: BANKID_SIGNATURE_TYPES });
  sig.addReference({ xpath: "//*[@Id='bidKeyInfo']", transforms: [C14N], digestAlgorithm: SHA256 });
  // xml-crypto places a signature inside a document; BankID's signature is the document itself, so it
  // is signed inside a placeholder element and taken out on its own (its namespace context is unchanged).
  sig.computeSignature('<placeholder/>');
  const xml = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>${sig.getSignatureXml()}`;
  return Buffer.from(xml, 'utf8').toString('base64');
}

// Minimal DER writer for the OCSP envelope.
function der(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else if (len < 0x100) header = Buffer.from([tag, 0x81, len]);
  else header = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, content]);
}

// 1.3.6.1.5.5.7.48.1.1 (id-pkix-ocsp-basic)
const OCSP_BASIC_OID = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]);

/**
 * OCSPResponse { responseStatus successful(0), responseBytes [0] { id-pkix-ocsp-basic, OCTET STRING } },
 * with random bytes where the BasicOCSPResponse would be.
 */
export function ocspResponse(): string {
  const responseBytes = der(0x30, Buffer.concat([der(0x06, OCSP_BASIC_OID), der(0x04, randomBytes(160))]));
  const response = der(0x30, Buffer.concat([der(0x0a, Buffer.from([0])), der(0xa0, responseBytes)]));
  return response.toString('base64');
}

/** A stable, person- and device-specific hardware id, in BankID's base64 form. */
export function uhiFor(personalNumber: string, device: string): string {
  return createHash('sha256').update(`uhi:${device}:${personalNumber}`).digest().subarray(0, 20).toString('base64');
}
