/**
 * EncryptedAssertion decryption with the SP's keys in order (the current key first, then the keys of a
 * rollover), through xml-encryption, after checking the algorithms against the profile's list.
 */
import { promisify } from 'node:util';
import type { Element } from '@xmldom/xmldom';
import * as xmlenc from 'xml-encryption';
import { NS, attr, children, descendantsByLocalName, fail, one, pathOf, serialize } from './xml.ts';

/** Block encryption the adapter decrypts (xml-encryption has no AES-192). */
const DATA_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
]);
/** Key transport: RSA-OAEP (MGF1 with SHA-1, OAEP digest SHA-1 by default or SHA-256/512 when declared). */
const KEY_ALGORITHMS = new Set(['http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p']);
const OAEP_DIGESTS = new Set(['http://www.w3.org/2000/09/xmldsig#sha1', 'http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2000/09/xmldsig#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512', 'http://www.w3.org/2000/09/xmldsig#sha512']);

/** The metadata's `<md:EncryptionMethod>` list: what the IdP may encrypt with. */
export const SUPPORTED_ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
] as const;

export interface DecryptionKey {
  /** PEM private key. */
  pem: string;
  /** Where it came from (a file name), for operator detail. */
  label: string;
}

const decrypt = promisify(xmlenc.decrypt);

/** Decrypts `<saml:EncryptedAssertion>`; returns the assertion XML and which key opened it. */
export async function decryptAssertion(encrypted: Element, keys: readonly DecryptionKey[], what: string): Promise<{ xml: string; keyIndex: number }> {
  for (const child of children(encrypted)) {
    const ok = (child.namespaceURI === NS.xenc && (child.localName === 'EncryptedData' || child.localName === 'EncryptedKey'));
    if (!ok) fail(`${what}: unexpected ${child.localName} element in ${pathOf(encrypted)}`);
  }
  const data = one(encrypted, NS.xenc, 'EncryptedData', what);
  const dataAlg = attr(one(data, NS.xenc, 'EncryptionMethod', what), 'Algorithm') ?? '';
  if (!DATA_ALGORITHMS.has(dataAlg)) fail(`${what}: block encryption ${dataAlg || '(none)'} is not allowed`);
  const encryptedKeys = descendantsByLocalName(encrypted, 'EncryptedKey');
  if (encryptedKeys.length !== 1) fail(`${what}: ${encryptedKeys.length} EncryptedKey elements in ${pathOf(encrypted)} (exactly one is required)`);
  const method = one(encryptedKeys[0]!, NS.xenc, 'EncryptionMethod', what);
  const keyAlg = attr(method, 'Algorithm') ?? '';
  if (!KEY_ALGORITHMS.has(keyAlg)) fail(`${what}: key transport ${keyAlg || '(none)'} is not allowed (RSA-OAEP only)`);
  for (const digest of children(method, NS.ds, 'DigestMethod')) {
    const alg = attr(digest, 'Algorithm') ?? '';
    if (!OAEP_DIGESTS.has(alg)) fail(`${what}: OAEP digest ${alg || '(none)'} is not allowed`);
  }
  if (keys.length === 0) fail(`${what}: the assertion is encrypted but no decryption key is configured (sp.encryptionKeyFiles)`);

  const xml = serialize(encrypted);
  for (let i = 0; i < keys.length; i++) {
    try {
      const plain = await decrypt(xml, { key: keys[i]!.pem, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false });
      if (typeof plain === 'string' && plain.length > 0) return { xml: plain, keyIndex: i };
    } catch {
      // The next key (a rollover) may open it.
    }
  }
  fail(`${what}: the EncryptedAssertion cannot be decrypted with any of the ${keys.length} SP decryption key(s)`);
}
