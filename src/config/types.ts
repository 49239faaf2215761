/**
 * The resolved, validated hub configuration. Produced by the loader (src/config/load.ts) from
 * `<configDir>/hub.yaml`, `<configDir>/tenants/*.yaml` and `<configDir>/clients/*.yaml`; frozen after load.
 * Relative file paths are already resolved against the config directory; `*File` secrets already read.
 */
import type { Localized } from '../contracts/identity.ts';

export type HubMode = 'dev' | 'production';

export interface HubConfig {
  /** Absolute path of the config directory. */
  configDir: string;
  mode: HubMode;
  port: number;
  /** Host to bind (default 0.0.0.0 in production, 127.0.0.1 in dev). */
  host: string;
  /** Issuer URL without trailing slash; default `http://localhost:$PORT`. */
  issuer: string;
  /** Directory for generated dev secrets (absolute). Only used in dev mode. */
  stateDir: string;
  store: { type: 'memory' } | { type: 'redis'; url: string; keyPrefix: string };
  secrets: {
    /** HMAC key for `sub` derivation; undefined in dev means "generate once into stateDir". */
    subjectSecret?: string;
    /** Cookie signing keys, newest first; undefined in dev means "generate". */
    cookieKeys?: string[];
  };
  /** Private JWKS file holding the signing keys with their status; undefined in dev means "generate". */
  signingKeysFile?: string;
  tokens: {
    /** Seconds; at most 300 (the Swedish OIDC profile). */
    idTokenTtl: number;
    accessTokenTtl: number;
    refreshTokenTtl: number;
    sessionTtl: number;
    interactionTtl: number;
    grantTtl: number;
  };
  evidence: { retentionDays: number };
  /** CIDRs (or single addresses) whose X-Forwarded-For is trusted. */
  trustedProxies: string[];
  sso: {
    /** One hub session serves every tenant (default true). */
    acrossTenants: boolean;
  };
  /** Pairwise sectors shared by several clients: sector name -> client ids. */
  sectors: Record<string, string[]>;
  /** Sign-in methods; `config` is the adapter's own block, validated by the adapter module. */
  methods: MethodConfig[];
  /** The population registry; absent when none is configured. */
  registry?: RegistryConfig;
  rateLimits: Record<'signinStartsPerIp' | 'signinStartsPerPerson' | 'tokenRequestsPerClient' | 'failedClientAuthPerClient', RateLimit>;
  ops: { metricsAllowFrom: string[] };
  /** Audit sink; `file` is absolute when `to` is `file`. */
  audit: { to: 'stdout' | 'stderr' | 'file' | 'off'; file?: string };
  logging: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  dev: {
    /** Dev-only reverse proxy: hub path prefix -> target base URL (e.g. the simulated BankID app). */
    forward: Record<string, string>;
  };
  tenants: TenantConfig[];
  clients: ClientConfig[];
}

export interface MethodConfig {
  /** Instance id, e.g. `bankid`. Unique. */
  id: string;
  /** Adapter type, e.g. `bankid`; adapters/index.ts knows the types. */
  type: string;
  /** Adapter config as written (after ${ENV} expansion); validated by the adapter module. */
  config: Record<string, unknown>;
}

export interface RateLimit {
  /** Requests allowed per window; 0 turns the limit off. */
  limit: number;
  windowSeconds: number;
}

export interface RegistryConfig {
  type: string;
  /** Adapter config as written (after ${ENV} expansion, `*File` paths resolved); validated by the module. */
  config: Record<string, unknown>;
  cache: { ttlSeconds: number; maxEntries: number };
  policy: {
    confidentialityMarking: 'withhold' | 'release';
    deceased: 'omit' | 'release' | 'deny';
    emigrated: 'omit' | 'release' | 'deny';
  };
}

export interface TenantConfig {
  /** Short id used in files and URLs, e.g. `karlstad`. */
  id: string;
  /** Four-digit kommunkod, e.g. `1780`. */
  kommunkod: string;
  name: Localized;
  branding: {
    /** Text shown as the logo when there is no logo file. */
    logoText: string;
    /** Absolute path of an SVG or PNG logo; served by the hub. */
    logoFile?: string;
    /** CSS colours (#rgb or #rrggbb). */
    primaryColor: string;
    accentColor: string;
  };
  /** Method ids offered, in the order shown. */
  methods: string[];
  /** The tenant's own registry block (credentials), `*File` paths resolved; validated by the registry module. */
  registry?: Record<string, unknown>;
  /** Source file, for messages. */
  file: string;
}

/** OIDC client metadata (standard names) plus the hub's own fields. */
export interface ClientConfig {
  client_id: string;
  client_name?: string;
  /** A tenant id, or `*` for a client shared by all tenants (tenant picked by redirect_uri). */
  tenant: string;
  /** For shared clients: tenant id -> the redirect_uris registered for it. */
  tenant_redirect_uris?: Record<string, string[]>;
  /** All registered redirect URIs (the union of tenant_redirect_uris for shared clients). */
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  client_secret?: string;
  jwks?: { keys: Record<string, unknown>[] };
  jwks_uri?: string;
  grant_types: string[];
  response_types: string[];
  subject_type: 'public' | 'pairwise';
  /** Pairwise sector name (from hub.yaml `sectors`), or the client's own when absent. */
  sector?: string;
  userinfo_signed_response_alg?: string;
  id_token_signed_response_alg?: string;
  default_acr_values?: string[];
  /** Seconds since the e-ID sign-in after which this client asks for a new one. */
  default_max_age?: number;
  /** Whether this client accepts an existing hub session. */
  sso: boolean;
  /** Scopes this client may be granted beyond `openid` (e.g. the Swedish profile's scopes). */
  allowed_scopes: string[];
  /** eIDAS identity-binding processes whose mapped Swedish number this client accepts as the person's number. */
  eidas_accepted_identity_bindings: string[];
  /** First-party clients get no consent screen; the hub records their grant. */
  first_party: boolean;
  /** Dev only: allow the provider's outgoing requests (back-channel logout, jwks_uri) to loopback/private addresses. */
  insecure_allow_private_network_requests: boolean;
  /** Source file, for messages. */
  file: string;
}
