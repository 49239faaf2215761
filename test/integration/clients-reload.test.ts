/**
 * Clients are files: one added or changed while the hub runs takes effect without a restart, a broken
 * one leaves the previous set in place, and a client not allowed the identity number never receives it.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { CLAIM_PNR, PERSON, SCOPE_NPN, authorizationRequest, exchange, openLogin, signInWithBankId } from '../helpers/flows.ts';

const SECRET = 'extern-secret-0123456789abcdef0123456789abcdef';
const REDIRECT = 'http://127.0.0.1:9999/cb';

function clientFile(allowed: string[]): string {
  return [
    'client_id: extern-tjanst',
    'client_name: Extern tjänst',
    'tenant: karlstad',
    'token_endpoint_auth_method: client_secret_basic',
    `client_secret: ${SECRET}`,
    `redirect_uris: [${REDIRECT}]`,
    `allowed_scopes: [${allowed.join(', ')}]`,
    'first_party: true',
    '',
  ].join('\n');
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('client files reloaded without a restart', () => {
  let env: TestEnv;
  let dir: string;
  const browser = new Browser();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idnav-config-'));
    cpSync('config', dir, { recursive: true });
    env = await startTestEnv({ demo: false, configDir: dir, watchClients: true });
  });
  after(() => env.close());

  const rp = () => oc.discovery(new URL(env.issuer), 'extern-tjanst', {}, oc.ClientSecretBasic(SECRET), { execute: [oc.allowInsecureRequests] });
  const knows = async () => {
    const res = await fetch(`${env.issuer}/auth?client_id=extern-tjanst&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`, { redirect: 'manual' });
    await res.body?.cancel();
    return res.status === 303;
  };

  it('picks up a new client file', async () => {
    assert.equal(await knows(), false);
    writeFileSync(join(dir, 'clients', 'extern-tjanst.yaml'), clientFile(['profile']));
    await until(knows);
    // An admin change: audited with the clients now in force.
    const changes = env.audit.map((l) => JSON.parse(l) as { event: string; clients?: string[] }).filter((r) => r.event === 'config.clients.changed');
    assert.ok(changes.at(-1)?.clients?.includes('extern-tjanst'), JSON.stringify(changes));
    assert.ok(env.audit.some((l) => l.includes('"event":"hub.started"')), 'the start and its signing keys are audited');
  });

  it('never gives the identity number to a client not allowed it', async () => {
    const config = await rp();
    const denied = await authorizationRequest(config, REDIRECT, { scope: `openid ${SCOPE_NPN}` });
    const refused = await openLogin(browser, denied);
    assert.equal(refused.callback?.searchParams.get('error'), 'invalid_scope');

    const req = await authorizationRequest(config, REDIRECT, { scope: 'openid profile', claims: JSON.stringify({ id_token: { [CLAIM_PNR]: { essential: true } }, userinfo: { [CLAIM_PNR]: null } }) });
    const tokens = await exchange(config, await signInWithBankId(env, browser, req), req);
    assert.equal(tokens.claims()![CLAIM_PNR], undefined);
    const info = await oc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info[CLAIM_PNR], undefined);
    assert.equal(typeof info.given_name, 'string', 'profile still works');
  });

  it('applies a changed client file, and keeps the last good set when a file is broken', async () => {
    writeFileSync(join(dir, 'clients', 'extern-tjanst.yaml'), clientFile(['profile', SCOPE_NPN]));
    const config = await rp();
    let tokens: Awaited<ReturnType<typeof exchange>> | undefined;
    await until(async () => {
      const req = await authorizationRequest(config, REDIRECT, { scope: `openid ${SCOPE_NPN}` });
      const { callback } = await openLogin(browser, req);
      if (!callback || callback.searchParams.get('error')) return false;
      tokens = await exchange(config, callback, req);
      return true;
    });
    assert.equal(tokens!.claims()![CLAIM_PNR], PERSON);

    writeFileSync(join(dir, 'clients', 'extern-tjanst.yaml'), 'client_id: extern-tjanst\nredirect_uris: [not a url]\nbogus: 1\n');
    await until(async () => env.logs.some((l) => l.includes('client files have errors')));
    assert.equal(await knows(), true, 'the previous client set is still served');
  });
});
