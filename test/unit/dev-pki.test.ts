import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';

const pkiModule = fileURLToPath(new URL('../../dev/pki.ts', import.meta.url));

/** Runs ensureDevPki in another process; returns its answer and the RP key it read right after. */
function runInChild(dir: string): Promise<{ pki: DevPki; rpKey: string }> {
  const code = `import { readFileSync } from 'node:fs';
import { ensureDevPki } from ${JSON.stringify(pkiModule)};
const pki = await ensureDevPki(${JSON.stringify(dir)});
process.stdout.write(JSON.stringify({ pki, rpKey: readFileSync(pki.rpKey, 'utf8') }));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as { pki: DevPki; rpKey: string });
    });
  });
}

const fileKeys = (p: DevPki) =>
  (Object.keys(p) as Array<keyof DevPki>).filter((k) => k !== 'dir' && k !== 'rpPfxPassphrase' && k !== 'pfxPassphrase') as Array<
    Exclude<keyof DevPki, 'dir' | 'rpPfxPassphrase' | 'pfxPassphrase'>
  >;

describe('ensureDevPki', () => {
  let root: string;
  let pki: DevPki;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'idnav-pki-'));
    pki = await ensureDevPki(path.join(root, 'a', 'certs'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('returns absolute paths of files that exist', async () => {
    assert.ok(path.isAbsolute(pki.dir));
    assert.equal(pki.rpPfxPassphrase, 'qwerty123');
    for (const key of fileKeys(pki)) {
      assert.ok(path.isAbsolute(pki[key]), key);
      assert.ok((await stat(pki[key])).size > 0, key);
    }
  });

  it('issues certificates whose chains verify, and look-alikes that do not', async () => {
    const cert = async (p: string) => forge.pki.certificateFromPem(await readFile(p, 'utf8'));
    const store = (ca: forge.pki.Certificate) => forge.pki.createCaStore([ca]);
    const verifies = (ca: forge.pki.Certificate, leaf: forge.pki.Certificate) => {
      try {
        return forge.pki.verifyCertificateChain(store(ca), [leaf]);
      } catch {
        return false;
      }
    };
    const bankidCa = await cert(pki.bankidServerCa);
    const rpCa = await cert(pki.rpCa);
    const server = await cert(pki.bankidServerCert);
    const rp = await cert(pki.rpCert);
    const foreign = await cert(pki.foreignClientCert);
    const unpinned = await cert(pki.unpinnedServerCert);

    assert.match(bankidCa.subject.getField('CN').value, /^Test BankID SSL Root CA v1 Test \(idnav dev\)$/);
    assert.match(rpCa.subject.getField('CN').value, /^Testbank A RP CA v1 for BankID Test \(idnav dev\)$/);
    assert.equal(verifies(bankidCa, server), true);
    assert.equal(verifies(rpCa, rp), true);
    assert.equal(verifies(await cert(pki.foreignCa), foreign), true);
    assert.equal(verifies(await cert(pki.unpinnedServerCa), unpinned), true);
    assert.equal(verifies(rpCa, foreign), false);
    assert.equal(verifies(bankidCa, unpinned), false);

    const san = server.getExtension('subjectAltName') as { altNames: Array<{ type: number; value?: string; ip?: string }> };
    assert.deepEqual(
      san.altNames.map((n) => n.ip ?? n.value),
      ['localhost', '127.0.0.1', '::1'],
    );
    const years = (server.validity.notAfter.getTime() - server.validity.notBefore.getTime()) / (365 * 86400_000);
    assert.ok(years > 1.9 && years < 2.1, `validity ${years} years`);
    assert.equal((server.publicKey as forge.pki.rsa.PublicKey).n.bitLength(), 2048);
  });

  it('writes a modern PKCS#12 that Node loads and a legacy one that Node refuses', async () => {
    const passphrase = pki.rpPfxPassphrase;
    const modern = await readFile(pki.rpPfx);
    const legacy = await readFile(pki.rpPfxLegacy);
    assert.doesNotThrow(() => tls.createSecureContext({ pfx: modern, passphrase }));
    assert.throws(() => tls.createSecureContext({ pfx: legacy, passphrase }), /unsupported/i);
    assert.throws(() => tls.createSecureContext({ pfx: modern, passphrase: 'wrong' }));

    // Both hold the same credentials as the PEM pair.
    const rpCertPem = await readFile(pki.rpCert, 'utf8');
    const rpKey = forge.pki.privateKeyFromPem(await readFile(pki.rpKey, 'utf8')) as forge.pki.rsa.PrivateKey;
    for (const file of [modern, legacy]) {
      const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(file.toString('binary')), passphrase);
      const certs = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
      const keys = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? [];
      assert.equal(forge.pki.certificateToPem(certs[0]!.cert!), rpCertPem);
      assert.equal(certs.length, 2, 'leaf and issuing CA');
      assert.equal((keys[0]!.key as forge.pki.rsa.PrivateKey).n.toString(16), rpKey.n.toString(16));
    }
  });

  it('reuses a complete directory without regenerating', async () => {
    const before = (await stat(pki.rpCert)).mtimeMs;
    const again = await ensureDevPki(pki.dir);
    assert.deepEqual(again, pki);
    assert.equal((await stat(pki.rpCert)).mtimeMs, before);
  });

  it('gives concurrent callers (three processes) the same files', async () => {
    const dir = path.join(root, 'race', 'certs');
    const readKey = async (p: DevPki) => ({ pki: p, rpKey: await readFile(p.rpKey, 'utf8') });
    const [a, b, c, d] = await Promise.all([ensureDevPki(dir).then(readKey), runInChild(dir), runInChild(dir), ensureDevPki(dir).then(readKey)]);
    assert.deepEqual(d, a);
    assert.deepEqual(b.pki, a.pki);
    assert.deepEqual(c.pki, a.pki);
    assert.equal(b.rpKey, a.rpKey);
    assert.equal(c.rpKey, a.rpKey);
    assert.equal(await readFile(a.pki.rpKey, 'utf8'), a.rpKey);
    // Whoever lost the rename cleaned up its temporary directory.
    assert.deepEqual(await readdir(path.dirname(dir)), ['certs']);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    assert.equal(Object.keys(manifest.files).length, fileKeys(a.pki).length);
  });

  it('refuses a directory that it did not generate', async () => {
    const dir = path.join(root, 'foreign');
    await mkdir(dir);
    await writeFile(path.join(dir, 'something.pem'), 'x');
    await assert.rejects(ensureDevPki(dir), /not a generated dev PKI/);
  });
});
