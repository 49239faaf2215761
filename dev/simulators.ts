/**
 * Starts every simulator the dev config needs and tells the hub where they are through the environment
 * variables config/hub.yaml reads. `npm run simulators` runs them as their own process (several hub
 * processes then share them, as they would share the real services).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startBankIdSimulator, type BankIdSimulator, type BankIdSimulatorOptions } from '../adapters/bankid/simulator/server.ts';
import { startFrejaSimulator, type FrejaSimulator, type FrejaSimulatorOptions } from '../adapters/freja/simulator/server.ts';
import { startNavetSimulator, type NavetSimulator } from '../adapters/navet/simulator/server.ts';
import { ensureDevPki, type DevPki } from './pki.ts';

export interface Simulators {
  pki: DevPki;
  bankid: BankIdSimulator;
  navet: NavetSimulator;
  freja: FrejaSimulator;
  /** Environment variables that point config/hub.yaml at these simulators. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startSimulators(
  options: { pkiDir?: string; bankid?: Partial<BankIdSimulatorOptions>; freja?: Partial<FrejaSimulatorOptions> } = {},
): Promise<Simulators> {
  const pki = await ensureDevPki(resolve(options.pkiDir ?? '.idnav/dev-pki'));
  const bankid = await startBankIdSimulator({
    serverCert: await readFile(pki.bankidServerCert, 'utf8'),
    serverKey: await readFile(pki.bankidServerKey, 'utf8'),
    clientCa: await readFile(pki.rpCa, 'utf8'),
    ...options.bankid,
  });
  const navet = await startNavetSimulator({ pki });
  const read = (file: string) => readFile(file, 'utf8');
  const freja = await startFrejaSimulator({
    tls: { key: await read(pki.frejaServerKey), cert: await read(pki.frejaServerCert), clientCa: await read(pki.frejaClientCa) },
    signing: { key: await read(pki.frejaSigningKey), cert: await read(pki.frejaSigningCert) },
    nextSigning: { key: await read(pki.frejaSigningNextKey), cert: await read(pki.frejaSigningNextCert) },
    ...options.freja,
  });
  return {
    pki,
    bankid,
    navet,
    freja,
    env: {
      IDNAV_DEV_PKI: pki.dir,
      IDNAV_BANKID_URL: bankid.rpUrl,
      IDNAV_BANKID_APP_URL: bankid.appUrl,
      IDNAV_NAVET_URL: navet.url,
      IDNAV_FREJA_URL: freja.url,
      IDNAV_FREJA_APP_URL: freja.appUrl!,
    },
    close: async () => {
      await Promise.all([bankid.close(), navet.close(), freja.close()]);
    },
  };
}

if (import.meta.main) {
  const sims = await startSimulators({ pkiDir: process.env.IDNAV_DEV_PKI });
  process.stdout.write(`${JSON.stringify(sims.env)}\n`);
  process.stderr.write(
    `BankID simulator: RP API ${sims.bankid.rpUrl} (mutual TLS), simulated app ${sims.bankid.appUrl}\n` +
      `Navet simulator: ${sims.navet.url} (mutual TLS)\n` +
      `Freja eID simulator: ${sims.freja.url} (mutual TLS), simulated app ${sims.freja.appUrl}\n` +
      `Start hub processes with:\n  ${Object.entries(sims.env).map(([k, v]) => `${k}=${v}`).join(' ')} npm run start:hub\n`,
  );
  const stop = () => void sims.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
