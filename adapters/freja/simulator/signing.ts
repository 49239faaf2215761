/**
 * The simulated service's result signing: a compact JWS (RS256 for an RSA key, ES256 for a P-256 key)
 * with the signing certificate's SHA-1 thumbprint in the `x5t` header, over the result payload.
 */
import { createHash, createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import type { ResultSwitch, SignedPayload } from './engine.ts';

export interface SigningKey {
  key: KeyObject;
  /** base64url(SHA-1(DER)) of the certificate. */
  x5t: string;
  alg: 'RS256' | 'ES256';
  subject: string;
}

/** PEM contents of a private key and its certificate; throws when they do not belong together. */
export function signingKey(pem: { key: string; cert: string }): SigningKey {
  const certificate = new X509Certificate(pem.cert);
  const key = createPrivateKey(pem.key);
  if (!certificate.checkPrivateKey(key)) throw new Error(`the signing key does not belong to ${certificate.subject}`);
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new Error(`signing key type ${String(type)} is not supported (RSA or EC P-256)`);
  return {
    key,
    x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
    alg: type === 'rsa' ? 'RS256' : 'ES256',
    subject: certificate.subject.replace(/\n/g, ', '),
  };
}

const encoder = new TextEncoder();

export async function signResult(payload: SignedPayload, signing: SigningKey, tamper?: ResultSwitch): Promise<string> {
  let body: Record<string, unknown> = { ...payload };
  if (tamper?.requestedAttributes) {
    const attributes: Record<string, unknown> = { ...payload.requestedAttributes };
    for (const [k, v] of Object.entries(tamper.requestedAttributes)) {
      if (v === null) delete attributes[k];
      else attributes[k] = v;
    }
    body.requestedAttributes = attributes;
  }
  if (tamper?.payload) {
    body = { ...body };
    for (const [k, v] of Object.entries(tamper.payload)) {
      if (v === null) delete body[k];
      else body[k] = v;
    }
  }
  const bytes = encoder.encode(JSON.stringify(body));
  let jws: string;
  if (tamper?.alg === 'HS256') {
    jws = await new CompactSign(bytes).setProtectedHeader({ alg: 'HS256', x5t: tamper.x5t ?? signing.x5t }).sign(randomBytes(32));
  } else {
    jws = await new CompactSign(bytes).setProtectedHeader({ alg: signing.alg, x5t: tamper?.x5t ?? signing.x5t }).sign(signing.key);
  }
  if (tamper?.signature === 'corrupt') {
    const [h, p, s] = jws.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[0] = sig[0]! ^ 0xff;
    sig[sig.length - 1] = sig[sig.length - 1]! ^ 0x01;
    jws = `${h}.${p}.${sig.toString('base64url')}`;
  }
  return jws;
}
