/**
 * Keys, certificates and XML signatures of the SAML IdP simulator.
 *
 * - Enveloped XML signatures with xml-crypto: RSA-SHA256 or ECDSA-SHA256, SHA-256 digests, exclusive
 *   canonicalisation. xml-crypto has no ECDSA algorithm of its own; {@link EcdsaSignatureAlgorithm} adds
 *   one (signature value r || s as XML Signature 1.1 requires, not DER).
 * - Verification of signed AuthnRequests: the HTTP-Redirect query-string signature and the HTTP-POST
 *   enveloped signature, against the certificates in the SP's metadata only (never KeyInfo).
 * - Test key pairs with self-signed certificates, for a simulator started without keys. node-forge
 *   cannot put an EC key in a certificate, so the certificate is assembled with forge's ASN.1 module and
 *   signed with node:crypto, which works for RSA and EC alike.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import { attr, child, children, NS, type Document, type Element } from './xml.ts';

export type SignatureAlg = 'rsa-sha256' | 'ecdsa-sha256';

export const ALG = {
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ecdsaSha1: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  ecdsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384',
  ecdsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha384: 'http://www.w3.org/2001/04/xmldsig-more#sha384',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export const SIGNATURE_ALG_URI: Readonly<Record<SignatureAlg, string>> = {
  'rsa-sha256': ALG.rsaSha256,
  'ecdsa-sha256': ALG.ecdsaSha256,
};

/** Signature algorithms accepted on AuthnRequests: the profile's mandatory ones and their stronger siblings. SHA-1 is refused. */
const ACCEPTED_REQUEST_SIG_ALGS: Readonly<Record<string, { hash: string; kind: 'rsa' | 'ec' }>> = {
  [ALG.rsaSha256]: { hash: 'sha256', kind: 'rsa' },
  [ALG.rsaSha384]: { hash: 'sha384', kind: 'rsa' },
  [ALG.rsaSha512]: { hash: 'sha512', kind: 'rsa' },
  [ALG.ecdsaSha256]: { hash: 'sha256', kind: 'ec' },
  [ALG.ecdsaSha384]: { hash: 'sha384', kind: 'ec' },
  [ALG.ecdsaSha512]: { hash: 'sha512', kind: 'ec' },
};

const ACCEPTED_DIGESTS: readonly string[] = [ALG.sha256, ALG.sha384, ALG.sha512];

export interface KeyPairPem {
  /** PEM private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
}

export interface SigningKey extends KeyPairPem {
  alg: SignatureAlg;
  keyObject: KeyObject;
  /** Base64 DER of the certificate, as it goes into ds:X509Certificate. */
  certBase64: string;
}

/** Checks that the key and certificate belong together and picks the algorithm from the key type. */
export function signingKey(pem: KeyPairPem & { alg?: SignatureAlg }): SigningKey {
  const certificate = new X509Certificate(pem.cert);
  const keyObject = createPrivateKey(pem.key);
  if (!certificate.checkPrivateKey(keyObject)) throw new Error(`the signing key does not belong to the certificate ${certificate.subject}`);
  const type = keyObject.asymmetricKeyType;
  const alg: SignatureAlg = pem.alg ?? (type === 'ec' ? 'ecdsa-sha256' : 'rsa-sha256');
  if (alg === 'rsa-sha256' && type !== 'rsa') throw new Error(`alg rsa-sha256 needs an RSA key, not ${String(type)}`);
  if (alg === 'ecdsa-sha256' && type !== 'ec') throw new Error(`alg ecdsa-sha256 needs an EC key, not ${String(type)}`);
  return { key: pem.key, cert: pem.cert, alg, keyObject, certBase64: certificate.raw.toString('base64') };
}

export const pemToBase64 = (pem: string): string => new X509Certificate(pem).raw.toString('base64');

export function base64ToPem(b64: string): string {
  const clean = b64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${clean.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** SHA-256 fingerprint (hex, colon-separated) of a PEM certificate, for pages and logs. */
export const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

// ---------------------------------------------------------------------------------------------------
// ECDSA for xml-crypto

const EC_HASH: Readonly<Record<string, string>> = {
  [ALG.ecdsaSha256]: 'sha256',
  [ALG.ecdsaSha384]: 'sha384',
  [ALG.ecdsaSha512]: 'sha512',
};

type Callback<T> = (err: Error | null, result?: T) => void;

function makeEcdsaAlgorithm(uri: string): new () => SignatureAlgorithm {
  const hash = EC_HASH[uri]!;
  class EcdsaAlgorithm {
    getSignature(signedInfo: string | Buffer, privateKey: string | Buffer | KeyObject, callback?: Callback<string>): string | void {
      const value = cryptoSign(hash, Buffer.from(signedInfo), { key: privateKey as string, dsaEncoding: 'ieee-p1363' }).toString('base64');
      if (callback) return callback(null, value);
      return value;
    }
    verifySignature(material: string, key: string | Buffer | KeyObject, signatureValue: string, callback?: Callback<boolean>): boolean | void {
      let ok = false;
      try {
        ok = cryptoVerify(hash, Buffer.from(material), { key: createPublicKey(key as string), dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureValue, 'base64'));
      } catch {
        ok = false;
      }
      if (callback) return callback(null, ok);
      return ok;
    }
    getAlgorithmName(): string {
      return uri;
    }
  }
  return EcdsaAlgorithm as unknown as new () => SignatureAlgorithm;
}

/** ECDSA-SHA256 for xml-crypto: `sig.SignatureAlgorithms[ALG.ecdsaSha256] = EcdsaSignatureAlgorithm`. */
export const EcdsaSignatureAlgorithm = makeEcdsaAlgorithm(ALG.ecdsaSha256);

/** Adds ECDSA-SHA256/384/512 to an xml-crypto SignedXml instance. */
export function withEcdsa(sig: SignedXml): SignedXml {
  for (const uri of Object.keys(EC_HASH)) sig.SignatureAlgorithms[uri] = makeEcdsaAlgorithm(uri);
  return sig;
}

// ---------------------------------------------------------------------------------------------------
// Signing

export interface SignOptions {
  /** XPath of the element to sign (it must carry an ID attribute). */
  xpath: string;
  /** Where the ds:Signature goes: after this element (e.g. the Issuer), or as the first child of the signed element. */
  after?: string;
}

/** Signs one element of `xml` with an enveloped signature; returns the signed document text. */
export function signXml(xml: string, key: SigningKey, o: SignOptions): string {
  const sig = withEcdsa(
    new SignedXml({
      privateKey: key.key,
      publicCert: key.cert,
      signatureAlgorithm: SIGNATURE_ALG_URI[key.alg],
      canonicalizationAlgorithm: ALG.excC14n,
    }),
  );
  sig.addReference({ xpath: o.xpath, transforms: [ALG.enveloped, ALG.excC14n], digestAlgorithm: ALG.sha256 });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: o.after ? { reference: o.after, action: 'after' } : { reference: o.xpath, action: 'prepend' },
  });
  return sig.getSignedXml();
}

// ---------------------------------------------------------------------------------------------------
// Verifying AuthnRequest signatures

export class SignatureError extends Error {}

/**
 * Verifies an HTTP-Redirect query-string signature over the octets `SAMLRequest=…[&RelayState=…]&SigAlg=…`
 * exactly as received (still URL-encoded). An ECDSA value is accepted as DER or as r || s.
 */
export function verifyRedirectSignature(octets: string, sigAlg: string, signatureB64: string, certs: readonly string[]): void {
  if (sigAlg === ALG.rsaSha1 || sigAlg === ALG.ecdsaSha1) throw new SignatureError('SigAlg uses SHA-1, which is not accepted');
  const alg = ACCEPTED_REQUEST_SIG_ALGS[sigAlg];
  if (!alg) throw new SignatureError(`SigAlg ${sigAlg} is not supported`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) throw new SignatureError('Signature is not base64');
  const signature = Buffer.from(signatureB64, 'base64');
  const data = Buffer.from(octets, 'utf8');
  for (const cert of certs) {
    const key = createPublicKey(cert);
    if ((alg.kind === 'ec') !== (key.asymmetricKeyType === 'ec')) continue;
    const encodings: Array<'der' | 'ieee-p1363'> = alg.kind === 'ec' ? ['der', 'ieee-p1363'] : ['der'];
    for (const dsaEncoding of encodings) {
      try {
        if (cryptoVerify(alg.hash, data, { key, dsaEncoding }, signature)) return;
      } catch {
        // not this encoding
      }
    }
  }
  throw new SignatureError('the query-string signature does not verify with any signing certificate in the SP metadata');
}

/**
 * Verifies the enveloped signature of the root element of `doc` (the HTTP-POST binding). The signature
 * must be a direct child of the root, the only one in the document, with one Reference to the root's ID,
 * only the enveloped-signature and exclusive canonicalisation transforms, and SHA-2 digests. Returns the
 * canonical XML the signature covers, which is what the caller should read.
 */
export function verifyEnvelopedSignature(xml: string, doc: Document, certs: readonly string[]): string {
  const root = doc.documentElement!;
  const all = doc.getElementsByTagNameNS(NS.ds, 'Signature');
  if (all.length === 0) throw new SignatureError('the request is not signed');
  if (all.length > 1) throw new SignatureError('the request has more than one signature');
  const signature = all.item(0)!;
  if (signature.parentNode !== root) throw new SignatureError('the signature is not a direct child of the AuthnRequest');
  const signedInfo = child(signature, NS.ds, 'SignedInfo');
  if (!signedInfo) throw new SignatureError('the signature has no SignedInfo');
  const method = attr(child(signedInfo, NS.ds, 'SignatureMethod') ?? signedInfo, 'Algorithm') ?? '';
  if (method === ALG.rsaSha1 || method === ALG.ecdsaSha1) throw new SignatureError('the signature uses SHA-1, which is not accepted');
  if (!ACCEPTED_REQUEST_SIG_ALGS[method]) throw new SignatureError(`signature algorithm ${method || '(none)'} is not supported`);
  const references = children(signedInfo, NS.ds, 'Reference');
  if (references.length !== 1) throw new SignatureError('the signature must have exactly one Reference');
  const ref = references[0]!;
  const id = attr(root, 'ID');
  if (!id || attr(ref, 'URI') !== `#${id}`) throw new SignatureError('the signature does not reference the AuthnRequest');
  const transforms = child(ref, NS.ds, 'Transforms');
  for (const t of transforms ? children(transforms, NS.ds, 'Transform') : []) {
    const a = attr(t, 'Algorithm');
    if (a !== ALG.enveloped && a !== ALG.excC14n) throw new SignatureError(`transform ${a ?? '(none)'} is not allowed`);
  }
  const digest = attr(child(ref, NS.ds, 'DigestMethod') ?? ref, 'Algorithm') ?? '';
  if (!ACCEPTED_DIGESTS.includes(digest)) throw new SignatureError(`digest algorithm ${digest || '(none)'} is not accepted`);
  const canon = attr(child(signedInfo, NS.ds, 'CanonicalizationMethod') ?? signedInfo, 'Algorithm');
  if (canon !== ALG.excC14n && canon !== 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments') {
    throw new SignatureError(`canonicalization ${canon ?? '(none)'} is not supported`);
  }
  if (canon !== ALG.excC14n) throw new SignatureError('canonicalization with comments is not accepted');
  for (const cert of certs) {
    const sig = withEcdsa(new SignedXml({ publicCert: cert }));
    sig.loadSignature(signature as unknown as globalThis.Node);
    let ok = false;
    try {
      ok = sig.checkSignature(xml);
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw new SignatureError('the signature must cover exactly the AuthnRequest');
    return signed[0]!;
  }
  throw new SignatureError('the signature does not verify with any signing certificate in the SP metadata');
}

// ---------------------------------------------------------------------------------------------------
// Test keys and self-signed certificates

const { asn1 } = forge;
const C = asn1.Class;
const T = asn1.Type;

const oid = (id: string) => asn1.create(C.UNIVERSAL, T.OID, false, asn1.oidToDer(id).getBytes());
const seq = (items: forge.asn1.Asn1[]) => asn1.create(C.UNIVERSAL, T.SEQUENCE, true, items);
const set = (items: forge.asn1.Asn1[]) => asn1.create(C.UNIVERSAL, T.SET, true, items);
const utf8 = (s: string) => asn1.create(C.UNIVERSAL, T.UTF8, false, forge.util.encodeUtf8(s));
const fromDer = (buf: Buffer) => asn1.fromDer(forge.util.createBuffer(buf.toString('binary')));
const toDer = (node: forge.asn1.Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

function time(d: Date): forge.asn1.Asn1 {
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  return d.getUTCFullYear() < 2050
    ? asn1.create(C.UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(C.UNIVERSAL, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

function name(commonName: string, organization: string): forge.asn1.Asn1 {
  return seq([
    set([seq([oid('2.5.4.6'), asn1.create(C.UNIVERSAL, T.PRINTABLESTRING, false, 'SE')])]),
    set([seq([oid('2.5.4.10'), utf8(organization)])]),
    set([seq([oid('2.5.4.3'), utf8(commonName)])]),
  ]);
}

/**
 * A self-signed certificate for `privateKey` (RSA or EC), valid from a day before `now` for `days` days.
 * Metadata certificates are only key holders (Sweden Connect does not validate them as PKIX), so a
 * self-signed certificate is what a real IdP publishes too.
 */
export function selfSignedCertificate(
  privateKey: KeyObject,
  o: { commonName: string; organization?: string; days?: number; now?: number },
): string {
  const publicKey = createPublicKey(privateKey);
  const isEc = privateKey.asymmetricKeyType === 'ec';
  const sigAlg = isEc ? seq([oid('1.2.840.10045.4.3.2')]) : seq([oid('1.2.840.113549.1.1.11'), asn1.create(C.UNIVERSAL, T.NULL, false, '')]);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  if (serial[0] === 0) serial[0] = 1;
  const now = o.now ?? Date.now();
  const notBefore = new Date(now - 24 * 3600 * 1000);
  const notAfter = new Date(now + (o.days ?? 3650) * 24 * 3600 * 1000);
  const subject = name(o.commonName, o.organization ?? 'idnav test');
  const basicConstraints = seq([
    oid('2.5.29.19'),
    asn1.create(C.UNIVERSAL, T.BOOLEAN, false, '\xff'),
    asn1.create(C.UNIVERSAL, T.OCTETSTRING, false, asn1.toDer(seq([])).getBytes()),
  ]);
  const ski = seq([
    oid('2.5.29.14'),
    asn1.create(
      C.UNIVERSAL,
      T.OCTETSTRING,
      false,
      asn1.toDer(asn1.create(C.UNIVERSAL, T.OCTETSTRING, false, createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('binary'))).getBytes(),
    ),
  ]);
  const tbs = seq([
    asn1.create(C.CONTEXT_SPECIFIC, 0, true, [asn1.create(C.UNIVERSAL, T.INTEGER, false, asn1.integerToDer(2).getBytes())]),
    asn1.create(C.UNIVERSAL, T.INTEGER, false, serial.toString('binary')),
    sigAlg,
    subject,
    seq([time(notBefore), time(notAfter)]),
    subject,
    fromDer(publicKey.export({ type: 'spki', format: 'der' })),
    asn1.create(C.CONTEXT_SPECIFIC, 3, true, [seq([basicConstraints, ski])]),
  ]);
  const tbsDer = toDer(tbs);
  const signature = cryptoSign('sha256', tbsDer, privateKey);
  const certDer = toDer(seq([tbs, sigAlg, asn1.create(C.UNIVERSAL, T.BITSTRING, false, `\x00${signature.toString('binary')}`)]));
  return base64ToPem(certDer.toString('base64'));
}

/** A fresh key pair (RSA 2048 or EC P-256) and a self-signed certificate, as PEM. */
export function generateTestKeyPair(alg: SignatureAlg = 'rsa-sha256', commonName = 'idnav SAML IdP simulator', now?: number): KeyPairPem & { alg: SignatureAlg } {
  const { privateKey } =
    alg === 'ecdsa-sha256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = selfSignedCertificate(privateKey, { commonName, ...(now !== undefined ? { now } : {}) });
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert, alg };
}

export type { Element };
