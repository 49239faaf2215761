/**
 * Starts the SAML IdP simulator on its own:
 *
 *   node adapters/saml/simulator/cli.ts [--sp-metadata FILE|URL] [--keys DIR] [--alg rsa-sha256|ecdsa-sha256]
 *                                       [--port N] [--host H] [--base-url URL] [--no-encrypt]
 *
 * Serves the three default personas (eidas, sweden-connect, karlstad-adfs) with keys from DIR (default
 * .idnav/saml-idp-simulator, generated there on first use) and prints one JSON line on stdout:
 * `{"url", "idps": {<persona>: {entityId, ssoUrl, metadataUrl, loginUrl, metadataCertFile, signingCertFile}}, "keys"}`.
 * The SP metadata is read again for every AuthnRequest (a file from disk, a URL over HTTP), so the SP
 * can start after the simulator.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SignatureAlg } from './crypto.ts';
import { loadOrCreateSimulatorKeys } from './keys.ts';
import { DEFAULT_PERSONAS, startSamlIdpSimulator, type PersonaOptions, type SpMetadataSource } from './server.ts';

const { values } = parseArgs({
  options: {
    'sp-metadata': { type: 'string' },
    keys: { type: 'string', default: '.idnav/saml-idp-simulator' },
    alg: { type: 'string', default: 'rsa-sha256' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'base-url': { type: 'string' },
    'no-encrypt': { type: 'boolean', default: false },
  },
});

if (values.alg !== 'rsa-sha256' && values.alg !== 'ecdsa-sha256') {
  process.stderr.write('--alg must be rsa-sha256 or ecdsa-sha256\n');
  process.exit(2);
}

function spMetadataSource(where: string | undefined): SpMetadataSource | undefined {
  if (where === undefined) return undefined;
  if (/^https?:\/\//.test(where)) {
    return async () => {
      const res = await fetch(where);
      if (!res.ok) throw new Error(`GET ${where}: HTTP ${res.status}`);
      return res.text();
    };
  }
  return () => readFile(where, 'utf8');
}

const keysDir = path.resolve(values.keys);
const keys = await loadOrCreateSimulatorKeys(keysDir, Object.keys(DEFAULT_PERSONAS), values.alg as SignatureAlg);
const personas: Record<string, PersonaOptions> = {};
for (const [name, p] of Object.entries(DEFAULT_PERSONAS)) {
  personas[name] = { ...p, signing: keys[name]!.signing, metadataSigning: keys[name]!.metadataSigning, encryptAssertions: !values['no-encrypt'] };
}
const spMetadata = spMetadataSource(values['sp-metadata']);
const simulator = await startSamlIdpSimulator({
  personas,
  ...(spMetadata ? { spMetadata } : {}),
  host: values.host,
  port: Number(values.port),
  ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
});

const idps = Object.fromEntries(
  Object.entries(simulator.idps).map(([name, i]) => [
    name,
    { entityId: i.entityId, ssoUrl: i.ssoUrl, metadataUrl: i.metadataUrl, loginUrl: i.loginUrl, metadataCertFile: keys[name]!.metadataCertFile, signingCertFile: keys[name]!.signingCertFile },
  ]),
);
process.stdout.write(JSON.stringify({ url: simulator.url, idps, keys: keysDir }) + '\n');
if (!spMetadata) process.stderr.write('No --sp-metadata given: every AuthnRequest will be refused as coming from an unknown SP.\n');

const stop = () => {
  void simulator.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
