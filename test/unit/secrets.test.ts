import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { HubConfig } from '../../src/config/types.ts';
import { HubError } from '../../src/errors.ts';
import {
  generateSigningKey,
  loadSecrets,
  parseSigningKeys,
  providerJwks,
  writeOnce,
  type SigningKey,
} from '../../src/provider/secrets.ts';

const NODE = resolve('node_modules/.bin/node');
const SECRETS_MODULE = pathToFileURL(resolve('src/provider/secrets.ts')).href;

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'idnav-secrets-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let counter = 0;
/** A path in the temp root that does not exist yet. */
const freshDir = (): string => join(root, `case-${++counter}`);

/** Only the fields loadSecrets reads. */
function config(o: { mode: 'dev' | 'production'; stateDir: string; subjectSecret?: string; cookieKeys?: string[]; signingKeysFile?: string }): HubConfig {
  const secrets: Record<string, unknown> = {};
  if (o.subjectSecret !== undefined) secrets.subjectSecret = o.subjectSecret;
  if (o.cookieKeys !== undefined) secrets.cookieKeys = o.cookieKeys;
  return {
    mode: o.mode,
    stateDir: o.stateDir,
    secrets,
    ...(o.signingKeysFile !== undefined ? { signingKeysFile: o.signingKeysFile } : {}),
  } as unknown as HubConfig;
}

function hubError(code: string, detail: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.detail ?? '', detail);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------

const CHILD = `
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [moduleUrl, target, barrierDir, label] = process.argv.slice(2);
const { writeOnce } = await import(moduleUrl);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
// Barrier: both processes are loaded before either touches the target.
writeFileSync(join(barrierDir, 'ready-' + label), '');
const deadline = Date.now() + 20000;
while (readdirSync(barrierDir).length < 2) {
  if (Date.now() > deadline) { console.error('barrier timeout'); process.exit(2); }
  sleep(2);
}
let made = false;
const result = writeOnce(target, () => {
  made = true;
  // Hold the window open: the other process reads "no file" before anyone links.
  sleep(400);
  return 'content from ' + label + ' ' + process.pid + '\\n';
});
process.stdout.write(JSON.stringify({ label, made, result, existedAfter: existsSync(target) }));
`;

function runChild(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('writeOnce', () => {
  it('writes the content when the file is missing and returns it', () => {
    const file = join(mkdtempSync(join(root, 'single-')), 'value');
    let calls = 0;
    const out = writeOnce(file, () => {
      calls++;
      return 'first';
    });
    assert.equal(out, 'first');
    assert.equal(readFileSync(file, 'utf8'), 'first');
    assert.equal(calls, 1);
    assert.equal(statSync(file).mode & 0o077, 0, 'not readable by group or others');
  });

  it('returns the existing content without calling make', () => {
    const file = join(root, 'existing');
    writeFileSync(file, 'already here');
    const out = writeOnce(file, () => assert.fail('make must not be called'));
    assert.equal(out, 'already here');
  });

  it('leaves no temporary files behind', () => {
    const dir = mkdtempSync(join(root, 'tmpcheck-'));
    const file = join(dir, 'value');
    writeOnce(file, () => 'x');
    writeOnce(file, () => 'y');
    assert.deepEqual(readdirSync(dir), ['value']);
  });

  it('rethrows errors other than a missing file', () => {
    // Reading a directory fails with EISDIR.
    const dir = mkdtempSync(join(root, 'isdir-'));
    assert.throws(() => writeOnce(dir, () => 'x'), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
  });

  it('two processes racing on one path end with identical content', async () => {
    const dir = mkdtempSync(join(root, 'race-'));
    const barrier = join(dir, 'barrier');
    const target = join(dir, 'secret');
    const script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    mkdirSync(barrier);

    const results = await Promise.all(['a', 'b'].map((label) => runChild(script, [SECRETS_MODULE, target, barrier, label])));
    for (const r of results) assert.equal(r.code, 0, `child failed: ${r.stderr}`);
    const [a, b] = results.map((r) => JSON.parse(r.stdout) as { label: string; made: boolean; result: string; existedAfter: boolean });

    // The race really happened: both found no file and made a value.
    assert.equal(a!.made, true, 'process a made a value');
    assert.equal(b!.made, true, 'process b made a value');
    // Exactly one value won, and both processes read it.
    assert.equal(a!.result, b!.result);
    assert.match(a!.result, /^content from [ab] \d+\n$/);
    assert.equal(readFileSync(target, 'utf8'), a!.result);
    // No temporary file remains (only the target, the barrier and the script).
    assert.deepEqual(readdirSync(dir).sort(), ['barrier', 'child.mjs', 'secret']);
  });
});

// ---------------------------------------------------------------------------------------------

function assertUsablePrivateKey(key: SigningKey): void {
  const priv = createPrivateKey({ key: key as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
  const pub = createPublicKey(priv);
  const data = Buffer.from('idnav');
  const sig = sign('sha256', data, priv);
  assert.ok(verify('sha256', data, pub, sig));
}

describe('loadSecrets: dev mode', () => {
  it('generates the subject secret, cookie keys and signing keys into an empty state dir', () => {
    const stateDir = freshDir();
    const secrets = loadSecrets(config({ mode: 'dev', stateDir }));

    assert.match(secrets.subjectSecret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.equal(secrets.cookieKeys.length, 1);
    assert.match(secrets.cookieKeys[0]!, /^[A-Za-z0-9_-]{43}$/);

    const active = secrets.signingKeys.filter((k) => k.status === 'active');
    assert.equal(active.length, 2);
    const rs = active.find((k) => k.alg === 'RS256');
    const es = active.find((k) => k.alg === 'ES256');
    assert.ok(rs, 'an active RS256 key');
    assert.ok(es, 'an active ES256 key');
    assert.equal(rs.kty, 'RSA');
    assert.equal(es.kty, 'EC');
    assert.equal(es.crv, 'P-256');
    for (const k of [rs, es]) {
      assert.equal(typeof k.kid, 'string');
      assert.ok(k.kid.length > 0);
      assert.equal(typeof k.d, 'string', 'a private key');
      assert.equal(k.use, 'sig');
      assertUsablePrivateKey(k);
    }
    assert.notEqual(rs.kid, es.kid);

    // The files are in the state dir, readable only by the owner.
    for (const name of ['subject-secret', 'cookie-keys', 'signing-keys.json']) {
      const file = join(stateDir, name);
      assert.ok(existsSync(file), name);
      assert.equal(statSync(file).mode & 0o077, 0, `${name} is private`);
    }
    assert.equal(statSync(stateDir).mode & 0o077, 0, 'the state dir is private');
  });

  it('returns the same values on a second call', () => {
    const stateDir = freshDir();
    const first = loadSecrets(config({ mode: 'dev', stateDir }));
    const second = loadSecrets(config({ mode: 'dev', stateDir }));
    assert.deepEqual(second, first);
  });

  it('different state dirs get different secrets', () => {
    const a = loadSecrets(config({ mode: 'dev', stateDir: freshDir() }));
    const b = loadSecrets(config({ mode: 'dev', stateDir: freshDir() }));
    assert.notEqual(a.subjectSecret, b.subjectSecret);
    assert.notDeepEqual(a.cookieKeys, b.cookieKeys);
    assert.notEqual(a.signingKeys[0]!.kid, b.signingKeys[0]!.kid);
  });

  it('uses configured values instead of generating them', () => {
    const stateDir = freshDir();
    const secrets = loadSecrets(config({ mode: 'dev', stateDir, subjectSecret: 'configured-subject', cookieKeys: ['k1', 'k2'] }));
    assert.equal(secrets.subjectSecret, 'configured-subject');
    assert.deepEqual(secrets.cookieKeys, ['k1', 'k2']);
    assert.ok(!existsSync(join(stateDir, 'subject-secret')));
    assert.ok(!existsSync(join(stateDir, 'cookie-keys')));
  });
});

describe('loadSecrets: production mode', () => {
  let keysFile: string;
  before(() => {
    keysFile = join(root, 'prod-signing-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [generateSigningKey('ES256', 'active')] }));
  });

  it('requires the subject secret and names the setting', () => {
    const stateDir = freshDir();
    assert.throws(
      () => loadSecrets(config({ mode: 'production', stateDir, cookieKeys: ['k'], signingKeysFile: keysFile })),
      hubError('CONFIG_INVALID', /secrets\.subjectSecretFile/),
    );
    assert.ok(!existsSync(stateDir), 'nothing is generated in production');
  });

  it('requires the cookie keys and names the setting', () => {
    assert.throws(
      () => loadSecrets(config({ mode: 'production', stateDir: freshDir(), subjectSecret: 's', signingKeysFile: keysFile })),
      hubError('CONFIG_INVALID', /secrets\.cookieKeysFile/),
    );
    assert.throws(
      () => loadSecrets(config({ mode: 'production', stateDir: freshDir(), subjectSecret: 's', cookieKeys: [], signingKeysFile: keysFile })),
      hubError('CONFIG_INVALID', /secrets\.cookieKeysFile/),
    );
  });

  it('requires the signing keys file and names the setting', () => {
    assert.throws(
      () => loadSecrets(config({ mode: 'production', stateDir: freshDir(), subjectSecret: 's', cookieKeys: ['k'] })),
      hubError('CONFIG_INVALID', /signingKeysFile/),
    );
  });

  it('reports an unreadable signing keys file', () => {
    const missing = join(root, 'no-such-keys.json');
    assert.throws(
      () => loadSecrets(config({ mode: 'production', stateDir: freshDir(), subjectSecret: 's', cookieKeys: ['k'], signingKeysFile: missing })),
      hubError('CONFIG_INVALID', /signingKeysFile: cannot read .*no-such-keys\.json: ENOENT/),
    );
  });

  it('loads configured secrets', () => {
    const stateDir = freshDir();
    const secrets = loadSecrets(config({ mode: 'production', stateDir, subjectSecret: 'subj', cookieKeys: ['c1'], signingKeysFile: keysFile }));
    assert.equal(secrets.subjectSecret, 'subj');
    assert.deepEqual(secrets.cookieKeys, ['c1']);
    assert.equal(secrets.signingKeys.length, 1);
    assert.equal(secrets.signingKeys[0]!.alg, 'ES256');
    assert.ok(!existsSync(stateDir));
  });
});

// ---------------------------------------------------------------------------------------------

describe('parseSigningKeys', () => {
  let rs: SigningKey;
  let es: SigningKey;
  before(() => {
    rs = generateSigningKey('RS256', 'active');
    es = generateSigningKey('ES256', 'next');
  });
  const text = (keys: unknown[]): string => JSON.stringify({ keys });

  it('accepts private keys with kid, alg and status', () => {
    const esActive = generateSigningKey('ES256', 'active');
    const keys = parseSigningKeys(text([rs, es, esActive]), 'keys.json');
    assert.deepEqual(keys.map((k) => [k.kid, k.alg, k.status]), [
      [rs.kid, 'RS256', 'active'],
      [es.kid, 'ES256', 'next'],
      [esActive.kid, 'ES256', 'active'],
    ]);
  });

  it('rejects an algorithm whose only keys are next or retired (they would sign)', () => {
    assert.throws(() => parseSigningKeys(text([rs, es]), 'keys.json'), hubError('CONFIG_INVALID', /ES256 has no active key/));
  });

  it('rejects duplicate kids', () => {
    assert.throws(() => parseSigningKeys(text([rs, { ...es, kid: rs.kid }]), 'keys.json'), hubError('CONFIG_INVALID', /^keys\.json: .*keys\[1\]\.kid: duplicate/));
  });

  it('rejects a set without an active key', () => {
    assert.throws(
      () => parseSigningKeys(text([{ ...rs, status: 'next' }, { ...es, status: 'retired' }]), 'keys.json'),
      hubError('CONFIG_INVALID', /no key has status active/),
    );
  });

  it('rejects public-only keys', () => {
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicOnly } = rs;
    assert.throws(() => parseSigningKeys(text([publicOnly]), 'keys.json'), hubError('CONFIG_INVALID', /keys\[0\]: must be a private key/));
  });

  it('rejects an unsupported alg', () => {
    assert.throws(() => parseSigningKeys(text([{ ...rs, alg: 'HS256' }]), 'keys.json'), hubError('CONFIG_INVALID', /keys\[0\]\.alg: must be RS256, PS256 or ES256/));
    assert.throws(() => parseSigningKeys(text([{ ...rs, alg: 'none' }]), 'keys.json'), hubError('CONFIG_INVALID', /keys\[0\]\.alg/));
  });

  it('rejects an unknown status and a missing kid', () => {
    assert.throws(() => parseSigningKeys(text([rs, { ...es, status: 'current' }]), 'k'), hubError('CONFIG_INVALID', /keys\[1\]\.status/));
    const { kid: _kid, ...noKid } = es;
    assert.throws(() => parseSigningKeys(text([rs, noKid]), 'k'), hubError('CONFIG_INVALID', /keys\[1\]\.kid: required/));
  });

  it('rejects text that is not JSON', () => {
    assert.throws(() => parseSigningKeys('{ keys: [', '/etc/idnav/keys.json'), hubError('CONFIG_INVALID', /^\/etc\/idnav\/keys\.json: not JSON$/));
  });

  it('rejects a missing or empty keys array', () => {
    assert.throws(() => parseSigningKeys('{}', 'k'), hubError('CONFIG_INVALID', /keys: must be a non-empty array/));
    assert.throws(() => parseSigningKeys('{"keys":[]}', 'k'), hubError('CONFIG_INVALID', /keys: must be a non-empty array/));
  });

  it('lists every problem at once', () => {
    try {
      parseSigningKeys(text([{ ...rs, alg: 'HS256', status: 'next' }, { ...es, kid: '' }]), 'k');
      assert.fail('expected a HubError');
    } catch (err) {
      assert.ok(err instanceof HubError);
      for (const part of ['keys[0].alg', 'keys[1].kid: required', 'no key has status active']) {
        assert.ok(err.detail?.includes(part), `${part} in ${err.detail}`);
      }
    }
  });
});

describe('providerJwks', () => {
  it('orders active, next, retired and strips status', () => {
    const retired = generateSigningKey('ES256', 'retired');
    const next = generateSigningKey('ES256', 'next');
    const activeRs = generateSigningKey('RS256', 'active');
    const activeEs = generateSigningKey('ES256', 'active');
    const input = [retired, next, activeRs, activeEs];
    const jwks = providerJwks(input);
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [activeRs.kid, activeEs.kid, next.kid, retired.kid],
    );
    for (const k of jwks.keys) assert.ok(!('status' in k), 'status removed');
    // Everything else is kept (oidc-provider needs the private parts to sign).
    const { status: _s, ...expected } = activeRs;
    assert.deepEqual(jwks.keys[0], expected);
    // The input is left as it was.
    assert.deepEqual(input.map((k) => k.status), ['retired', 'next', 'active', 'active']);
  });

  it('keeps the configured order within one status (the first key of an algorithm signs)', () => {
    const a = { kid: 'a', kty: 'EC', alg: 'ES256', status: 'active' } as SigningKey;
    const b = { kid: 'b', kty: 'EC', alg: 'ES256', status: 'retired' } as SigningKey;
    const c = { kid: 'c', kty: 'EC', alg: 'ES256', status: 'active' } as SigningKey;
    const d = { kid: 'd', kty: 'EC', alg: 'ES256', status: 'retired' } as SigningKey;
    assert.deepEqual(providerJwks([a, b, c, d]).keys.map((k) => k.kid), ['a', 'c', 'b', 'd']);
    assert.deepEqual(providerJwks([c, d, a, b]).keys.map((k) => k.kid), ['c', 'a', 'd', 'b']);
  });
});
