/**
 * Plausible `completionData` evidence: an XML signature document shaped like BankID's signature
 * profile and a DER OCSPResponse envelope. Neither verifies cryptographically (there is no real user
 * certificate), but both carry what an RP stores for audit: the personal number, the texts shown and
 * signed, and a nonce.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TestPerson } from './persons.ts';

export interface EvidenceInput {
  kind: 'auth' | 'sign';
  person: TestPerson;
  userVisibleData?: string;
  userNonVisibleData?: string;
  userVisibleDataFormat?: string;
  uhi: string;
  certificatePolicy: string;
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function signatureXml(e: EvidenceInput): string {
  const nonce = randomBytes(20).toString('base64');
  const visible = e.userVisibleData
    ? `<usrVisibleData charset="UTF-8" visible="wysiwys"${e.userVisibleDataFormat ? ` format="${xmlEscape(e.userVisibleDataFormat)}"` : ''}>${e.userVisibleData}</usrVisibleData>`
    : '';
  const nonVisible = e.userNonVisibleData ? `<usrNonVisibleData>${e.userNonVisibleData}</usrNonVisibleData>` : '';
  const signedData =
    `<bankIdSignedData xmlns="http://www.bankid.com/signature/v1.0.0/types" Id="bidSignedData">` +
    visible +
    nonVisible +
    `<srvInfo><name>${xmlEscape('Simulated BankID RP API (idnav dev)')}</name><nonce>${nonce}</nonce></srvInfo>` +
    `<clientInfo><funcId>${e.kind === 'sign' ? 'Signing' : 'Identification'}</funcId><version>Personal=8.0.0.0&amp;BankID_exe=8.0.0.0&amp;platform=simulator</version>` +
    `<env><ai><type>U0lNVUxBVE9S</type><deviceInfo>aWRuYXYgZGV2</deviceInfo><uhi>${e.uhi}</uhi><fsib>0</fsib><utb>cs1</utb>` +
    `<requirement><condition><type>CertificatePolicies</type><value>${xmlEscape(e.certificatePolicy)}</value></condition></requirement>` +
    `<uauth>pw</uauth><tls>VExTdjEuMw==</tls></ai></env></clientInfo></bankIdSignedData>`;
  const digest = createHash('sha256').update(signedData).digest('base64');
  const subject =
    `CN=${e.person.name} ${e.person.personalNumber},name=${e.person.name},givenName=${e.person.givenName},` +
    `surname=${e.person.surname},serialNumber=${e.person.personalNumber},O=Testbank A AB (publ) (idnav dev),C=SE`;
  // A fake certificate body: random bytes, so nothing mistakes it for a parseable certificate.
  const fakeCert = randomBytes(96).toString('base64');
  const signatureValue = randomBytes(256).toString('base64');
  const xml =
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>` +
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">` +
    `<SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>` +
    `<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<Reference Type="http://www.bankid.com/signature/v1.0.0/types" URI="#bidSignedData">` +
    `<Transforms><Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></Transforms>` +
    `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>${digest}</DigestValue></Reference></SignedInfo>` +
    `<SignatureValue>${signatureValue}</SignatureValue>` +
    `<KeyInfo Id="bidKeyInfo"><X509Data><X509SubjectName>${xmlEscape(subject)}</X509SubjectName>` +
    `<X509Certificate>${fakeCert}</X509Certificate></X509Data></KeyInfo>` +
    `<Object>${signedData}</Object></Signature>`;
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
