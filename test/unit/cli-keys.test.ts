import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { main, type CliIo } from '../../src/cli/idnav.ts';
import { generateSigningKey, parseSigningKeys, providerJwks, type SigningKey } from '../../src/provider/secrets.ts';

function io(env: NodeJS.ProcessEnv = {}): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env, cwd: process.cwd() };
}

const now = () => Math.floor(Date.now() / 1000);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'idnav-cli-'));
}

async function generated(): Promise<string> {
  const file = join(tempDir(), 'keys.json');
  assert.equal(await main(['keys', 'generate', '--out', file], io()), 0);
  return file;
}

function readKeys(file: string): SigningKey[] {
  return parseSigningKeys(readFileSync(file, 'utf8'), file);
}

function editKeys(file: string, edit: (keys: SigningKey[]) => void): void {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { keys: SigningKey[] };
  edit(doc.keys);
  writeFileSync(file, JSON.stringify(doc, null, 2));
}

function byStatus(keys: SigningKey[], alg: string, status: string): SigningKey[] {
  return keys.filter((k) => k.alg === alg && k.status === status);
}

/** The JWKS oidc-provider publishes at /jwks when configured as the hub configures it. */
async function publishedJwks(keys: SigningKey[]): Promise<{ keys: Record<string, unknown>[] }> {
  const provider = new Provider('http://127.0.0.1', {
    jwks: providerJwks(keys) as never,
    cookies: { keys: ['0123456789abcdef0123456789abcdef'] },
    features: { devInteractions: { enabled: false } },
  });
  const server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/jwks`);
    assert.equal(res.status, 200);
    return (await res.json()) as { keys: Record<string, unknown>[] };
  } finally {
    server.close();
  }
}

describe('idnav keys generate / secret generate', () => {
  it('writes a signing keys file the hub accepts, private to the owner, and never overwrites it', async () => {
    const file = join(tempDir(), 'keys.json');
    assert.equal(await main(['keys', 'generate', '--out', file], io()), 0);
    const keys = parseSigningKeys(readFileSync(file, 'utf8'), file);
    assert.deepEqual(keys.map((k) => [k.alg, k.status]), [['RS256', 'active'], ['ES256', 'active']]);
    assert.equal(statSync(file).mode & 0o077, 0);
    const second = io();
    assert.equal(await main(['keys', 'generate', '--out', file], second), 1);
    assert.match(second.errors.join('\n'), /EEXIST/);
  });

  it('writes a random secret', async () => {
    const dir = tempDir();
    assert.equal(await main(['secret', 'generate', '--out', join(dir, 'a')], io()), 0);
    assert.equal(await main(['secret', 'generate', '--out', join(dir, 'b')], io()), 0);
    const a = readFileSync(join(dir, 'a'), 'utf8').trim();
    assert.match(a, /^[\w-]{43}$/);
    assert.notEqual(a, readFileSync(join(dir, 'b'), 'utf8').trim());
  });

  it('requires --out', async () => {
    assert.equal(await main(['keys', 'generate'], io()), 2);
  });
});

describe('idnav keys rotate', () => {
  it('adds a next key per algorithm, refuses to promote it too early, then promotes it', async () => {
    const file = await generated();
    const [rsActive, esActive] = readKeys(file);

    // Step 1: a next key per algorithm, published, not signing.
    const first = io();
    assert.equal(await main(['keys', 'rotate', '--file', file], first), 0, first.errors.join('\n'));
    let keys = readKeys(file);
    assert.equal(keys.length, 4);
    for (const alg of ['RS256', 'ES256']) {
      assert.equal(byStatus(keys, alg, 'active').length, 1);
      const [next] = byStatus(keys, alg, 'next');
      assert.ok(next, `${alg} next key`);
      assert.ok(Math.abs((next['published_at'] as number) - now()) <= 5);
      assert.match(first.lines.join('\n'), new RegExp(`${alg}: added ${next.kid} as next`));
    }
    const out = first.lines.join('\n');
    assert.match(out, /^KID +ALG +STATUS +PUBLISHED +ACTIVATED +RETIRED$/m);
    assert.match(out, /max-age=600/);
    assert.match(out, /Restart every hub instance/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(file, '..')), ['keys.json'], 'no temporary file is left behind');

    // Step 2, too early: refused, file unchanged.
    const before = readFileSync(file, 'utf8');
    const early = io();
    assert.equal(await main(['keys', 'rotate', '--file', file], early), 1);
    assert.match(early.errors.join('\n'), /RS256: next key rs256-\w+ was added .* it can become active from .*, or now with --force/);
    assert.match(early.errors.join('\n'), /keys file unchanged/);
    assert.equal(readFileSync(file, 'utf8'), before);

    // Step 2, once the next keys have been published long enough.
    editKeys(file, (list) => {
      for (const k of list) if (k.status === 'next') k['published_at'] = now() - 3601;
    });
    const nextKids = byStatus(readKeys(file), 'RS256', 'next').concat(byStatus(readKeys(file), 'ES256', 'next')).map((k) => k.kid);
    const second = io();
    assert.equal(await main(['keys', 'rotate', '--file', file], second), 0, second.errors.join('\n'));
    keys = readKeys(file);
    assert.equal(keys.length, 4);
    for (const alg of ['RS256', 'ES256']) {
      const active = byStatus(keys, alg, 'active');
      assert.equal(active.length, 1, `exactly one active ${alg} key`);
      assert.ok(nextKids.includes(active[0]!.kid));
      assert.equal(byStatus(keys, alg, 'next').length, 0);
      const retired = byStatus(keys, alg, 'retired');
      assert.deepEqual(retired.map((k) => k.kid), [alg === 'RS256' ? rsActive!.kid : esActive!.kid]);
      assert.ok(Math.abs((retired[0]!['retired_at'] as number) - now()) <= 5);
      assert.equal(typeof active[0]!['activated_at'], 'number');
    }
    assert.match(second.lines.join('\n'), new RegExp(`RS256: rs256-\\w+ next -> active .*; ${rsActive!.kid} active -> retired`));
    assert.match(second.lines.join('\n'), /idnav keys retire --file/);

    // A third run starts the next rotation: new next keys, the retired ones stay.
    const third = io();
    assert.equal(await main(['keys', 'rotate', '--file', file], third), 0);
    keys = readKeys(file);
    for (const alg of ['RS256', 'ES256']) {
      assert.deepEqual(
        ['next', 'active', 'retired'].map((s) => byStatus(keys, alg, s).length),
        [1, 1, 1],
      );
    }

    // The hub accepts the file, and /jwks publishes next, active and retired keys, public parts only.
    const jwks = providerJwks(keys);
    assert.deepEqual(
      jwks.keys.map((k) => k['kid']).sort(),
      keys.map((k) => k.kid).sort(),
    );
    assert.equal(jwks.keys.findIndex((k) => k['kid'] === byStatus(keys, 'RS256', 'active')[0]!.kid) < 2, true, 'active keys come first');
    const published = await publishedJwks(keys);
    assert.deepEqual(published.keys.map((k) => k['kid']).sort(), keys.map((k) => k.kid).sort());
    for (const key of published.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'status', 'published_at', 'activated_at', 'retired_at']) {
        assert.equal(key[member], undefined, `${String(key['kid'])}: ${member} is not published`);
      }
    }
  });

  it('promotes at once with --force and with --min-publish 0', async () => {
    const file = await generated();
    assert.equal(await main(['keys', 'rotate', '--file', file], io()), 0);
    const forced = io();
    assert.equal(await main(['keys', 'rotate', '--file', file, '--force'], forced), 0, forced.errors.join('\n'));
    let keys = readKeys(file);
    assert.deepEqual(keys.map((k) => k.status).sort(), ['active', 'active', 'retired', 'retired']);

    assert.equal(await main(['keys', 'rotate', '--file', file], io()), 0);
    const zero = io();
    assert.equal(await main(['keys', 'rotate', '--file', file, '--min-publish', '0'], zero), 0);
    assert.match(zero.errors.join('\n'), /warning: --min-publish 0 is shorter than the JWKS cache time/);
    keys = readKeys(file);
    for (const alg of ['RS256', 'ES256']) {
      assert.deepEqual(['next', 'active', 'retired'].map((s) => byStatus(keys, alg, s).length), [0, 1, 2]);
    }
  });

  it('refuses a next key of unknown age without --force', async () => {
    const file = await generated();
    editKeys(file, (list) => list.push(generateSigningKey('RS256', 'next')));
    const run = io();
    assert.equal(await main(['keys', 'rotate', '--file', file], run), 1);
    assert.match(run.errors.join('\n'), /RS256: next key rs256-\w+ has no published_at/);
    assert.equal(readKeys(file).length, 3, 'nothing added for ES256 either');
    assert.equal(await main(['keys', 'rotate', '--file', file, '--force'], io()), 0);
  });

  it('refuses an invalid keys file, a missing file and a bad option', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ keys: [{ ...generateSigningKey('ES256', 'next') }] }));
    const bad = io();
    assert.equal(await main(['keys', 'rotate', '--file', join(dir, 'bad.json')], bad), 1);
    assert.match(bad.errors.join('\n'), /no key has status active/);

    const missing = io();
    assert.equal(await main(['keys', 'rotate', '--file', join(dir, 'none.json')], missing), 1);
    assert.match(missing.errors.join('\n'), /ENOENT \(create it with idnav keys generate --out FILE\)/);

    assert.equal(await main(['keys', 'rotate'], io()), 2);
    assert.equal(await main(['keys', 'rotate', '--file', join(dir, 'bad.json'), '--min-publish', 'soon'], io()), 2);
  });
});

describe('idnav keys retire', () => {
  function fileWithRetired(): { file: string; old: string; young: string; unknown: string } {
    const dir = tempDir();
    const active = [generateSigningKey('RS256', 'active'), generateSigningKey('ES256', 'active')];
    const old = { ...generateSigningKey('RS256', 'retired'), retired_at: now() - 5000 };
    const young = { ...generateSigningKey('ES256', 'retired'), retired_at: now() - 100 };
    const unknown = generateSigningKey('ES256', 'retired');
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ keys: [...active, old, young, unknown] }, null, 2), { mode: 0o600 });
    return { file, old: old.kid, young: young.kid, unknown: unknown.kid };
  }

  it('removes only retired keys older than --older-than', async () => {
    const { file, old, young, unknown } = fileWithRetired();
    const run = io();
    assert.equal(await main(['keys', 'retire', '--file', file, '--older-than', '4200'], run), 0, run.errors.join('\n'));
    const kids = readKeys(file).map((k) => k.kid);
    assert.equal(kids.length, 4);
    assert.ok(!kids.includes(old));
    assert.ok(kids.includes(young) && kids.includes(unknown));
    const out = run.lines.join('\n');
    assert.match(out, new RegExp(`removed ${old} \\(RS256, retired .*, 1 h 23 min ago\\)`));
    assert.match(out, new RegExp(`kept ${young} \\(ES256, retired .*\\): can be removed from .* \\(in 1 h 8 min\\)`));
    assert.match(out, new RegExp(`kept ${unknown} \\(ES256\\): it has no retired_at`));
    assert.match(out, /Restart every hub instance/);

    const again = io();
    assert.equal(await main(['keys', 'retire', '--file', file, '--older-than', '4200'], again), 0);
    assert.match(again.lines.join('\n'), /nothing removed; .* unchanged/);
  });

  it('takes the window from the token lifetimes in hub.yaml', async () => {
    const { file, old, young } = fileWithRetired();
    const configDir = join(tempDir(), 'config');
    mkdirSync(configDir);
    // The longest signed token: a signed UserInfo answer, which lives as long as the access token (1200 s).
    writeFileSync(join(configDir, 'hub.yaml'), 'mode: production\ntokens:\n  idTokenTtl: 300\n  accessTokenTtl: ${ACCESS_TTL}\nmethods: []\n');
    const run = io({ ACCESS_TTL: '1200' });
    assert.equal(await main(['keys', 'retire', '--file', file, '--config', configDir], run), 0, run.errors.join('\n'));
    assert.match(run.lines[0]!, /retired keys are kept 4800 s after retired_at: .* 1200 s \(ID tokens 300, signed UserInfo 1200 \(accessTokenTtl\), logout tokens 120\), plus a margin of 3600 s/);
    const kids = readKeys(file).map((k) => k.kid);
    assert.ok(!kids.includes(old));
    assert.ok(kids.includes(young));

    // $IDNAV_CONFIG, and a problem in the tokens block.
    writeFileSync(join(configDir, 'hub.yaml'), 'tokens:\n  idTokenTtl: 900\n');
    const badTtl = io({ IDNAV_CONFIG: configDir });
    assert.equal(await main(['keys', 'retire', '--file', file], badTtl), 1);
    assert.match(badTtl.errors.join('\n'), /hub\.yaml: tokens\.idTokenTtl: must be at most 300 seconds/);
    assert.match(badTtl.errors.join('\n'), /give --older-than SECONDS/);
  });
});

describe('idnav keys list', () => {
  it('prints the keys without private members', async () => {
    const file = await generated();
    assert.equal(await main(['keys', 'rotate', '--file', file], io()), 0);
    const table = io();
    assert.equal(await main(['keys', 'list', '--file', file], table), 0);
    assert.equal(table.lines.length, 5);
    assert.match(table.lines[1]!, /^rs256-\w+ +RS256 +next +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +- +-$/);
    const json = io();
    assert.equal(await main(['keys', 'list', '--file', file, '--json'], json), 0);
    const list = JSON.parse(json.lines.join('\n')) as Record<string, unknown>[];
    assert.deepEqual(list.map((k) => k['status']), ['next', 'active', 'next', 'active']);
    assert.ok(list.every((k) => !('d' in k) && !('n' in k)));
  });
});
