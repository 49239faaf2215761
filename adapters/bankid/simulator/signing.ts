/**
 * The simulator's signing key and certificate. Every completion's XML signature is made with them, so a
 * relying party's test can verify a signature against `signingCert`. BankID signs with the person's own
 * key and certificate (issued by their bank); the simulator has one key pair for everybody.
 *
 * Without a key in the options, an RSA key pair and a self-signed certificate are made the first time
 * they are needed (one per simulator), so a simulator that never completes an order never pays for it.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface SigningCredentials {
  /** PEM private key (RSA). */
  key: string;
  /** PEM certificate of that key. */
  cert: string;
}

/** Checks a key and certificate given in the options: both PEM, RSA, and belonging together. */
export function checkSigningCredentials(key: string, cert: string): SigningCredentials {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`signingCert is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`signingKey is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('signingKey must be an RSA key (BankID signs with RSA-SHA256)');
  if (!x509.checkPrivateKey(privateKey)) throw new Error('signingKey does not belong to signingCert');
  return { key, cert };
}

/** A fresh RSA-2048 key and a self-signed certificate for it, valid for ten years. */
export function generateSigningCredentials(now: number = Date.now()): SigningCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const serial = randomBytes(16);
  // A positive INTEGER with a non-zero first byte.
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now - 86_400_000);
  cert.validity.notAfter = new Date(now + 3650 * 86_400_000);
  const subject = [
    { name: 'countryName', value: 'SE' },
    { name: 'organizationName', value: 'Testbank A AB (publ) (idnav dev)' },
    { name: 'commonName', value: 'Simulated BankID signing key (idnav dev)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), forge.md.sha256.create());
  return { key: keyPem, cert: forge.pki.certificateToPem(cert) };
}

/** The credentials given in the options, or ones generated on first use (then kept). */
export function signingCredentials(given?: { key: string; cert: string }): () => SigningCredentials {
  if (given) {
    const checked = checkSigningCredentials(given.key, given.cert);
    return () => checked;
  }
  let made: SigningCredentials | undefined;
  return () => (made ??= generateSigningCredentials());
}
