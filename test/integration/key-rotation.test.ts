/**
 * Signing key rotation as an operator does it with `idnav keys rotate`, seen by a relying party that
 * caches the JWKS: the next key is published before it signs, and tokens signed by the old key still
 * verify after the switch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, exchange, redirectUriFor, rpFor, signInWithBankId } from '../helpers/flows.ts';

const idnav = (...args: string[]) => execFileSync(process.execPath, ['src/cli/idnav.ts', ...args], { encoding: 'utf8' });

interface KeyFile {
  keys: Array<{ kid: string; alg: string; status: string }>;
}

async function withHub<T>(keysFile: string, fn: (env: TestEnv) => Promise<T>): Promise<T> {
  const env = await startTestEnv({ demo: false, override: (c) => ({ ...c, signingKeysFile: keysFile }) });
  try {
    return await fn(env);
  } finally {
    await env.close();
  }
}

async function idToken(env: TestEnv): Promise<string> {
  const rp = await rpFor(env, 'kil-skola');
  const req = await authorizationRequest(rp, redirectUriFor(env, 'kil-skola'));
  const tokens = await exchange(rp, await signInWithBankId(env, new Browser(), req), req);
  return tokens.id_token!;
}

const jwks = async (env: TestEnv) => (await (await fetch(`${env.issuer}/jwks`)).json()) as JSONWebKeySet;
const activeKid = (file: string, alg: string) => (JSON.parse(readFileSync(file, 'utf8')) as KeyFile).keys.find((k) => k.alg === alg && k.status === 'active')!.kid;

describe('signing key rotation', () => {
  it('publishes the next key before it signs, and keeps the old key verifiable after the switch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idnav-keys-'));
    const file = join(dir, 'keys.json');
    idnav('keys', 'generate', '--out', file);
    const oldKid = activeKid(file, 'RS256');

    // Step 1: the next key is added. The hub publishes it but still signs with the old one.
    idnav('keys', 'rotate', '--file', file);
    const { cachedJwks, firstToken, nextKid, firstIssuer } = await withHub(file, async (env) => {
      const set = await jwks(env);
      const file1 = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
      const next = file1.keys.find((k) => k.alg === 'RS256' && k.status === 'next')!.kid;
      assert.ok(set.keys.some((k) => k.kid === next), 'the next key is published');
      const token = await idToken(env);
      assert.equal(decodeProtectedHeader(token).kid, oldKid, 'the old key still signs');
      return { cachedJwks: set, firstToken: token, nextKid: next, firstIssuer: env.issuer };
    });

    // Step 2: promoted (an operator waits an hour; --force stands in for the wait here).
    idnav('keys', 'rotate', '--file', file, '--force');
    await withHub(file, async (env) => {
      const token = await idToken(env);
      assert.equal(decodeProtectedHeader(token).kid, nextKid, 'the new key signs');
      // A relying party still holding the JWKS it fetched before the switch verifies the new token.
      await jwtVerify(token, createLocalJWKSet(cachedJwks), { issuer: env.issuer, audience: 'kil-skola' });
      // And a token signed by the old (now retired) key verifies against the current JWKS.
      const set = await jwks(env);
      assert.ok(set.keys.some((k) => k.kid === oldKid), 'the retired key is still published');
      await assert.doesNotReject(jwtVerify(firstToken, createLocalJWKSet(set), { issuer: firstIssuer, audience: 'kil-skola', currentDate: new Date(decodeJwtIat(firstToken) * 1000) }));
      for (const k of set.keys) assert.equal((k as { d?: unknown }).d, undefined, 'no private members');
    });
  });
});

function decodeJwtIat(token: string): number {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { iat: number }).iat;
}
