/**
 * Shared secrets: the `sub` secret, cookie keys and signing keys. In production they come from files the
 * operator provides. In dev mode they are generated once into the state directory, atomically, so that
 * several hub processes started together end up with the same values.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from '../contracts/errors.ts';
import type { HubConfig } from '../config/types.ts';

export type KeyStatus = 'next' | 'active' | 'retired';

export interface SigningKey extends Record<string, unknown> {
  kid: string;
  kty: string;
  alg: string;
  status: KeyStatus;
}

export interface HubSecrets {
  subjectSecret: string;
  cookieKeys: string[];
  signingKeys: SigningKey[];
}

/** Writes `content` to `file` unless it exists; resolves with whatever the file holds afterwards. */
export function writeOnce(file: string, make: () => string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(tmp, make(), { mode: 0o600 });
  try {
    // link(2) fails when the target exists: exactly one writer wins, the others read its file.
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8');
}

export function generateSigningKey(alg: 'RS256' | 'ES256', status: KeyStatus): SigningKey {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { ...jwk, kty: String(jwk.kty), kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`, alg, use: 'sig', status };
}

export function parseSigningKeys(text: string, source: string): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HubError('CONFIG_INVALID', { detail: `${source}: not JSON` });
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new HubError('CONFIG_INVALID', { detail: `${source}: keys: must be a non-empty array` });
  const problems: string[] = [];
  const kids = new Set<string>();
  keys.forEach((k: Record<string, unknown>, i) => {
    if (typeof k.kid !== 'string' || !k.kid) problems.push(`keys[${i}].kid: required`);
    else if (kids.has(k.kid)) problems.push(`keys[${i}].kid: duplicate ${k.kid}`);
    else kids.add(k.kid);
    if (k.alg !== 'RS256' && k.alg !== 'ES256' && k.alg !== 'PS256') problems.push(`keys[${i}].alg: must be RS256, PS256 or ES256`);
    if (!['next', 'active', 'retired'].includes(String(k.status))) problems.push(`keys[${i}].status: must be next, active or retired`);
    if (typeof k.d !== 'string') problems.push(`keys[${i}]: must be a private key`);
  });
  if (!keys.some((k: Record<string, unknown>) => k.status === 'active')) problems.push('keys: no key has status active');
  // oidc-provider signs with the first key of an algorithm: a next or retired key must never be that.
  for (const alg of new Set(keys.map((k: Record<string, unknown>) => k.alg))) {
    if (!keys.some((k: Record<string, unknown>) => k.alg === alg && k.status === 'active')) {
      problems.push(`keys: ${String(alg)} has no active key (a next or retired key would sign)`);
    }
  }
  if (problems.length) throw new HubError('CONFIG_INVALID', { detail: `${source}: ${problems.join('; ')}` });
  return keys as SigningKey[];
}

/**
 * The JWKS oidc-provider signs with: active keys first (the first key of an algorithm signs), then next
 * keys (published ahead of use), then retired keys (published until tokens signed with them expire).
 */
export function providerJwks(keys: SigningKey[]): { keys: Record<string, unknown>[] } {
  const order: KeyStatus[] = ['active', 'next', 'retired'];
  return {
    keys: [...keys]
      .sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status))
      .map(({ status: _status, ...jwk }) => jwk),
  };
}

export function loadSecrets(config: HubConfig): HubSecrets {
  const dev = config.mode === 'dev';
  if (dev) mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const devFile = (name: string) => join(config.stateDir, name);

  let subjectSecret = config.secrets.subjectSecret;
  if (!subjectSecret) {
    if (!dev) throw new HubError('CONFIG_INVALID', { detail: 'secrets.subjectSecretFile is required' });
    subjectSecret = writeOnce(devFile('subject-secret'), () => randomBytes(32).toString('base64url')).trim();
  }
  let cookieKeys = config.secrets.cookieKeys;
  if (!cookieKeys || cookieKeys.length === 0) {
    if (!dev) throw new HubError('CONFIG_INVALID', { detail: 'secrets.cookieKeysFile is required' });
    cookieKeys = writeOnce(devFile('cookie-keys'), () => `${randomBytes(32).toString('base64url')}\n`)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
  let keysText: string;
  let source: string;
  if (config.signingKeysFile) {
    source = config.signingKeysFile;
    try {
      keysText = readFileSync(source, 'utf8');
    } catch (err) {
      throw new HubError('CONFIG_INVALID', { detail: `signingKeysFile: cannot read ${source}: ${(err as NodeJS.ErrnoException).code}` });
    }
  } else {
    if (!dev) throw new HubError('CONFIG_INVALID', { detail: 'signingKeysFile is required' });
    source = devFile('signing-keys.json');
    keysText = writeOnce(source, () =>
      JSON.stringify({ keys: [generateSigningKey('RS256', 'active'), generateSigningKey('ES256', 'active')] }, null, 2),
    );
  }
  return { subjectSecret, cookieKeys, signingKeys: parseSigningKeys(keysText, source) };
}
