/** The BankID adapter's config block (`methods[].config` for `type: bankid`). */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { TlsCredentialsError, loadTlsClientCredentials, type TlsCredentials, tlsClientCertSchema } from '../../src/config/pkcs12.ts';

const clientCert = tlsClientCertSchema;

export const bankIdConfigSchema = z.strictObject({
  /** Base URL of the RP API, e.g. `https://appapi2.bankid.com/rp/v6.0`. */
  baseUrl: z.url({ protocol: /^https$/ }),
  /** The RP certificate for mutual TLS. */
  clientCert,
  /** BankID's SSL root CA (PEM). The server certificate must chain to it; the public web PKI is not trusted. */
  caFile: z.string().min(1),
  /** The `acr` of a BankID sign-in. */
  acr: z.string().min(1).default('http://id.swedenconnect.se/loa/1.0/uncertified-loa3'),
  /** Names shown on the chooser page. */
  displayName: z.strictObject({ sv: z.string(), en: z.string() }).default({ sv: 'BankID', en: 'BankID' }),
  /** Timeout of one call to BankID, milliseconds. */
  timeoutMs: z.coerce.number().int().min(500).max(60_000).default(10_000),
  /** Minimum interval between two collects of one order (BankID asks for 2 s). */
  pollIntervalMs: z.coerce.number().int().min(1000).max(10_000).default(2000),
  launch: z
    .strictObject({
      /**
       * Dev only (refused in production, like every `insecure` setting): open the simulated BankID app
       * at this URL (relative to the issuer or absolute) instead of BankID's own launch URLs.
       */
      insecureDevAppUrl: z.string().min(1).optional(),
    })
    .default({}),
});

export type BankIdConfig = z.infer<typeof bankIdConfigSchema>;

export interface BankIdTls {
  ca: string;
  pfx?: Buffer;
  passphrase?: string;
  cert?: string;
  key?: string;
}

function path(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Reads and checks the TLS material; returns problems as [dotted path, reason]. */
export function readBankIdTls(config: BankIdConfig, baseDir: string): { tls?: BankIdTls; problems: Array<[string, string]> } {
  const problems: Array<[string, string]> = [];
  let ca: string | undefined;
  try {
    ca = readFileSync(path(baseDir, config.caFile), 'utf8');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(['caFile', 'is not a PEM certificate']);
  } catch (err) {
    problems.push(['caFile', `cannot read ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let credentials: TlsCredentials | undefined;
  try {
    credentials = loadTlsClientCredentials(config.clientCert, 'clientCert', baseDir);
  } catch (err) {
    if (!(err instanceof TlsCredentialsError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !credentials || ca === undefined) return { problems };
  return { tls: { ca, ...credentials }, problems };
}
