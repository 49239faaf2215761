/**
 * The certificates the configuration names, found generically so that a new adapter's files are
 * covered without changes here: in `methods[].config`, `registry.config` and the tenants' `registry`
 * blocks, every string under a key ending in `File` and every string in a list under a key ending in
 * `Files`, `Certificates` or `Certs`. A file that holds PEM certificates, a DER certificate, a PKCS#12
 * file (opened with the sibling `passphrase`) or XML with `<X509Certificate>` elements (SAML metadata)
 * counts; anything else (a private key, a logo) is skipped. Used by `idnav certs`, `/readyz` and
 * `/metrics`.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type Forge from 'node-forge';
import type { HubConfig } from '../config/types.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const XML_CERTIFICATE = /<(?:[\w-]+:)?X509Certificate>([A-Za-z0-9+/=\s]+)<\/(?:[\w-]+:)?X509Certificate>/g;
const FILE_KEY = /File$/;
const FILE_LIST_KEY = /(Files|[Cc]ertificates|[Cc]erts)$/;

/** A file named by the configuration. */
export interface CertSource {
  /** The config file, relative to the config dir: `hub.yaml`, `tenants/kil.yaml`. */
  configFile: string;
  /** Dotted path in that file: `methods[0].config.clientCert.pfxFile`. */
  at: string;
  /** Absolute path of the file. */
  file: string;
  /** The sibling `passphrase`, for a PKCS#12 file. */
  passphrase?: string;
  /** The key (or list key) that named the file, e.g. `pfxFile`. */
  key: string;
}

/** The files the configuration names, in config order: hub.yaml's methods, its registry, then the tenants. */
export function certificateSources(config: HubConfig): CertSource[] {
  const out: CertSource[] = [];
  const resolve = (file: string) => path.resolve(config.configDir, file);
  const walk = (value: unknown, at: string, configFile: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}[${i}]`, configFile));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    const passphrase = typeof object['passphrase'] === 'string' ? object['passphrase'] : undefined;
    for (const [key, item] of Object.entries(object)) {
      const here = at ? `${at}.${key}` : key;
      const base = { configFile, key, ...(passphrase !== undefined ? { passphrase } : {}) };
      if (FILE_KEY.test(key) && typeof item === 'string' && item !== '') {
        out.push({ ...base, at: here, file: resolve(item) });
      } else if (FILE_LIST_KEY.test(key) && Array.isArray(item) && item.every((x) => typeof x === 'string')) {
        item.forEach((file: string, i) => out.push({ ...base, at: `${here}[${i}]`, file: resolve(file) }));
      } else {
        walk(item, here, configFile);
      }
    }
  };
  const rel = (file: string) => path.relative(config.configDir, file) || path.basename(file);
  config.methods.forEach((m, i) => walk(m.config, `methods[${i}].config`, 'hub.yaml'));
  if (config.registry) walk(config.registry.config, 'registry.config', 'hub.yaml');
  for (const tenant of config.tenants) {
    if (tenant.registry) walk(tenant.registry, 'registry', rel(tenant.file));
  }
  return out;
}

/**
 * The certificates in one file. `problem` is set when the file should hold certificates and cannot be
 * read; it is empty when the file holds none (a private key): nothing to report.
 */
export async function readCertificates(source: CertSource): Promise<{ certificates: X509Certificate[] } | { problem: string }> {
  const { readFile } = await import('node:fs/promises');
  let data: Buffer;
  try {
    data = await readFile(source.file);
  } catch (err) {
    return { problem: `cannot read ${source.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const text = data.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    const certificates: X509Certificate[] = [];
    for (const block of blocks) {
      try {
        certificates.push(new X509Certificate(block));
      } catch (err) {
        return { problem: `${source.file} holds a certificate that cannot be parsed: ${(err as Error).message}` };
      }
    }
    return blocks.length > 0 ? { certificates } : { problem: '' };
  }
  const embedded = [...text.matchAll(XML_CERTIFICATE)].map((m) => m[1]!.replace(/\s+/g, ''));
  if (embedded.length > 0) {
    // SAML metadata: the certificates of <ds:X509Certificate> elements.
    const certificates: X509Certificate[] = [];
    for (const base64 of embedded) {
      try {
        certificates.push(new X509Certificate(Buffer.from(base64, 'base64')));
      } catch (err) {
        return { problem: `${source.file} holds an X509Certificate element that cannot be parsed: ${(err as Error).message}` };
      }
    }
    return { certificates };
  }
  try {
    return { certificates: [new X509Certificate(data)] }; // DER
  } catch {
    // not a DER certificate: perhaps PKCS#12
  }
  return readPkcs12(data, source);
}

async function readPkcs12(data: Buffer, source: CertSource): Promise<{ certificates: X509Certificate[] } | { problem: string }> {
  const { default: forge } = await import('node-forge');
  const looksPkcs12 = /pfx|p12|pkcs12/i.test(source.key) || /\.(p12|pfx)$/i.test(source.file);
  let asn1: ReturnType<typeof forge.asn1.fromDer>;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString('binary')));
  } catch {
    return looksPkcs12 ? { problem: `${source.file} is not a PKCS#12 file` } : { problem: '' };
  }
  let p12: ReturnType<typeof forge.pkcs12.pkcs12FromAsn1>;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, source.passphrase ?? '');
  } catch (err) {
    if (!looksPkcs12) return { problem: '' };
    const { inspectPkcs12 } = await import('../config/pkcs12.ts');
    const verdict = inspectPkcs12(data, source.passphrase ?? '', source.file);
    return { problem: verdict.ok ? `cannot read the certificates of ${source.file}: ${(err as Error).message}` : verdict.message };
  }
  const bags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const certificates: X509Certificate[] = [];
  for (const bag of bags) {
    const node = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : (bag as { asn1?: Forge.asn1.Asn1 }).asn1;
    if (!node) continue;
    certificates.push(new X509Certificate(Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary')));
  }
  return certificates.length > 0 ? { certificates } : { problem: `${source.file} holds no certificate` };
}
