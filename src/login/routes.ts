/**
 * The interaction routes: method choice, the polling e-ID page and its JSON status API, consent, and the
 * way back to the RP. Every route checks that the browser holds the interaction cookie of the sign-in
 * it names; state-changing requests carry a CSRF token bound to the interaction.
 *
 *   GET  /login/:uid                      entry: chooser, or straight to the method; consent
 *   GET  /login/:uid/eid/:method          the e-ID page (starts an order unless one is running)
 *   GET  /login/:uid/eid/:method/status   JSON status; drives /collect at most once per interval per order
 *   GET  /login/:uid/eid/:method/launch   "this device": records the choice, opens the e-ID app
 *   GET  /login/:uid/eid/:method/return   where the e-ID app returns (nonce checked)
 *   POST /login/:uid/eid/:method/retry    a new order after a failure
 *   POST /login/:uid/choose/:method       chooser submit
 *   GET  /login/:uid/complete             one-shot: finishes the sign-in
 *   GET|POST /login/:uid/abort            back to the RP with access_denied
 *   POST /login/:uid/consent              consent for clients that are not first-party
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import QRCode from 'qrcode';
import type { ClientConfig, HubConfig, TenantConfig } from '../config/types.ts';
import type { EidAdapter, PollingEidAdapter, RedirectBegin, RedirectEidAdapter } from '../contracts/eid.ts';
import type { Identity, Localized } from '../contracts/identity.ts';
import type { JsonObject, Store } from '../contracts/store.ts';
import { ERROR_TABLE, HubError, toHubError, toOidcError, userMessageOf, type HubErrorCode } from '../errors.ts';
import { appendCookie, parseCookies, readBody, readFields, redirect, sendHtml, sendJson, type TrustedProxies } from '../http/util.ts';
import type { Logger } from '../log.ts';
import type { Accounts } from '../provider/accounts.ts';
import { meetingAny } from '../identity/loa.ts';
import { parsePersonalNumber } from '../identity/personnummer.ts';
import {
  CLAIM_COORDINATION_NUMBER,
  CLAIM_PERSONAL_IDENTITY_NUMBER,
  PARAM_AUTHN_PROVIDER,
  PARAM_USER_MESSAGE,
  SCOPE_NATURAL_PERSON_INFO,
  parseUserMessage,
  userMessageIn,
  type ClaimsRequest,
} from '../provider/claims.ts';
import type { ClientRegistry } from '../provider/clients.ts';
import { SESSION_TENANT_NS, sessionTenantKey } from '../provider/provider.ts';
import type { TenantRegistry } from '../tenants/registry.ts';
import type { Audit } from '../ops/audit.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { RateLimiter } from '../ops/ratelimit.ts';
import { T, genericPageTexts, pickLang, type Lang } from './i18n.ts';
import { chooserPage, consentPage, errorPage, formPostPage, pollingPage } from './pages.ts';

export const TX_NS = 'login-tx';
/** The hub gives up on an order the e-ID service never ended (BankID ends its own after about 3 minutes). */
const ORDER_DEADLINE_MS = 4 * 60_000;
/** A poll that fails for a passing reason (5xx, 429, timeout) is retried; this many in a row end the order. */
const MAX_TRANSIENT_POLL_ERRORS = 3;
/** A poll's lease also covers the call itself (up to this long) before the interval starts. */
const POLL_CALL_ALLOWANCE_MS = 15_000;
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['EID_UPSTREAM_UNAVAILABLE', 'EID_UPSTREAM_RATE_LIMITED']);
/** Largest IdP answer accepted at an assertion consumer service (a SAML response is a few kilobytes). */
const MAX_IDP_ANSWER_BYTES = 512 * 1024;
/** The e-ID service cannot be used right now: the page offers the tenant's other methods. */
const UNREACHABLE_CODES: ReadonlySet<string> = TRANSIENT_CODES;

export interface LoginTx extends JsonObject {
  uid: string;
  method: string;
  /** Increases with every new order of this sign-in; leases and updates are per order. */
  seq: number;
  handle: string | null;
  autoStartToken: string | null;
  startedAt: number;
  device: 'this' | 'other';
  state: 'pending' | 'complete' | 'failed';
  hint: string;
  message: { sv: string; en: string };
  code: string | null;
  identity: JsonObject | null;
  returnNonce: string;
  clientId: string;
  tenant: string | null;
  /** Consecutive polls that failed for a passing reason. */
  pollErrors: number;
}

export interface LoginDeps {
  config: HubConfig;
  provider: Provider;
  store: Store;
  clients: ClientRegistry;
  tenants: TenantRegistry;
  accounts: Accounts;
  methods: ReadonlyMap<string, EidAdapter>;
  log: Logger;
  proxies: TrustedProxies;
  csrfSecret: string;
  now(): number;
  metrics: Metrics;
  audit: Audit;
  limiter: RateLimiter;
}

interface Interaction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string } | undefined;
  grantId?: string | undefined;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  uid: string;
  lang: Lang;
  interaction: Interaction;
  client: ClientConfig;
  tenant: TenantConfig | undefined;
}

const json = (req: IncomingMessage) => String(req.headers.accept ?? '').includes('application/json');

export class LoginRoutes {
  readonly #d: LoginDeps;

  constructor(deps: LoginDeps) {
    this.#d = deps;
  }

  #csrf(uid: string): string {
    return createHmac('sha256', this.#d.csrfSecret).update(`csrf|${uid}`).digest('base64url');
  }

  #csrfOk(uid: string, token: string | null | undefined): boolean {
    if (!token) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(this.#csrf(uid));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Handles /login/*; resolves false when the path is not one of ours. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'login' || !parts[1]) return false;
    const uid = parts[1];
    const rest = parts.slice(2);
    const cookies = parseCookies(req);
    const langQuery = url.searchParams.get('lang');
    if (langQuery === 'sv' || langQuery === 'en') appendCookie(res, 'idnav_lang', langQuery, { path: '/', maxAge: 31_536_000, secure: url.protocol === 'https:' });

    let ctx: Ctx;
    try {
      ctx = await this.#context(req, res, url, uid, cookies, langQuery);
    } catch (err) {
      const e = toHubError(err);
      const lang = pickLang(undefined, cookies.idnav_lang, langQuery);
      if (rest.at(-1) === 'status' || json(req)) {
        sendJson(res, ERROR_TABLE[e.code].status, { status: 'failed', code: e.code, message: userMessageOf(e)[lang] });
      } else {
        sendHtml(res, ERROR_TABLE[e.code].status, errorPage({ lang, message: userMessageOf(e), code: e.code }));
      }
      return true;
    }

    try {
      await this.#route(ctx, rest);
    } catch (err) {
      const e = toHubError(err);
      if (e.retryAfterMs && !res.headersSent) res.setHeader('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
      this.#d.log.error({ errorCode: e.code, detail: e.detail, route: rest[0] ?? 'entry' }, 'login route failed');
      if (res.headersSent) {
        res.end();
      } else if (rest.at(-1) === 'status' || json(req)) {
        sendJson(res, ERROR_TABLE[e.code].status, { status: 'failed', code: e.code, message: userMessageOf(e)[ctx.lang], next: this.#abortUrl(uid) });
      } else {
        this.#errorPage(ctx, e);
      }
    }
    return true;
  }

  async #context(req: IncomingMessage, res: ServerResponse, url: URL, uid: string, cookies: Record<string, string>, langQuery: string | null): Promise<Ctx> {
    let interaction: Interaction;
    try {
      interaction = (await this.#d.provider.interactionDetails(req, res)) as unknown as Interaction;
    } catch (err) {
      throw new HubError('TRANSACTION_NOT_FOUND', { detail: `interaction: ${(err as Error).message}` });
    }
    // The interaction cookie names the sign-in this browser started; another uid is someone else's.
    if (interaction.uid !== uid) throw new HubError('TRANSACTION_MISMATCH', { detail: 'interaction cookie belongs to another sign-in' });
    const clientId = String(interaction.params.client_id ?? '');
    const client = this.#d.clients.get(clientId);
    if (!client) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'client no longer configured' });
    const tenant = this.#d.tenants.forClient(client, typeof interaction.params.redirect_uri === 'string' ? interaction.params.redirect_uri : undefined);
    const lang = pickLang(interaction.params.ui_locales, cookies.idnav_lang, langQuery);
    return { req, res, url, uid, lang, interaction, client, tenant };
  }

  async #route(ctx: Ctx, rest: string[]): Promise<void> {
    const method = ctx.req.method ?? 'GET';
    const [a, b, c] = rest;
    if (!a && method === 'GET') return this.#entry(ctx);
    if (a === 'eid' && b && this.#d.methods.get(b)?.kind === 'redirect') {
      if (!c && method === 'GET') return this.#redirectStart(ctx, b);
      if (c === 'done' && method === 'GET') return this.#redirectDone(ctx, b);
    }
    if (a === 'eid' && b && this.#d.methods.get(b)?.kind === 'polling') {
      if (!c && method === 'GET') return this.#pollingPage(ctx, b);
      if (c === 'status' && method === 'GET') return this.#status(ctx, b);
      if (c === 'launch' && method === 'GET') return this.#launch(ctx, b);
      if (c === 'return' && method === 'GET') return this.#return(ctx, b);
      if (c === 'retry' && method === 'POST') return this.#retry(ctx, b);
    }
    if (a === 'choose' && b && method === 'POST') return this.#choose(ctx, b);
    if (a === 'complete' && method === 'GET') return this.#complete(ctx);
    if (a === 'abort' && (method === 'GET' || method === 'POST')) return this.#abort(ctx);
    if (a === 'consent' && method === 'POST') return this.#consent(ctx);
    sendHtml(ctx.res, 404, errorPage({ lang: ctx.lang, message: { sv: 'Sidan finns inte.', en: 'Page not found.' }, back: this.#back(ctx) }));
  }

  // ---- entry, chooser, consent -------------------------------------------------------------------

  #offeredMethods(ctx: Ctx): EidAdapter[] {
    const ids = ctx.tenant?.methods ?? [...this.#d.methods.keys()];
    return ids
      .map((id) => this.#d.methods.get(id))
      .filter((m): m is EidAdapter => !!m)
      // A municipality's staff IdP is never offered to another municipality's services.
      .filter((m) => m.kind !== 'redirect' || m.tenant === undefined || m.tenant === ctx.tenant?.id);
  }

  #claimsParameter(ctx: Ctx): ClaimsRequest | undefined {
    const p = ctx.interaction.params;
    try {
      return typeof p.claims === 'string' ? (JSON.parse(p.claims) as ClaimsRequest) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The person the RP says is signing in: the `value` of the personal identity (or coordination) number
   * in the `claims` parameter. The e-ID order is then restricted to that person.
   */
  #expectedPerson(ctx: Ctx): string | undefined {
    const claims = this.#claimsParameter(ctx);
    for (const where of [claims?.id_token, claims?.userinfo]) {
      for (const name of [CLAIM_PERSONAL_IDENTITY_NUMBER, CLAIM_COORDINATION_NUMBER]) {
        const value = (where?.[name] as { value?: unknown } | null | undefined)?.value;
        const parsed = parsePersonalNumber(value);
        if (parsed) return parsed.normalized;
      }
    }
    return undefined;
  }

  /** Methods offered to this sign-in that can meet the RP's acr requirement, in the tenant's order. */
  #eligibleMethods(ctx: Ctx): EidAdapter[] {
    return this.#offeredMethods(ctx).filter((m) => this.#acceptableAcr(ctx, m.acrValues).length > 0);
  }

  /** Other methods to offer when `methodId` cannot be used right now (e.g. BankID in maintenance). */
  #alternatives(ctx: Ctx, methodId: string): Array<{ id: string; name: string; url: string }> {
    return this.#eligibleMethods(ctx)
      .filter((m) => m.id !== methodId)
      .map((m) => ({ id: m.id, name: m.displayName[ctx.lang], url: `/login/${ctx.uid}/eid/${m.id}` }));
  }

  /**
   * The acr values a sign-in's method may end in, of `offered`: those that meet `acr_values` (a higher
   * level meets a lower one) and, for an essential `acr` claim, exactly one of its values (the provider
   * holds the result to them). Everything offered when the RP requires nothing.
   */
  #acceptableAcr(ctx: Ctx, offered: readonly string[]): string[] {
    const p = ctx.interaction.params;
    const requested = typeof p.acr_values === 'string' ? p.acr_values.split(' ').filter(Boolean) : [];
    let out = meetingAny(offered, requested);
    const acr = this.#claimsParameter(ctx)?.id_token?.acr as { essential?: boolean; value?: string; values?: string[] } | undefined;
    if (acr?.essential) {
      const exact = [acr.value, ...(acr.values ?? [])].filter((v): v is string => typeof v === 'string');
      if (exact.length) out = out.filter((v) => exact.includes(v));
    }
    return out;
  }

  /** Whether the RP restricts the acr at all. */
  #restrictsAcr(ctx: Ctx): boolean {
    const p = ctx.interaction.params;
    if (typeof p.acr_values === 'string' && p.acr_values.trim()) return true;
    const acr = this.#claimsParameter(ctx)?.id_token?.acr as { essential?: boolean } | undefined;
    return acr?.essential === true;
  }


  async #entry(ctx: Ctx): Promise<void> {
    const prompt = ctx.interaction.prompt.name;
    if (prompt === 'consent') return this.#consentEntry(ctx);
    if (prompt !== 'login') {
      return this.#finish(ctx, { error: 'invalid_request', error_description: `unsupported prompt ${prompt}` });
    }
    const methods = this.#eligibleMethods(ctx);
    if (methods.length === 0) {
      return this.#finish(ctx, {
        error: 'unmet_authentication_requirements',
        error_description: 'no sign-in method offered for this service meets the requested authentication context',
      });
    }
    const wanted = ctx.interaction.params[PARAM_AUTHN_PROVIDER];
    if (typeof wanted === 'string' && wanted) {
      const hit = methods.find((m) => m.methodUri === wanted);
      if (!hit) {
        return this.#finish(ctx, { error: 'invalid_request', error_description: 'the requested authnProvider is not offered for this service' });
      }
      return redirect(ctx.res, `/login/${ctx.uid}/eid/${hit.id}`);
    }
    // The chooser is shown even for one method: it names the municipality and the service the person
    // signs in to before an e-ID order (which costs money) is started.
    sendHtml(
      ctx.res,
      200,
      chooserPage({
        lang: ctx.lang,
        tenant: ctx.tenant,
        clientName: this.#clientName(ctx),
        langSwitchUrl: this.#langSwitch(ctx),
        methods: methods.map((m) => ({ id: m.id, name: m.displayName[ctx.lang], url: `/login/${ctx.uid}/choose/${m.id}` })),
        cancelUrl: this.#abortUrl(ctx.uid),
        csrf: this.#csrf(ctx.uid),
      }),
    );
  }

  async #choose(ctx: Ctx, methodId: string): Promise<void> {
    const fields = await readFields(ctx.req);
    if (!this.#csrfOk(ctx.uid, fields.csrf)) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'chooser: bad csrf token' });
    if (!this.#eligibleMethods(ctx).some((m) => m.id === methodId)) throw new HubError('TRANSACTION_MISMATCH', { detail: 'chooser: method not offered' });
    redirect(ctx.res, `/login/${ctx.uid}/eid/${methodId}`);
  }

  async #consentEntry(ctx: Ctx): Promise<void> {
    if (ctx.client.first_party) return this.#grantConsent(ctx);
    const details = ctx.interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    const items = [...(details.missingOIDCScope ?? []).filter((s) => s !== 'openid'), ...(details.missingOIDCClaims ?? [])];
    sendHtml(
      ctx.res,
      200,
      consentPage({
        lang: ctx.lang,
        tenant: ctx.tenant,
        clientName: this.#clientName(ctx),
        items: items.length ? items : ['openid'],
        action: `/login/${ctx.uid}/consent`,
        csrf: this.#csrf(ctx.uid),
        cancelUrl: this.#abortUrl(ctx.uid),
      }),
    );
  }

  async #consent(ctx: Ctx): Promise<void> {
    const fields = await readFields(ctx.req);
    if (!this.#csrfOk(ctx.uid, fields.csrf)) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'consent: bad csrf token' });
    if (ctx.interaction.prompt.name !== 'consent') throw new HubError('TRANSACTION_MISMATCH', { detail: 'consent: no consent prompt' });
    return this.#grantConsent(ctx);
  }

  async #grantConsent(ctx: Ctx): Promise<void> {
    const { Grant } = this.#d.provider;
    const details = ctx.interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const accountId = ctx.interaction.session?.accountId;
    if (!accountId) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'consent without a session' });
    const grant = ctx.interaction.grantId ? await Grant.find(ctx.interaction.grantId) : new Grant({ accountId, clientId: ctx.client.client_id });
    if (!grant) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'grant vanished' });
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await this.#d.provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  // ---- the polling e-ID page ---------------------------------------------------------------------

  /**
   * Rate limits on starting a sign-in: per client IP, and per person for an order that reaches a named
   * person's phone (`boundPerson`; sign-in orders never do: they are started for whoever scans).
   */
  async #limitStart(ctx: Ctx, boundPerson?: string): Promise<void> {
    const checks: Array<[Parameters<RateLimiter['hit']>[0], string]> = [['signinStartsPerIp', this.#d.proxies.clientIp(ctx.req)]];
    // The counter's key holds a keyed digest, not the number.
    if (boundPerson) checks.push(['signinStartsPerPerson', createHmac('sha256', this.#d.csrfSecret).update(`pnr|${boundPerson}`).digest('base64url')]);
    for (const [name, key] of checks) {
      const verdict = await this.#d.limiter.hit(name, key);
      if (!verdict.ok) {
        this.#d.log.warn({ limit: name, client: ctx.client.client_id }, 'sign-in start refused by a rate limit');
        throw new HubError('RATE_LIMITED', { detail: `rate limit ${name}`, retryAfterMs: verdict.retryAfterSeconds * 1000 });
      }
    }
  }

  #labels(ctx: Ctx, method: string) {
    return { method, tenant: ctx.tenant?.id ?? '', client: ctx.client.client_id };
  }

  #adapter(methodId: string): PollingEidAdapter {
    const a = this.#d.methods.get(methodId);
    if (!a || a.kind !== 'polling') throw new HubError('TRANSACTION_NOT_FOUND', { detail: `unknown polling method ${methodId}` });
    return a;
  }

  async #newOrder(ctx: Ctx, adapter: PollingEidAdapter, seq: number): Promise<LoginTx> {
    const returnNonce = randomBytes(16).toString('base64url');
    const base: Pick<LoginTx, 'uid' | 'method' | 'seq' | 'device' | 'identity' | 'returnNonce' | 'clientId' | 'tenant' | 'pollErrors'> = {
      uid: ctx.uid,
      pollErrors: 0,
      method: adapter.id,
      seq,
      device: 'other',
      identity: null,
      returnNonce,
      clientId: ctx.client.client_id,
      tenant: ctx.tenant?.id ?? null,
    };
    try {
      const acceptable = this.#restrictsAcr(ctx) ? this.#acceptableAcr(ctx, adapter.acrValues) : [];
      // Checked at the authorization endpoint already; shown in the person's language.
      const message = parseUserMessage(ctx.interaction.params[PARAM_USER_MESSAGE]);
      // Names and birthdate only for clients that may receive them; the number the hub always needs.
      const names = ctx.client.allowed_scopes.includes('profile') || ctx.client.allowed_scopes.includes(SCOPE_NATURAL_PERSON_INFO);
      const started = await this.#d.metrics.timeUpstream(adapter.id, 'start', () => adapter.start({
        endUserIp: this.#d.proxies.clientIp(ctx.req),
        returnUrl: `${this.#d.config.issuer}/login/${ctx.uid}/eid/${adapter.id}/return?n=${returnNonce}`,
        userAgent: String(ctx.req.headers['user-agent'] ?? ''),
        referringDomain: new URL(this.#d.config.issuer).hostname,
        ...(acceptable.length ? { acceptableAcr: acceptable } : {}),
        ...(message ? { userMessage: { text: userMessageIn(message, ctx.lang), format: message.mimeType === 'text/markdown' ? ('markdown' as const) : ('text' as const) } } : {}),
        // The `claims` parameter is not signed: a number in it must never make an e-ID service push a
        // request to that person's phone. It is checked against the signed-in person in #complete.
        releasableAttributes: names ? ['name', 'birthdate'] : [],
      }));
      this.#d.metrics.signinsStarted.inc(this.#labels(ctx, adapter.id));
      this.#d.log.info({ method: adapter.id, client: ctx.client.client_id, tenant: ctx.tenant?.id }, 'e-ID order started');
      return {
        ...base,
        handle: started.handle,
        autoStartToken: started.autoStartToken ?? null,
        startedAt: started.startedAt,
        state: 'pending',
        hint: 'started',
        message: { ...adapter.initialMessage('other') },
        code: null,
      };
    } catch (err) {
      const e = toHubError(err);
      this.#d.log.warn({ method: adapter.id, errorCode: e.code, detail: e.detail }, 'e-ID order could not start');
      this.#d.metrics.signinsFailed.inc({ ...this.#labels(ctx, adapter.id), reason: e.code });
      return { ...base, handle: null, autoStartToken: null, startedAt: this.#d.now(), state: 'failed', hint: 'error', message: { ...userMessageOf(e) }, code: e.code };
    }
  }

  /** Cancels a still-running order of an earlier sign-in in this browser. */
  async #cancelEarlierOrder(ctx: Ctx): Promise<void> {
    const earlier = parseCookies(ctx.req).idnav_order;
    if (!earlier || earlier === ctx.uid) return;
    const tx = await this.#d.store.consume<LoginTx>(TX_NS, earlier);
    if (tx?.state === 'pending' && tx.handle && this.#d.methods.get(tx.method)?.kind === 'polling') {
      await this.#endOrder(tx);
      this.#d.log.info({ method: tx.method }, 'earlier order in this browser cancelled');
    }
  }

  async #ensureOrder(ctx: Ctx, methodId: string): Promise<LoginTx> {
    const adapter = this.#adapter(methodId);
    const existing = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (existing && existing.method === methodId) return existing;
    await this.#limitStart(ctx);
    if (existing) await this.#endOrder(existing);
    await this.#cancelEarlierOrder(ctx);
    const tx = await this.#newOrder(ctx, adapter, (existing?.seq ?? 0) + 1);
    const created = existing
      ? (await this.#d.store.put(TX_NS, ctx.uid, tx, this.#d.config.tokens.interactionTtl), true)
      : await this.#d.store.create(TX_NS, ctx.uid, tx, this.#d.config.tokens.interactionTtl);
    if (!created) {
      // A concurrent load of the same page won: keep its order and leave none of ours behind.
      if (tx.handle) await adapter.cancel(tx.handle);
      const winner = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
      if (!winner) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'order vanished' });
      return winner;
    }
    appendCookie(ctx.res, 'idnav_order', ctx.uid, { path: '/login', secure: ctx.url.protocol === 'https:' });
    return tx;
  }

  async #endOrder(tx: LoginTx): Promise<void> {
    const adapter = this.#d.methods.get(tx.method);
    // A redirect method's pending state is only a request id: nothing to cancel at the IdP.
    if (tx.state === 'pending' && tx.handle && adapter?.kind === 'polling') await adapter.cancel(tx.handle);
  }

  /** Advances the order: at most one poll per interval per order across all processes (a Store lease). */
  async #advance(ctx: Ctx, tx: LoginTx): Promise<LoginTx> {
    if (tx.state !== 'pending' || !tx.handle) return tx;
    const adapter = this.#adapter(tx.method);
    const now = this.#d.now();
    let next: Partial<LoginTx> | undefined;
    if (now - tx.startedAt > ORDER_DEADLINE_MS) {
      await adapter.cancel(tx.handle);
      next = { state: 'failed', code: 'EID_EXPIRED', hint: 'hubDeadline', message: { ...ERROR_TABLE.EID_EXPIRED.message } };
    } else if (await this.#d.store.acquireLease(`poll:${ctx.uid}:${tx.seq}`, adapter.pollIntervalMs + POLL_CALL_ALLOWANCE_MS)) {
      try {
        const handle = tx.handle;
        const result = await this.#d.metrics.timeUpstream(adapter.id, 'poll', () => adapter.poll(handle, { device: tx.device }));
        this.#d.metrics.eidHints.inc({ method: adapter.id, hint: result.status === 'complete' ? 'complete' : result.hint });
        const errors = (tx.pollErrors ?? 0) + 1;
        if (result.status === 'pending') {
          next = { hint: result.hint, message: { ...result.message }, pollErrors: 0 };
        } else if (result.status === 'failed' && result.hint === 'error' && TRANSIENT_CODES.has(result.code) && errors < MAX_TRANSIENT_POLL_ERRORS) {
          // The order itself may well be fine: keep it and ask again at the next interval.
          this.#d.log.warn({ method: tx.method, errorCode: result.code, attempt: errors }, 'e-ID poll failed; will retry');
          next = { pollErrors: errors };
        } else if (result.status === 'failed') {
          // An order we stop following must not stay pending at the e-ID service.
          if (result.hint === 'error') await adapter.cancel(tx.handle);
          next = { state: 'failed', code: result.code, hint: result.hint, message: { ...result.message } };
        } else {
          next = { state: 'complete', hint: 'complete', identity: result.identity as unknown as JsonObject, message: { sv: T.signedIn.sv, en: T.signedIn.en } };
        }
        if (next.state) {
          this.#d.log.info({ method: tx.method, outcome: result.status, hint: result.status === 'failed' ? result.hint : undefined }, 'e-ID order ended');
          if (next.state === 'failed') this.#d.metrics.signinsFailed.inc({ ...this.#labels(ctx, tx.method), reason: String(next.code) });
        }
      } catch (err) {
        const e = toHubError(err);
        this.#d.log.warn({ method: tx.method, errorCode: e.code, detail: e.detail }, 'e-ID poll failed');
        await adapter.cancel(tx.handle);
        next = { state: 'failed', code: e.code, hint: 'error', message: { ...userMessageOf(e) } };
      } finally {
        // The interval counts from the end of this call: however long it took to reach the e-ID service,
        // the next poll of this order (by any process) arrives there at least one interval later.
        await this.#d.store.holdLease(`poll:${ctx.uid}:${tx.seq}`, adapter.pollIntervalMs);
      }
    }
    if (!next) return tx;
    const patch = next;
    return this.#d.store.update<LoginTx>(TX_NS, ctx.uid, (cur) =>
      cur.seq === tx.seq && cur.state === 'pending' ? ({ ...cur, ...patch } as LoginTx) : undefined,
    );
  }

  /** The status JSON. It carries the QR payload only: the page's script draws the code (qr.js). */
  #view(ctx: Ctx, tx: LoginTx) {
    const adapter = this.#adapter(tx.method);
    const base = `/login/${ctx.uid}/eid/${tx.method}`;
    const view: Record<string, unknown> = { status: tx.state, hintCode: tx.hint, message: tx.message[ctx.lang] };
    if (tx.state === 'pending' && tx.handle) {
      const qr = adapter.qrFrame(tx.handle, this.#d.now());
      if (qr) view.qr = qr;
    } else if (tx.state === 'complete') {
      view.next = `/login/${ctx.uid}/complete?t=${this.#csrf(ctx.uid)}`;
    } else if (tx.state === 'failed') {
      view.code = tx.code;
      view.retry = `${base}/retry?t=${this.#csrf(ctx.uid)}`;
      view.next = this.#abortUrl(ctx.uid);
      // The e-ID service is down or in maintenance: the person may still sign in another way.
      if (tx.code && UNREACHABLE_CODES.has(tx.code)) {
        const alternatives = this.#alternatives(ctx, tx.method);
        if (alternatives.length) view.alternatives = alternatives;
      }
    }
    return view;
  }

  async #pollingPage(ctx: Ctx, methodId: string): Promise<void> {
    if (ctx.interaction.prompt.name !== 'login') return redirect(ctx.res, `/login/${ctx.uid}`);
    if (!this.#eligibleMethods(ctx).some((m) => m.id === methodId)) throw new HubError('TRANSACTION_MISMATCH', { detail: 'method not offered for this client' });
    let tx = await this.#ensureOrder(ctx, methodId);
    tx = await this.#advance(ctx, tx);
    if (tx.state === 'complete') return redirect(ctx.res, `/login/${ctx.uid}/complete?t=${this.#csrf(ctx.uid)}`);
    const adapter = this.#adapter(methodId);
    const view = this.#view(ctx, tx);
    // The page's first frame is drawn here, so that the page works without script too (it then
    // reloads itself). One byte mode segment, as qr.js encodes it, so the later frames keep the size.
    const qrImage =
      typeof view.qr === 'string'
        ? `data:image/svg+xml;base64,${Buffer.from(await QRCode.toString([{ data: Buffer.from(view.qr), mode: 'byte' }], { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })).toString('base64')}`
        : undefined;
    const devPrefix = `/dev/${methodId}-app`;
    const devAppUrl = this.#d.config.mode === 'dev' && this.#d.config.dev.forward[devPrefix] && tx.state === 'pending' ? `${devPrefix}/` : undefined;
    sendHtml(
      ctx.res,
      200,
      pollingPage({
        lang: ctx.lang,
        tenant: ctx.tenant,
        clientName: this.#clientName(ctx),
        langSwitchUrl: this.#langSwitch(ctx, `/login/${ctx.uid}/eid/${methodId}`),
        title: ctx.lang === 'sv' ? `Logga in med ${adapter.displayName.sv}` : `Sign in with ${adapter.displayName.en}`,
        methodName: adapter.displayName,
        texts: adapter.pageTexts ?? genericPageTexts(adapter.displayName),
        alternatives: view.alternatives as Array<{ id: string; name: string; url: string }> | undefined,
        statusUrl: `/login/${ctx.uid}/eid/${methodId}/status`,
        status: tx.state,
        message: tx.message[ctx.lang],
        qrImage,
        qr: view.qr as string | undefined,
        launchUrl: tx.autoStartToken ? `/login/${ctx.uid}/eid/${methodId}/launch?t=${this.#csrf(ctx.uid)}` : undefined,
        cancelUrl: this.#abortUrl(ctx.uid),
        retryUrl: view.retry as string | undefined,
        devAppUrl,
      }),
    );
  }

  // ---- redirect e-IDs (SAML IdPs) ----------------------------------------------------------------

  #redirectAdapter(methodId: string): RedirectEidAdapter {
    const a = this.#d.methods.get(methodId);
    if (!a || a.kind !== 'redirect') throw new HubError('TRANSACTION_NOT_FOUND', { detail: `unknown redirect method ${methodId}` });
    return a;
  }

  /** The hub's endpoint where an IdP answers for this method (a SAML assertion consumer service). */
  static returnPath(methodId: string): string {
    const [kind, name] = methodId.includes(':') ? methodId.split(':', 2) : ['eid', methodId];
    return `/login/${kind}/${name}/acs`;
  }

  #bindCookie(uid: string): string {
    return `idnav_b_${uid}`;
  }

  /** Sends the person to the IdP: a redirect or an auto-submitted form. */
  async #redirectStart(ctx: Ctx, methodId: string): Promise<void> {
    if (ctx.interaction.prompt.name !== 'login') return redirect(ctx.res, `/login/${ctx.uid}`);
    if (!this.#eligibleMethods(ctx).some((m) => m.id === methodId)) throw new HubError('TRANSACTION_MISMATCH', { detail: 'method not offered for this client' });
    const adapter = this.#redirectAdapter(methodId);
    await this.#limitStart(ctx);
    const existing = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (existing) await this.#endOrder(existing);
    await this.#cancelEarlierOrder(ctx);
    const p = ctx.interaction.params;
    const prompts = typeof p.prompt === 'string' ? p.prompt.split(' ') : [];
    const acceptable = this.#restrictsAcr(ctx) ? this.#acceptableAcr(ctx, adapter.acrValues) : [];
    let begun: RedirectBegin;
    try {
      begun = await this.#d.metrics.timeUpstream(methodId, 'begin', () => adapter.begin({
        returnUrl: `${this.#d.config.issuer}${LoginRoutes.returnPath(methodId)}`,
        relayState: ctx.uid,
        forceAuthn: prompts.includes('login') || p.max_age !== undefined,
        ...(acceptable.length ? { acceptableAcr: acceptable } : {}),
        lang: ctx.lang,
      }));
    } catch (err) {
      const e = toHubError(err);
      this.#d.log.warn({ method: methodId, errorCode: e.code, detail: e.detail }, 'redirect sign-in could not start');
      this.#d.metrics.signinsFailed.inc({ ...this.#labels(ctx, methodId), reason: e.code });
      return this.#redirectFailedPage(ctx, e.code, userMessageOf(e));
    }
    const bind = randomBytes(16).toString('base64url');
    const tx: LoginTx = {
      uid: ctx.uid,
      method: methodId,
      seq: (existing?.seq ?? 0) + 1,
      handle: begun.state,
      autoStartToken: null,
      startedAt: this.#d.now(),
      device: 'other',
      state: 'pending',
      hint: 'redirected',
      message: { sv: '', en: '' },
      code: null,
      identity: null,
      returnNonce: bind,
      clientId: ctx.client.client_id,
      tenant: ctx.tenant?.id ?? null,
      pollErrors: 0,
    };
    await this.#d.store.put(TX_NS, ctx.uid, tx, this.#d.config.tokens.interactionTtl);
    // The answer arrives by a cross-site POST without our cookies; this one ties it back to this browser.
    appendCookie(ctx.res, this.#bindCookie(ctx.uid), bind, { path: '/login', secure: ctx.url.protocol === 'https:', maxAge: this.#d.config.tokens.interactionTtl });
    this.#d.metrics.signinsStarted.inc(this.#labels(ctx, methodId));
    this.#d.log.info({ method: methodId, client: ctx.client.client_id, tenant: ctx.tenant?.id, binding: begun.binding }, 'redirect sign-in started');
    if (begun.binding === 'redirect') return redirect(ctx.res, begun.url, 302);
    sendHtml(ctx.res, 200, formPostPage({ lang: ctx.lang, action: begun.url, inputs: begun.fields }));
  }

  /**
   * The IdP's answer (POST to the assertion consumer service). It arrives without the interaction
   * cookie, so it is matched by RelayState to the login transaction in the Store (any process), checked
   * by the adapter against that transaction's request, and the browser continues at `done`, where the
   * bind cookie proves it is the browser that started the sign-in.
   */
  async handleReturn(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const m = /^\/login\/([a-z0-9]+)\/([a-z0-9][a-z0-9_-]*)\/acs$/.exec(url.pathname);
    if (!m) return false;
    const methodId = `${m[1]}:${m[2]}`;
    const adapter = this.#d.methods.get(methodId);
    const lang = pickLang(undefined, parseCookies(req).idnav_lang, null);
    const fail = (status: number, code: HubErrorCode, detail: string) => {
      this.#d.log.warn({ method: methodId, errorCode: code, detail }, 'identity provider answer refused');
      sendHtml(res, status, errorPage({ lang, message: ERROR_TABLE[code].message, code }));
      return true;
    };
    if (!adapter || adapter.kind !== 'redirect' || LoginRoutes.returnPath(methodId) !== url.pathname) return false;
    if (req.method !== 'POST') return fail(405, 'TRANSACTION_NOT_FOUND', `${req.method} to the assertion consumer service`);
    let fields: Record<string, string>;
    try {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded') return fail(415, 'EID_RESPONSE_INVALID', `content type ${type}`);
      fields = Object.fromEntries(new URLSearchParams(await readBody(req, MAX_IDP_ANSWER_BYTES)));
    } catch {
      return fail(413, 'EID_RESPONSE_INVALID', 'answer larger than the limit');
    }
    const uid = fields.RelayState ?? '';
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(uid)) return fail(400, 'TRANSACTION_NOT_FOUND', 'unsolicited answer (no RelayState of ours)');
    const tx = await this.#d.store.get<LoginTx>(TX_NS, uid);
    if (!tx || tx.method !== methodId) return fail(400, 'TRANSACTION_NOT_FOUND', 'no sign-in waits for this answer');
    if (tx.state !== 'pending' || !tx.handle) return fail(409, 'TRANSACTION_REPLAYED', 'the sign-in already has an answer');
    let patch: Partial<LoginTx>;
    try {
      const state = tx.handle;
      const identity = await this.#d.metrics.timeUpstream(methodId, 'complete', () =>
        adapter.complete({ url: `${this.#d.config.issuer}${url.pathname}`, fields, state }),
      );
      if (identity.staff && identity.staff.tenant !== tx.tenant) {
        throw new HubError('TENANT_MISMATCH', { detail: `staff of ${identity.staff.tenant} signing in to a client of ${tx.tenant ?? 'no tenant'}` });
      }
      patch = { state: 'complete', hint: 'complete', identity: identity as unknown as JsonObject, message: { sv: T.signedIn.sv, en: T.signedIn.en } };
      this.#d.log.info({ method: methodId, acr: identity.acr }, 'identity provider answer accepted');
    } catch (err) {
      const e = toHubError(err);
      this.#d.log.warn({ method: methodId, errorCode: e.code, detail: e.detail }, 'identity provider answer refused');
      // A second answer to a request already answered (a double submit) must not undo the first.
      if (e.code === 'TRANSACTION_REPLAYED') return fail(409, 'TRANSACTION_REPLAYED', 'the request was already answered');
      patch = { state: 'failed', hint: 'error', code: e.code, message: { ...userMessageOf(e) } };
      this.#d.metrics.signinsFailed.inc({ method: methodId, tenant: tx.tenant ?? '', client: tx.clientId, reason: e.code });
    }
    const seq = tx.seq;
    try {
      await this.#d.store.update<LoginTx>(TX_NS, uid, (cur) => (cur.seq === seq && cur.state === 'pending' ? ({ ...cur, ...patch } as LoginTx) : undefined));
    } catch (err) {
      // The sign-in ended meanwhile (cancelled in another tab, expired).
      return fail(400, 'TRANSACTION_NOT_FOUND', `the sign-in ended before its answer was stored: ${(err as Error).message}`);
    }
    redirect(res, `/login/${uid}/eid/${methodId}/done`);
    return true;
  }

  async #redirectDone(ctx: Ctx, methodId: string): Promise<void> {
    const tx = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (!tx || tx.method !== methodId) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'done: no sign-in with this method' });
    const bind = parseCookies(ctx.req)[this.#bindCookie(ctx.uid)] ?? '';
    if (bind.length !== tx.returnNonce.length || !timingSafeEqual(Buffer.from(bind), Buffer.from(tx.returnNonce))) {
      throw new HubError('TRANSACTION_MISMATCH', { detail: 'done: the answer belongs to a sign-in started in another browser' });
    }
    appendCookie(ctx.res, this.#bindCookie(ctx.uid), '', { path: '/login', maxAge: 0, secure: ctx.url.protocol === 'https:' });
    if (tx.state === 'complete') return redirect(ctx.res, `/login/${ctx.uid}/complete?t=${this.#csrf(ctx.uid)}`);
    if (tx.state === 'failed') return this.#redirectFailedPage(ctx, (tx.code as HubErrorCode | null) ?? 'EID_FAILED', tx.message);
    throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'done: no answer from the identity provider yet' });
  }

  /** A failed redirect sign-in: the message, "try again" (back to the choice) and the way back to the RP. */
  #redirectFailedPage(ctx: Ctx, code: HubErrorCode, message: Localized): void {
    sendHtml(
      ctx.res,
      200,
      errorPage({
        lang: ctx.lang,
        tenant: ctx.tenant,
        message,
        code,
        retry: { url: `/login/${ctx.uid}`, label: T.tryAgain[ctx.lang] },
        back: this.#back(ctx),
      }),
    );
  }

  async #status(ctx: Ctx, methodId: string): Promise<void> {
    let tx = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (!tx || tx.method !== methodId) throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'no order for this sign-in' });
    tx = await this.#advance(ctx, tx);
    sendJson(ctx.res, 200, this.#view(ctx, tx));
  }

  async #launch(ctx: Ctx, methodId: string): Promise<void> {
    if (!this.#csrfOk(ctx.uid, ctx.url.searchParams.get('t'))) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'launch: bad csrf token' });
    const tx = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (!tx || tx.method !== methodId || tx.state !== 'pending' || !tx.autoStartToken) return redirect(ctx.res, `/login/${ctx.uid}/eid/${methodId}`);
    const updated = await this.#d.store.update<LoginTx>(TX_NS, ctx.uid, (cur) =>
      cur.seq === tx.seq && cur.state === 'pending' ? { ...cur, device: 'this', message: { ...this.#adapter(methodId).initialMessage('this') } } : undefined,
    );
    const target = this.#adapter(methodId).launchUrl(updated.autoStartToken ?? tx.autoStartToken, ctx.req.headers['user-agent']);
    if (!target) return redirect(ctx.res, `/login/${ctx.uid}/eid/${methodId}`);
    redirect(ctx.res, target, 302);
  }

  async #return(ctx: Ctx, methodId: string): Promise<void> {
    const tx = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    const nonce = ctx.url.searchParams.get('n') ?? '';
    const ok = !!tx && tx.method === methodId && nonce.length === tx.returnNonce.length && timingSafeEqual(Buffer.from(nonce), Buffer.from(tx.returnNonce));
    if (!ok) throw new HubError('TRANSACTION_MISMATCH', { detail: 'return: nonce does not match this browser\'s order' });
    return this.#pollingPage(ctx, methodId);
  }

  async #retry(ctx: Ctx, methodId: string): Promise<void> {
    const fields = await readFields(ctx.req);
    if (!this.#csrfOk(ctx.uid, ctx.url.searchParams.get('t') ?? fields.csrf)) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'retry: bad csrf token' });
    // Two retries at once would start two orders; the lease lets one through.
    if (await this.#d.store.acquireLease(`retry:${ctx.uid}`, 2000)) {
      await this.#limitStart(ctx);
      const old = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
      if (old) await this.#endOrder(old);
      const tx = await this.#newOrder(ctx, this.#adapter(methodId), (old?.seq ?? 0) + 1);
      await this.#d.store.put(TX_NS, ctx.uid, tx, this.#d.config.tokens.interactionTtl);
      if (json(ctx.req)) return sendJson(ctx.res, 200, this.#view(ctx, tx));
    } else if (json(ctx.req)) {
      const tx = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
      if (tx) return sendJson(ctx.res, 200, this.#view(ctx, tx));
    }
    redirect(ctx.res, `/login/${ctx.uid}/eid/${methodId}`);
  }

  // ---- the end of a sign-in ----------------------------------------------------------------------

  async #complete(ctx: Ctx): Promise<void> {
    if (!this.#csrfOk(ctx.uid, ctx.url.searchParams.get('t'))) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'complete: bad csrf token' });
    const peek = await this.#d.store.get<LoginTx>(TX_NS, ctx.uid);
    if (!peek) throw new HubError('TRANSACTION_REPLAYED', { detail: 'complete: no completed order (already used?)' });
    if (peek.state !== 'complete') return redirect(ctx.res, `/login/${ctx.uid}/eid/${peek.method}`);
    const tx = await this.#d.store.consume<LoginTx>(TX_NS, ctx.uid);
    if (!tx || tx.state !== 'complete' || !tx.identity) throw new HubError('TRANSACTION_REPLAYED', { detail: 'complete: lost the race for a one-shot completion' });
    const identity = tx.identity as unknown as Identity;
    const expected = this.#expectedPerson(ctx);
    if (expected && identity.subject !== expected) {
      // The RP said who should sign in (a `value` in the claims parameter): someone else did.
      throw new HubError('EID_FAILED', {
        detail: 'the person who signed in is not the one the relying party asked for',
        userMessage: {
          sv: 'Du loggade in som en annan person än den tjänsten väntade sig. Logga in med din egen e-legitimation.',
          en: 'You signed in as another person than the service expected. Sign in with your own e-ID.',
        },
      });
    }
    if (identity.staff && identity.staff.tenant !== ctx.tenant?.id) {
      // A staff IdP vouches for its own municipality's staff, for that municipality's services only.
      throw new HubError('TENANT_MISMATCH', { detail: `staff of ${identity.staff.tenant} signing in to a client of ${ctx.tenant?.id ?? 'no tenant'}` });
    }
    const accountId = await this.#d.accounts.record(identity, { clientId: ctx.client.client_id, tenant: ctx.tenant?.id });
    if (!this.#d.config.sso.acrossTenants && ctx.tenant) {
      await this.#d.store.put(SESSION_TENANT_NS, sessionTenantKey(accountId, identity.authTime), ctx.tenant.id, this.#d.config.tokens.sessionTtl);
    }
    this.#d.log.info({ method: identity.method, acr: identity.acr, client: ctx.client.client_id, tenant: ctx.tenant?.id }, 'sign-in completed');
    this.#d.metrics.signinsCompleted.inc(this.#labels(ctx, tx.method));
    this.#d.audit.record({
      event: 'signin.completed',
      tenant: ctx.tenant?.id,
      client: ctx.client.client_id,
      method: identity.method,
      acr: identity.acr,
      result: 'success',
      subjectType: identity.subjectType,
      subject: identity.subject,
      account: accountId,
      ip: this.#d.proxies.clientIp(ctx.req),
    });
    await this.#d.provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId, acr: identity.acr, amr: identity.amr, ts: identity.authTime, remember: true } },
      { mergeWithLastSubmission: false },
    );
  }

  async #abort(ctx: Ctx): Promise<void> {
    const fields = ctx.req.method === 'POST' ? await readFields(ctx.req) : {};
    if (!this.#csrfOk(ctx.uid, ctx.url.searchParams.get('t') ?? fields.csrf)) throw new HubError('TRANSACTION_LINK_INVALID', { detail: 'abort: bad csrf token' });
    const tx = await this.#d.store.consume<LoginTx>(TX_NS, ctx.uid);
    if (tx) await this.#endOrder(tx);
    const code = (tx?.code as HubErrorCode | null) ?? 'EID_USER_CANCELLED';
    this.#d.log.info({ client: ctx.client.client_id, errorCode: code }, 'sign-in abandoned');
    this.#d.audit.record({
      event: 'signin.ended',
      tenant: ctx.tenant?.id,
      client: ctx.client.client_id,
      method: tx?.method,
      result: tx?.code ? 'failed' : 'cancelled',
      reason: code,
      ip: this.#d.proxies.clientIp(ctx.req),
    });
    // The person chose to go back. When the e-ID service could not be reached, the RP learns that
    // (temporarily_unavailable); every other way back is the person's decision (access_denied).
    const mapped = toOidcError(new HubError(code));
    await this.#finish(
      ctx,
      mapped.error === 'temporarily_unavailable' ? mapped : { error: 'access_denied', error_description: 'The end-user cancelled the sign-in' },
    );
  }

  async #finish(ctx: Ctx, result: { error: string; error_description: string }): Promise<void> {
    await this.#d.provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }

  // ---- helpers -----------------------------------------------------------------------------------

  #abortUrl(uid: string): string {
    return `/login/${uid}/abort?t=${this.#csrf(uid)}`;
  }

  #clientName(ctx: Ctx): string {
    return ctx.client.client_name ?? ctx.client.client_id;
  }

  #langSwitch(ctx: Ctx, path = `/login/${ctx.uid}`): string {
    return `${path}?lang=${ctx.lang === 'sv' ? 'en' : 'sv'}`;
  }

  #back(ctx: Ctx) {
    return { url: this.#abortUrl(ctx.uid), label: `${T.backTo[ctx.lang]} ${this.#clientName(ctx)}`, post: true };
  }

  #errorPage(ctx: Ctx, e: HubError): void {
    const message: Localized = userMessageOf(e);
    sendHtml(ctx.res, ERROR_TABLE[e.code].status, errorPage({ lang: ctx.lang, tenant: ctx.tenant, message, code: e.code, back: this.#back(ctx) }));
  }
}
