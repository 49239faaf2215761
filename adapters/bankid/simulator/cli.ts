/**
 * Starts the BankID simulator on its own:
 *
 *   node adapters/bankid/simulator/cli.ts [--pki DIR] [--rp-port N] [--app-port N] [--host H]
 *
 * Uses (and if needed generates) the dev PKI in DIR (default .idnav/dev-pki) and prints
 * `{"rpUrl": ..., "appUrl": ..., "pki": ...}` as one JSON line on stdout.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ensureDevPki } from '../../../dev/pki.ts';
import { startBankIdSimulator } from './server.ts';

const { values } = parseArgs({
  options: {
    pki: { type: 'string', default: '.idnav/dev-pki' },
    'rp-port': { type: 'string', default: '0' },
    'app-port': { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const pki = await ensureDevPki(values.pki);
const simulator = await startBankIdSimulator({
  serverCert: await readFile(pki.bankidServerCert, 'utf8'),
  serverKey: await readFile(pki.bankidServerKey, 'utf8'),
  clientCa: await readFile(pki.rpCa, 'utf8'),
  host: values.host,
  rpPort: Number(values['rp-port']),
  appPort: Number(values['app-port']),
});
process.stdout.write(JSON.stringify({ rpUrl: simulator.rpUrl, appUrl: simulator.appUrl, pki: pki.dir }) + '\n');

const stop = () => {
  void simulator.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
