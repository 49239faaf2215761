/**
 * Test PKI for development and tests: a stand-in for BankID's SSL root and server certificate, an RP
 * client certificate (PEM, modern PKCS#12 and legacy PKCS#12), and two look-alikes from unrelated CAs
 * that must be refused (a foreign client certificate, an unpinned server certificate).
 *
 * Generated once per directory with node-forge. Generation happens in a temporary sibling directory
 * that is renamed into place, so concurrent callers (parallel test processes, the launcher and a test)
 * never see a half-written directory and all end up using the same files. `manifest.json` is written
 * last; a directory without it was not made here and is refused rather than overwritten.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';

const { pki, asn1 } = forge;

export interface DevPki {
  /** Absolute path of the directory holding the files below. */
  dir: string;
  /** Stand-in for "Test BankID SSL Root CA v1 Test": the CA the hub's BankID adapter pins. */
  bankidServerCa: string;
  bankidServerCert: string;
  bankidServerKey: string;
  /** The CA that issues RP client certificates; the simulator accepts only its certificates. */
  rpCa: string;
  rpCert: string;
  rpKey: string;
  /** PKCS#12 with PBES2/AES-256 (what OpenSSL 3 reads without the legacy provider). */
  rpPfx: string;
  /** PKCS#12 with RC2-40 and 3DES, like older BankID test files; OpenSSL 3 refuses it by default. */
  rpPfxLegacy: string;
  rpPfxPassphrase: string;
  /** The passphrase of every PKCS#12 file here. */
  pfxPassphrase: string;
  foreignCa: string;
  foreignClientCert: string;
  foreignClientKey: string;
  unpinnedServerCa: string;
  unpinnedServerCert: string;
  unpinnedServerKey: string;
  /** Stand-in for Skatteverket's Navet server certificate and the CA the registry adapter pins. */
  navetServerCa: string;
  navetServerCert: string;
  navetServerKey: string;
  /** The CA that issues municipal organisation certificates; the Navet simulator accepts only these. */
  navetClientCa: string;
  /** The region's default Navet client certificate (PEM pair and PKCS#12). */
  navetClientCert: string;
  navetClientKey: string;
  navetClientPfx: string;
  /** A second municipality's own Navet client certificate (per-tenant credentials). */
  navetTenantCert: string;
  navetTenantKey: string;
  /** Stand-in for Freja eID's server certificate and the CA the Freja adapter pins. */
  frejaServerCa: string;
  frejaServerCert: string;
  frejaServerKey: string;
  /** The CA that issues Freja relying-party client certificates. */
  frejaClientCa: string;
  frejaClientCert: string;
  frejaClientKey: string;
  frejaClientPfx: string;
  /** Freja's result-signing certificates: the current one and the next one (rollover). */
  frejaSigningCert: string;
  frejaSigningKey: string;
  frejaSigningNextCert: string;
  frejaSigningNextKey: string;
  /** The hub's SAML SP keys (self-signed, as SAML metadata uses them): AuthnRequest signing and assertion decryption. */
  samlSpSigningKey: string;
  samlSpSigningCert: string;
  samlSpEncryptionKey: string;
  samlSpEncryptionCert: string;
  /** The simulated SAML IdPs' keys: response signing and metadata signing (the hub pins the latter), per persona. */
  samlIdpEidasSigningKey: string;
  samlIdpEidasSigningCert: string;
  samlIdpEidasMetadataKey: string;
  samlIdpEidasMetadataCert: string;
  samlIdpSwedenConnectSigningKey: string;
  samlIdpSwedenConnectSigningCert: string;
  samlIdpSwedenConnectMetadataKey: string;
  samlIdpSwedenConnectMetadataCert: string;
  samlIdpKarlstadAdfsSigningKey: string;
  samlIdpKarlstadAdfsSigningCert: string;
  samlIdpKarlstadAdfsMetadataKey: string;
  samlIdpKarlstadAdfsMetadataCert: string;
}

type FileKey = Exclude<keyof DevPki, 'dir' | 'rpPfxPassphrase' | 'pfxPassphrase'>;

/** The passphrase BankID uses for its public test RP certificate. */
export const DEV_PFX_PASSPHRASE = 'qwerty123';

const MANIFEST = 'manifest.json';
const MANIFEST_FORMAT = 3;
const VALIDITY_DAYS = 730;

const FILES: Record<FileKey, string> = {
  bankidServerCa: 'bankid-server-ca.pem',
  bankidServerCert: 'bankid-server.crt.pem',
  bankidServerKey: 'bankid-server.key.pem',
  rpCa: 'rp-ca.pem',
  rpCert: 'rp.crt.pem',
  rpKey: 'rp.key.pem',
  rpPfx: 'rp.p12',
  rpPfxLegacy: 'rp-legacy.p12',
  foreignCa: 'foreign-ca.pem',
  foreignClientCert: 'foreign-client.crt.pem',
  foreignClientKey: 'foreign-client.key.pem',
  unpinnedServerCa: 'unpinned-server-ca.pem',
  unpinnedServerCert: 'unpinned-server.crt.pem',
  unpinnedServerKey: 'unpinned-server.key.pem',
  navetServerCa: 'navet-server-ca.pem',
  navetServerCert: 'navet-server.crt.pem',
  navetServerKey: 'navet-server.key.pem',
  navetClientCa: 'navet-client-ca.pem',
  navetClientCert: 'navet-client.crt.pem',
  navetClientKey: 'navet-client.key.pem',
  navetClientPfx: 'navet-client.p12',
  navetTenantCert: 'navet-tenant.crt.pem',
  navetTenantKey: 'navet-tenant.key.pem',
  frejaServerCa: 'freja-server-ca.pem',
  frejaServerCert: 'freja-server.crt.pem',
  frejaServerKey: 'freja-server.key.pem',
  frejaClientCa: 'freja-client-ca.pem',
  frejaClientCert: 'freja-client.crt.pem',
  frejaClientKey: 'freja-client.key.pem',
  frejaClientPfx: 'freja-client.p12',
  frejaSigningCert: 'freja-signing.crt.pem',
  frejaSigningKey: 'freja-signing.key.pem',
  frejaSigningNextCert: 'freja-signing-next.crt.pem',
  frejaSigningNextKey: 'freja-signing-next.key.pem',
  samlSpSigningKey: 'saml-sp-signing.key.pem',
  samlSpSigningCert: 'saml-sp-signing.crt.pem',
  samlSpEncryptionKey: 'saml-sp-encryption.key.pem',
  samlSpEncryptionCert: 'saml-sp-encryption.crt.pem',
  samlIdpEidasSigningKey: 'saml-idp-eidas-signing.key.pem',
  samlIdpEidasSigningCert: 'saml-idp-eidas-signing.crt.pem',
  samlIdpEidasMetadataKey: 'saml-idp-eidas-metadata.key.pem',
  samlIdpEidasMetadataCert: 'saml-idp-eidas-metadata.crt.pem',
  samlIdpSwedenConnectSigningKey: 'saml-idp-sweden-connect-signing.key.pem',
  samlIdpSwedenConnectSigningCert: 'saml-idp-sweden-connect-signing.crt.pem',
  samlIdpSwedenConnectMetadataKey: 'saml-idp-sweden-connect-metadata.key.pem',
  samlIdpSwedenConnectMetadataCert: 'saml-idp-sweden-connect-metadata.crt.pem',
  samlIdpKarlstadAdfsSigningKey: 'saml-idp-karlstad-adfs-signing.key.pem',
  samlIdpKarlstadAdfsSigningCert: 'saml-idp-karlstad-adfs-signing.crt.pem',
  samlIdpKarlstadAdfsMetadataKey: 'saml-idp-karlstad-adfs-metadata.key.pem',
  samlIdpKarlstadAdfsMetadataCert: 'saml-idp-karlstad-adfs-metadata.crt.pem',
};

interface Manifest {
  format: number;
  createdAt: string;
  notAfter: string;
  files: Record<FileKey, string>;
}

/** Callers in one process share one generation; other processes are handled by the atomic rename. */
const inflight = new Map<string, Promise<DevPki>>();

export function ensureDevPki(dir: string): Promise<DevPki> {
  const target = path.resolve(dir);
  let pending = inflight.get(target);
  if (!pending) {
    pending = ensure(target).finally(() => inflight.delete(target));
    inflight.set(target, pending);
  }
  return pending;
}

async function ensure(target: string): Promise<DevPki> {
  const existing = await readManifest(target);
  if (existing && existing !== 'outdated') return describe(target, existing);
  // Refuse early (before the key generation) when the directory holds something else.
  if (!existing && (await readdir(target).catch(() => [])).length > 0) throw notGenerated(target);
  if (existing === 'outdated') {
    // Made here by an older version with fewer files: move it aside and generate the current set.
    const aside = `${target}.old-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await rename(target, aside);
      await rm(aside, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // another process moved it first
    }
  }

  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(tmp);
    await generateInto(tmp);
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another process won the race (the target now exists and is not empty): use its files.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR') throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  const manifest = await readManifest(target);
  if (!manifest || manifest === 'outdated') throw notGenerated(target);
  return describe(target, manifest);
}

function notGenerated(dir: string): Error {
  return new Error(`${dir} exists but is not a generated dev PKI (no ${MANIFEST}); remove it or choose another directory`);
}

async function readManifest(dir: string): Promise<Manifest | 'outdated' | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const manifest = JSON.parse(text) as Manifest;
  if (typeof manifest.format === 'number' && manifest.format < MANIFEST_FORMAT) return 'outdated';
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new Error(`${dir}/${MANIFEST} has format ${String(manifest.format)}, expected ${MANIFEST_FORMAT}; remove the directory to regenerate`);
  }
  if (Date.parse(manifest.notAfter) <= Date.now()) {
    throw new Error(`the dev PKI in ${dir} expired on ${manifest.notAfter}; remove the directory to regenerate`);
  }
  return manifest;
}

function describe(dir: string, manifest: Manifest): DevPki {
  const out = { dir, rpPfxPassphrase: DEV_PFX_PASSPHRASE, pfxPassphrase: DEV_PFX_PASSPHRASE } as DevPki;
  for (const key of Object.keys(FILES) as FileKey[]) {
    out[key] = path.join(dir, manifest.files[key] ?? FILES[key]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generation

interface Issued {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

type Attr = { name?: string; shortName?: string; type?: string; value: string };

function generateRsa(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    // forge uses Node's native generator when given a callback, which keeps this fast.
    pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }, (err, pair) => (err ? reject(err) : resolve(pair)));
  });
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  // A positive INTEGER: clear the top bit, and keep the first byte non-zero so the DER form stays 16 bytes.
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date): void {
  // Start an hour back so a slightly skewed clock in a container does not see "not yet valid".
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + VALIDITY_DAYS * 86400_000);
}

async function makeCa(subject: Attr[], now: Date): Promise<Issued> {
  const keys = await generateRsa();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, now);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert, key: keys.privateKey };
}

async function makeLeaf(ca: Issued, subject: Attr[], kind: 'server' | 'client' | 'signing', now: Date): Promise<Issued> {
  const keys = await generateRsa();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, now);
  cert.setSubject(subject);
  cert.setIssuer(ca.cert.subject.attributes);
  const extensions: Array<object | undefined> = [
    { name: 'basicConstraints', cA: false, critical: true },
    kind === 'signing'
      ? { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    kind === 'server' ? { name: 'extKeyUsage', serverAuth: true } : kind === 'client' ? { name: 'extKeyUsage', clientAuth: true } : undefined,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (kind === 'server') {
    extensions.push({
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    });
  }
  cert.setExtensions(extensions.filter(Boolean));
  cert.sign(ca.key, forge.md.sha256.create());
  return { cert, key: keys.privateKey };
}

const certPem = (c: Issued): string => pki.certificateToPem(c.cert);
// PKCS#8, which every TLS stack reads.
const keyPem = (c: Issued): string => pki.privateKeyInfoToPem(pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(c.key)));

function modernPfx(leaf: Issued, ca: Issued, passphrase: string, friendlyName = 'idnav dev RP'): Buffer {
  const p12 = forge.pkcs12.toPkcs12Asn1(leaf.key, [leaf.cert, ca.cert], passphrase, {
    algorithm: 'aes256',
    // PBKDF2 with HMAC-SHA256 rather than forge's SHA-1 default.
    prfAlgorithm: 'sha256',
    count: 10000,
    friendlyName,
  } as Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3]);
  return Buffer.from(asn1.toDer(p12).getBytes(), 'binary');
}

/**
 * The layout `openssl pkcs12 -export -legacy` produces: certificates in an EncryptedData content
 * encrypted with pbeWithSHAAnd40BitRC2-CBC, the key shrouded with pbeWithSHAAnd3-KeyTripleDES-CBC,
 * and a SHA-1 MAC. forge only writes unencrypted certificate bags, so the RC2 part is built here.
 */
function legacyPfx(leaf: Issued, ca: Issued, passphrase: string): Buffer {
  const count = 2048;
  const C = asn1.Class;
  const T = asn1.Type;
  const oid = (name: string) => asn1.create(C.UNIVERSAL, T.OID, false, asn1.oidToDer(pki.oids[name]!).getBytes());
  const octets = (bytes: string) => asn1.create(C.UNIVERSAL, T.OCTETSTRING, false, bytes);
  const int = (n: number) => asn1.create(C.UNIVERSAL, T.INTEGER, false, asn1.integerToDer(n).getBytes());
  const seq = (items: forge.asn1.Asn1[]) => asn1.create(C.UNIVERSAL, T.SEQUENCE, true, items);
  const set = (items: forge.asn1.Asn1[]) => asn1.create(C.UNIVERSAL, T.SET, true, items);
  const explicit0 = (item: forge.asn1.Asn1) => asn1.create(C.CONTEXT_SPECIFIC, 0, true, [item]);

  const sha1 = forge.md.sha1.create();
  sha1.update(asn1.toDer(pki.certificateToAsn1(leaf.cert)).getBytes());
  const localKeyId = sha1.digest().getBytes();
  const attrs = set([
    seq([oid('localKeyId'), set([octets(localKeyId)])]),
    seq([oid('friendlyName'), set([asn1.create(C.UNIVERSAL, T.BMPSTRING, false, 'idnav dev RP')])]),
  ]);

  const certBag = (cert: forge.pki.Certificate, withAttrs: boolean) =>
    seq([
      oid('certBag'),
      explicit0(seq([oid('x509Certificate'), explicit0(octets(asn1.toDer(pki.certificateToAsn1(cert)).getBytes()))])),
      ...(withAttrs ? [attrs] : []),
    ]);
  const certSafeContents = asn1.toDer(seq([certBag(leaf.cert, true), certBag(ca.cert, false)])).getBytes();

  // RC2-40-CBC keyed by the PKCS#12 KDF (ID 1 = key, ID 2 = IV), PKCS#7 padding.
  const salt = forge.random.getBytesSync(8);
  const saltBuf = forge.util.createBuffer(salt);
  const rc2Key = forge.pkcs12.generateKey(passphrase, saltBuf, 1, count, 5);
  const rc2Iv = forge.pkcs12.generateKey(passphrase, saltBuf, 2, count, 8);
  const cipher = forge.rc2.createEncryptionCipher(rc2Key, 40);
  cipher.start(rc2Iv);
  cipher.update(forge.util.createBuffer(certSafeContents));
  if (!cipher.finish()) throw new Error('RC2 encryption failed');
  const encryptedCerts = cipher.output.getBytes();

  const certContentInfo = seq([
    oid('encryptedData'),
    explicit0(
      seq([
        int(0),
        seq([
          oid('data'),
          seq([oid('pbewithSHAAnd40BitRC2-CBC'), seq([octets(salt), int(count)])]),
          // encryptedContent [0] IMPLICIT OCTET STRING
          asn1.create(C.CONTEXT_SPECIFIC, 0, false, encryptedCerts),
        ]),
      ]),
    ),
  ]);

  const privateKeyInfo = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(leaf.key));
  const shrouded = pki.encryptPrivateKeyInfo(privateKeyInfo, passphrase, { algorithm: '3des', count });
  const keySafeContents = seq([seq([oid('pkcs8ShroudedKeyBag'), explicit0(shrouded), attrs])]);
  const keyContentInfo = seq([oid('data'), explicit0(octets(asn1.toDer(keySafeContents).getBytes()))]);

  const authSafe = asn1.toDer(seq([certContentInfo, keyContentInfo])).getBytes();

  const macSalt = forge.random.getBytesSync(8);
  const macKey = forge.pkcs12.generateKey(passphrase, forge.util.createBuffer(macSalt), 3, count, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey);
  hmac.update(authSafe);
  const macValue = hmac.digest().getBytes();

  const pfx = seq([
    int(3),
    seq([oid('data'), explicit0(octets(authSafe))]),
    seq([seq([seq([oid('sha1'), asn1.create(C.UNIVERSAL, T.NULL, false, '')]), octets(macValue)]), octets(macSalt), int(count)]),
  ]);
  return Buffer.from(asn1.toDer(pfx).getBytes(), 'binary');
}

const suffix = ' (idnav dev)';
const bankidOrg: Attr[] = [
  { shortName: 'C', value: 'SE' },
  { shortName: 'O', value: 'Finansiell ID-Teknik BID AB' + suffix },
  { shortName: 'OU', value: 'Infrastructure CA' },
];

async function generateInto(dir: string): Promise<void> {
  const now = new Date();
  const [bankidCa, rpCa, foreignCa, unpinnedCa] = await Promise.all([
    makeCa([...bankidOrg, { shortName: 'CN', value: 'Test BankID SSL Root CA v1 Test' + suffix }], now),
    makeCa(
      [
        { shortName: 'C', value: 'SE' },
        { shortName: 'O', value: 'Testbank A AB (publ)' + suffix },
        { shortName: 'CN', value: 'Testbank A RP CA v1 for BankID Test' + suffix },
      ],
      now,
    ),
    makeCa(
      [
        { shortName: 'C', value: 'SE' },
        { shortName: 'O', value: 'Unrelated Client CA' + suffix },
        { shortName: 'CN', value: 'Foreign Client CA v1' + suffix },
      ],
      now,
    ),
    makeCa(
      [
        { shortName: 'C', value: 'SE' },
        { shortName: 'O', value: 'Unrelated Server CA' + suffix },
        { shortName: 'CN', value: 'Unpinned Server Root CA' + suffix },
      ],
      now,
    ),
  ]);
  const [bankidServer, rp, foreignClient, unpinnedServer] = await Promise.all([
    makeLeaf(
      bankidCa,
      [...bankidOrg.slice(0, 2), { shortName: 'OU', value: 'Infrastructure' }, { shortName: 'CN', value: 'appapi2.test.bankid.com' + suffix }],
      'server',
      now,
    ),
    makeLeaf(
      rpCa,
      [
        { shortName: 'C', value: 'SE' },
        { shortName: 'O', value: 'Testbank A AB (publ)' + suffix },
        { name: 'name', type: '2.5.4.41', value: 'Test av BankID' },
        { shortName: 'CN', value: 'FP Testcert idnav' + suffix },
      ],
      'client',
      now,
    ),
    makeLeaf(foreignCa, [{ shortName: 'C', value: 'SE' }, { shortName: 'CN', value: 'Foreign RP' + suffix }], 'client', now),
    makeLeaf(unpinnedCa, [{ shortName: 'C', value: 'SE' }, { shortName: 'CN', value: 'localhost' + suffix }], 'server', now),
  ]);

  const org = (o: string, cn: string): Attr[] => [
    { shortName: 'C', value: 'SE' },
    { shortName: 'O', value: o + suffix },
    { shortName: 'CN', value: cn + suffix },
  ];
  const [navetServerCa, navetClientCa, frejaServerCa, frejaClientCa, frejaSigningCa] = await Promise.all([
    makeCa(org('Skatteverket', 'Test Skatteverket Server CA'), now),
    makeCa(org('Test Organisation CA', 'Test Organisationscertifikat CA v1'), now),
    makeCa(org('Verisec AB', 'Test Freja eID Server CA'), now),
    makeCa(org('Verisec AB', 'Test Freja eID Relying Party CA'), now),
    makeCa(org('Verisec AB', 'Test Freja eID Signing CA'), now),
  ]);
  const [navetServer, navetClient, navetTenant, frejaServer, frejaClient, frejaSigning, frejaSigningNext] = await Promise.all([
    makeLeaf(navetServerCa, org('Skatteverket', 'www2.test.skatteverket.se'), 'server', now),
    makeLeaf(navetClientCa, org('Region Värmland', 'Region Värmland Navet'), 'client', now),
    makeLeaf(navetClientCa, org('Kils kommun', 'Kils kommun Navet'), 'client', now),
    makeLeaf(frejaServerCa, org('Verisec AB', 'services.test.frejaeid.com'), 'server', now),
    makeLeaf(frejaClientCa, org('Region Värmland', 'idnav Freja RP'), 'client', now),
    makeLeaf(frejaSigningCa, org('Verisec AB', 'Freja eID Test Signing 1'), 'signing', now),
    makeLeaf(frejaSigningCa, org('Verisec AB', 'Freja eID Test Signing 2'), 'signing', now),
  ]);

  // SAML keys are self-signed: SAML metadata carries certificates only as key holders.
  const selfSigned = async (cn: string): Promise<Issued> => makeCa(org('idnav SAML', cn), now);
  const [spSigning, spEncryption, eidasSigning, eidasMetadata, scSigning, scMetadata, adfsSigning, adfsMetadata] = await Promise.all([
    selfSigned('idnav SAML SP signing'),
    selfSigned('idnav SAML SP encryption'),
    selfSigned('eIDAS connector signing (simulator)'),
    selfSigned('eIDAS connector metadata (simulator)'),
    selfSigned('Sweden Connect IdP signing (simulator)'),
    selfSigned('Sweden Connect IdP metadata (simulator)'),
    selfSigned('Karlstad AD FS signing (simulator)'),
    selfSigned('Karlstad AD FS metadata (simulator)'),
  ]);

  const contents: Record<FileKey, string | Buffer> = {
    samlSpSigningKey: keyPem(spSigning),
    samlSpSigningCert: certPem(spSigning),
    samlSpEncryptionKey: keyPem(spEncryption),
    samlSpEncryptionCert: certPem(spEncryption),
    samlIdpEidasSigningKey: keyPem(eidasSigning),
    samlIdpEidasSigningCert: certPem(eidasSigning),
    samlIdpEidasMetadataKey: keyPem(eidasMetadata),
    samlIdpEidasMetadataCert: certPem(eidasMetadata),
    samlIdpSwedenConnectSigningKey: keyPem(scSigning),
    samlIdpSwedenConnectSigningCert: certPem(scSigning),
    samlIdpSwedenConnectMetadataKey: keyPem(scMetadata),
    samlIdpSwedenConnectMetadataCert: certPem(scMetadata),
    samlIdpKarlstadAdfsSigningKey: keyPem(adfsSigning),
    samlIdpKarlstadAdfsSigningCert: certPem(adfsSigning),
    samlIdpKarlstadAdfsMetadataKey: keyPem(adfsMetadata),
    samlIdpKarlstadAdfsMetadataCert: certPem(adfsMetadata),
    navetServerCa: certPem(navetServerCa),
    navetServerCert: certPem(navetServer),
    navetServerKey: keyPem(navetServer),
    navetClientCa: certPem(navetClientCa),
    navetClientCert: certPem(navetClient),
    navetClientKey: keyPem(navetClient),
    navetClientPfx: modernPfx(navetClient, navetClientCa, DEV_PFX_PASSPHRASE, 'idnav dev Navet'),
    navetTenantCert: certPem(navetTenant),
    navetTenantKey: keyPem(navetTenant),
    frejaServerCa: certPem(frejaServerCa),
    frejaServerCert: certPem(frejaServer),
    frejaServerKey: keyPem(frejaServer),
    frejaClientCa: certPem(frejaClientCa),
    frejaClientCert: certPem(frejaClient),
    frejaClientKey: keyPem(frejaClient),
    frejaClientPfx: modernPfx(frejaClient, frejaClientCa, DEV_PFX_PASSPHRASE, 'idnav dev Freja RP'),
    frejaSigningCert: certPem(frejaSigning),
    frejaSigningKey: keyPem(frejaSigning),
    frejaSigningNextCert: certPem(frejaSigningNext),
    frejaSigningNextKey: keyPem(frejaSigningNext),
    bankidServerCa: certPem(bankidCa),
    bankidServerCert: certPem(bankidServer),
    bankidServerKey: keyPem(bankidServer),
    rpCa: certPem(rpCa),
    rpCert: certPem(rp),
    rpKey: keyPem(rp),
    rpPfx: modernPfx(rp, rpCa, DEV_PFX_PASSPHRASE),
    rpPfxLegacy: legacyPfx(rp, rpCa, DEV_PFX_PASSPHRASE),
    foreignCa: certPem(foreignCa),
    foreignClientCert: certPem(foreignClient),
    foreignClientKey: keyPem(foreignClient),
    unpinnedServerCa: certPem(unpinnedCa),
    unpinnedServerCert: certPem(unpinnedServer),
    unpinnedServerKey: keyPem(unpinnedServer),
  };
  for (const key of Object.keys(FILES) as FileKey[]) {
    const isKey = key.endsWith('Key') || key.endsWith('Pfx') || key.startsWith('rpPfx');
    await writeFile(path.join(dir, FILES[key]), contents[key], { mode: isKey ? 0o600 : 0o644 });
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    createdAt: now.toISOString(),
    notAfter: bankidServer.cert.validity.notAfter.toISOString(),
    files: FILES,
  };
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}
