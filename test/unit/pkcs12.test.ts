import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import forge from 'node-forge';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';
import { inspectPkcs12, loadTlsClientCredentials, pkcs12ConversionCommand, TlsCredentialsError } from '../../src/config/pkcs12.ts';

let root: string;
let pki: DevPki;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'idnav-pkcs12-'));
  // rp.p12 is PBES2/AES-256; rp-legacy.p12 has RC2-40 certificates and a 3DES key, like old BankID files.
  pki = await ensureDevPki(path.join(root, 'pki'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A PKCS#12 built by forge with the given key encryption (certificates unencrypted). */
async function forgePfx(algorithm: 'des' | '3des' | 'aes256', passphrase: string): Promise<Buffer> {
  const cert = forge.pki.certificateFromPem(await readFile(pki.rpCert, 'utf8'));
  const key = forge.pki.privateKeyFromPem(await readFile(pki.rpKey, 'utf8'));
  // forge accepts 'des' (PBES2 with DES-CBC) although its type declarations leave it out.
  const options = { algorithm } as unknown as Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3];
  const p12 = forge.pkcs12.toPkcs12Asn1(key, cert, passphrase, options);
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
}

describe('inspectPkcs12', () => {
  it('accepts a modern file with the right passphrase', async () => {
    assert.deepEqual(inspectPkcs12(await readFile(pki.rpPfx), 'qwerty123'), { ok: true });
  });

  it('accepts triple-DES, which OpenSSL 3 still reads', async () => {
    assert.deepEqual(inspectPkcs12(await forgePfx('3des', 'pw'), 'pw'), { ok: true });
  });

  it('reports a wrong passphrase, for modern and legacy files alike', async () => {
    for (const file of [pki.rpPfx, pki.rpPfxLegacy]) {
      const verdict = inspectPkcs12(await readFile(file), 'not-the-passphrase', file);
      assert.equal(verdict.ok, false);
      assert.equal(!verdict.ok && verdict.reason, 'bad-passphrase', file);
      assert.match(!verdict.ok ? verdict.message : '', /wrong passphrase/);
    }
  });

  it('detects RC2-40 (refused by Node) and gives the openssl commands with the file name', async () => {
    const pfx = await readFile(pki.rpPfxLegacy);
    // The premise: Node itself refuses the file with a message that does not say what to do.
    assert.throws(() => tls.createSecureContext({ pfx, passphrase: 'qwerty123' }), /Unsupported PKCS12 PFX data/);
    const verdict = inspectPkcs12(pfx, 'qwerty123', 'certs/FPTestcert5.p12');
    assert.equal(verdict.ok, false);
    if (verdict.ok) return;
    assert.equal(verdict.reason, 'legacy-encryption');
    assert.match(verdict.message, /pbeWithSHAAnd40BitRC2-CBC/);
    assert.ok(
      verdict.message.includes(
        'openssl pkcs12 -legacy -in certs/FPTestcert5.p12 -nodes -out tmp.pem && ' +
          'openssl pkcs12 -export -in tmp.pem -out certs/FPTestcert5-aes256.p12 -certpbe AES-256-CBC -keypbe AES-256-CBC -macalg sha256 && rm tmp.pem',
      ),
      verdict.message,
    );
  });

  it('detects single DES (PBES2) as legacy too', async () => {
    const verdict = inspectPkcs12(await forgePfx('des', 'pw'), 'pw', 'rp.p12');
    assert.equal(!verdict.ok && verdict.reason, 'legacy-encryption');
    assert.match(!verdict.ok ? verdict.message : '', /DES-CBC/);
  });

  it('reports anything else as unreadable', async () => {
    const verdict = inspectPkcs12(await readFile(pki.rpCert), 'x', 'rp.crt.pem');
    assert.equal(!verdict.ok && verdict.reason, 'unreadable');
    assert.match(!verdict.ok ? verdict.message : '', /^rp\.crt\.pem is not a usable PKCS#12 file/);
  });

  it('quotes file names for the shell', () => {
    assert.match(pkcs12ConversionCommand("/srv/bank id/rp's.p12"), /-in '\/srv\/bank id\/rp'\\''s\.p12' /);
  });

  it('gives commands that really convert the file (when openssl is installed)', async (t) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      t.skip('openssl is not installed');
      return;
    }
    const dir = await mkdtemp(path.join(root, 'convert-'));
    await writeFile(path.join(dir, 'old.p12'), await readFile(pki.rpPfxLegacy));
    const command = pkcs12ConversionCommand('old.p12').replace('-nodes', '-nodes -passin pass:qwerty123').replace('-macalg sha256', '-macalg sha256 -passout pass:qwerty123');
    execFileSync('sh', ['-c', command], { cwd: dir, stdio: 'ignore' });
    assert.deepEqual(inspectPkcs12(await readFile(path.join(dir, 'old-aes256.p12')), 'qwerty123'), { ok: true });
  });
});

describe('loadTlsClientCredentials', () => {
  const problemsOf = (fn: () => unknown): Array<[string, string]> => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof TlsCredentialsError);
      return err.problems;
    }
    assert.fail('expected a TlsCredentialsError');
  };

  it('returns a usable PKCS#12 or PEM pair', async () => {
    const pfx = loadTlsClientCredentials({ pfxFile: pki.rpPfx, passphrase: 'qwerty123' }, 'clientCert');
    assert.ok('pfx' in pfx && pfx.pfx.length > 0 && pfx.passphrase === 'qwerty123');
    const pem = loadTlsClientCredentials({ certFile: path.basename(pki.rpCert), keyFile: path.basename(pki.rpKey) }, 'clientCert', pki.dir);
    assert.ok('cert' in pem && pem.cert.includes('BEGIN CERTIFICATE') && pem.key.includes('PRIVATE KEY'));
  });

  it('throws problems under the label, ready for an adapter to return', () => {
    const legacy = problemsOf(() => loadTlsClientCredentials({ pfxFile: pki.rpPfxLegacy, passphrase: 'qwerty123' }, 'clientCert'));
    assert.equal(legacy.length, 1);
    assert.equal(legacy[0]![0], 'clientCert.pfxFile');
    assert.match(legacy[0]![1], /openssl pkcs12 -legacy -in \S*rp-legacy\.p12/);

    assert.deepEqual(
      problemsOf(() => loadTlsClientCredentials({ pfxFile: pki.rpPfx, passphrase: 'nope' }, 'clientCert')).map(([p]) => p),
      ['clientCert.passphrase'],
    );
    assert.deepEqual(problemsOf(() => loadTlsClientCredentials({ certFile: pki.rpCert, keyFile: pki.foreignClientKey }, 'tls')), [
      ['tls.keyFile', `does not belong to the certificate in ${pki.rpCert}`],
    ]);
    assert.deepEqual(problemsOf(() => loadTlsClientCredentials({ certFile: 'missing.pem', keyFile: 'missing.key' }, 'tls', root)), [
      ['tls.certFile', `cannot read ${path.join(root, 'missing.pem')}: no such file`],
      ['tls.keyFile', `cannot read ${path.join(root, 'missing.key')}: no such file`],
    ]);
  });
});
