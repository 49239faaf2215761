/**
 * Stable test keys for the SAML IdP simulator in dev mode: each persona's response-signing and
 * metadata-signing key pairs are generated once into a directory and read from there afterwards, so the
 * hub's configuration can pin the metadata certificate file across restarts.
 *
 *   <dir>/<persona>-signing.pem         private key + certificate (responses and assertions)
 *   <dir>/<persona>-metadata.pem        private key + certificate (metadata)
 *   <dir>/<persona>-metadata.crt.pem    the metadata certificate alone (what the SP pins)
 *   <dir>/<persona>-signing.crt.pem     the signing certificate alone
 *
 * Every file is written to a temporary name and renamed into place, so concurrent starters never read
 * half a file; a key and its certificate live in one file so they cannot come from different runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateTestKeyPair, signingKey, type KeyPairPem, type SignatureAlg } from './crypto.ts';

export interface PersonaKeys {
  signing: KeyPairPem & { alg: SignatureAlg };
  metadataSigning: KeyPairPem;
  /** Paths of the certificate-only files. */
  signingCertFile: string;
  metadataCertFile: string;
}

const KEY_BLOCK = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----\n?/;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, file);
}

async function loadOrCreatePair(file: string, alg: SignatureAlg, commonName: string): Promise<KeyPairPem & { alg: SignatureAlg }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const key = KEY_BLOCK.exec(text)?.[0];
    const cert = CERT_BLOCK.exec(text)?.[0];
    if (!key || !cert) throw new Error(`${file}: expected a private key and a certificate (PEM)`);
    const checked = signingKey({ key, cert });
    return { key, cert, alg: checked.alg };
  }
  const pair = generateTestKeyPair(alg, commonName);
  await writeAtomic(file, `${pair.key.trimEnd()}\n${pair.cert}`);
  return pair;
}

/**
 * Reads (or first generates) the keys of `personas` in `dir`. `alg` applies to newly generated signing
 * keys only; an existing file keeps its key type.
 */
export async function loadOrCreateSimulatorKeys(dir: string, personas: readonly string[], alg: SignatureAlg = 'rsa-sha256'): Promise<Record<string, PersonaKeys>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out: Record<string, PersonaKeys> = {};
  for (const name of personas) {
    const signing = await loadOrCreatePair(path.join(dir, `${name}-signing.pem`), alg, `${name} signing (idnav SAML IdP simulator)`);
    const metadata = await loadOrCreatePair(path.join(dir, `${name}-metadata.pem`), 'rsa-sha256', `${name} metadata (idnav SAML IdP simulator)`);
    const signingCertFile = path.join(dir, `${name}-signing.crt.pem`);
    const metadataCertFile = path.join(dir, `${name}-metadata.crt.pem`);
    await writeAtomic(signingCertFile, signing.cert);
    await writeAtomic(metadataCertFile, metadata.cert);
    out[name] = { signing, metadataSigning: { key: metadata.key, cert: metadata.cert }, signingCertFile, metadataCertFile };
  }
  return out;
}
