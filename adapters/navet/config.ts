/**
 * The Navet adapter's config: the hub-level block (`registry.config` in hub.yaml, `type: navet`) and a
 * tenant's own block (`registry` in a tenant file). A tenant's `clientCert`, `orgNr` and
 * `bestallningsId` each fall back to the hub-level value; every tenant must end up with all three.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { TlsCredentialsError, loadTlsClientCredentials, type TlsCredentialSpec, type TlsCredentials, tlsClientCertSchema } from '../../src/config/pkcs12.ts';
import { luhnCheckDigit } from '../../src/identity/personnummer.ts';

const clientCert = tlsClientCertSchema;

/** "16" + the 10-digit organisationsnummer (whose last digit is a Luhn check digit). YAML may give it as a number. */
const orgNr = z.coerce
  .string()
  .regex(/^16\d{10}$/, { message: 'must be 12 digits: "16" followed by the 10-digit organisationsnummer', abort: true })
  .refine((v) => luhnCheckDigit(v.slice(2, 11)) === Number(v[11]), 'the organisationsnummer has a wrong check digit');

/** Skatteverket's beställningsidentitet: 18 characters, NNNNNNNN-FONN-NNNN. */
const bestallningsId = z.string().regex(/^\d{8}-FO\d{2}-\d{4}$/, 'must be 18 characters like 00000079-FO01-0001 (NNNNNNNN-FONN-NNNN)');

export const navetConfigSchema = z.strictObject({
  /** Base URL of ePersondata V2, e.g. `https://www2.test.skatteverket.se/na/na_epersondata/V2`. */
  baseUrl: z.url({ protocol: /^https$/ }),
  /** Skatteverket's server CA (PEM). The server certificate must chain to it; the public web PKI is not trusted. */
  caFile: z.string().min(1),
  /** Default organisation certificate for mutual TLS (tenants without their own use it). */
  clientCert: clientCert.optional(),
  /** Default OrgNr of the ordering organisation. */
  orgNr: orgNr.optional(),
  /** Default BestallningsId of the order (beställning) at Skatteverket. */
  bestallningsId: bestallningsId.optional(),
  /** Timeout of one call (connect, headers, body and the whole exchange), milliseconds. */
  timeoutMs: z.coerce.number().int().min(500).max(60_000).default(5000),
  /** Larger answers are refused as invalid. */
  maxResponseBytes: z.coerce
    .number()
    .int()
    .min(16 * 1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
});

export const navetTenantConfigSchema = z.strictObject({
  clientCert: clientCert.optional(),
  orgNr: orgNr.optional(),
  bestallningsId: bestallningsId.optional(),
});

export type NavetConfig = z.infer<typeof navetConfigSchema>;
export type NavetTenantConfig = z.infer<typeof navetTenantConfigSchema>;
export type Problems = Array<[string, string]>;

function filePath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export function zodProblems(error: z.ZodError): Problems {
  return error.issues.map((i) => [i.path.join('.'), i.message] as [string, string]);
}

/** Reads the pinned CA; problems under `caFile`. */
export function readCa(config: NavetConfig, baseDir: string): { ca?: string; problems: Problems } {
  try {
    const ca = readFileSync(filePath(baseDir, config.caFile), 'utf8');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) return { problems: [['caFile', 'is not a PEM certificate']] };
    return { ca, problems: [] };
  } catch (err) {
    return { problems: [['caFile', `cannot read ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]] };
  }
}

/** Reads a `clientCert` block; problems under `clientCert.*`. */
export function readClientCert(spec: TlsCredentialSpec, baseDir: string): { tls?: TlsCredentials; problems: Problems } {
  try {
    return { tls: loadTlsClientCredentials(spec, 'clientCert', baseDir), problems: [] };
  } catch (err) {
    if (!(err instanceof TlsCredentialsError)) throw err;
    return { problems: err.problems };
  }
}

/** One complete set of credentials: who calls (certificate) and on which order (OrgNr + BestallningsId). */
export interface NavetCredentialSet {
  /** Identifies the TLS client credentials (file paths): sets with the same key share one connection pool. */
  tlsKey: string;
  tls: TlsCredentials;
  orgNr: string;
  bestallningsId: string;
}

export interface ResolvedCredentials {
  /** The hub-level set, when the hub-level block gives all three parts. */
  defaults?: NavetCredentialSet;
  tenants: Map<string, NavetCredentialSet>;
}

function tlsKey(spec: TlsCredentialSpec, baseDir: string): string {
  return 'pfxFile' in spec
    ? JSON.stringify(['pfx', filePath(baseDir, spec.pfxFile), spec.passphrase])
    : JSON.stringify(['pem', filePath(baseDir, spec.certFile), filePath(baseDir, spec.keyFile)]);
}

/**
 * Reads every certificate the config names and resolves each tenant's credential set (its own values,
 * else the hub-level ones). Problems carry hub-config paths: `registry.config.*` and `tenants.<id>.registry.*`.
 */
export function resolveCredentials(
  config: NavetConfig,
  tenants: Readonly<Record<string, NavetTenantConfig>>,
  baseDir: string,
): { resolved?: ResolvedCredentials; problems: Problems } {
  const problems: Problems = [];
  const hubAt = 'registry.config';

  let defaultTls: TlsCredentials | undefined;
  if (config.clientCert) {
    const r = readClientCert(config.clientCert, baseDir);
    defaultTls = r.tls;
    problems.push(...r.problems.map(([p, m]) => [`${hubAt}.${p}`, m] as [string, string]));
  }

  const partial = (own: NavetTenantConfig | undefined, ownTls: TlsCredentials | undefined) => ({
    tls: own?.clientCert ? ownTls : defaultTls,
    spec: own?.clientCert ?? config.clientCert,
    orgNr: own?.orgNr ?? config.orgNr,
    bestallningsId: own?.bestallningsId ?? config.bestallningsId,
  });
  const missingOf = (p: ReturnType<typeof partial>): string[] =>
    [!p.spec && 'clientCert', !p.orgNr && 'orgNr', !p.bestallningsId && 'bestallningsId'].filter((x): x is string => !!x);
  const complete = (p: ReturnType<typeof partial>): NavetCredentialSet | undefined =>
    p.tls && p.spec && p.orgNr && p.bestallningsId
      ? { tls: p.tls, tlsKey: tlsKey(p.spec, baseDir), orgNr: p.orgNr, bestallningsId: p.bestallningsId }
      : undefined;

  const defaults = partial(undefined, undefined);
  const out: ResolvedCredentials = { tenants: new Map() };
  const defaultSet = complete(defaults);
  if (defaultSet) out.defaults = defaultSet;

  for (const [tenantId, own] of Object.entries(tenants)) {
    const at = `tenants.${tenantId}.registry`;
    let ownTls: TlsCredentials | undefined;
    if (own.clientCert) {
      const r = readClientCert(own.clientCert, baseDir);
      ownTls = r.tls;
      problems.push(...r.problems.map(([p, m]) => [`${at}.${p}`, m] as [string, string]));
    }
    const p = partial(own, ownTls);
    const missing = missingOf(p);
    if (missing.length) {
      problems.push([at, `no ${missing.join(', ')}: give ${missing.length > 1 ? 'them' : 'it'} here or in ${hubAt}`]);
      continue;
    }
    const set = complete(p);
    if (set) out.tenants.set(tenantId, set);
  }

  if (Object.keys(tenants).length === 0 && missingOf(defaults).length > 0) {
    problems.push([hubAt, `no complete set of credentials: ${missingOf(defaults).join(', ')} missing, and no tenant gives its own`]);
  }
  return problems.length ? { problems } : { resolved: out, problems };
}
