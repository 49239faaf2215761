/**
 * Shared set-up of the Freja tests: the dev PKI, a simulator with a movable clock, and adapters built
 * through the module exactly as the hub builds them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';
import type { AdapterDeps, PollingEidAdapter } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import type { FrejaConfig } from './config.ts';
import { frejaModule } from './index.ts';
import { startFrejaSimulator, type FrejaSimulator, type FrejaSimulatorOptions } from './simulator/server.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const LOA3 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';
export const LOA2 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa2';

/** Test persons (fixtures/test-persons.json). */
export const TORE = '198602212394';
/** EXTENDED in the simulator by default. */
export const SIGRID = '189912300085';
export const EBBA_SAMORDNING = '190803752427';
export const KARL_JOHAN = '190208254573';
/** A valid personal number of nobody in the fixtures. */
export const NOBODY = '199001012385';

/** The test PKI the other adapter tests share (generated once, safe for concurrent use). */
export function testPki(): Promise<DevPki> {
  return ensureDevPki(path.join(tmpdir(), 'idnav-test-pki'));
}

export interface TestSimulator extends FrejaSimulator {
  /** Moves the simulator's clock forward. */
  advance(ms: number): void;
}

export async function startTestSimulator(pki: DevPki, options: Partial<FrejaSimulatorOptions> = {}): Promise<TestSimulator> {
  let skew = 0;
  const sim = await startFrejaSimulator({
    tls: {
      cert: await readFile(pki.frejaServerCert, 'utf8'),
      key: await readFile(pki.frejaServerKey, 'utf8'),
      clientCa: await readFile(pki.frejaClientCa, 'utf8'),
    },
    signing: { cert: await readFile(pki.frejaSigningCert, 'utf8'), key: await readFile(pki.frejaSigningKey, 'utf8') },
    nextSigning: { cert: await readFile(pki.frejaSigningNextCert, 'utf8'), key: await readFile(pki.frejaSigningNextKey, 'utf8') },
    now: () => Date.now() + skew,
    ...options,
  });
  return Object.assign(sim, {
    advance(ms: number) {
      skew += ms;
    },
  });
}

export interface Logged {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export function testDeps(logged: Logged[] = []): AdapterDeps {
  return {
    baseDir: REPO_ROOT,
    now: Date.now,
    log: {
      info: (obj, msg) => void logged.push({ level: 'info', obj, ...(msg ? { msg } : {}) }),
      warn: (obj, msg) => void logged.push({ level: 'warn', obj, ...(msg ? { msg } : {}) }),
      error: (obj, msg) => void logged.push({ level: 'error', obj, ...(msg ? { msg } : {}) }),
    },
  };
}

/** The raw config block as an operator writes it (before validation). */
export function rawConfig(pki: DevPki, baseUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    baseUrl,
    caFile: pki.frejaServerCa,
    clientCert: { pfxFile: pki.frejaClientPfx, passphrase: pki.pfxPassphrase },
    signingCertificates: [pki.frejaSigningCert],
    ...overrides,
  };
}

export function validConfig(raw: Record<string, unknown>): FrejaConfig {
  const v = frejaModule.validate(raw);
  if (!v.ok) assert.fail(`config should be valid: ${JSON.stringify(v.problems)}`);
  return v.config;
}

export async function makeAdapter(raw: Record<string, unknown>, logged?: Logged[]): Promise<PollingEidAdapter> {
  return (await frejaModule.create('freja', validConfig(raw), testDeps(logged))) as PollingEidAdapter;
}

/** Asserts a HubError with this code; returns it for further checks. */
export async function rejectsHub(promise: Promise<unknown>, code: string): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code, `code (detail: ${err.detail})`);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}
