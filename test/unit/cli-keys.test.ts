import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main, type CliIo } from '../../src/cli/idnav.ts';
import { parseSigningKeys } from '../../src/provider/secrets.ts';

function io(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env: {}, cwd: process.cwd() };
}

describe('idnav keys generate / secret generate', () => {
  it('writes a signing keys file the hub accepts, private to the owner, and never overwrites it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'idnav-cli-')), 'keys.json');
    assert.equal(await main(['keys', 'generate', '--out', file], io()), 0);
    const keys = parseSigningKeys(readFileSync(file, 'utf8'), file);
    assert.deepEqual(keys.map((k) => [k.alg, k.status]), [['RS256', 'active'], ['ES256', 'active']]);
    assert.equal(statSync(file).mode & 0o077, 0);
    const second = io();
    assert.equal(await main(['keys', 'generate', '--out', file], second), 1);
    assert.match(second.errors.join('\n'), /EEXIST/);
  });

  it('writes a random secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idnav-cli-'));
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
