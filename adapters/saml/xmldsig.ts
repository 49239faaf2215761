/**
 * XML signatures as the adapter accepts them: one enveloped signature per signed element, exclusive
 * canonicalisation, an allow-list of algorithms (RSA-SHA256/384/512 and ECDSA-SHA256/384/512, SHA-2
 * digests), verified with xml-crypto against keys from the IdP's metadata only. What the caller reads
 * afterwards is the canonical form of the signed element, as xml-crypto returns it after verification.
 */
import { X509Certificate, createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import type { Element } from '@xmldom/xmldom';
import { NS, attr, children, fail, one, optional, pathOf, shorten, textOf } from './xml.ts';

export const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  ecdsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384',
  ecdsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha384: 'http://www.w3.org/2001/04/xmldsig-more#sha384',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

/** Signature methods accepted, with the key type each one requires (no algorithm/key confusion). */
const SIGNATURE_METHODS: Readonly<Record<string, { hash: string; keyType: 'rsa' | 'ec' }>> = {
  [ALG.rsaSha256]: { hash: 'sha256', keyType: 'rsa' },
  [ALG.rsaSha384]: { hash: 'sha384', keyType: 'rsa' },
  [ALG.rsaSha512]: { hash: 'sha512', keyType: 'rsa' },
  [ALG.ecdsaSha256]: { hash: 'sha256', keyType: 'ec' },
  [ALG.ecdsaSha384]: { hash: 'sha384', keyType: 'ec' },
  [ALG.ecdsaSha512]: { hash: 'sha512', keyType: 'ec' },
};

const DIGEST_METHODS: Readonly<Record<string, string>> = {
  [ALG.sha256]: 'sha256',
  [ALG.sha384]: 'sha384',
  [ALG.sha512]: 'sha512',
};

/** A key the IdP (or the federation, for metadata) signs with, from a pinned certificate or metadata. */
export interface TrustedKey {
  key: KeyObject;
  /** Certificate subject (or "public key") and the start of the SHA-256 thumbprint, for operator detail. */
  label: string;
  /** base64 DER of the certificate, when the key came with one. */
  certificate?: string;
}

export function trustedKeyFromCertificate(pemOrBase64: string): TrustedKey {
  const pem = pemOrBase64.includes('-----BEGIN') ? pemOrBase64 : toPem(pemOrBase64);
  const cert = new X509Certificate(pem);
  const der = cert.raw.toString('base64');
  const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');
  return { key: cert.publicKey, label: `${cn} (sha256 ${createHash('sha256').update(cert.raw).digest('hex').slice(0, 16)})`, certificate: der };
}

export function toPem(base64Der: string, label = 'CERTIFICATE'): string {
  const body = base64Der.replace(/\s+/g, '');
  return `-----BEGIN ${label}-----\n${body.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

function keyTypeOf(key: KeyObject): 'rsa' | 'ec' | string {
  return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' ? 'rsa' : (key.asymmetricKeyType ?? 'unknown');
}

/** A signature algorithm for xml-crypto that verifies only with the key type its URI names. */
function verifierClass(uri: string): new () => SignatureAlgorithm {
  const method = SIGNATURE_METHODS[uri]!;
  class Verifier {
    getAlgorithmName(): string {
      return uri;
    }
    getSignature(): string {
      throw new Error('this algorithm object only verifies');
    }
    verifySignature(material: string, key: KeyObject | string | Buffer, signatureValue: string, callback?: (err: Error | null, ok?: boolean) => void): boolean | void {
      let ok = false;
      try {
        const publicKey = typeof key === 'object' && 'asymmetricKeyType' in key ? key : createPublicKey(key as string | Buffer);
        if (keyTypeOf(publicKey) !== method.keyType) {
          ok = false;
        } else {
          ok = verifySignature(
            method.hash,
            Buffer.from(material, 'utf8'),
            method.keyType === 'ec' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
            Buffer.from(signatureValue, 'base64'),
          );
        }
      } catch {
        ok = false;
      }
      if (callback) return callback(null, ok);
      return ok;
    }
  }
  return Verifier as unknown as new () => SignatureAlgorithm;
}

const VERIFIERS: Record<string, new () => SignatureAlgorithm> = Object.fromEntries(Object.keys(SIGNATURE_METHODS).map((uri) => [uri, verifierClass(uri)]));

class Sha384 {
  getAlgorithmName(): string {
    return ALG.sha384;
  }
  getHash(xml: string): string {
    return createHash('sha384').update(xml, 'utf8').digest('base64');
  }
}

const ECDSA_URIS = [ALG.ecdsaSha256, ALG.ecdsaSha384, ALG.ecdsaSha512] as const;
const PATCHED = Symbol.for('idnav.saml.xmldsig-ecdsa');

/**
 * Lets every xml-crypto `SignedXml` in this process verify ECDSA-SHA2 signatures (the Swedish eID
 * framework requires ECDSA-SHA256; xml-crypto does not ship it). node-saml builds its own `SignedXml`
 * objects, so an algorithm registered on our instances would not reach it: this adds the ECDSA
 * verifiers to each instance when it checks a signature, if that instance does not already name them.
 * The verifiers accept only EC keys, so no RSA key can be confused with them. Idempotent.
 */
export function enableXmlDsigEcdsa(): void {
  const proto = SignedXml.prototype as unknown as Record<symbol | string, unknown> & {
    checkSignature: (this: SignedXml, ...args: unknown[]) => unknown;
  };
  if (proto[PATCHED]) return;
  const original = proto.checkSignature;
  proto.checkSignature = function (this: SignedXml, ...args: unknown[]) {
    for (const uri of ECDSA_URIS) this.SignatureAlgorithms[uri] ??= VERIFIERS[uri]!;
    return original.apply(this, args);
  };
  proto[PATCHED] = true;
}

export interface SignatureShape {
  element: Element;
  signatureMethod: string;
  digestMethod: string;
  /** Certificates in KeyInfo (base64 DER), only ever used to explain a refusal. */
  keyInfoCertificates: string[];
}

export interface InspectOptions {
  /** Allow `URI=""` (the whole document) as well as `#<ID of the parent>`; metadata aggregates use both. */
  allowEmptyUri?: boolean;
}

/**
 * The shape of one enveloped signature, before any cryptography: exactly one SignedInfo, one Reference
 * to its parent's ID, only the enveloped-signature and exclusive-c14n transforms, allowed algorithms,
 * and nothing else inside the Signature (an `Object` is where XSW8 hides the original assertion).
 */
export function inspectSignature(signature: Element, what: string, options: InspectOptions = {}): SignatureShape {
  const at = pathOf(signature);
  const parent = signature.parentNode as Element;
  for (const child of children(signature)) {
    const ok = child.namespaceURI === NS.ds && ['SignedInfo', 'SignatureValue', 'KeyInfo'].includes(child.localName ?? '');
    if (!ok) fail(`${what}: unexpected ${child.localName} element inside ${at} (signature wrapping?)`);
  }
  const signedInfo = one(signature, NS.ds, 'SignedInfo', what);
  one(signature, NS.ds, 'SignatureValue', what);
  optional(signature, NS.ds, 'KeyInfo', what);
  for (const child of children(signedInfo)) {
    const ok = child.namespaceURI === NS.ds && ['CanonicalizationMethod', 'SignatureMethod', 'Reference'].includes(child.localName ?? '');
    if (!ok) fail(`${what}: unexpected ${child.localName} element in ${pathOf(signedInfo)}`);
  }
  const c14n = attr(one(signedInfo, NS.ds, 'CanonicalizationMethod', what), 'Algorithm') ?? '';
  if (c14n !== ALG.excC14n) fail(`${what}: canonicalization ${c14n || '(none)'} is not allowed in ${at} (only exclusive c14n without comments)`);
  const signatureMethod = attr(one(signedInfo, NS.ds, 'SignatureMethod', what), 'Algorithm') ?? '';
  if (!SIGNATURE_METHODS[signatureMethod]) fail(`${what}: signature algorithm ${signatureMethod || '(none)'} is not allowed in ${at}`);
  const references = children(signedInfo, NS.ds, 'Reference');
  if (references.length !== 1) fail(`${what}: ${references.length} Reference elements in ${at} (exactly one is required)`);
  const reference = references[0]!;
  const uri = attr(reference, 'URI');
  const parentId = attr(parent, 'ID');
  const pointsAtParent = uri !== undefined && parentId !== undefined && uri === `#${parentId}`;
  const wholeDocument = options.allowEmptyUri && uri === '' && parent.parentNode === parent.ownerDocument;
  if (!pointsAtParent && !wholeDocument) {
    fail(`${what}: the signature in ${at} references "${shorten(uri ?? '(none)', 80)}", not its parent ${pathOf(parent)} (ID "${shorten(parentId ?? '(none)', 80)}")`);
  }
  for (const child of children(reference)) {
    const ok = child.namespaceURI === NS.ds && ['Transforms', 'DigestMethod', 'DigestValue'].includes(child.localName ?? '');
    if (!ok) fail(`${what}: unexpected ${child.localName} element in ${pathOf(reference)}`);
  }
  const transforms = optional(reference, NS.ds, 'Transforms', what);
  const transformList = transforms ? children(transforms) : [];
  if (transformList.length > 2) fail(`${what}: ${transformList.length} transforms in ${at} (only enveloped-signature and exclusive c14n are allowed)`);
  const seen = new Set<string>();
  for (const t of transformList) {
    const alg = (t.namespaceURI === NS.ds && t.localName === 'Transform' && attr(t, 'Algorithm')) || '';
    if (alg !== ALG.enveloped && alg !== ALG.excC14n) fail(`${what}: transform ${alg || t.localName} is not allowed in ${at} (only enveloped-signature and exclusive c14n)`);
    if (seen.has(alg)) fail(`${what}: transform ${alg} appears twice in ${at}`);
    seen.add(alg);
    for (const inner of children(t)) {
      if (!(alg === ALG.excC14n && inner.localName === 'InclusiveNamespaces' && inner.namespaceURI === ALG.excC14n)) {
        fail(`${what}: unexpected ${inner.localName} element in a transform of ${at}`);
      }
    }
  }
  if (!seen.has(ALG.enveloped)) fail(`${what}: the signature in ${at} is not enveloped (no enveloped-signature transform)`);
  const digestMethod = attr(one(reference, NS.ds, 'DigestMethod', what), 'Algorithm') ?? '';
  if (!DIGEST_METHODS[digestMethod]) fail(`${what}: digest algorithm ${digestMethod || '(none)'} is not allowed in ${at}`);
  const digestValue = textOf(one(reference, NS.ds, 'DigestValue', what), what);
  if (!/^[A-Za-z0-9+/=\s]+$/.test(digestValue)) fail(`${what}: the DigestValue in ${at} is not base64`);
  const keyInfo = optional(signature, NS.ds, 'KeyInfo', what);
  const keyInfoCertificates: string[] = [];
  if (keyInfo) {
    for (const data of children(keyInfo, NS.ds, 'X509Data')) {
      for (const cert of children(data, NS.ds, 'X509Certificate')) keyInfoCertificates.push(textOf(cert, what).replace(/\s+/g, ''));
    }
  }
  return { element: signature, signatureMethod, digestMethod, keyInfoCertificates };
}

export interface VerifiedSignature {
  /** The canonical form of the signed element, without the signature: the only bytes to read from. */
  signedXml: string;
  key: TrustedKey;
  signatureMethod: string;
}

/**
 * Verifies one enveloped signature of `xml` (the document as received, newlines normalised) with each
 * trusted key in turn. KeyInfo is never used to find the key; when every trusted key fails, it is
 * consulted only to say whether the document was signed with a certificate it carries itself.
 */
export function verifyEnveloped(xml: string, shape: SignatureShape, keys: readonly TrustedKey[], what: string): VerifiedSignature {
  if (keys.length === 0) fail(`${what}: no trusted signing keys`);
  for (const key of keys) {
    const outcome = tryKey(xml, shape.element, key.key);
    if (outcome.ok) {
      if (outcome.signed.length !== 1) fail(`${what}: the signature covers ${outcome.signed.length} references (exactly one is required)`);
      return { signedXml: outcome.signed[0]!, key, signatureMethod: shape.signatureMethod };
    }
    if (outcome.reason === 'digest') {
      fail(`${what}: the digest of ${pathOf(shape.element.parentNode)} does not match its signature (the content was changed after signing)`);
    }
    if (outcome.reason === 'error') fail(`${what}: the signature in ${pathOf(shape.element)} cannot be checked (${shorten(outcome.message)})`);
  }
  for (const cert of shape.keyInfoCertificates) {
    let foreign: TrustedKey;
    try {
      foreign = trustedKeyFromCertificate(cert);
    } catch {
      continue;
    }
    if (keys.some((k) => k.certificate === foreign.certificate)) continue;
    if (tryKey(xml, shape.element, foreign.key).ok) {
      fail(`${what}: signed with the certificate in its own KeyInfo (${foreign.label}), which is not one of the IdP's metadata keys; KeyInfo is never trusted`);
    }
  }
  fail(`${what}: the signature in ${pathOf(shape.element)} does not verify with any of the ${keys.length} trusted key(s) (signed by an unknown key)`);
}

type KeyOutcome = { ok: true; signed: string[] } | { ok: false; reason: 'digest' | 'signature' | 'error'; message: string };

function tryKey(xml: string, signature: Element, key: KeyObject): KeyOutcome {
  const sig = new SignedXml({ publicCert: key });
  // Only what the profile allows, whatever xml-crypto would otherwise accept.
  sig.SignatureAlgorithms = { ...VERIFIERS };
  const hashes = sig.HashAlgorithms;
  sig.HashAlgorithms = { [ALG.sha256]: hashes[ALG.sha256]!, [ALG.sha512]: hashes[ALG.sha512]!, [ALG.sha384]: Sha384 };
  const canon = sig.CanonicalizationAlgorithms;
  sig.CanonicalizationAlgorithms = { [ALG.excC14n]: canon[ALG.excC14n]!, [ALG.enveloped]: canon[ALG.enveloped]! };
  try {
    sig.loadSignature(signature as unknown as globalThis.Node);
    const ok = sig.checkSignature(xml);
    if (ok) return { ok: true, signed: sig.getSignedReferences() };
    return { ok: false, reason: 'digest', message: 'digest mismatch' };
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/signature value .* is incorrect/i.test(message)) return { ok: false, reason: 'signature', message };
    return { ok: false, reason: 'error', message };
  }
}
