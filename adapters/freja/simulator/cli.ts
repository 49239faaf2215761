/**
 * Starts the Freja eID simulator on its own:
 *
 *   node adapters/freja/simulator/cli.ts [--pki DIR] [--port N] [--app-port N] [--host H]
 *
 * Uses (and if needed generates) the dev PKI in DIR (default .idnav/dev-pki) and prints
 * `{"url": ..., "appUrl": ..., "pki": ...}` as one JSON line on stdout.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ensureDevPki } from '../../../dev/pki.ts';
import { startFrejaSimulator } from './server.ts';

const { values } = parseArgs({
  options: {
    pki: { type: 'string', default: '.idnav/dev-pki' },
    port: { type: 'string', default: '0' },
    'app-port': { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const pki = await ensureDevPki(values.pki);
const simulator = await startFrejaSimulator({
  tls: {
    cert: await readFile(pki.frejaServerCert, 'utf8'),
    key: await readFile(pki.frejaServerKey, 'utf8'),
    clientCa: await readFile(pki.frejaClientCa, 'utf8'),
  },
  signing: { cert: await readFile(pki.frejaSigningCert, 'utf8'), key: await readFile(pki.frejaSigningKey, 'utf8') },
  nextSigning: { cert: await readFile(pki.frejaSigningNextCert, 'utf8'), key: await readFile(pki.frejaSigningNextKey, 'utf8') },
  host: values.host,
  port: Number(values.port),
  appPort: Number(values['app-port']),
});
process.stdout.write(JSON.stringify({ url: simulator.url, appUrl: simulator.appUrl, pki: pki.dir }) + '\n');

const stop = () => {
  void simulator.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
