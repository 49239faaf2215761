/**
 * The simulated service's result signing: a compact JWS (RS256 for an RSA key, ES256 for a P-256 key)
 * with the signing certificate's SHA-1 thumbprint in the `x5t` header, over the result payload. For a
 * sign transaction the payload also carries `signatureData`: the person's signature over the data to be
 * signed (made with a key the simulator holds for the simulated app) and a certificate status.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import type { ResultSwitch, SignedPayload, SignedSignPayload } from './engine.ts';

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

/** The simulated app's signing key (P-256): one per simulator, standing in for every person's key. */
export interface UserKey {
  key: KeyObject;
  kid: string;
}

export function newUserKey(): UserKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { key: privateKey, kid: `sim-user-${randomBytes(6).toString('hex')}` };
}

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/**
 * The person's signature over the data to be signed, in the layout the adapter reads (not confirmed
 * against a live Freja): for text only (SIMPLE) a compact JWS whose payload is the UTF-8 text; for text
 * and binary data (EXTENDED) the four-part
 * `BASE64URL(header).BASE64URL(text).BASE64URL(binaryData).BASE64URL(signature)`, the signature (ES256)
 * taken over the first three parts joined by dots. `text` and `binaryData` are the Base64 values of the
 * request.
 */
export async function userSignature(data: { text: string; binaryData?: string }, user: UserKey): Promise<string> {
  const header = { alg: 'ES256', kid: user.kid };
  const text = Buffer.from(data.text, 'base64');
  if (data.binaryData === undefined) {
    return new CompactSign(text).setProtectedHeader(header).sign(user.key);
  }
  const input = `${b64url(JSON.stringify(header))}.${b64url(text)}.${b64url(Buffer.from(data.binaryData, 'base64'))}`;
  const signature = cryptoSign('sha256', Buffer.from(input, 'ascii'), { key: user.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/**
 * The certificate status beside the person's signature. Freja returns evidence of the status of the
 * person's certificate here; the simulator has no such certificate and returns Base64 of a short JSON
 * text that says so.
 */
export function certificateStatus(at: number): string {
  return Buffer.from(JSON.stringify({ simulated: true, certificateStatus: 'good', producedAt: new Date(at).toISOString() }), 'utf8').toString('base64');
}

/** For a sign transaction's result: the data to be signed and the key of the simulated app. */
export interface SignResultInput {
  dataToSign: { text: string; binaryData?: string };
  user: UserKey;
}

export async function signResult(payload: SignedPayload | SignedSignPayload, signing: SigningKey, tamper?: ResultSwitch, sign?: SignResultInput): Promise<string> {
  let body: Record<string, unknown> = { ...payload };
  if (sign) {
    const data = { ...sign.dataToSign };
    if (tamper?.signedData?.text !== undefined) data.text = tamper.signedData.text;
    if (tamper?.signedData?.binaryData === null) delete data.binaryData;
    else if (tamper?.signedData?.binaryData !== undefined) data.binaryData = tamper.signedData.binaryData;
    const { requestedAttributes, ...rest } = body;
    body = {
      ...rest,
      signatureData: { userSignature: await userSignature(data, sign.user), certificateStatus: certificateStatus(payload.timestamp) },
      requestedAttributes,
    };
  }
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
