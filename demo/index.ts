/**
 * The demo relying parties the dev launcher mounts under the hub's own origin. They are clients of the
 * hub, not part of it: they read only their own client files (for credentials and the tenant list)
 * and reach the hub over HTTP like any external service.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { importJWK, type JWK } from 'jose';
import * as client from 'openid-client';
import { parse } from 'yaml';
import { DEMO_SCOPE, REGISTRY_SCOPES, createDemoRp, type DemoRp } from './rp.ts';

export type { Handler } from './rp.ts';
export { createDemoRp, verifyLogoutToken } from './rp.ts';
export type { DemoRp, DemoRpOptions, DemoRpState, BackchannelLogoutRecord, LogoutTokenClaims } from './rp.ts';

export interface MountDemoRpsOptions {
  /** The hub's issuer identifier, e.g. http://localhost:3000. */
  issuer: string;
  /** The hub's configuration directory (default: the project's config/). */
  configDir?: string;
  /** The private JWK of kil-skola (default: fixtures/demo-rp/kil-skola.private.jwk.json). */
  kilSkolaKeyFile?: string;
}

const PROJECT_DIR = join(import.meta.dirname, '..');

/** Display names of the municipalities; an unknown tenant id is shown as it is. */
const MUNICIPALITIES: Record<string, string> = {
  arjang: 'Årjäng',
  arvika: 'Arvika',
  eda: 'Eda',
  filipstad: 'Filipstad',
  forshaga: 'Forshaga',
  grums: 'Grums',
  hagfors: 'Hagfors',
  hammaro: 'Hammarö',
  karlstad: 'Karlstad',
  kil: 'Kil',
  kristinehamn: 'Kristinehamn',
  munkfors: 'Munkfors',
  saffle: 'Säffle',
  storfors: 'Storfors',
  sunne: 'Sunne',
  torsby: 'Torsby',
};

function readClientFile(configDir: string, name: string): Record<string, unknown> {
  const file = join(configDir, 'clients', `${name}.yaml`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`demo RP: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`demo RP: ${file} is not a mapping`);
  return doc as Record<string, unknown>;
}

/**
 * The `${VAR}` / `${VAR:-default}` / `$${` rules of the hub's config files, for the one value the demo
 * reads that may use them (its own secret).
 */
function expandEnv(value: string): string {
  return value.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$${') return '${';
    const v = process.env[name!];
    if (fallback !== undefined) return v ? v : fallback;
    if (v === undefined) throw new Error(`demo RP: environment variable ${name} is not set`);
    return v;
  });
}

function clientSecretOf(configDir: string, doc: Record<string, unknown>): string {
  if (typeof doc.client_secret === 'string' && doc.client_secret) return expandEnv(doc.client_secret);
  if (typeof doc.client_secretFile === 'string' && doc.client_secretFile) {
    const path = expandEnv(doc.client_secretFile);
    const file = isAbsolute(path) ? path : resolve(configDir, path);
    return readFileSync(file, 'utf8').trim();
  }
  throw new Error('demo RP: e-tjanst.yaml has no client_secret');
}

export function mountDemoRps(options: MountDemoRpsOptions): DemoRp[] {
  const configDir = resolve(options.configDir ?? join(PROJECT_DIR, 'config'));
  const keyFile = options.kilSkolaKeyFile ?? join(PROJECT_DIR, 'fixtures', 'demo-rp', 'kil-skola.private.jwk.json');

  const eTjanst = readClientFile(configDir, 'e-tjanst');
  const redirects = eTjanst.tenant_redirect_uris;
  if (!redirects || typeof redirects !== 'object' || Array.isArray(redirects)) {
    throw new Error('demo RP: e-tjanst.yaml has no tenant_redirect_uris');
  }
  const tenants = Object.fromEntries(Object.keys(redirects).map((id) => [id, MUNICIPALITIES[id] ?? id]));
  const eTjanstSecret = clientSecretOf(configDir, eTjanst);

  return [
    createDemoRp({
      issuer: options.issuer,
      prefix: '/demo/e-tjanst',
      clientId: typeof eTjanst.client_id === 'string' ? eTjanst.client_id : 'e-tjanst',
      clientAuth: () => client.ClientSecretBasic(eTjanstSecret),
      clientMetadata: { userinfo_signed_response_alg: 'RS256' },
      title: 'Värmlands e-tjänster – Mina ärenden',
      titleEn: 'Regional e-services: my cases (demo)',
      scope: `${DEMO_SCOPE} ${REGISTRY_SCOPES}`,
      tenants,
    }),
    createDemoRp({
      issuer: options.issuer,
      prefix: '/demo/kil-skola',
      clientId: 'kil-skola',
      clientAuth: async () => {
        const jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
        const key = await importJWK(jwk, jwk.alg ?? 'ES256');
        if (key instanceof Uint8Array) throw new Error(`demo RP: ${keyFile} is not an asymmetric private key`);
        return client.PrivateKeyJwt({ key, kid: jwk.kid });
      },
      clientMetadata: { userinfo_signed_response_alg: 'RS256' },
      // A school system shows a guardian their children.
      scope: `${DEMO_SCOPE} urn:idnav:scope:guardianship`,
      title: 'Kils skolsystem (demo)',
      titleEn: 'School system of Kil municipality (demo)',
    }),
  ];
}
