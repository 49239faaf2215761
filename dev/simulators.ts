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
import { DEFAULT_PERSONAS, startSamlIdpSimulator, type SamlIdpSimulator } from '../adapters/saml/simulator/server.ts';
import { ensureDevPki, type DevPki } from './pki.ts';

export interface Simulators {
  pki: DevPki;
  bankid: BankIdSimulator;
  navet: NavetSimulator;
  freja: FrejaSimulator;
  /** The SAML IdPs: the eIDAS connector, a Sweden Connect IdP and Karlstad's staff IdP. */
  saml: SamlIdpSimulator;
  /** Tells the SAML IdPs where the hub publishes its SP metadata (its issuer may be known only later). */
  setHubIssuer(issuer: string): void;
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
  // The simulated IdPs sign with keys from the dev PKI; the hub pins their metadata certificates.
  const idpKeys: Record<string, { signing: { key: string; cert: string }; metadataSigning: { key: string; cert: string } }> = {
    eidas: { signing: { key: await read(pki.samlIdpEidasSigningKey), cert: await read(pki.samlIdpEidasSigningCert) }, metadataSigning: { key: await read(pki.samlIdpEidasMetadataKey), cert: await read(pki.samlIdpEidasMetadataCert) } },
    'sweden-connect': {
      signing: { key: await read(pki.samlIdpSwedenConnectSigningKey), cert: await read(pki.samlIdpSwedenConnectSigningCert) },
      metadataSigning: { key: await read(pki.samlIdpSwedenConnectMetadataKey), cert: await read(pki.samlIdpSwedenConnectMetadataCert) },
    },
    'karlstad-adfs': {
      signing: { key: await read(pki.samlIdpKarlstadAdfsSigningKey), cert: await read(pki.samlIdpKarlstadAdfsSigningCert) },
      metadataSigning: { key: await read(pki.samlIdpKarlstadAdfsMetadataKey), cert: await read(pki.samlIdpKarlstadAdfsMetadataCert) },
    },
  };
  let hubIssuer = process.env.IDNAV_ISSUER || `http://localhost:${process.env.PORT ?? 3000}`;
  const spMetadata = (persona: string) => async () => {
    const res = await fetch(`${hubIssuer}/saml/${persona}/metadata`);
    if (!res.ok) throw new Error(`the hub's SP metadata for ${persona}: HTTP ${res.status}`);
    return res.text();
  };
  const saml = await startSamlIdpSimulator({
    personas: Object.fromEntries(
      Object.entries(DEFAULT_PERSONAS).map(([name, persona]) => [
        name,
        { ...persona, signing: idpKeys[name]!.signing, metadataSigning: idpKeys[name]!.metadataSigning, spMetadata: spMetadata(name) },
      ]),
    ),
  });
  return {
    pki,
    bankid,
    navet,
    freja,
    saml,
    setHubIssuer(issuer) {
      hubIssuer = issuer;
    },
    env: {
      IDNAV_DEV_PKI: pki.dir,
      IDNAV_BANKID_URL: bankid.rpUrl,
      IDNAV_BANKID_APP_URL: bankid.appUrl,
      IDNAV_NAVET_URL: navet.url,
      IDNAV_FREJA_URL: freja.url,
      IDNAV_FREJA_APP_URL: freja.appUrl!,
      IDNAV_SAML_IDP_URL: saml.url,
    },
    close: async () => {
      await Promise.all([bankid.close(), navet.close(), freja.close(), saml.close()]);
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
      `SAML IdP simulator: ${Object.values(sims.saml.idps).map((i) => i.entityId).join(', ')}\n` +
      `Start hub processes with:\n  ${Object.entries(sims.env).map(([k, v]) => `${k}=${v}`).join(' ')} npm run start:hub\n`,
  );
  const stop = () => void sims.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
