import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import { readCertificates } from '../../src/ops/certificates.ts';
import { main, type CliIo } from '../../src/cli/idnav.ts';

const DAY = 86_400_000;

let root: string;
let configDir: string;

function io(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env: {}, cwd: root };
}

interface Issued {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  keyPem: string;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
const forgePublic = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);

let serial = 1;
/** A certificate valid from yesterday for `days` days (negative: expired), signed by `issuer` or itself. */
function issue(cn: string, o: string, days: number, issuer?: Issued): Issued {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = (serial++).toString(16).padStart(2, '0');
  cert.validity.notBefore = new Date(Date.now() - DAY - (days < 0 ? -days * DAY : 0));
  cert.validity.notAfter = new Date(Date.now() + days * DAY);
  const subject = [
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: o },
  ];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { cert, key: forgeKey, keyPem };
}

const pem = (...issued: Issued[]) => issued.map((i) => forge.pki.certificateToPem(i.cert)).join('');

function pfx(leaf: Issued, chain: Issued[], passphrase: string): Buffer {
  const p12 = forge.pkcs12.toPkcs12Asn1(leaf.key, [leaf.cert, ...chain.map((c) => c.cert)], passphrase, {
    algorithm: 'aes256',
    prfAlgorithm: 'sha256',
    count: 2048,
  } as Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3]);
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
}

function hubYaml(caFile: string): string {
  return `mode: dev
methods:
  - id: bankid
    type: bankid
    config:
      baseUrl: https://127.0.0.1:9/rp/v6.0
      clientCert: { pfxFile: certs/rp.p12, passphrase: "correct horse" }
      caFile: ${caFile}
registry:
  type: navet
  config:
    baseUrl: https://127.0.0.1:9/na/na_epersondata/V2
    caFile: certs/navet-ca-chain.pem
    clientCert: { certFile: certs/navet-client.crt.pem, keyFile: certs/navet-client.key.pem }
    orgNr: "162021004748"
    bestallningsId: 00000079-FO01-0001
`;
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'idnav-cli-certs-'));
  configDir = path.join(root, 'config');
  const certs = path.join(configDir, 'certs');
  await mkdir(certs, { recursive: true });
  await mkdir(path.join(configDir, 'tenants'));

  const rpCa = issue('Test RP CA', 'Testbank AB', 3650);
  const rp = issue('Region Test RP', 'Region Test', 400, rpCa);
  const soon = issue('Soon Expiring Root CA', 'Test BankID AB', 10);
  const expired = issue('Expired Root CA', 'Test BankID AB', -3);
  const navetRoot = issue('Test Skatteverket Root', 'Skatteverket', 3650);
  const navetCa = issue('Test Skatteverket Server CA', 'Skatteverket', 400, navetRoot);
  const navetClient = issue('Region Test Navet', 'Region Test', 400, rpCa);
  const tenantClient = issue('Alfa kommun Navet', 'Alfa kommun', 400, rpCa);

  await writeFile(path.join(certs, 'rp.p12'), pfx(rp, [rpCa], 'correct horse'));
  await writeFile(path.join(certs, 'soon-ca.pem'), pem(soon));
  await writeFile(path.join(certs, 'expired-ca.pem'), pem(expired));
  await writeFile(path.join(certs, 'navet-ca-chain.pem'), pem(navetCa, navetRoot));
  await writeFile(path.join(certs, 'navet-client.crt.pem'), pem(navetClient));
  await writeFile(path.join(certs, 'navet-client.key.pem'), keyPem, { mode: 0o600 });
  await writeFile(path.join(certs, 'tenant.crt.pem'), pem(tenantClient));
  await writeFile(path.join(certs, 'tenant.key.pem'), keyPem, { mode: 0o600 });

  await writeFile(path.join(configDir, 'hub.yaml'), hubYaml('certs/soon-ca.pem'));
  await writeFile(
    path.join(configDir, 'tenants/alfa.yaml'),
    `kommunkod: "1780"
name: { sv: Alfa kommun, en: Alpha }
branding: { primaryColor: "#00466e", accentColor: "#b0005d" }
registry:
  clientCert: { certFile: certs/tenant.crt.pem, keyFile: certs/tenant.key.pem }
`,
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Report {
  configFile: string;
  at: string;
  file: string;
  index: number;
  count: number;
  subject: { CN?: string; O?: string };
  issuer: { CN?: string };
  daysLeft: number;
  status: string;
}

describe('idnav certs', () => {
  it('lists every certificate of methods, registry and tenants and warns about one expiring in 10 days', async () => {
    const run = io();
    assert.equal(await main(['certs', '--config', configDir, '--warn-days', '30'], run), 1);
    const out = run.lines.join('\n');
    assert.match(run.lines[0]!, /^USED AT +FILE +SUBJECT +ISSUER +NOT AFTER +DAYS +STATUS$/);
    // One row per certificate: the PKCS#12 file holds two, the CA chain two; private keys are skipped.
    assert.equal(run.lines.length, 1 + 7 + 2, out);
    assert.match(out, /^hub\.yaml: methods\[0\]\.config\.clientCert\.pfxFile +certs\/rp\.p12 #1 +CN=Region Test RP, O=Region Test +CN=Test RP CA +\d{4}-\d\d-\d\d +(399|400) +ok$/m);
    assert.match(out, /^hub\.yaml: methods\[0\]\.config\.clientCert\.pfxFile +certs\/rp\.p12 #2 +CN=Test RP CA, O=Testbank AB /m);
    assert.match(out, /^hub\.yaml: methods\[0\]\.config\.caFile +certs\/soon-ca\.pem +CN=Soon Expiring Root CA, O=Test BankID AB +CN=Soon Expiring Root CA +\S+ +(9|10) +expiring$/m);
    assert.match(out, /^hub\.yaml: registry\.config\.caFile +certs\/navet-ca-chain\.pem #2 +CN=Test Skatteverket Root/m);
    assert.match(out, /^hub\.yaml: registry\.config\.clientCert\.certFile +certs\/navet-client\.crt\.pem +CN=Region Test Navet/m);
    assert.match(out, /^tenants\/alfa\.yaml: registry\.clientCert\.certFile +certs\/tenant\.crt\.pem +CN=Alfa kommun Navet, O=Alfa kommun +CN=Test RP CA /m);
    assert.doesNotMatch(out, /keyFile/);
    assert.equal(run.lines.at(-1), '7 certificates in 5 files; 1 expires within 30 days');

    assert.equal(run.errors.length, 1, run.errors.join('\n'));
    assert.match(
      run.errors[0]!,
      /^hub\.yaml: methods\[0\]\.config\.caFile: certificate CN=Soon Expiring Root CA, O=Test BankID AB in \S+soon-ca\.pem expires \S+ \(in (9|10) days\)$/,
    );
  });

  it('exits 0 when nothing expires within the window', async () => {
    const run = io();
    assert.equal(await main(['certs', '--config', configDir, '--warn-days', '5'], run), 0);
    assert.deepEqual(run.errors, []);
    assert.equal(run.lines.at(-1), '7 certificates in 5 files; none expires within 5 days');
  });

  it('prints JSON with --json, the PKCS#12 certificates included', async () => {
    const run = io();
    assert.equal(await main(['certs', '--config', configDir, '--warn-days', '5', '--json'], run), 0);
    const report = JSON.parse(run.lines.join('\n')) as { warnDays: number; certificates: Report[]; problems: unknown[] };
    assert.equal(report.warnDays, 5);
    assert.deepEqual(report.problems, []);
    const p12 = report.certificates.filter((c) => c.at === 'methods[0].config.clientCert.pfxFile');
    assert.deepEqual(
      p12.map((c) => [c.subject.CN, c.issuer.CN, c.index, c.count, c.status]),
      [
        ['Region Test RP', 'Test RP CA', 1, 2, 'ok'],
        ['Test RP CA', 'Test RP CA', 2, 2, 'ok'],
      ],
    );
    assert.equal(p12[0]!.file, path.join(configDir, 'certs/rp.p12'));
    assert.ok(p12[0]!.daysLeft >= 399 && p12[0]!.daysLeft <= 400);
    assert.deepEqual(
      report.certificates.map((c) => `${c.configFile}: ${c.at}`),
      [
        'hub.yaml: methods[0].config.clientCert.pfxFile',
        'hub.yaml: methods[0].config.clientCert.pfxFile',
        'hub.yaml: methods[0].config.caFile',
        'hub.yaml: registry.config.caFile',
        'hub.yaml: registry.config.caFile',
        'hub.yaml: registry.config.clientCert.certFile',
        'tenants/alfa.yaml: registry.clientCert.certFile',
      ],
    );
  });

  it('reports an expired certificate whatever the window', async () => {
    const dir = path.join(root, 'expired');
    await mkdir(path.join(dir, 'tenants'), { recursive: true });
    await writeFile(path.join(dir, 'hub.yaml'), hubYaml('certs/expired-ca.pem').replaceAll('certs/', '../config/certs/'));
    await writeFile(
      path.join(dir, 'tenants/alfa.yaml'),
      'kommunkod: "1780"\nname: { sv: Alfa kommun, en: Alpha }\nbranding: { primaryColor: "#00466e", accentColor: "#b0005d" }\n',
    );
    const run = io();
    assert.equal(await main(['certs', '--config', dir, '--warn-days', '0'], run), 1);
    assert.match(run.lines.join('\n'), /^hub\.yaml: methods\[0\]\.config\.caFile +\S+expired-ca\.pem +CN=Expired Root CA.* -3 +expired$/m);
    assert.deepEqual(run.errors.length, 1);
    assert.match(run.errors[0]!, /^hub\.yaml: methods\[0\]\.config\.caFile: certificate CN=Expired Root CA, O=Test BankID AB in \S+ expired \S+ \(3 days ago\)$/);
  });

  it('prints the configuration problems and exits 1 when the config does not load', async () => {
    const run = io();
    assert.equal(await main(['certs', '--config', path.join(root, 'nowhere')], run), 1);
    assert.match(run.errors.join('\n'), /hub\.yaml: file not found/);
    assert.equal(await main(['certs', '--config', configDir, '--warn-days', 'many'], io()), 2);
  });
});

describe('readCertificates', () => {
  it('reads the certificates of SAML metadata and skips private keys and other files', async () => {
    const dir = path.join(root, 'files');
    await mkdir(dir, { recursive: true });
    const one = issue('IdP Signing 1', 'Test IdP', 400);
    const two = issue('IdP Signing 2', 'Test IdP', 800);
    const b64 = (i: Issued) => forge.util.encode64(forge.asn1.toDer(forge.pki.certificateToAsn1(i.cert)).getBytes());
    await writeFile(
      path.join(dir, 'metadata.xml'),
      `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.test">
  <md:IDPSSODescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
${b64(one).replace(/(.{64})/g, '$1\n')}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${b64(two)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor>
</md:EntityDescriptor>`,
    );
    await writeFile(path.join(dir, 'cert.der'), Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(one.cert)).getBytes(), 'binary'));
    await writeFile(path.join(dir, 'key.pem'), keyPem);
    await writeFile(path.join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');

    const read = (name: string, key: string) =>
      readCertificates({ configFile: 'hub.yaml', at: `x.${key}`, file: path.join(dir, name), key });
    const metadata = await read('metadata.xml', 'metadataFile');
    assert.ok('certificates' in metadata);
    assert.deepEqual(metadata.certificates.map((c) => c.subject), ['CN=IdP Signing 1\nO=Test IdP', 'CN=IdP Signing 2\nO=Test IdP']);
    const der = await read('cert.der', 'certFile');
    assert.ok('certificates' in der && der.certificates.length === 1);
    assert.deepEqual(await read('key.pem', 'keyFile'), { problem: '' });
    assert.deepEqual(await read('logo.svg', 'logoFile'), { problem: '' });
    assert.match(((await read('missing.pem', 'caFile')) as { problem: string }).problem, /cannot read .*missing\.pem: ENOENT/);
  });
});
