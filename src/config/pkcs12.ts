/**
 * TLS client credentials for adapters that call a remote service with mutual TLS (BankID, Freja, Navet).
 *
 * Banks and agencies still hand out PKCS#12 files encrypted with RC2-40 or DES, which OpenSSL 3 (and so
 * Node) only reads with its legacy provider. Node's error for those ("Unsupported PKCS12 PFX data") does
 * not say what to do, so {@link inspectPkcs12} tells a legacy file from a wrong passphrase and gives the
 * commands that convert the file once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { z } from 'zod';

/**
 * The config block of a TLS client certificate, as BankID, Freja and Navet adapters take it: a PKCS#12
 * file with its passphrase (as banks and agencies issue them), or a PEM certificate (chain) and key.
 */
export const tlsClientCertSchema = z.union([
  z.strictObject({
    pfxFile: z.string().min(1),
    passphrase: z.string(),
  }),
  z.strictObject({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
  }),
]);

export type Pkcs12Verdict =
  | { ok: true }
  | { ok: false; reason: 'legacy-encryption' | 'bad-passphrase' | 'unreadable'; message: string };

/** Algorithms OpenSSL 3 keeps in its legacy provider (by OID). Triple-DES is not one of them. */
const LEGACY_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
  '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
  '1.2.840.113549.1.5.1': 'pbeWithMD2AndDES-CBC',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.4': 'pbeWithMD2AndRC2-CBC',
  '1.2.840.113549.1.5.6': 'pbeWithMD5AndRC2-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
  '1.2.840.113549.1.5.11': 'pbeWithSHA1AndRC2-CBC',
  '1.3.14.3.2.7': 'DES-CBC',
  '1.2.840.113549.3.2': 'RC2-CBC',
  '1.2.840.113549.3.4': 'RC4',
};

/**
 * Checks that Node can use a PKCS#12 file with this passphrase. When it cannot, says why: a legacy
 * algorithm (the message holds the openssl commands that convert the file), a wrong passphrase, or
 * anything else. `fileName` is used in messages and in the commands (default `old.p12`).
 */
export function inspectPkcs12(pfx: Buffer, passphrase: string, fileName = 'old.p12'): Pkcs12Verdict {
  let nodeMessage: string;
  try {
    tls.createSecureContext({ pfx, passphrase });
    return { ok: true };
  } catch (err) {
    nodeMessage = (err as Error).message;
  }

  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
  } catch {
    return unreadable(fileName, nodeMessage);
  }
  const legacy = [...new Set(collectOids(asn1).flatMap((oid) => (LEGACY_ALGORITHMS[oid] ? [LEGACY_ALGORITHMS[oid]] : [])))];

  let forgeError: string | undefined;
  try {
    forge.pkcs12.pkcs12FromAsn1(asn1, passphrase);
  } catch (err) {
    forgeError = (err as Error).message ?? String(err);
  }
  // The MAC is checked before anything is decrypted, by OpenSSL and by forge alike: a failing MAC means
  // the passphrase is wrong whatever the algorithms.
  if (/MAC could not be verified|invalid password/i.test(forgeError ?? '') || /mac verify failure/i.test(nodeMessage)) {
    return { ok: false, reason: 'bad-passphrase', message: `wrong passphrase for ${fileName} (the PKCS#12 integrity check fails)` };
  }
  if (legacy.length > 0) {
    return { ok: false, reason: 'legacy-encryption', message: legacyMessage(fileName, legacy) };
  }
  return unreadable(fileName, forgeError ? `${nodeMessage}; ${forgeError}` : nodeMessage);
}

function unreadable(fileName: string, detail: string): Pkcs12Verdict {
  return { ok: false, reason: 'unreadable', message: `${fileName} is not a usable PKCS#12 file: ${detail}` };
}

/** The commands that re-encrypt a legacy file with AES-256 and a SHA-256 MAC (openssl asks for the passphrases). */
export function pkcs12ConversionCommand(fileName: string): string {
  const parsed = path.parse(fileName);
  const converted = path.join(parsed.dir, `${parsed.name}-aes256${parsed.ext || '.p12'}`);
  const q = shellQuote;
  return (
    `umask 077 && openssl pkcs12 -legacy -in ${q(fileName)} -nodes -out tmp.pem && ` +
    `openssl pkcs12 -export -in tmp.pem -out ${q(converted)} -certpbe AES-256-CBC -keypbe AES-256-CBC -macalg sha256 && rm tmp.pem`
  );
}

function legacyMessage(fileName: string, algorithms: string[]): string {
  return (
    `${fileName} is encrypted with ${algorithms.join(' and ')}, which OpenSSL 3 (and so Node) refuses without ` +
    `its legacy provider. Convert it once and point the config at the new file: ${pkcs12ConversionCommand(fileName)}`
  );
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Every OID in the structure, looking into OCTET STRINGs that hold DER (PKCS#12 nests ASN.1 that way). */
function collectOids(node: forge.asn1.Asn1, depth = 0, out: string[] = []): string[] {
  if (depth > 32) return out;
  const { UNIVERSAL } = forge.asn1.Class;
  const { OID, OCTETSTRING } = forge.asn1.Type;
  if (Array.isArray(node.value)) {
    for (const child of node.value) collectOids(child, depth + 1, out);
  } else if (node.tagClass === UNIVERSAL && node.type === OID) {
    out.push(forge.asn1.derToOid(forge.util.createBuffer(node.value)));
  } else if (node.tagClass === UNIVERSAL && node.type === OCTETSTRING && node.value.charCodeAt(0) === 0x30) {
    try {
      collectOids(forge.asn1.fromDer(forge.util.createBuffer(node.value)), depth + 1, out);
    } catch {
      // Not nested DER (encrypted bytes, a digest): nothing to look into.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** The header line of a PEM private key: PKCS#8, PKCS#1 (RSA), SEC1 (EC) or encrypted PKCS#8. */
const PEM_KEY_HEADER = /-{5}BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-{5}/;

export type TlsCredentialSpec = { pfxFile: string; passphrase: string } | { certFile: string; keyFile: string };
export type TlsCredentials = { pfx: Buffer; passphrase: string } | { cert: string; key: string };

/**
 * Thrown by {@link loadTlsClientCredentials}. `problems` have the shape of `EidAdapterModule.validate`
 * problems (`[dotted path, reason]`, paths starting with the label), so an adapter can return them as is.
 */
export class TlsCredentialsError extends Error {
  override readonly name = 'TlsCredentialsError';
  readonly problems: Array<[string, string]>;

  constructor(problems: Array<[string, string]>) {
    super(problems.map(([at, reason]) => `${at}: ${reason}`).join('; '));
    this.problems = problems;
  }
}

/**
 * Reads and checks TLS client credentials: a PKCS#12 file with its passphrase, or a PEM certificate
 * (chain) and PEM private key. Synchronous, so adapters can call it from `validate` as well as `create`.
 * Relative paths are resolved against `baseDir` (default: the working directory). Throws a
 * {@link TlsCredentialsError} listing every problem, with paths `<label>.pfxFile`, `<label>.keyFile`, ...
 */
export function loadTlsClientCredentials(spec: TlsCredentialSpec, label: string, baseDir?: string): TlsCredentials {
  const problems: Array<[string, string]> = [];
  const at = (key: string) => (label ? `${label}.${key}` : key);
  const read = (key: string, file: string): Buffer | undefined => {
    const full = baseDir ? path.resolve(baseDir, file) : path.resolve(file);
    try {
      return readFileSync(full);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push([at(key), `cannot read ${full}: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`]);
      return undefined;
    }
  };

  if ('pfxFile' in spec) {
    const pfx = read('pfxFile', spec.pfxFile);
    if (pfx) {
      const verdict = inspectPkcs12(pfx, spec.passphrase, spec.pfxFile);
      if (!verdict.ok) problems.push([at(verdict.reason === 'bad-passphrase' ? 'passphrase' : 'pfxFile'), verdict.message]);
    }
    if (problems.length > 0) throw new TlsCredentialsError(problems);
    return { pfx: pfx!, passphrase: spec.passphrase };
  }

  const certPem = read('certFile', spec.certFile)?.toString('utf8');
  const keyPem = read('keyFile', spec.keyFile)?.toString('utf8');
  if (certPem !== undefined && !certPem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push([at('certFile'), `${spec.certFile} holds no PEM certificate`]);
  }
  if (keyPem !== undefined && !PEM_KEY_HEADER.test(keyPem)) {
    problems.push([at('keyFile'), `${spec.keyFile} holds no PEM private key`]);
  } else if (keyPem?.match(PEM_KEY_HEADER)?.[1] === 'ENCRYPTED ') {
    problems.push([at('keyFile'), `${spec.keyFile} is encrypted; give an unencrypted key (file mode 0600) or a PKCS#12 file`]);
  }
  if (problems.length === 0 && certPem !== undefined && keyPem !== undefined) {
    try {
      tls.createSecureContext({ cert: certPem, key: keyPem });
    } catch (err) {
      const message = (err as Error).message;
      problems.push([
        at('keyFile'),
        /key values mismatch/i.test(message) ? `does not belong to the certificate in ${spec.certFile}` : `cannot be used with ${spec.certFile}: ${message}`,
      ]);
    }
  }
  if (problems.length > 0) throw new TlsCredentialsError(problems);
  return { cert: certPem!, key: keyPem! };
}
