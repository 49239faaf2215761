/**
 * oidc-provider wiring: clients from files, keys and cookie secrets from config, the Store behind every
 * model, the Swedish OIDC profile's claims, and the hub's own pages in place of the library's.
 */
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { Agent } from 'undici';
import type { ClientConfig, HubConfig } from '../config/types.ts';
import type { ModelStore, Store } from '../contracts/store.ts';
import { pickLang } from '../login/i18n.ts';
import { errorPage, formPostPage, logoutPage, logoutSuccessPage } from '../login/pages.ts';
import type { Logger } from '../log.ts';
import type { TrustedProxies } from '../http/util.ts';
import type { Audit } from '../ops/audit.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { RateLimiter } from '../ops/ratelimit.ts';
import { registryClaimsRequested, registryClaimsWanted, type RegistryClaim } from '../registry/claims.ts';
import type { Registry } from '../registry/registry.ts';
import type { TenantRegistry } from '../tenants/registry.ts';
import { Accounts, type AccountRecord } from './accounts.ts';
import {
  CLAIMS_CONFIG,
  CLAIM_COORDINATION_NUMBER,
  CLAIM_IDENTITY_BINDING,
  CLAIM_MAPPED_COORDINATION_NUMBER,
  CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER,
  CLAIM_PERSONAL_IDENTITY_NUMBER,
  PARAM_AUTHN_PROVIDER,
  PARAM_USER_MESSAGE,
  SCOPES,
  USER_MESSAGE_MIME_TYPES,
  parseUserMessage,
  SCOPE_NATURAL_PERSON_NUMBER,
  claimAllowed,
  claimsFor,
  type ClaimsRequest,
} from './claims.ts';
import { meets } from '../identity/loa.ts';
import { parsePersonalNumber } from '../identity/personnummer.ts';
import { sectorOf, type ClientRegistry } from './clients.ts';
import { providerJwks, type HubSecrets } from './secrets.ts';

export interface ProviderDeps {
  config: HubConfig;
  secrets: HubSecrets;
  store: Store;
  clients: ClientRegistry;
  tenants: TenantRegistry;
  accounts: Accounts;
  log: Logger;
  audit: Audit;
  metrics: Metrics;
  limiter: RateLimiter;
  proxies: TrustedProxies;
  /** Population-registry enrichment; absent when no registry is configured. */
  registry?: Registry;
  /** Every acr value an offered method can produce. */
  acrValues: string[];
}

/**
 * The tenant whose registry credentials a client's lookups use: the client's own municipality; a client
 * shared by several municipalities uses the region's (hub.yaml) credentials.
 */
function registryTenantOf(client: ClientConfig): string | undefined {
  return client.tenant === '*' ? undefined : client.tenant;
}

/**
 * Registry claims for one token or UserInfo answer. When the registry cannot answer they are left out
 * (the sign-in itself does not depend on the registry); an essential request was already refused in the
 * authorization step.
 */
async function registryClaimsFor(
  deps: ProviderDeps,
  client: ClientConfig,
  account: AccountRecord,
  wanted: ReadonlySet<RegistryClaim>,
): Promise<Record<string, unknown>> {
  const registry = deps.registry!;
  try {
    const released = await registry.release(account.subject, wanted, { tenant: registryTenantOf(client) });
    return released.deregistration?.action === 'deny' ? {} : { ...released.claims };
  } catch (err) {
    deps.log.warn({ err, client: client.client_id, registry: registry.adapterId }, 'population registry unavailable: registry claims left out');
    return {};
  }
}

/** Whether the account's subject is a Swedish personal identity or coordination number (the registry knows only those). */
function hasSwedishNumber(account: AccountRecord): boolean {
  return account.subjectType === 'personnummer' || account.subjectType === 'samordningsnummer';
}

/**
 * A foreign citizen's Swedish number bound by Sweden Connect's Identity Binding Service: always as the
 * `mapped...` claims (scope eidasSwedishIdentity), and as the personal identity number itself only for
 * clients that accept one of the binding processes used.
 */
export function mappedNumberClaims(account: AccountRecord, client: ClientConfig): Record<string, unknown> {
  const eidas = Accounts.eidasOf(account);
  const parsed = parsePersonalNumber(eidas?.mappedPersonalIdentityNumber);
  if (!eidas || !parsed) return {};
  const bindings = eidas.personalIdentityNumberBinding ?? [];
  const out: Record<string, unknown> = {
    [parsed.type === 'samordningsnummer' ? CLAIM_MAPPED_COORDINATION_NUMBER : CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER]: parsed.normalized,
    [CLAIM_IDENTITY_BINDING]: bindings.join(';'),
  };
  if (bindings.some((b) => client.eidas_accepted_identity_bindings.includes(b))) {
    out[parsed.type === 'samordningsnummer' ? CLAIM_COORDINATION_NUMBER : CLAIM_PERSONAL_IDENTITY_NUMBER] = parsed.normalized;
  }
  return out;
}

/**
 * Runs once the person is signed in and before the code is issued (also for single sign-on without a
 * login page): looks the person up when the request asks for registry claims, so that an essential
 * registry claim the registry cannot provide fails the request clearly, the policy for deregistered
 * persons is applied and audited, and the lookup is cached for the token and UserInfo answers.
 */
function registryPrompt(deps: ProviderDeps) {
  const { Check, Prompt } = interactionPolicy;
  const registry = deps.registry!;
  const policy = deps.config.registry!.policy;
  const denies = policy.deceased === 'deny' || policy.emigrated === 'deny';
  return new Prompt(
    { name: 'registry', requestable: false },
    new Check('registry_lookup', 'population registry lookup', async (ctx) => {
      const { session, client: providerClient, params } = ctx.oidc;
      const client = providerClient ? deps.clients.get(providerClient.clientId) : undefined;
      if (!session?.accountId || !client) return Check.NO_NEED_TO_PROMPT;
      const scopes = new Set(String(params?.scope ?? '').split(' '));
      const claimsParameter = (ctx.oidc as unknown as { claims?: ClaimsRequest }).claims;
      const { wanted, essential } = registryClaimsRequested(scopes, claimsParameter, client.allowed_scopes);
      if (!wanted.size && !denies) return Check.NO_NEED_TO_PROMPT;
      const account = await deps.accounts.find(session.accountId);
      if (!account || !hasSwedishNumber(account)) return Check.NO_NEED_TO_PROMPT;
      const redirectUri = typeof params?.redirect_uri === 'string' ? params.redirect_uri : undefined;
      const tenant = deps.tenants.forClient(client, redirectUri)?.id;
      let released;
      try {
        released = await registry.release(account.subject, wanted, { tenant: registryTenantOf(client) });
      } catch (err) {
        deps.log.warn({ err, client: client.client_id, tenant, registry: registry.adapterId, essential: [...essential] }, 'population registry unavailable');
        if (essential.size) {
          throw new errors.TemporarilyUnavailable(
            `the population registry cannot be reached, so the essential claim${essential.size > 1 ? 's' : ''} ${[...essential].join(', ')} cannot be provided; try again later`,
          );
        }
        return Check.NO_NEED_TO_PROMPT;
      }
      if (released.outcome === 'deregistered' && released.deregistration) {
        const { reason, action } = released.deregistration;
        deps.audit.record({
          event: 'registry.deregistered',
          tenant,
          client: client.client_id,
          reason,
          action,
          subjectType: account.subjectType,
          subject: account.subject,
          method: account.method,
        });
        if (action === 'deny') {
          throw new errors.AccessDenied('the person is deregistered in the population registry and may not sign in to this service');
        }
      }
      return Check.NO_NEED_TO_PROMPT;
    }),
  );
}

/** The full `claims` request of the flow a token belongs to (authorization, code, refresh or access token). */
function claimsRequestOf(ctx: KoaContextWithOIDC): ClaimsRequest | undefined {
  const oidc = ctx.oidc as unknown as {
    claims?: ClaimsRequest;
    entities?: Record<string, { claims?: ClaimsRequest } | undefined>;
  };
  if (oidc.claims && Object.keys(oidc.claims).length) return oidc.claims;
  const e = oidc.entities ?? {};
  return e.AuthorizationCode?.claims ?? e.RefreshToken?.claims ?? e.AccessToken?.claims ?? undefined;
}

function modelAdapter(store: Store, clients: ClientRegistry) {
  return class {
    constructor(name: string) {
      // Clients are files; everything else lives in the Store so that any process can continue a flow.
      return (name === 'Client' ? clients.providerAdapter() : store.model(name)) as unknown as ModelStore;
    }
  };
}

/** oidc-provider's lifetimes (seconds) from the hub's `tokens` settings. */
export function providerTtl(config: HubConfig) {
  const t = config.tokens;
  return {
    AccessToken: t.accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: t.idTokenTtl,
    RefreshToken: t.refreshTokenTtl,
    Session: t.sessionTtl,
    Interaction: t.interactionTtl,
    Grant: t.grantTtl,
  };
}

export const SESSION_TENANT_NS = 'session-tenant';

/** Key of the tenant a session's sign-in was made for (only recorded when SSO stops at tenant borders). */
export function sessionTenantKey(accountId: string, loginTs: number): string {
  return `${accountId}:${loginTs}`;
}

/**
 * The default policy, plus: when `sso.acrossTenants` is off, a session made for one municipality does not
 * sign the person in to another municipality's clients.
 */
function loginPolicy(deps: ProviderDeps) {
  const { Check, base } = interactionPolicy;
  const policy = base();
  if (deps.registry) policy.add(registryPrompt(deps));
  // A client that does not take part in single sign-on gets a new e-ID sign-in every time.
  policy.get('login')!.checks.add(
    new Check('client_no_sso', 'the client asks for a new sign-in every time', async (ctx) => {
      const { session, client } = ctx.oidc;
      if (!session?.accountId || !client) return Check.NO_NEED_TO_PROMPT;
      return deps.clients.get(client.clientId)?.sso === false ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  // Step-up: the session's level must meet what the request asks for (acr_values, or the client's
  // default_acr_values); a session at LoA 2 does not sign a person in where LoA 3 is required.
  policy.get('login')!.checks.add(
    new Check('acr_step_up', 'the session’s level of assurance is lower than the client requires', async (ctx) => {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId || !client) return Check.NO_NEED_TO_PROMPT;
      const requested = typeof params?.acr_values === 'string' && params.acr_values.trim() ? params.acr_values.split(' ').filter(Boolean) : (deps.clients.get(client.clientId)?.default_acr_values ?? []);
      if (requested.length === 0) return Check.NO_NEED_TO_PROMPT;
      const acr = typeof session.acr === 'string' ? session.acr : undefined;
      return acr && requested.some((r) => meets(acr, r)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  // A municipality's staff identity is that municipality's: another tenant's client gets a new sign-in.
  policy.get('login')!.checks.add(
    new Check('staff_tenant', 'the session is a staff sign-in of another municipality', async (ctx) => {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId || !client) return Check.NO_NEED_TO_PROMPT;
      const account = await deps.accounts.find(session.accountId);
      const staff = account ? Accounts.staffOf(account) : undefined;
      if (!staff) return Check.NO_NEED_TO_PROMPT;
      const c = deps.clients.get(client.clientId);
      const tenant = c ? deps.tenants.forClient(c, typeof params?.redirect_uri === 'string' ? params.redirect_uri : undefined)?.id : undefined;
      return tenant === staff.tenant ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  if (deps.config.sso.acrossTenants) return policy;
  policy.get('login')!.checks.add(
    new Check('tenant_boundary', 'the session was made for another municipality', async (ctx) => {
      const { session, client, params } = ctx.oidc;
      if (!session?.accountId || !client) return Check.NO_NEED_TO_PROMPT;
      const c = deps.clients.get(client.clientId);
      const tenant = c ? deps.tenants.forClient(c, typeof params?.redirect_uri === 'string' ? params.redirect_uri : undefined)?.id : undefined;
      const made = await deps.store.get<string>(SESSION_TENANT_NS, sessionTenantKey(session.accountId, Number(session.loginTs)));
      return made !== undefined && made === tenant ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

function langOf(ctx: KoaContextWithOIDC): 'sv' | 'en' {
  const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
  const cookie = ctx.cookies.get('idnav_lang');
  return pickLang(params.ui_locales, cookie, null);
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, secrets, store, clients, accounts, log } = deps;

  // Dev only: back-channel logout and jwks_uri fetches to loopback demo RPs, for clients that name the
  // setting. oidc-provider refuses special-use addresses otherwise, and production keeps that.
  const privateNetworkAgent = new Agent();
  const allowedPrivateOrigins = new Set<string>();
  const refreshAllowed = () => {
    allowedPrivateOrigins.clear();
    if (config.mode !== 'dev') return;
    for (const c of clients.all()) {
      if (!c.insecure_allow_private_network_requests) continue;
      for (const uri of [c.backchannel_logout_uri, c.jwks_uri]) {
        if (uri) allowedPrivateOrigins.add(uri);
      }
    }
    if (allowedPrivateOrigins.size) {
      log.warn({ urls: [...allowedPrivateOrigins] }, 'insecure_allow_private_network_requests: outgoing requests to these private-network URLs are allowed (dev mode)');
    }
  };
  refreshAllowed();
  clients.onChange(refreshAllowed);

  const configuration: Configuration = {
    adapter: modelAdapter(store, clients) as unknown as Configuration['adapter'],
    async findAccount(ctx, sub) {
      const account = await accounts.find(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims(use, scope) {
          const client = clients.get(ctx.oidc.client?.clientId ?? '');
          const allowNumber = !!client?.allowed_scopes.includes(SCOPE_NATURAL_PERSON_NUMBER);
          const scopes = new Set(String(scope ?? '').split(' '));
          const destination = use === 'id_token' ? 'id_token' : 'userinfo';
          const claimsRequest = claimsRequestOf(ctx);
          const person = Accounts.personClaims(account);
          if (client) Object.assign(person, mappedNumberClaims(account, client));
          const released: Record<string, unknown> = claimsFor(destination, scopes, claimsRequest, person, allowNumber, client?.allowed_scopes ?? []);
          if (deps.registry && client && hasSwedishNumber(account)) {
            // Registry claims are fetched only when this client may receive them and this answer carries them.
            const wanted = registryClaimsWanted(destination, scopes, claimsRequest, client.allowed_scopes);
            if (wanted.size) Object.assign(released, await registryClaimsFor(deps, client, account, wanted));
          }
          return { sub, ...released };
        },
      };
    },
    claims: CLAIMS_CONFIG as Configuration['claims'],
    scopes: SCOPES,
    acrValues: deps.acrValues,
    extraParams: {
      [PARAM_AUTHN_PROVIDER]: null,
      // The RP's message for the e-ID app; a malformed one or an unsupported MIME type is refused.
      async [PARAM_USER_MESSAGE](_ctx: unknown, value: unknown) {
        try {
          parseUserMessage(value);
        } catch (err) {
          throw new errors.InvalidRequest((err as Error).message);
        }
      },
    } as unknown as Configuration['extraParams'],
    responseTypes: ['code'],
    subjectTypes: ['public', 'pairwise'],
    // Sectors come from config (checked at load); nothing to fetch.
    sectorIdentifierUriValidate: () => false,
    async pairwiseIdentifier(_ctx, accountId, client) {
      const c = clients.get(client.clientId);
      const sector = c ? sectorOf(c) : client.clientId;
      return accounts.pairwise(sector, accountId);
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'HS256'],
      idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'PS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'HS256'],
    },
    conformIdTokenClaims: false,
    cookies: {
      keys: secrets.cookieKeys,
      names: { session: 'idnav_session', interaction: 'idnav_interaction', resume: 'idnav_resume' },
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    jwks: providerJwks(secrets.signingKeys) as Configuration['jwks'],
    ttl: providerTtl(config),
    rotateRefreshToken: true,
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      backchannelLogout: { enabled: true },
      jwtUserinfo: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage({ lang: langOf(ctx), form });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = logoutSuccessPage({ lang: langOf(ctx), clientName: ctx.oidc.client?.clientName ?? undefined });
        },
      },
    },
    discovery: {
      'https://id.oidc.se/disco/authnProviderSupported': true,
      'https://id.oidc.se/disco/userMessageSupported': true,
      'https://id.oidc.se/disco/userMessageSupportedMimeTypes': [...USER_MESSAGE_MIME_TYPES],
      ui_locales_supported: ['sv', 'en'],
      claims_locales_supported: ['sv', 'en'],
    },
    interactions: {
      url: (_ctx, interaction) => `/login/${interaction.uid}`,
      policy: loginPolicy(deps),
    },
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client!.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!clients.get(clientId)?.first_party) return grant;
      // First-party clients get no consent screen: the hub records their grant for what they asked.
      if (!grant) grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session!.accountId! });
      const before = JSON.stringify(grant.openid ?? {});
      const scope = String(ctx.oidc.params?.scope ?? 'openid');
      grant.addOIDCScope(scope);
      const requested = (ctx.oidc as unknown as { claims?: ClaimsRequest }).claims ?? {};
      const allowed = clients.get(clientId)?.allowed_scopes ?? [];
      // Only claims the client may receive are recorded in its grant.
      const names = new Set<string>([...Object.keys(requested.id_token ?? {}), ...Object.keys(requested.userinfo ?? {})].filter((c) => claimAllowed(c, allowed)));
      if (names.size) grant.addOIDCClaims([...names]);
      if (!grantId || JSON.stringify(grant.openid ?? {}) !== before) await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.state.idnavPage = true;
      const lang = langOf(ctx);
      log.info({ error: out.error, description: out.error_description }, 'provider error page');
      ctx.body = errorPage({ lang, message: String(out.error_description ?? out.error ?? ''), code: String(out.error ?? ''), back: undefined });
    },
    fetch(url, options) {
      const target = String(url instanceof URL ? url.href : url);
      if (allowedPrivateOrigins.has(target)) {
        (options as { dispatcher?: unknown }).dispatcher = privateNetworkAgent;
      }
      return globalThis.fetch(url, options);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustedProxies.length > 0;

  // oidc-provider renders form_post with an inline script and keeps its built-in handler; the hub
  // captures what the response carries and renders its own page, submitted by a script file.
  const FORM_POST = Symbol('idnav.formPost');
  type WithFormPost = KoaContextWithOIDC & { [FORM_POST]?: Record<string, unknown> };
  provider.on('authorization.success', (ctx, out) => {
    (ctx as WithFormPost)[FORM_POST] = out as Record<string, unknown>;
  });
  provider.on('authorization.error', (ctx, err) => {
    const e = err as { error?: string; error_description?: string };
    (ctx as WithFormPost)[FORM_POST] = { error: e.error, error_description: e.error_description, state: ctx.oidc?.params?.state, iss: config.issuer };
  });
  provider.use(async (koa, next) => {
    await next();
    const ctx = koa as unknown as WithFormPost;
    const out = ctx[FORM_POST];
    const redirectUri = ctx.oidc?.params?.redirect_uri;
    if (!out || ctx.oidc?.responseMode !== 'form_post' || typeof redirectUri !== 'string' || !ctx.response.is('html') || ctx.state.idnavPage) return;
    const inputs = Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]));
    ctx.body = formPostPage({ lang: langOf(ctx), action: redirectUri, inputs });
  });

  // Token endpoint limits. Failed client authentications are counted per client id *and* caller
  // address, so whoever guesses secrets locks out only themselves, never the real client; requests per
  // client are counted only once the client has authenticated, so nobody can spend another client's
  // budget by naming it.
  provider.use(async (koa, next) => {
    if (koa.method !== 'POST' || koa.path !== '/token') return next();
    const ip = deps.proxies.clientIp(koa.req);
    const named = basicClientId(koa.headers.authorization);
    const known = named !== undefined && clients.get(named) ? named : undefined;
    const failureKey = known ? `client:${known}|ip:${ip}` : `ip:${ip}`;
    const refuse = (retryAfterSeconds: number, why: string) => {
      koa.status = 429;
      koa.set('retry-after', String(retryAfterSeconds));
      koa.set('cache-control', 'no-store');
      koa.body = { error: 'temporarily_unavailable', error_description: 'too many requests; try again later' };
      log.warn({ client: known, limit: why }, 'token request refused by a rate limit');
    };
    const failures = await deps.limiter.blocked('failedClientAuthPerClient', failureKey);
    if (!failures.ok) return refuse(failures.retryAfterSeconds, 'failedClientAuthPerClient');
    const volume = known ? await deps.limiter.blocked('tokenRequestsPerClient', `client:${known}`) : { ok: true as const };
    if (!volume.ok) return refuse(volume.retryAfterSeconds, 'tokenRequestsPerClient');
    await next();
    const authenticated = koa.oidc?.client?.clientId;
    if (koa.status === 401 && (koa.body as { error?: string } | undefined)?.error === 'invalid_client') {
      await deps.limiter.failure('failedClientAuthPerClient', failureKey);
    } else if (authenticated) {
      await deps.limiter.failure('tokenRequestsPerClient', `client:${authenticated}`);
    }
  });

  provider.on('grant.success', (ctx) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? '');
    const clientId = ctx.oidc.client?.clientId ?? '';
    deps.metrics.tokensIssued.inc({ grant_type: grantType, client: clientId });
    const accountId = ctx.oidc.entities?.AccessToken?.accountId ?? ctx.oidc.entities?.AuthorizationCode?.accountId ?? ctx.oidc.entities?.RefreshToken?.accountId;
    deps.audit.record({ event: 'token.issued', client: clientId, grantType, account: accountId, ip: deps.proxies.clientIp(ctx.req) });
  });
  provider.on('end_session.success', (ctx) => {
    deps.audit.record({ event: 'logout', client: ctx.oidc.client?.clientId, account: ctx.oidc.session?.accountId, ip: deps.proxies.clientIp(ctx.req) });
  });
  provider.on('server_error', (_ctx, err) => log.error({ err }, 'provider server_error'));
  provider.on('backchannel.error', (_ctx, err, client) => log.warn({ err: err.message, client: client.clientId }, 'back-channel logout failed'));
  provider.on('backchannel.success', (_ctx, client) => log.info({ client: client.clientId }, 'back-channel logout delivered'));
  provider.on('grant.error', (_ctx, err) => log.info({ error: (err as { error?: string }).error ?? err.message }, 'token request refused'));
  return provider;
}

/** The client id of an HTTP Basic `Authorization` header (RFC 6749 2.3.1: form-urlencoded), if any. */
function basicClientId(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
