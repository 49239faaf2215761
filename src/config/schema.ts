/**
 * Schemas of the three config file kinds: `hub.yaml`, `tenants/<id>.yaml` and `clients/<id>.yaml`.
 *
 * They describe the files as written, after `${ENV}` expansion and after the loader has replaced
 * `<name>File` secrets with the file's content. Every object is strict: an unknown key is an error.
 * Checks that span several fields or files (redirect URI rules, auth methods, tenant references,
 * production rules) live in the loader (`load.ts`), which also turns these outputs into the resolved
 * types of `types.ts`.
 *
 * Values that `${ENV}` expansion turns into strings are read back: integer fields accept digit strings
 * (`port: ${PORT:-3000}`), boolean fields accept `"true"` and `"false"`.
 */
import net from 'node:net';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Digit strings (from `${ENV}`) become numbers; anything else is left for the number schema to judge. */
function toNumber(value: unknown): unknown {
  return typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
}

function toBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

const int = (min: number, max?: number, maxMessage?: string) => {
  let n = z.number().int('must be a whole number').min(min, `must be at least ${min}`);
  if (max !== undefined) n = n.max(max, maxMessage ?? `must be at most ${max}`);
  return z.preprocess(toNumber, n);
};

const bool = () => z.preprocess(toBoolean, z.boolean());

/** Seconds; a positive integer. */
const seconds = () => int(1);

const nonEmpty = () => z.string().min(1, 'must not be empty');

/** Lowercase ascii ids used in file names and URLs (tenants, sectors). */
const slug = () =>
  z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase ascii letters, digits and dashes (e.g. "karlstad")');

/** Method instance ids (`bankid`, `freja`, `saml:sweden-connect`, `oidc:staff`). */
const methodId = () =>
  z.string().regex(/^[a-z0-9][a-z0-9_-]*(:[a-z0-9][a-z0-9_-]*)?$/, 'must look like "bankid" or "saml:sweden-connect"');

/** Client ids: printable ascii without spaces. */
export const clientIdSchema = z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ascii without spaces');

export const tenantIdSchema = slug();

/** `#rgb` or `#rrggbb`. */
const color = () => z.string().regex(/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a colour like "#1d4f91" or "#148"');

/** A single address or a CIDR block, IPv4 or IPv6. */
const ipOrCidr = () =>
  z.string().refine(isIpOrCidr, 'must be an IP address or a CIDR block (e.g. "10.0.0.0/8", "::1")');

export function isIpOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = net.isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const localized = () => z.strictObject({ sv: nonEmpty(), en: nonEmpty() });

/**
 * JWS algorithms a client may ask the hub to sign with: those its signing keys serve (an RSA key signs
 * RS256 and PS256, a P-256 key ES256). Never `none`, never HMAC with a client secret.
 */
export const JWS_ALGS = ['RS256', 'PS256', 'ES256'] as const;

// ---------------------------------------------------------------------------------------------
// hub.yaml

const memoryStore = z.strictObject({
  type: z.literal('memory'),
  /** Ignored with the memory store; allowed so one file can switch stores through `${IDNAV_STORE}`. */
  url: z.string().optional(),
  keyPrefix: z.string().optional(),
});

const redisStore = z.strictObject({
  type: z.literal('redis'),
  /** `redis://` or `rediss://` (TLS) URL, credentials included. */
  url: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL'),
  /** Prefix of every key the hub writes, so one Redis can serve several hubs. */
  keyPrefix: z.string().min(1).default('idnav:'),
});

export const storeSchema = z.discriminatedUnion('type', [memoryStore, redisStore], {
  error: 'must be "memory" or "redis"',
});

export const secretsSchema = z.strictObject({
  /** HMAC key for `sub` derivation (at least 32 characters in production). Prefer subjectSecretFile. */
  subjectSecret: nonEmpty().optional(),
  /** File holding subjectSecret (surrounding whitespace is trimmed); relative to the config dir. */
  subjectSecretFile: nonEmpty().optional(),
  /** Cookie signing keys, newest first (each at least 32 characters in production). Prefer cookieKeysFile. */
  cookieKeys: z.array(nonEmpty()).min(1).optional(),
  /** File with one cookie key per line, newest first (blank lines ignored); relative to the config dir. */
  cookieKeysFile: nonEmpty().optional(),
});

export const tokensSchema = z.strictObject({
  /** The Swedish OIDC profile caps ID token lifetime at 5 minutes. */
  idTokenTtl: int(1, 300, 'must be at most 300 seconds (the Swedish OIDC profile caps ID tokens at 5 minutes)').default(300),
  accessTokenTtl: seconds().default(600),
  refreshTokenTtl: seconds().default(2_592_000),
  sessionTtl: seconds().default(28_800),
  interactionTtl: seconds().default(900),
  grantTtl: seconds().default(2_592_000),
});

export const methodSchema = z.strictObject({
  /** Instance id, referenced by tenants' `methods`. Unique. */
  id: methodId(),
  /** Adapter type; `adapters/index.ts` knows the types. */
  type: nonEmpty(),
  /**
   * The adapter's own block, validated by the adapter module. `${ENV}` is expanded in it, and string
   * values of keys ending in `File` are resolved against the config dir before the adapter sees them.
   */
  config: z.record(z.string(), z.unknown()).default({}),
});

/** `{ limit, windowSeconds }` with defaults; `limit: 0` turns the limit off. */
const rateLimit = (limit: number, windowSeconds: number) =>
  z.strictObject({ limit: int(0).default(limit), windowSeconds: int(1, 86_400).default(windowSeconds) }).prefault({});

const deregisteredAction = () =>
  z.enum(['omit', 'release', 'deny'], { error: 'must be "omit", "release" or "deny"' }).default('omit');

export const registrySchema = z.strictObject({
  /** Adapter type; `adapters/index.ts` knows the registry types (e.g. `navet`). */
  type: nonEmpty(),
  /** The adapter's own block (like a method's `config`). */
  config: z.record(z.string(), z.unknown()).default({}),
  cache: z
    .strictObject({
      /** How long a looked-up person is kept (seconds). Short: the registry is the truth. */
      // At most an hour: a person newly given a protected identity must stop being released soon.
      ttlSeconds: int(1, 3600).default(300),
      maxEntries: int(1).default(10_000),
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** Sekretessmarkering: "withhold" releases nothing from the registry about the person. */
      confidentialityMarking: z.enum(['withhold', 'release'], { error: 'must be "withhold" or "release"' }).default('withhold'),
      /** A deceased person: "omit" registry claims, "release" them, or "deny" the sign-in. */
      deceased: deregisteredAction(),
      /** An emigrated person: as for deceased. */
      emigrated: deregisteredAction(),
    })
    .prefault({}),
});

export const hubFileSchema = z.strictObject({
  /** `dev` (simulators, generated secrets, loopback) or `production`. dev is refused when NODE_ENV=production. */
  mode: z.enum(['dev', 'production'], { error: 'must be "dev" or "production"' }),
  port: int(1, 65_535).default(3000),
  /** Address to bind; default 127.0.0.1 in dev and 0.0.0.0 in production. */
  host: nonEmpty().optional(),
  /** Public issuer URL (no query, no fragment; a trailing slash is dropped). Empty means http://localhost:<port>. */
  issuer: z.string().optional(),
  /**
   * Dev only: directory for generated secrets and keys. Relative paths are resolved against the parent of
   * the config dir (so the default `.idnav` is `<project>/.idnav` for `<project>/config`).
   */
  stateDir: nonEmpty().default('.idnav'),
  store: storeSchema.prefault({ type: 'memory' }),
  /** Required in production; generated into stateDir in dev when absent. */
  secrets: secretsSchema.prefault({}),
  /** Private JWKS with the signing keys and their status; relative to the config dir. Required in production. */
  signingKeysFile: nonEmpty().optional(),
  /** Lifetimes in seconds. */
  tokens: tokensSchema.prefault({}),
  evidence: z.strictObject({ retentionDays: int(1).default(90) }).prefault({}),
  /** Proxies whose X-Forwarded-For is trusted: addresses or CIDR blocks. */
  trustedProxies: z.array(ipOrCidr()).default([]),
  sso: z.strictObject({ acrossTenants: bool().default(true) }).prefault({}),
  /** Pairwise sectors: sector name -> the client ids that share pairwise `sub` values. */
  sectors: z.record(slug(), z.array(clientIdSchema).min(1)).default({}),
  methods: z.array(methodSchema).min(1, 'configure at least one sign-in method'),
  /** The population registry (Navet, KIR) that enriches a signed-in person; absent: no registry claims. */
  registry: registrySchema.optional(),
  /** Limits against abuse; counters live in the Store, so they hold across processes. */
  rateLimits: z
    .strictObject({
      /** e-ID orders (and IdP redirects) started from one client IP address. */
      signinStartsPerIp: rateLimit(60, 60),
      /** e-ID orders started for one personal identity number (when the RP names the person). */
      signinStartsPerPerson: rateLimit(5, 300),
      /** Token endpoint requests of one client. */
      tokenRequestsPerClient: rateLimit(600, 60),
      /** Failed client authentications of one client id; beyond it, the token endpoint refuses it for the window. */
      failedClientAuthPerClient: rateLimit(20, 300),
    })
    .prefault({}),
  /** Operations endpoints. */
  ops: z
    .strictObject({
      /** Who may read /metrics: addresses or CIDR blocks (default: loopback and private networks). */
      metricsAllowFrom: z.array(ipOrCidr()).default(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
    })
    .prefault({}),
  /** Where audit records go (their own sink, JSON lines). */
  audit: z
    .strictObject({
      /** Default: a file in stateDir in dev, stderr in production (application logs go to stdout). */
      to: z.enum(['stdout', 'stderr', 'file', 'off'], { error: 'must be "stdout", "stderr", "file" or "off"' }).optional(),
      /** With `to: file`: the file, relative to the config dir. */
      file: nonEmpty().optional(),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .prefault({}),
  dev: z
    .strictObject({
      /** Dev-only reverse proxy: hub path prefix (starting with `/`) -> target base URL. Must be empty in production. */
      forward: z
        .record(
          z.string().regex(/^\/[^\s?#]*$/, 'must be a path starting with "/"'),
          z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
        )
        .default({}),
    })
    .prefault({}),
});

// ---------------------------------------------------------------------------------------------
// tenants/<id>.yaml

/** Numbers become strings; a number that lost its leading zero fails the four-digit rule with a hint. */
const kommunkod = () =>
  z.preprocess(
    (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v),
    z.string().regex(/^\d{4}$/, 'must be four digits; quote it ("0114") so YAML keeps a leading zero'),
  );

export const tenantFileSchema = z.strictObject({
  /** Short id used in URLs; defaults to the file name without `.yaml`. */
  id: slug().optional(),
  /** Four-digit kommunkod (SCB), e.g. "1780". */
  kommunkod: kommunkod(),
  name: localized(),
  branding: z.strictObject({
    /** Text shown as the logo when there is no logo file; defaults to `name.sv`. */
    logoText: nonEmpty().optional(),
    /** SVG or PNG logo, relative to the config dir. */
    logoFile: nonEmpty().optional(),
    /** Background of white text (buttons, header): contrast with white at least 4.5:1. */
    primaryColor: color(),
    /** Second colour (links, focus, accents): contrast with white at least 3:1, and not the primary colour. */
    accentColor: color(),
  }),
  /** Method ids offered, in the order shown; defaults to every method of hub.yaml. */
  methods: z.array(methodId()).min(1).optional(),
  /** This municipality's own registry credentials; validated by the registry adapter. Default: hub.yaml's. */
  registry: z.record(z.string(), z.unknown()).optional(),
});

// ---------------------------------------------------------------------------------------------
// clients/<id>.yaml (standard OIDC client metadata names plus the hub's own)

export const clientFileSchema = z.strictObject({
  /** Defaults to the file name without `.yaml`. */
  client_id: clientIdSchema.optional(),
  client_name: nonEmpty().optional(),
  /** A tenant id, or "*" (quoted in YAML) for a client shared by several tenants. */
  tenant: nonEmpty(),
  /** Shared clients only: tenant id -> its redirect URIs. `redirect_uris` becomes their union. */
  tenant_redirect_uris: z.record(slug(), z.array(nonEmpty()).min(1)).optional(),
  /** Single-tenant clients: the registered redirect URIs (exact match). */
  redirect_uris: z.array(nonEmpty()).min(1).optional(),
  post_logout_redirect_uris: z.array(nonEmpty()).optional(),
  backchannel_logout_uri: nonEmpty().optional(),
  backchannel_logout_session_required: bool().optional(),
  token_endpoint_auth_method: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .default('client_secret_basic'),
  /** For client_secret_basic/post; at least 32 characters in production. Prefer client_secretFile. */
  client_secret: nonEmpty().optional(),
  /** File holding client_secret (surrounding whitespace trimmed); relative to the config dir. */
  client_secretFile: nonEmpty().optional(),
  /** Public keys for private_key_jwt (and encryption, if used). Never private keys. */
  jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
  jwks_uri: nonEmpty().optional(),
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).min(1).default(['authorization_code']),
  /** The Swedish OIDC profile allows the code flow only. */
  response_types: z.array(z.literal('code', { error: 'only "code" is supported' })).min(1).default(['code']),
  subject_type: z.enum(['public', 'pairwise']).default('public'),
  /** Pairwise sector from hub.yaml `sectors` (which must list this client). */
  sector: slug().optional(),
  userinfo_signed_response_alg: z.enum(JWS_ALGS).optional(),
  id_token_signed_response_alg: z.enum(JWS_ALGS).optional(),
  default_acr_values: z.array(nonEmpty()).optional(),
  /** Seconds since the e-ID sign-in after which this client asks for a new one (as if it sent max_age). */
  default_max_age: int(0).optional(),
  /** Whether this client accepts an existing hub session (single sign-on); false: a new e-ID sign-in every time. */
  sso: bool().default(true),
  /** Scopes beyond `openid` this client may be granted. */
  allowed_scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token')).default([]),
  /**
   * eIDAS: the identity-binding processes (Sweden Connect URIs) this client accepts. A foreign citizen
   * whose eIDAS identity is bound to a Swedish number by one of them is released with that number as
   * the personal identity number; without this, the number is only a `mapped...` claim.
   */
  eidas_accepted_identity_bindings: z.array(z.url()).default([]),
  /** No consent screen; the hub records the grant itself. */
  first_party: bool().default(false),
  /** Dev only: lets the provider call loopback/private addresses (back-channel logout, jwks_uri). */
  insecure_allow_private_network_requests: bool().default(false),
});

export type HubFile = z.output<typeof hubFileSchema>;
export type TenantFile = z.output<typeof tenantFileSchema>;
export type ClientFile = z.output<typeof clientFileSchema>;

/** Secret keys that may be given as `<name>File` instead, per file kind (dotted parent path -> names). */
export const SECRET_FILE_KEYS = {
  hub: [
    { parent: ['secrets'], name: 'subjectSecret', kind: 'text' },
    { parent: ['secrets'], name: 'cookieKeys', kind: 'lines' },
  ],
  tenant: [],
  client: [{ parent: [], name: 'client_secret', kind: 'text' }],
} as const satisfies Record<string, ReadonlyArray<{ parent: readonly string[]; name: string; kind: 'text' | 'lines' }>>;
