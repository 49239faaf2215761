import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, contrastWithWhite, expandString, loadClients, loadConfig, type AdapterConfigValidator, type RegistryConfigValidator } from '../../src/config/load.ts';
import type { HubConfig } from '../../src/config/types.ts';
import { devConfigEnv } from '../helpers/dev-env.ts';

const repoConfig = fileURLToPath(new URL('../../config', import.meta.url));

/** Accepts any config block. */
const acceptAll: AdapterConfigValidator = { validate: (config) => ({ ok: true, config }) };

/** Requires an https `baseUrl`, like a real adapter would. */
const stub: AdapterConfigValidator = {
  validate(config) {
    const baseUrl = (config as { baseUrl?: unknown }).baseUrl;
    if (typeof baseUrl !== 'string' || !baseUrl.startsWith('https://')) {
      return { ok: false, problems: [['baseUrl', 'must be an https URL']] };
    }
    return { ok: true, config };
  },
};
const adapterModules = { bankid: acceptAll, freja: acceptAll, saml: acceptAll, stub };

const devEnv = devConfigEnv('/nonexistent/pki');

const tmpRoots: string[] = [];
after(async () => {
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes files (relative path -> content) into a new temp dir; returns the config dir. */
async function configDir(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'idnav-config-'));
  tmpRoots.push(root);
  const dir = path.join(root, 'config');
  await mkdir(path.join(dir, 'tenants'), { recursive: true });
  await mkdir(path.join(dir, 'clients'), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

const HUB = `mode: dev
methods:
  - id: bankid
    type: stub
    config: { baseUrl: https://bankid.test/rp/v6.0 }
sectors:
  region: [portal]
`;

const tenant = (id: string, kommunkod: string) => `id: ${id}
kommunkod: "${kommunkod}"
name: { sv: ${id} kommun, en: ${id} Municipality }
branding: { primaryColor: "#00466e", accentColor: "#b0005d" }
methods: [bankid]
`;

const SECRET = 'a-client-secret-that-is-long-enough-1234';

const PORTAL = `client_id: portal
tenant: "*"
client_secret: ${SECRET}
subject_type: pairwise
sector: region
tenant_redirect_uris:
  alpha: [http://localhost:3000/portal/alpha/cb]
  beta: [http://localhost:3000/portal/beta/cb]
`;

const BASE = {
  'hub.yaml': HUB,
  'tenants/alpha.yaml': tenant('alpha', '1780'),
  'tenants/beta.yaml': tenant('beta', '1715'),
  'clients/portal.yaml': PORTAL,
};

async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.format().split('\n');
  }
  assert.fail('expected the config to be refused');
}

describe('loadConfig: the repository config', () => {
  it('loads config/ with the dev environment', async () => {
    const config = await loadConfig({ configDir: repoConfig, env: devEnv, adapterModules });
    assert.equal(config.mode, 'dev');
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, 'http://localhost:3000');
    assert.equal(config.stateDir, path.resolve(repoConfig, '..', '.idnav'));
    assert.deepEqual(config.store, { type: 'memory' });
    assert.deepEqual(config.secrets, {});
    assert.equal(config.signingKeysFile, undefined);
    assert.deepEqual(config.dev.forward, { '/dev/bankid-app': 'http://127.0.0.1:9/', '/dev/freja-app': 'http://127.0.0.1:9/dev/freja-app' });
    assert.deepEqual(config.methods.map((m) => [m.id, m.type]), [
      ['bankid', 'bankid'],
      ['freja', 'freja'],
      ['saml:eidas', 'saml'],
      ['saml:sweden-connect', 'saml'],
      ['saml:karlstad-adfs', 'saml'],
    ]);
    assert.equal(config.methods[0]!.config['caFile'], '/nonexistent/pki/bankid-server-ca.pem');

    const codes = Object.fromEntries(config.tenants.map((t) => [t.id, t.kommunkod]));
    assert.deepEqual(codes, {
      arjang: '1765', arvika: '1784', eda: '1730', filipstad: '1782', forshaga: '1763', grums: '1764',
      hagfors: '1783', hammaro: '1761', karlstad: '1780', kil: '1715', kristinehamn: '1781',
      munkfors: '1762', saffle: '1785', storfors: '1760', sunne: '1766', torsby: '1737',
    });
    const karlstad = config.tenants.find((t) => t.id === 'karlstad')!;
    assert.deepEqual(karlstad.name, { sv: 'Karlstads kommun', en: 'Karlstad Municipality' });
    assert.equal(config.tenants.find((t) => t.id === 'arjang')!.name.sv, 'Årjängs kommun');
    const expectedMethods: Record<string, string[]> = {
      storfors: ['bankid'],
      arjang: ['freja', 'bankid', 'saml:eidas'],
      karlstad: ['bankid', 'freja', 'saml:sweden-connect', 'saml:eidas', 'saml:karlstad-adfs'],
    };
    for (const t of config.tenants) {
      assert.deepEqual(t.methods, expectedMethods[t.id] ?? ['bankid', 'freja', 'saml:eidas'], t.id);
      assert.ok(contrastWithWhite(t.branding.primaryColor) >= 4.5, t.id);
      assert.ok(contrastWithWhite(t.branding.accentColor) >= 4.5, t.id);
      assert.notEqual(t.branding.primaryColor, t.branding.accentColor);
      assert.equal(t.branding.logoText, t.name.sv);
    }

    const byId = Object.fromEntries(config.clients.map((c) => [c.client_id, c]));
    assert.deepEqual(Object.keys(byId).sort(), ['e-tjanst', 'kil-skola', 'kommun-app']);
    const eTjanst = byId['e-tjanst']!;
    assert.equal(eTjanst.tenant, '*');
    assert.equal(eTjanst.redirect_uris.length, 16);
    assert.ok(eTjanst.redirect_uris.includes('http://localhost:3000/demo/e-tjanst/saffle/callback'));
    assert.equal(eTjanst.sector, 'varmland');
    assert.ok(eTjanst.client_secret!.length >= 32);
    const app = byId['kommun-app']!;
    assert.equal(app.token_endpoint_auth_method, 'none');
    assert.equal(app.sector, 'varmland');
    assert.deepEqual(app.grant_types, ['authorization_code', 'refresh_token']);
    const skola = byId['kil-skola']!;
    assert.equal(skola.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(skola.subject_type, 'public');
    assert.equal(skola.jwks!.keys.length, 1);
    assert.equal('d' in skola.jwks!.keys[0]!, false);
  });

  it('refuses the dev config under NODE_ENV=production', async () => {
    const lines = await problemsOf(loadConfig({ configDir: repoConfig, env: { ...devEnv, NODE_ENV: 'production' }, adapterModules }));
    assert.deepEqual(lines, ['hub.yaml: mode: dev mode is refused when NODE_ENV=production']);
  });
});

describe('loadConfig: problems', () => {
  it('reports every problem of every file at once, with file, dotted path and reason', async () => {
    const dir = await configDir({
      'hub.yaml': `mode: dev
colour: blue
host: \${IDNAV_TEST_UNSET_VARIABLE}
port: [3000]
tokens: { idTokenTtl: 600 }
secrets: { subjectSecretFile: secrets/missing.txt }
methods:
  - id: bankid
    type: stub
    config: { baseUrl: http://plain.test }
  - id: other
    type: nosuchtype
`,
      'tenants/alpha.yaml': tenant('alpha', '1780'),
      'tenants/beta.yaml': tenant('beta', '1780'),
      'tenants/gamma.yaml': 'id: gamma\nkommunkod: 1782: x\n',
      'clients/lost.yaml': `tenant: nowhere\nclient_secret: ${SECRET}\nredirect_uris: [https://rp.test/cb]\n`,
      'clients/shared.yaml': `tenant: "*"\nclient_secret: ${SECRET}\n`,
      'clients/jwt.yaml': 'tenant: alpha\ntoken_endpoint_auth_method: private_key_jwt\nredirect_uris: [https://rp.test/cb]\n',
      'clients/typed.yaml': `tenant: alpha\nclient_secret: ${SECRET}\nredirect_uris: [https://rp.test/cb]\nfirst_party: maybe\n`,
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines.sort(), [
      'clients/jwt.yaml: jwks: private_key_jwt needs the client\'s public keys: give jwks or jwks_uri',
      'clients/lost.yaml: tenant: unknown tenant "nowhere" (use a tenant id or "*" for a shared client)',
      'clients/shared.yaml: tenant_redirect_uris: is required for a shared client (tenant "*"): tenant id -> redirect URIs',
      'clients/typed.yaml: first_party: expected a boolean, got string "maybe"',
      'hub.yaml: colour: unknown key "colour"',
      'hub.yaml: host: environment variable IDNAV_TEST_UNSET_VARIABLE is not set (or write ${IDNAV_TEST_UNSET_VARIABLE:-default})',
      'hub.yaml: methods[0].config.baseUrl: must be an https URL',
      'hub.yaml: methods[1].type: unknown method type "nosuchtype" (known: bankid, freja, saml, stub)',
      'hub.yaml: port: expected a number, got a list',
      `hub.yaml: secrets.subjectSecretFile: cannot read ${path.join(dir, 'secrets/missing.txt')}: no such file`,
      'hub.yaml: tokens.idTokenTtl: must be at most 300 seconds (the Swedish OIDC profile caps ID tokens at 5 minutes)',
      'tenants/beta.yaml: kommunkod: kommunkod 1780 is also used by tenant "alpha" (alpha.yaml)',
      'tenants/gamma.yaml: line 2, column 12: Nested mappings are not allowed in compact mappings',
    ].sort());
  });

  it('exposes the problems as data', async () => {
    const dir = await configDir({ ...BASE, 'clients/portal.yaml': PORTAL + 'redirect_uri: https://x.test/cb\n' });
    try {
      await loadConfig({ configDir: dir, env: {}, adapterModules });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{ file: path.join(dir, 'clients/portal.yaml'), path: 'redirect_uri', message: 'unknown key "redirect_uri" (did you mean "redirect_uris"?)' }]);
      assert.match(err.message, /1 problem\b/);
    }
  });

  it('checks client authentication, URIs, keys and sectors', async () => {
    const dir = await configDir({
      ...BASE,
      'hub.yaml': HUB.replace('[portal]', '[portal, public-one, ghost]'),
      'clients/public-one.yaml': `tenant: alpha
token_endpoint_auth_method: none
client_secret: ${SECRET}
grant_types: [refresh_token]
redirect_uris: [app:/cb, https://rp.test/cb#frag, /relative]
`,
      'clients/secretless.yaml': 'tenant: alpha\ntoken_endpoint_auth_method: client_secret_post\nredirect_uris: [se.rp.app:/cb]\n',
      'clients/leaky.yaml': `tenant: alpha
token_endpoint_auth_method: private_key_jwt
redirect_uris: [https://rp.test/cb]
jwks: { keys: [{ kty: EC, crv: P-256, x: a, y: b, d: c }] }
`,
      'clients/twice.yaml': `client_id: portal
tenant: beta
client_secret: ${SECRET}
redirect_uris: [https://rp.test/cb]
tenant_redirect_uris: { beta: [https://rp.test/cb] }
sector: region
`,
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, [
      'hub.yaml: sectors.region[1]: client "public-one" has subject_type public; sectors are for pairwise clients',
      'hub.yaml: sectors.region[2]: unknown client "ghost"',
      'clients/leaky.yaml: jwks.keys[0]: holds private key material (d); register the public key only',
      'clients/public-one.yaml: redirect_uris[0]: a private-use scheme must be a reverse domain name (e.g. "se.kommun.app:/callback"), not "app:"',
      'clients/public-one.yaml: redirect_uris[1]: must not have a fragment',
      'clients/public-one.yaml: redirect_uris[2]: must be an absolute URI',
      'clients/public-one.yaml: client_secret: a public client (token_endpoint_auth_method none) must not have a secret',
      'clients/public-one.yaml: grant_types: a public client must use the authorization_code grant (with PKCE)',
      'clients/secretless.yaml: redirect_uris[0]: a confidential client must use http(s) redirect URIs, not "se.rp.app:"',
      'clients/secretless.yaml: client_secret: is required with token_endpoint_auth_method client_secret_post (or give client_secretFile)',
      'clients/twice.yaml: tenant_redirect_uris: is only for shared clients (tenant "*"); use redirect_uris',
      'clients/twice.yaml: sector: only applies to subject_type pairwise',
      'clients/twice.yaml: client_id: client_id "portal" is also used by portal.yaml',
    ]);
  });

  it('passes adapter problems on under the method config path', async () => {
    const dir = await configDir({ ...BASE, 'hub.yaml': HUB.replace('https://bankid.test/rp/v6.0', 'ftp://x') });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, ['hub.yaml: methods[0].config.baseUrl: must be an https URL']);
  });

  it('refuses tenants with missing methods, bad colours and duplicate ids', async () => {
    const dir = await configDir({
      ...BASE,
      'tenants/beta.yaml': tenant('beta', '1715').replace('[bankid]', '[bankid, freja]').replace('#b0005d', '#00466E'),
      'tenants/delta.yaml': tenant('alpha', '1781').replace('#00466e', '#ffcc00'),
      'tenants/epsilon.yaml': tenant('epsilon', '114').replace('kommunkod: "114"', 'kommunkod: 114'),
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, [
      'tenants/beta.yaml: branding.accentColor: must differ from primaryColor',
      'tenants/beta.yaml: methods[1]: unknown method "freja" (hub.yaml configures: bankid)',
      'tenants/delta.yaml: branding.primaryColor: contrast with white text is 1.51:1; at least 4.5:1 is needed',
      'tenants/delta.yaml: id: tenant id "alpha" is also used by alpha.yaml',
      'tenants/epsilon.yaml: kommunkod: must be four digits; quote it ("0114") so YAML keeps a leading zero',
    ]);
  });
});

describe('loadConfig: production', () => {
  async function productionDir(extra: Record<string, string> = {}, hubExtra = ''): Promise<string> {
    return configDir({
      'hub.yaml': `mode: production
issuer: https://id.example.se/
secrets: { subjectSecretFile: secrets/subject, cookieKeysFile: secrets/cookies }
signingKeysFile: secrets/jwks.json
store: { type: redis, url: "redis://127.0.0.1:6379" }
methods: [{ id: bankid, type: stub, config: { baseUrl: "https://appapi2.bankid.com/rp/v6.0" } }]
${hubExtra}`,
      'secrets/subject': 's'.repeat(40) + '\n',
      'secrets/cookies': `${'a'.repeat(32)}\n\n${'b'.repeat(32)}\n`,
      'secrets/jwks.json': '{"keys":[]}',
      'tenants/alpha.yaml': tenant('alpha', '1780'),
      'clients/app.yaml': `tenant: alpha
token_endpoint_auth_method: none
redirect_uris: [se.kommun.app:/callback, https://app.example.se/cb]
post_logout_redirect_uris: [se.kommun.app:/bye]
`,
      ...extra,
    });
  }

  it('loads a complete production config (secrets from files, https, native app scheme)', async () => {
    const dir = await productionDir();
    const config = await loadConfig({ configDir: dir, env: { NODE_ENV: 'production' }, adapterModules });
    assert.equal(config.issuer, 'https://id.example.se');
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.secrets.subjectSecret, 's'.repeat(40));
    assert.deepEqual(config.secrets.cookieKeys, ['a'.repeat(32), 'b'.repeat(32)]);
    assert.equal(config.signingKeysFile, path.join(dir, 'secrets/jwks.json'));
    assert.deepEqual(config.store, { type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: 'idnav:' });
    assert.deepEqual(config.clients[0]!.redirect_uris, ['se.kommun.app:/callback', 'https://app.example.se/cb']);
  });

  it('keeps hub.production.example.yaml valid (only its /run/secrets files are missing here)', async () => {
    const example = await readFile(path.join(repoConfig, 'hub.production.example.yaml'), 'utf8');
    const client = (id: string, body: string) => `client_id: ${id}\ntenant: alpha\nsubject_type: pairwise\nsector: varmland\n${body}`;
    const dir = await configDir({
      'hub.yaml': example,
      'tenants/alpha.yaml': tenant('alpha', '1780'),
      'clients/e-tjanst.yaml': client('e-tjanst', `client_secret: ${SECRET}\nredirect_uris: [https://e.example.se/cb]\n`),
      'clients/kommun-app.yaml': client('kommun-app', 'token_endpoint_auth_method: none\nredirect_uris: [se.example.app:/cb]\n'),
    });
    const lines = await problemsOf(
      loadConfig({ configDir: dir, env: { NODE_ENV: 'production', REDIS_URL: 'rediss://cache:6380', BANKID_PFX_PASSPHRASE: 'x', NAVET_PFX_PASSPHRASE: 'x' }, adapterModules }),
    );
    assert.deepEqual(lines, [
      'hub.yaml: secrets.subjectSecretFile: cannot read /run/secrets/idnav-subject-secret: no such file',
      'hub.yaml: secrets.cookieKeysFile: cannot read /run/secrets/idnav-cookie-keys: no such file',
      'hub.yaml: signingKeysFile: cannot read /run/secrets/idnav-signing-keys.json: no such file',
    ]);
  });

  it('refuses insecure settings, http URIs, missing secrets and dev forwarding', async () => {
    const dir = await configDir({
      'hub.yaml': `mode: production
issuer: http://id.example.se
methods: [{ id: bankid, type: stub, config: { baseUrl: "https://appapi2.bankid.com/rp/v6.0", insecureSkipVerify: true } }]
dev: { forward: { /x: "http://127.0.0.1:1" } }
`,
      'tenants/alpha.yaml': tenant('alpha', '1780'),
      'clients/web.yaml': `tenant: alpha
client_secret: short-secret
redirect_uris: [http://rp.example.se/cb]
backchannel_logout_uri: http://rp.example.se/logout
insecure_allow_private_network_requests: true
`,
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: { NODE_ENV: 'production' }, adapterModules }));
    assert.deepEqual(lines, [
      'hub.yaml: methods[0].config.insecureSkipVerify: insecure settings are refused in production',
      'hub.yaml: issuer: must be an https URL in production',
      'hub.yaml: secrets.subjectSecret: is required in production (give secrets.subjectSecretFile)',
      'hub.yaml: secrets.cookieKeys: is required in production (give secrets.cookieKeysFile)',
      'hub.yaml: signingKeysFile: is required in production',
      'hub.yaml: dev.forward: must be empty in production',
      'clients/web.yaml: insecure_allow_private_network_requests: insecure settings are refused in production',
      'clients/web.yaml: redirect_uris[0]: must be https in production',
      'clients/web.yaml: backchannel_logout_uri: must be https in production',
      'clients/web.yaml: client_secret: must be at least 32 characters in production',
    ]);
  });

  it('refuses short secrets and unreadable signing keys', async () => {
    const dir = await productionDir({ 'secrets/subject': 'short', 'secrets/jwks.json': '' });
    await rm(path.join(dir, 'secrets/jwks.json'));
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, [
      'hub.yaml: secrets.subjectSecret: must be at least 32 characters in production',
      `hub.yaml: signingKeysFile: cannot read ${path.join(dir, 'secrets/jwks.json')}: no such file`,
    ]);
  });
});

describe('loadConfig: expansion, defaults, freezing', () => {
  it('expands ${VAR} and ${VAR:-default} in string values and reads numbers back', async () => {
    const dir = await configDir({
      ...BASE,
      'hub.yaml': HUB + `port: \${TEST_PORT:-3000}
issuer: \${TEST_ISSUER:-}
stateDir: \${TEST_STATE:-var/state}
store: { type: "\${TEST_STORE:-memory}", url: "\${TEST_REDIS:-}" }
sso: { acrossTenants: "\${TEST_SSO:-false}" }
logging: { level: "\${TEST_LEVEL}" }
`,
    });
    const config = await loadConfig({ configDir: dir, env: { TEST_PORT: '8443', TEST_ISSUER: '', TEST_LEVEL: 'debug' }, adapterModules });
    assert.equal(config.port, 8443);
    assert.equal(config.issuer, 'http://localhost:8443');
    assert.equal(config.stateDir, path.join(path.dirname(dir), 'var/state'));
    assert.deepEqual(config.store, { type: 'memory' });
    assert.equal(config.sso.acrossTenants, false);
    assert.equal(config.logging.level, 'debug');

    const redis = await loadConfig({
      configDir: dir,
      env: { TEST_LEVEL: 'info', TEST_STORE: 'redis', TEST_REDIS: 'redis://cache:6379' },
      adapterModules,
    });
    assert.deepEqual(redis.store, { type: 'redis', url: 'redis://cache:6379', keyPrefix: 'idnav:' });
  });

  it('expandString: defaults, empty values, escapes and errors', () => {
    const env = { A: 'x', EMPTY: '' };
    assert.deepEqual(expandString('${A}/${B:-b}/${EMPTY:-e}/${EMPTY}', env), { value: 'x/b/e/', errors: [] });
    assert.deepEqual(expandString('$${A} costs $5', env), { value: '${A} costs $5', errors: [] });
    assert.deepEqual(expandString('${MISSING}', env).errors, ['environment variable MISSING is not set (or write ${MISSING:-default})']);
    assert.match(expandString('${A', env).errors[0]!, /unterminated/);
    assert.match(expandString('${not valid}', env).errors[0]!, /invalid reference/);
  });

  it('applies the documented defaults', async () => {
    const config = await loadConfig({ configDir: await configDir(BASE), env: {}, adapterModules });
    assert.deepEqual(config.tokens, {
      idTokenTtl: 300, accessTokenTtl: 600, refreshTokenTtl: 2592000, sessionTtl: 28800, interactionTtl: 900, grantTtl: 2592000,
    });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual(config.logging, { level: 'info' });
    assert.deepEqual(config.evidence, { retentionDays: 90 });
    assert.deepEqual(config.sso, { acrossTenants: true });
    assert.deepEqual(config.trustedProxies, []);
    const portal = config.clients[0]!;
    assert.equal(portal.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(portal.grant_types, ['authorization_code']);
    assert.deepEqual(portal.response_types, ['code']);
    assert.deepEqual(portal.allowed_scopes, []);
    assert.equal(portal.first_party, false);
    assert.equal(portal.insecure_allow_private_network_requests, false);
    assert.deepEqual(portal.redirect_uris, ['http://localhost:3000/portal/alpha/cb', 'http://localhost:3000/portal/beta/cb']);
  });

  it('freezes the result all the way down', async () => {
    const config = await loadConfig({ configDir: await configDir(BASE), env: {}, adapterModules });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.tokens));
    assert.ok(Object.isFrozen(config.methods[0]!.config));
    assert.ok(Object.isFrozen(config.clients[0]!.redirect_uris));
    assert.ok(Object.isFrozen(config.tenants[0]!.branding));
    assert.throws(() => {
      (config.tokens as { idTokenTtl: number }).idTokenTtl = 3600;
    }, TypeError);
    assert.throws(() => (config.clients[0]!.redirect_uris as string[]).push('https://evil.test/cb'), TypeError);
  });

  it('reads client_secretFile and refuses a secret given twice', async () => {
    const dir = await configDir({
      ...BASE,
      'clients/portal.yaml': PORTAL.replace(`client_secret: ${SECRET}`, 'client_secretFile: portal.secret'),
      'portal.secret': `${SECRET}\n`,
      'clients/both.yaml': `tenant: alpha\nclient_secret: ${SECRET}\nclient_secretFile: portal.secret\nredirect_uris: [https://rp.test/cb]\n`,
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, ['clients/both.yaml: client_secretFile: give either client_secret or client_secretFile, not both']);
    await rm(path.join(dir, 'clients/both.yaml'));
    const config = await loadConfig({ configDir: dir, env: {}, adapterModules });
    assert.equal(config.clients[0]!.client_secret, SECRET);
  });
});

/** A registry module that wants an https `baseUrl` in hub.yaml and a 12-digit `orgNr` in tenant files. */
const registryStub: RegistryConfigValidator = {
  ...stub,
  validateTenant(config) {
    const orgNr = (config as { orgNr?: unknown }).orgNr;
    return typeof orgNr === 'string' && /^\d{12}$/.test(orgNr) ? { ok: true, config } : { ok: false, problems: [['orgNr', 'must be 12 digits']] };
  },
};

describe('loadConfig: SAML method ids', () => {
  it('wants "saml:<name>", under which the hub serves the method', async () => {
    const dir = await configDir({ ...BASE, 'hub.yaml': HUB.replace('methods:\n', 'methods:\n  - { id: adfs, type: saml, config: {} }\n') });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules }));
    assert.deepEqual(lines, ['hub.yaml: methods[0].id: a SAML method\'s id must be "saml:<name>" (e.g. "saml:adfs")']);
  });
});

describe('loadConfig: the population registry', () => {
  const REGISTRY = `registry:
  type: navet
  config: { baseUrl: https://navet.test/V2, caFile: certs/ca.pem }
`;

  it('resolves the registry block with its defaults, tenant credentials and file paths', async () => {
    const dir = await configDir({
      ...BASE,
      'hub.yaml': HUB + REGISTRY,
      'tenants/alpha.yaml': tenant('alpha', '1780') + 'registry: { orgNr: "162120000076", clientCert: { certFile: a.pem, keyFile: a.key } }\n',
    });
    const config = await loadConfig({ configDir: dir, env: {}, adapterModules, registryModules: { navet: registryStub } });
    assert.deepEqual(config.registry, {
      type: 'navet',
      config: { baseUrl: 'https://navet.test/V2', caFile: path.join(dir, 'certs/ca.pem') },
      cache: { ttlSeconds: 300, maxEntries: 10000 },
      policy: { confidentialityMarking: 'withhold', deceased: 'omit', emigrated: 'omit' },
    });
    assert.deepEqual(config.tenants.find((t) => t.id === 'alpha')!.registry, {
      orgNr: '162120000076',
      clientCert: { certFile: path.join(dir, 'a.pem'), keyFile: path.join(dir, 'a.key') },
    });
    assert.equal(config.tenants.find((t) => t.id === 'beta')!.registry, undefined);
    assert.equal(config.audit.to, 'file');
    assert.equal(config.audit.file, path.join(path.dirname(dir), '.idnav', 'audit.jsonl'));
  });

  it('reports registry problems with file and dotted path, all at once', async () => {
    const dir = await configDir({
      ...BASE,
      'hub.yaml':
        HUB +
        `registry:
  type: navet
  config: { baseUrl: http://navet.test }
  cache: { ttlSeconds: 0 }
  policy: { deceased: hide }
`,
      'tenants/alpha.yaml': tenant('alpha', '1780') + 'registry: { orgNr: "12" }\n',
    });
    const lines = await problemsOf(loadConfig({ configDir: dir, env: {}, adapterModules, registryModules: { navet: registryStub } }));
    assert.deepEqual(lines.sort(), [
      'hub.yaml: registry.cache.ttlSeconds: must be at least 1',
      'hub.yaml: registry.config.baseUrl: must be an https URL',
      'hub.yaml: registry.policy.deceased: must be "omit", "release" or "deny"',
      'tenants/alpha.yaml: registry.orgNr: must be 12 digits',
    ]);
  });

  it('names the known registry types, and refuses tenant credentials without a registry', async () => {
    const unknown = await configDir({ ...BASE, 'hub.yaml': HUB + 'registry: { type: kir }\n' });
    assert.deepEqual(await problemsOf(loadConfig({ configDir: unknown, env: {}, adapterModules, registryModules: { navet: registryStub } })), [
      'hub.yaml: registry.type: unknown registry type "kir" (known: navet)',
    ]);
    const orphan = await configDir({ ...BASE, 'tenants/alpha.yaml': tenant('alpha', '1780') + 'registry: { orgNr: "162120000076" }\n' });
    assert.deepEqual(await problemsOf(loadConfig({ configDir: orphan, env: {}, adapterModules, registryModules: { navet: registryStub } })), [
      'tenants/alpha.yaml: registry: hub.yaml configures no registry',
    ]);
  });
});

describe('loadClients', () => {
  it('picks up a new client file and reports problems in the same format', async () => {
    const dir = await configDir(BASE);
    const env = {};
    const hub: HubConfig = await loadConfig({ configDir: dir, env, adapterModules });
    assert.deepEqual(hub.clients.map((c) => c.client_id), ['portal']);

    await writeFile(path.join(dir, 'clients/school.yaml'), `tenant: beta\nclient_secret: ${SECRET}\nredirect_uris: [https://school.test/cb]\n`);
    const clients = await loadClients({ hub, env });
    assert.deepEqual(clients.map((c) => c.client_id), ['portal', 'school']);
    assert.equal(clients[1]!.tenant, 'beta');
    assert.equal(clients[0]!.sector, 'region');
    assert.ok(Object.isFrozen(clients) && Object.isFrozen(clients[1]));

    await writeFile(path.join(dir, 'clients/broken.yaml'), 'tenant: gamma\nredirect_uris: [https://x.test/cb]\n');
    const lines = await problemsOf(loadClients({ hub, env }));
    assert.deepEqual(lines, [
      'clients/broken.yaml: tenant: unknown tenant "gamma" (use a tenant id or "*" for a shared client)',
      'clients/broken.yaml: client_secret: is required with token_endpoint_auth_method client_secret_basic (or give client_secretFile)',
    ]);
  });
});
