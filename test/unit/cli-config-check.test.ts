import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';
import { devConfigEnv } from '../helpers/dev-env.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(repo, 'src/cli/idnav.ts');

let root: string;
let pki: DevPki;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'idnav-cli-'));
  pki = await ensureDevPki(path.join(root, 'pki'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `idnav <args>` with a clean environment (no NODE_ENV, no IDNAV_* from the caller). */
function idnav(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: root, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('idnav config check', () => {
  it('accepts the repository config with the dev environment (real adapters)', async () => {
    const run = await idnav(['config', 'check', '--config', path.join(repo, 'config')], {
      ...devConfigEnv(pki.dir),
    });
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, 'config OK: 16 tenants, 3 clients, 5 methods (mode dev)\n');
    assert.equal(run.code, 0);
  });

  it('takes the directory from IDNAV_CONFIG', async () => {
    const run = await idnav(['config', 'check'], {
      IDNAV_CONFIG: path.join(repo, 'config'),
      ...devConfigEnv(pki.dir),
    });
    assert.equal(run.code, 0, run.stderr);
  });

  it('prints every problem as file: path: reason and exits 1', async () => {
    const dir = path.join(root, 'bad');
    await mkdir(path.join(dir, 'tenants'), { recursive: true });
    await mkdir(path.join(dir, 'clients'), { recursive: true });
    await writeFile(
      path.join(dir, 'hub.yaml'),
      `mode: dev
tokens: { idTokenTtl: 600 }
methods:
  - id: bankid
    type: bankid
    config:
      baseUrl: https://127.0.0.1:9/rp/v6.0
      clientCert: { pfxFile: ${JSON.stringify(pki.rpPfxLegacy)}, passphrase: qwerty123 }
      caFile: ${JSON.stringify(pki.bankidServerCa)}
`,
    );
    await writeFile(
      path.join(dir, 'tenants/alpha.yaml'),
      'kommunkod: "1780"\nname: { sv: Alfa kommun, en: Alpha }\nbranding: { primaryColor: "#00466e", accentColor: "#b0005d" }\nlogo: x.svg\n',
    );
    await writeFile(path.join(dir, 'clients/rp.yaml'), 'tenant: nowhere\nredirect_uris: [https://rp.test/cb]\nclient_secret: 0123456789abcdef0123456789abcdef\n');

    const run = await idnav(['config', 'check', '--config', dir]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 5, run.stderr);
    assert.equal(lines[0], 'hub.yaml: tokens.idTokenTtl: must be at most 300 seconds (the Swedish OIDC profile caps ID tokens at 5 minutes)');
    assert.match(lines[1]!, /^hub\.yaml: methods\[0\]\.config\.clientCert\.pfxFile: .*legacy.* openssl pkcs12 -legacy -in \S+\.p12 -nodes /);
    assert.equal(lines[2], 'clients/rp.yaml: tenant: unknown tenant "nowhere" (use a tenant id or "*" for a shared client)');
    assert.equal(lines[3], 'tenants/alpha.yaml: logo: unknown key "logo"');
    assert.equal(lines[4], `config check failed: 4 problems in ${dir}`);
  });

  it('prints usage and exits 2 for an unknown subcommand or option', async () => {
    const unknown = await idnav(['config', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command: config frobnicate/);
    assert.match(unknown.stderr, /usage:\n {2}idnav config check \[--config DIR\]/);

    const option = await idnav(['config', 'check', '--nope']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /usage: idnav config check/);

    const none = await idnav([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^usage:/);
  });
});
