/**
 * The composition root: config -> store -> secrets -> adapters -> provider -> HTTP. No side effects at
 * import; `createHub` builds everything, `listen` opens the port, `close` releases it all.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type Provider from 'oidc-provider';
import { adapterModules, registryModules } from '../adapters/index.ts';
import { loadClients } from './config/load.ts';
import type { HubConfig } from './config/types.ts';
import type { EidAdapter } from './contracts/eid.ts';
import type { Store } from './contracts/store.ts';
import { HubError } from './errors.ts';
import { forward } from './http/forward.ts';
import { TrustedProxies, sendHtml, sendJson } from './http/util.ts';
import { pickLang } from './login/i18n.ts';
import { tenantCss } from './login/html.ts';
import { errorPage } from './login/pages.ts';
import { LoginRoutes } from './login/routes.ts';
import { createLogger, type Logger } from './log.ts';
import { createAudit, type Audit } from './ops/audit.ts';
import { newRequestId, requestContext } from './ops/context.ts';
import { Metrics, instrumentStore } from './ops/metrics.ts';
import { RateLimiter } from './ops/ratelimit.ts';
import { readiness } from './ops/readiness.ts';
import { certificateSources, readCertificates } from './ops/certificates.ts';
import { Registry } from './registry/registry.ts';
import { Accounts } from './provider/accounts.ts';
import { ClientRegistry } from './provider/clients.ts';
import { BackchannelRetry, type BackchannelRetryOptions } from './provider/backchannel-retry.ts';
import { createProvider } from './provider/provider.ts';
import { loadSecrets } from './provider/secrets.ts';
import { createStore } from './store/index.ts';
import { TenantRegistry } from './tenants/registry.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface HubOptions {
  log?: Logger;
  /** Extra handlers mounted under a path prefix (the dev launcher mounts the demo RPs). */
  mounts?: Array<{ prefix: string; handler: Handler }>;
  now?: () => number;
  /** Watch the clients directory and reload on change (default true). */
  watchClients?: boolean;
  /** Audit sink; default from config (`audit`). */
  audit?: Audit;
  /** Timing of back-channel logout retries (tests shorten it). */
  backchannelRetry?: BackchannelRetryOptions;
}

export interface Hub {
  config: HubConfig;
  provider: Provider;
  store: Store;
  log: Logger;
  audit: Audit;
  metrics: Metrics;
  /** Registry enrichment, when a registry is configured (its stats count registry calls). */
  registry: Registry | undefined;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  listen(port?: number, host?: string): Promise<{ server: Server; url: string }>;
  /** Re-reads the client files (SIGHUP); resolves true when the new set was taken into use. */
  reload(): Promise<boolean>;
  /**
   * Answers /readyz with 503 for `drainMs` while serving on, then stops accepting requests, lets those in
   * progress finish for up to `graceMs`, and releases everything.
   */
  close(graceMs?: number, drainMs?: number): Promise<void>;
}

const ASSETS_DIR = join(import.meta.dirname, 'login', 'assets');
const ASSET_TYPES: Record<string, string> = {
  'idnav.css': 'text/css; charset=utf-8',
  'login.js': 'text/javascript; charset=utf-8',
  'qr.js': 'text/javascript; charset=utf-8',
  'autosubmit.js': 'text/javascript; charset=utf-8',
};

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // No inline script or style anywhere; QR codes are data: images.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
};

export async function createHub(config: HubConfig, options: HubOptions = {}): Promise<Hub> {
  const log = options.log ?? createLogger({ level: config.logging.level });
  const now = options.now ?? Date.now;
  if (config.mode === 'dev') log.warn('dev mode: generated secrets, simulators and demo relying parties; never use it in production');

  const rawStore = createStore(config.store.type === 'redis' ? { type: 'redis', url: config.store.url, keyPrefix: config.store.keyPrefix } : { type: 'memory' });
  // Registry stats are read lazily: the registry is built below.
  let registryRef: Registry | undefined;
  const metrics = new Metrics({ registryStats: () => registryRef?.stats() ?? { calls: 0, cacheHits: 0, coalesced: 0, withheld: 0, failures: 0 } });
  const store = instrumentStore(rawStore, metrics);
  try {
    await store.ping();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw new HubError('STORE_UNAVAILABLE', { detail: `store ${config.store.type} unreachable: ${(err as Error).message}` });
  }
  if (store.kind === 'memory') log.info('memory store: login and token state lives in this process only');

  const secrets = loadSecrets(config);
  const tenants = new TenantRegistry(config.tenants);
  const clients = new ClientRegistry(config.clients, () => loadClients({ hub: config }), log, config.issuer);
  if (options.watchClients !== false) clients.watch(join(config.configDir, 'clients'));

  const methods = new Map<string, EidAdapter>();
  for (const m of config.methods) {
    const module = adapterModules[m.type];
    if (!module) throw new HubError('CONFIG_INVALID', { detail: `methods.${m.id}: unknown type ${m.type}` });
    const checked = module.validate(m.config);
    if (!checked.ok) throw new HubError('CONFIG_INVALID', { detail: checked.problems.map(([p, r]) => `methods.${m.id}.config.${p}: ${r}`).join('; ') });
    methods.set(m.id, await module.create(m.id, checked.config, { baseDir: config.configDir, now, log, issuer: config.issuer, store }));
  }

  const { registry, closeRegistry } = await createRegistry(config, { now, log });
  registryRef = registry;
  const audit = options.audit ?? createAudit(config.audit);

  const accounts = new Accounts(
    store,
    secrets.subjectSecret,
    Math.max(config.tokens.refreshTokenTtl, config.tokens.sessionTtl, config.tokens.grantTtl),
    config.evidence.retentionDays,
  );
  const acrValues = [...new Set([...methods.values()].flatMap((m) => m.acrValues))];
  const limiter = new RateLimiter(store, config.rateLimits, metrics);
  const proxies = new TrustedProxies(config.trustedProxies);
  const provider = createProvider({ config, secrets, store, clients, tenants, accounts, log, audit, metrics, limiter, proxies, ...(registry ? { registry } : {}), acrValues });
  // A back-channel logout a relying party did not take is tried again, from the Store's queue.
  const backchannelRetry = new BackchannelRetry({ store, provider, audit, log }, { now, ...options.backchannelRetry });
  provider.on('backchannel.error', (_ctx, _err, client, accountId, sid) => {
    void backchannelRetry.enqueue(client.clientId, String(accountId), sid === undefined ? undefined : String(sid)).catch((err: unknown) => log.error({ err }, 'back-channel logout could not be queued for a retry'));
  });
  backchannelRetry.start();
  const login = new LoginRoutes({ config, provider, store, clients, tenants, accounts, methods, log, proxies, csrfSecret: secrets.cookieKeys[0]!, now, metrics, audit, limiter });
  const metricsAllowed = new TrustedProxies(config.ops.metricsAllowFrom);
  // The caller's own address: behind a trusted load balancer, the one it forwarded (the balancer's own
  // private address must not open the operations endpoints to the internet).
  const opsCaller = (req: IncomingMessage) => metricsAllowed.trusts(proxies.clientIp(req));
  // Admin changes are audited: the key set this process signs with, and every client reload.
  audit.record({
    event: 'hub.started',
    mode: config.mode,
    signingKeys: secrets.signingKeys.map((k) => `${k.kid}:${k.alg}:${k.status}`),
    tenants: config.tenants.length,
    clients: config.clients.length,
    methods: config.methods.map((m) => m.id),
  });
  clients.onChange(() => audit.record({ event: 'config.clients.changed', clients: clients.all().map((c) => c.client_id) }));
  const certificates = await certificatesOf(config, log);
  metrics.setCertificates(certificates);
  const ready = readiness({ store, methods, registry, secrets, log, certificates: () => certificates });
  const providerCallback = provider.callback();
  const mounts = [...(options.mounts ?? [])];

  async function assets(res: ServerResponse, path: string): Promise<boolean> {
    const name = path.slice('/assets/'.length);
    if (ASSET_TYPES[name]) {
      const body = await readFile(join(ASSETS_DIR, name));
      res.writeHead(200, { 'content-type': ASSET_TYPES[name], 'cache-control': 'public, max-age=300' });
      res.end(body);
      return true;
    }
    const m = /^tenant\/([a-z0-9-]+)(\.css|\/logo)$/.exec(name);
    const tenant = m ? tenants.get(m[1]!) : undefined;
    if (!m || !tenant) return false;
    if (m[2] === '.css') {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' });
      res.end(tenantCss(tenant));
      return true;
    }
    if (!tenant.branding.logoFile) return false;
    const type = tenant.branding.logoFile.endsWith('.svg') ? 'image/svg+xml' : 'image/png';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=300' });
    res.end(await readFile(tenant.branding.logoFile));
    return true;
  }

  function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fromProxy = proxies.trusts(req.socket.remoteAddress ?? '') ? req.headers['x-request-id'] : undefined;
    const requestId = newRequestId(typeof fromProxy === 'string' ? fromProxy : undefined);
    res.setHeader('x-request-id', requestId);
    return requestContext.run({ requestId }, () => handleRequest(req, res));
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', config.issuer);
    } catch {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'malformed request target' });
      return;
    }
    // X-Forwarded-* only counts from configured proxies.
    if (!proxies.trusts(req.socket.remoteAddress ?? '')) {
      delete req.headers['x-forwarded-for'];
      delete req.headers['x-forwarded-proto'];
      delete req.headers['x-forwarded-host'];
    }
    const path = url.pathname;
    try {
      for (const m of mounts) {
        if (path === m.prefix || path.startsWith(`${m.prefix}/`)) {
          await m.handler(req, res, url);
          return;
        }
      }
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      // Behind TLS (an https issuer: required in production), browsers are told to stay on https.
      if (httpsIssuer) res.setHeader('strict-transport-security', 'max-age=31536000');
      if (path.startsWith('/assets/') && req.method === 'GET' && (await assets(res, path))) return;
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz' && req.method === 'GET') {
        // While shutting down, the load balancer is told to stop sending new requests here.
        if (closing) return sendJson(res, 503, { ready: false, status: 'shutting-down' }, { 'cache-control': 'no-store' });
        const r = await ready();
        // The checks name hosts and files: only the operations networks see them.
        const body = opsCaller(req) ? r : { ready: r.ready, status: r.status };
        return sendJson(res, r.ready ? 200 : 503, body, { 'cache-control': 'no-store' });
      }
      if (path === '/metrics' && req.method === 'GET') {
        if (!opsCaller(req)) return sendJson(res, 403, { error: 'forbidden' });
        const m = await metrics.text();
        res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
        res.end(m.body);
        return;
      }
      if (config.mode === 'dev' && path === '/dev/test-persons' && req.method === 'GET') return sendJson(res, 200, await devTestPersons());
      if (path === '/favicon.ico') {
        res.writeHead(204, { 'cache-control': 'public, max-age=86400' });
        res.end();
        return;
      }
      if (path.startsWith('/sectors/') && req.method === 'GET') {
        const uris = clients.sectorRedirectUris(decodeURIComponent(path.slice('/sectors/'.length)));
        if (uris) return sendJson(res, 200, uris, { 'cache-control': 'public, max-age=300' });
      }
      if (path.startsWith('/login/') && req.method === 'POST' && path.endsWith('/acs') && (await login.handleReturn(req, res, url))) return;
      if (path.startsWith('/login/') && (await login.handle(req, res, url))) return;
      if (req.method === 'GET' && path.startsWith('/saml/') && path.endsWith('/metadata')) {
        // The hub's SAML SP metadata towards each IdP (what the IdP's operator registers).
        const m = /^\/saml\/([a-z0-9][a-z0-9_-]*)\/metadata$/.exec(path);
        const adapter = m ? methods.get(`saml:${m[1]}`) : undefined;
        if (adapter?.kind === 'redirect' && adapter.metadata) {
          res.writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8', 'cache-control': 'public, max-age=3600' });
          res.end(adapter.metadata());
          return;
        }
      }
      if (config.mode === 'dev') {
        for (const [prefix, target] of Object.entries(config.dev.forward)) {
          if (target && (path === prefix || path.startsWith(`${prefix}/`))) {
            // The simulator sets its own policy for its pages.
            res.removeHeader('content-security-policy');
            await forward(req, res, url, prefix, target);
            return;
          }
        }
      }
      if (path === '/') {
        res.writeHead(302, { location: '/.well-known/openid-configuration' });
        res.end();
        return;
      }
      // Relying parties may cache discovery and keys. Keys are cached for less than the time a next key
      // is published before it signs (docs/configuration.md, Signing keys), so rotation is safe.
      if (req.method === 'GET' && path === '/.well-known/openid-configuration') res.setHeader('cache-control', 'public, max-age=3600');
      else if (req.method === 'GET' && path === '/jwks') res.setHeader('cache-control', 'public, max-age=600, stale-if-error=86400');
      await providerCallback(req, res);
    } catch (err) {
      log.error({ err, path }, 'request failed');
      if (!res.headersSent) {
        const lang = pickLang(undefined, undefined, null);
        sendHtml(res, 500, errorPage({ lang, message: { sv: 'Ett internt fel uppstod.', en: 'An internal error occurred.' }, code: 'INTERNAL' }));
      } else {
        res.end();
      }
    }
  }

  let server: Server | undefined;
  let closing = false;
  const httpsIssuer = config.issuer.startsWith('https://');
  return {
    config,
    provider,
    store,
    log,
    audit,
    metrics,
    registry,
    handle,
    async listen(port = config.port, host = config.host) {
      server = createServer((req, res) => void handle(req, res));
      server.headersTimeout = 20_000;
      server.requestTimeout = 30_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      return { server, url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` };
    },
    async reload() {
      // Clients reload without a restart (also on file changes); tenants, methods and keys need one.
      return clients.reload();
    },
    async close(graceMs = 0, drainMs = 0) {
      closing = true;
      backchannelRetry.stop();
      // While draining, /readyz answers 503 and everything else is still served, so the load
      // balancer takes this process out before its connections are refused.
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      clients.close();
      if (server) {
        const s = server;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        // Requests already being answered may finish (a sign-in's state is in the Store, so a person
        // whose next request lands on another process carries on there); idle connections go now.
        s.closeIdleConnections();
        // Keep-alive connections whose request has just been answered become idle: close them as they do.
        const sweep = setInterval(() => s.closeIdleConnections(), 100);
        const grace = setTimeout(() => s.closeAllConnections(), graceMs);
        await closed;
        clearInterval(sweep);
        clearTimeout(grace);
      }
      for (const m of methods.values()) await m.close().catch(() => undefined);
      await closeRegistry();
      await audit.close();
      await store.close();
    },
  };
}

/** Builds the registry adapter and its enrichment from `registry` in hub.yaml and the tenants' own blocks. */
async function createRegistry(
  config: HubConfig,
  deps: { now: () => number; log: Logger },
): Promise<{ registry: Registry | undefined; closeRegistry: () => Promise<void> }> {
  const r = config.registry;
  if (!r) return { registry: undefined, closeRegistry: async () => undefined };
  const module = registryModules[r.type];
  if (!module) throw new HubError('CONFIG_INVALID', { detail: `registry: unknown type ${r.type}` });
  const checked = module.validate(r.config);
  if (!checked.ok) throw new HubError('CONFIG_INVALID', { detail: checked.problems.map(([p, m]) => `registry.config.${p}: ${m}`).join('; ') });
  const tenantConfigs: Record<string, unknown> = {};
  for (const t of config.tenants) {
    if (!t.registry) continue;
    const v = module.validateTenant(t.registry);
    if (!v.ok) throw new HubError('CONFIG_INVALID', { detail: v.problems.map(([p, m]) => `tenants.${t.id}.registry.${p}: ${m}`).join('; ') });
    tenantConfigs[t.id] = v.config;
  }
  const adapter = await module.create(r.type, checked.config, tenantConfigs, { baseDir: config.configDir, now: deps.now, log: deps.log });
  const registry = new Registry(
    adapter,
    { cacheTtlSeconds: r.cache.ttlSeconds, cacheMaxEntries: r.cache.maxEntries, policy: r.policy },
    Object.keys(tenantConfigs),
    deps.now,
  );
  return { registry, closeRegistry: () => adapter.close().catch(() => undefined) };
}

const TEST_PERSONS_FILE = join(import.meta.dirname, '..', 'fixtures', 'test-persons.json');

/** Dev mode: the test persons every simulator knows, with what each one is good for testing. */
async function devTestPersons(): Promise<Array<{ personalNumber: string; name: string; tags: string[] }>> {
  const list = JSON.parse(await readFile(TEST_PERSONS_FILE, 'utf8')) as Array<{ personalNumber: string; name: string; tags?: string[] }>;
  return list.map((p) => ({ personalNumber: p.personalNumber, name: p.name, tags: p.tags ?? [] }));
}

/** Every certificate the configuration names (client certificates, pinned CAs, IdP signing certificates). */
async function certificatesOf(config: HubConfig, log: Logger): Promise<Array<{ file: string; subject: string; notAfter: number }>> {
  const out: Array<{ file: string; subject: string; notAfter: number }> = [];
  for (const source of certificateSources(config)) {
    const read = await readCertificates(source);
    if ('problem' in read) continue; // `config check` reports unreadable files
    for (const cert of read.certificates) {
      const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject.split('\n')[0] ?? '';
      out.push({ file: source.file, subject: cn, notAfter: cert.validToDate.getTime() });
    }
  }
  const soon = out.filter((c) => c.notAfter - Date.now() < 30 * 86_400_000);
  for (const c of soon) log.warn({ file: c.file, subject: c.subject, notAfter: new Date(c.notAfter).toISOString() }, 'certificate expires within 30 days');
  return out;
}
