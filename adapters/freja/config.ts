/** The Freja eID adapter's config block (`methods[].config` for `type: freja`). */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { TlsCredentialsError, loadTlsClientCredentials, type TlsCredentials, tlsClientCertSchema } from '../../src/config/pkcs12.ts';

/** The registration levels a sign-in can be started at (BASIC carries no verified identity). */
export const REGISTRATION_LEVELS = ['EXTENDED', 'PLUS'] as const;
export type RegistrationLevel = (typeof REGISTRATION_LEVELS)[number];

export const DEFAULT_ACR: Readonly<Record<RegistrationLevel, string>> = {
  PLUS: 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3',
  EXTENDED: 'http://id.swedenconnect.se/loa/1.0/uncertified-loa2',
};

/** The title of a signing request in the Freja eID app unless configured. */
export const DEFAULT_SIGN_TITLE = 'Underskrift';

const clientCert = tlsClientCertSchema;

export const frejaConfigSchema = z
  .strictObject({
    /** Service host, e.g. `https://services.test.frejaeid.com` (test) or `https://services.prod.frejaeid.com`. */
    baseUrl: z.url({ protocol: /^https$/ }),
    /** The RP certificate for mutual TLS. */
    clientCert,
    /** The CA Freja's server certificate must chain to (PEM). The public web PKI is not trusted. */
    caFile: z.string().min(1),
    /**
     * Freja's result-signing certificates (PEM files, each with one or more certificates). Results are
     * verified with the one whose SHA-1 thumbprint matches the JWS header's `x5t`; list the current and
     * the next certificate during a rollover.
     */
    signingCertificates: z.array(z.string().min(1)).min(1, 'list at least one signing certificate'),
    /** Sent as `relyingPartyId=` with every call when set (integrators acting for several relying parties). */
    relyingPartyId: z.string().min(1).max(256).optional(),
    /** The lowest registration level a sign-in may end with. */
    minRegistrationLevel: z.enum(REGISTRATION_LEVELS).default('PLUS'),
    /** The `acr` of a sign-in per registration level. */
    acr: z
      .strictObject({
        PLUS: z.string().min(1).default(DEFAULT_ACR.PLUS),
        EXTENDED: z.string().min(1).default(DEFAULT_ACR.EXTENDED),
      })
      .default({ ...DEFAULT_ACR }),
    /** Names shown on the chooser page. */
    displayName: z.strictObject({ sv: z.string(), en: z.string() }).default({ sv: 'Freja eID', en: 'Freja eID' }),
    /** Timeout of one call to Freja, milliseconds. */
    timeoutMs: z.coerce.number().int().min(500).max(60_000).default(10_000),
    /** Minimum interval between two result polls of one transaction. */
    pollIntervalMs: z.coerce.number().int().min(1000).max(10_000).default(2000),
    /** Signing orders (`startSign`). */
    sign: z
      .strictObject({
        /** The title of the signing request in the Freja eID app (Freja allows at most 128 characters). */
        title: z.string().trim().min(1).max(128).default(DEFAULT_SIGN_TITLE),
        /**
         * Refuse a signing order without a personal number instead of starting it for an unknown user
         * (INFERRED, by QR code or the app link). For a contract or a Freja version that only signs for a
         * user named up front.
         */
        requirePersonalNumber: z.boolean().default(false),
      })
      .default({ title: DEFAULT_SIGN_TITLE, requirePersonalNumber: false }),
    launch: z
      .strictObject({
        /**
         * Dev only (refused in production, like every `insecure` setting): the "open Freja eID" link opens
         * the simulated Freja app at this URL (relative to the issuer or absolute) instead of `frejaeid://`.
         */
        insecureDevAppUrl: z.string().min(1).optional(),
      })
      .default({}),
  })
  .superRefine((config, ctx) => {
    if (config.acr.PLUS === config.acr.EXTENDED) {
      ctx.addIssue({ code: 'custom', path: ['acr', 'EXTENDED'], message: 'must differ from acr.PLUS (the levels must be told apart)' });
    }
  });

export type FrejaConfig = z.infer<typeof frejaConfigSchema>;

/** One of Freja's result-signing certificates, indexed by its `x5t`. */
export interface SigningCertificate {
  /** base64url(SHA-1(DER)), as in the JWS header. */
  x5t: string;
  key: KeyObject;
  subject: string;
  notBefore: number;
  notAfter: number;
  file: string;
}

export interface FrejaMaterial {
  tls: { ca: string } & TlsCredentials;
  signing: Map<string, SigningCertificate>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function path(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** base64url(SHA-1(DER of the certificate)): the JWS `x5t` header value (RFC 7515 §4.1.7). */
export function x5tOf(certificate: X509Certificate): string {
  return createHash('sha1').update(certificate.raw).digest('base64url');
}

function readError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return `cannot read ${file}: ${code === 'ENOENT' ? 'no such file (ENOENT)' : (code ?? String(err))}`;
}

/**
 * Reads and checks the TLS material and the signing certificates; returns problems as
 * [dotted path, reason], all of them at once.
 */
export function readFrejaMaterial(config: FrejaConfig, baseDir: string): { material?: FrejaMaterial; problems: Array<[string, string]> } {
  const problems: Array<[string, string]> = [];

  let ca: string | undefined;
  try {
    ca = readFileSync(path(baseDir, config.caFile), 'utf8');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(['caFile', `${config.caFile} is not a PEM certificate`]);
  } catch (err) {
    problems.push(['caFile', readError(config.caFile, err)]);
  }

  let credentials: TlsCredentials | undefined;
  try {
    credentials = loadTlsClientCredentials(config.clientCert, 'clientCert', baseDir);
  } catch (err) {
    if (!(err instanceof TlsCredentialsError)) throw err;
    problems.push(...err.problems);
  }

  const signing = new Map<string, SigningCertificate>();
  config.signingCertificates.forEach((file, i) => {
    const at = `signingCertificates.${i}`;
    let text: string;
    try {
      text = readFileSync(path(baseDir, file), 'utf8');
    } catch (err) {
      problems.push([at, readError(file, err)]);
      return;
    }
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      problems.push([at, `${file} holds no PEM certificate`]);
      return;
    }
    for (const block of blocks) {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(block);
      } catch (err) {
        problems.push([at, `${file} holds a certificate that cannot be parsed: ${(err as Error).message}`]);
        continue;
      }
      const x5t = x5tOf(certificate);
      signing.set(x5t, {
        x5t,
        key: createPublicKey(block),
        subject: certificate.subject.replace(/\n/g, ', '),
        notBefore: Date.parse(certificate.validFrom),
        notAfter: Date.parse(certificate.validTo),
        file,
      });
    }
  });

  if (problems.length || !credentials || ca === undefined) return { problems };
  return { material: { tls: { ca, ...credentials }, signing }, problems };
}
