/**
 * Starts the Navet simulator on its own:
 *
 *   node adapters/navet/simulator/cli.ts [--pki DIR] [--port N] [--host H] [--records FILE]
 *
 * Uses (and if needed generates) the dev PKI in DIR (default .idnav/dev-pki) and prints
 * `{"url": ..., "pki": ..., "credentials": [...]}` as one JSON line on stdout.
 */
import { parseArgs } from 'node:util';
import { ensureDevPki } from '../../../dev/pki.ts';
import { loadNavetRecords } from './records.ts';
import { NAVET_SIMULATOR_CREDENTIALS, startNavetSimulator } from './server.ts';

const { values } = parseArgs({
  options: {
    pki: { type: 'string', default: '.idnav/dev-pki' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    records: { type: 'string' },
  },
});

const pki = await ensureDevPki(values.pki);
const simulator = await startNavetSimulator({
  pki,
  host: values.host,
  port: Number(values.port),
  ...(values.records ? { records: loadNavetRecords(values.records) } : {}),
});
process.stdout.write(JSON.stringify({ url: simulator.url, pki: pki.dir, credentials: NAVET_SIMULATOR_CREDENTIALS }) + '\n');

const stop = () => {
  void simulator.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
