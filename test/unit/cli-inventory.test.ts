import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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

/** Runs `idnav <args>` against the repository config with the dev environment it needs. */
function idnav(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    IDNAV_CONFIG: path.join(repo, 'config'),
    ...devConfigEnv(pki.dir),
    ...extraEnv,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('idnav tenants / clients', () => {
  it('lists the tenants of the repository config as a table', async () => {
    const run = await idnav(['tenants']);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +KOMMUNKOD +NAME +METHODS +REGISTRY$/);
    assert.equal(lines.length, 1 + 16 + 2);
    assert.match(run.stdout, /^karlstad +1780 +Karlstads kommun +bankid, freja, saml:sweden-connect, saml:eidas, saml:karlstad-adfs +-$/m);
    assert.match(run.stdout, /^kil +1715 +Kils kommun +bankid, freja, saml:eidas +own$/m);
    assert.match(run.stdout, /^storfors +\d{4} +Storfors kommun +bankid +-$/m);
    assert.match(run.stdout, /^arjang +\d{4} +Årjängs kommun +freja, bankid, saml:eidas +-$/m);
    assert.equal(lines.at(-1), "16 tenants; 1 with registry credentials of their own, the others use hub.yaml's");
    // Columns line up: every row starts its KOMMUNKOD where the header does.
    const column = lines[0]!.indexOf('KOMMUNKOD');
    for (const line of lines.slice(1, 17)) assert.match(line.slice(column), /^\d{4} /);
  });

  it('lists the tenants as JSON', async () => {
    const run = await idnav(['tenants', '--json', '--config', path.join(repo, 'config')]);
    assert.equal(run.code, 0, run.stderr);
    const list = JSON.parse(run.stdout) as Array<{ id: string; kommunkod: string; name: { sv: string }; methods: string[]; ownRegistryCredentials: boolean }>;
    assert.equal(list.length, 16);
    assert.deepEqual(list.find((t) => t.id === 'kil'), {
      id: 'kil',
      kommunkod: '1715',
      name: { sv: 'Kils kommun', en: 'Kil Municipality' },
      methods: ['bankid', 'freja', 'saml:eidas'],
      ownRegistryCredentials: true,
    });
    assert.deepEqual(list.filter((t) => t.ownRegistryCredentials).map((t) => t.id), ['kil']);
  });

  it('lists the clients as a table and as JSON, without secrets', async () => {
    const run = await idnav(['clients']);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^CLIENT_ID +TENANT +AUTH +REDIRECT_URIS +FIRST_PARTY +ALLOWED_SCOPES$/);
    assert.equal(lines.length, 1 + 3 + 2);
    assert.match(run.stdout, /^e-tjanst +\* \(16 tenants\) +client_secret_basic +16 +yes +profile https:\/\/id\.oidc\.se\/scope\/naturalPersonNumber .*urn:idnav:scope:guardianship .*urn:idnav:scope:staff$/m);
    assert.match(run.stdout, /^kil-skola +kil +private_key_jwt +1 +yes +profile /m);
    assert.match(run.stdout, /^kommun-app +karlstad +none +2 +yes +offline_access profile /m);
    assert.doesNotMatch(run.stdout, /dev-e-tjanst-secret/);

    const json = await idnav(['clients', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, /secret-/);
    const list = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      list.map((c) => [c['client_id'], c['tenant'], c['token_endpoint_auth_method'], c['redirect_uris'], c['first_party']]),
      [
        ['e-tjanst', '*', 'client_secret_basic', 16, true],
        ['kil-skola', 'kil', 'private_key_jwt', 1, true],
        ['kommun-app', 'karlstad', 'none', 2, true],
      ],
    );
    assert.equal((list[0]!['tenants'] as string[]).length, 16);
    assert.deepEqual(list[2]!['allowed_scopes'], [
      'offline_access',
      'profile',
      'https://id.oidc.se/scope/naturalPersonNumber',
      'https://id.oidc.se/scope/naturalPersonInfo',
    ]);
  });

  it('lists the repository config\'s certificates, none expiring', async () => {
    const run = await idnav(['certs']);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^hub\.yaml: methods\[1\]\.config\.signingCertificates\[1\] +\S+freja-signing-next\.crt\.pem +CN=/m);
    assert.match(run.stdout, /^tenants\/kil\.yaml: registry\.clientCert\.certFile +\S+navet-tenant\.crt\.pem +CN=/m);
    assert.match(run.stdout, /\n\d+ certificates in \d+ files; none expires within 30 days\n$/);
  });

  it('prints the configuration problems and exits 1 when an environment variable is missing', async () => {
    const run = await idnav(['tenants'], { IDNAV_NAVET_URL: '' });
    // An empty value is kept: the navet adapter refuses it.
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^hub\.yaml: registry\.config\.baseUrl: /m);
    assert.match(run.stderr, /invalid configuration: 1 problem in .*config \(see idnav config check\)\n$/);
  });
});
