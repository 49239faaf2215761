/**
 * Freja eID RP API simulator: the authentication and signature APIs over HTTPS with mutual TLS, and a simulated Freja
 * eID app (plus a control API) over plain HTTP, both on loopback. Used by the dev launcher and the tests;
 * the hub itself never imports it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { APP_PREFIX, createAppHandler } from './app.ts';
import {
  SimulatorEngine,
  type AppAction,
  type AppResult,
  type SimulatorStats,
  type SimulatorSwitch,
  type TransactionStatus,
  type TransactionSummary,
} from './engine.ts';
import { DEFAULT_REGISTRATION_LEVELS, frejaPersons, loadTestPersons, type FrejaPerson, type RegistrationLevel, type TestPerson } from './persons.ts';
import { createRpHandler } from './rp-api.ts';
import { newUserKey, signingKey, type SigningKey } from './signing.ts';

export type {
  AppAction,
  AppErrorCode,
  AppResult,
  AuthEndpoint,
  DelaySwitch,
  Endpoint,
  ErrorSwitch,
  OutageSwitch,
  ResultSwitch,
  SignEndpoint,
  SignSummary,
  SimulatorStats,
  SimulatorSwitch,
  SwitchEndpoint,
  TransactionKind,
  TransactionStatus,
  TransactionSummary,
} from './engine.ts';
export type { FrejaPerson, RegistrationLevel, TestPerson } from './persons.ts';
export { DEFAULT_REGISTRATION_LEVELS, loadTestPersons } from './persons.ts';
export { APP_PREFIX, referenceFromQr } from './app.ts';

export interface FrejaSimulatorTimings {
  /**
   * A pending transaction ends EXPIRED this long after creation. Default 120000 (2 min). A sign
   * transaction with an `expiry` ends then instead.
   */
  transactionLifetimeMs?: number;
  /** An SSN transaction reaches an eligible person's phone (DELIVERED_TO_MOBILE) after this. Default 1000. */
  pushDeliveryMs?: number;
  /** An ended transaction's result can be fetched this long; then 1100. Default 600000 (10 min). */
  resultRetentionMs?: number;
  /** When set, every pending transaction is approved this long after creation (load tests). */
  autoApproveMs?: number;
  /** Added before every RP API answer. Default 0. */
  latencyMs?: number;
}

export interface FrejaSimulatorOptions {
  /** PEM contents (not paths): the RP API's server certificate and key, and the CA client certificates must come from. */
  tls: { key: string; cert: string; clientCa: string };
  /** PEM contents: the key results are signed with and its certificate (whose x5t the JWS header carries). */
  signing: { key: string; cert: string };
  /** The key `control.rollover()` switches to. */
  nextSigning?: { key: string; cert: string };
  /** Default: fixtures/test-persons.json. */
  persons?: TestPerson[];
  /** personalNumber → registration level; everyone else is PLUS. Default {@link DEFAULT_REGISTRATION_LEVELS}. */
  registrationLevels?: Record<string, RegistrationLevel>;
  /** Persons who have turned the relying party's service off (error 1005). */
  serviceDisabledFor?: string[];
  /** An SSN transaction for nobody in the list: `notFound` (1012, default) or `silent` (created, never delivered, expires). */
  unknownSsn?: 'notFound' | 'silent';
  /** When set, a relyingPartyId outside this list is refused (1011). */
  relyingPartyIds?: string[];
  timings?: FrejaSimulatorTimings;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** The app's plain-HTTP listener; `false` starts none. Default 0 (ephemeral). */
  appPort?: number | false;
  /** How often ended transactions past their retention are dropped. Default 30000. */
  sweepIntervalMs?: number;
}

/** The control operations, in-process (the HTTP control API offers the same). */
export interface FrejaSimulatorControl {
  /** Throws on an invalid switch. */
  switch(s: SimulatorSwitch): void;
  /** Clears switches, latency and person changes; restores the first signing key; with `transactions` / `stats` also those. */
  reset(what?: { transactions?: boolean; stats?: boolean }): void;
  transactions(): TransactionSummary[];
  stats(): SimulatorStats;
  persons(): FrejaPerson[];
  /** Changes a person's registration level (or turns their service off) from now on. */
  setPerson(personalNumber: string, change: { registrationLevel?: RegistrationLevel; serviceDisabled?: boolean }): void;
  /** Signs results made from now on with this key; returns its x5t. */
  setSigningKey(signing: { key: string; cert: string }): string;
  /** Switches to `nextSigning`; returns its x5t. Throws when none was given. */
  rollover(): string;
  /** The x5t results are signed with now. */
  signingX5t(): string;
  /** Latency added before every RP API answer from now on. */
  setLatency(ms: number): void;
  /** The simulated app acts on a transaction (default action approve). */
  app(req: { transactionReference: string; personalNumber?: string; action?: AppAction }): AppResult<{ status: TransactionStatus }>;
}

export interface FrejaSimulator {
  /** The service host, e.g. https://127.0.0.1:PORT (the adapter's `baseUrl`). */
  url: string;
  /** e.g. http://127.0.0.1:PORT2/dev/freja-app (the simulated app and the control API). */
  appUrl?: string;
  control: FrejaSimulatorControl;
  close(): Promise<void>;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function trackSockets(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  const add = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', add);
  server.on('secureConnection', add);
  return sockets;
}

function closeServer(server: http.Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  });
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export async function startFrejaSimulator(o: FrejaSimulatorOptions): Promise<FrejaSimulator> {
  const host = o.host ?? '127.0.0.1';
  const t = o.timings ?? {};
  const firstSigning = signingKey(o.signing);
  const nextSigning = o.nextSigning ? signingKey(o.nextSigning) : undefined;
  let signing: SigningKey = firstSigning;
  let latencyMs = t.latencyMs ?? 0;

  const persons = frejaPersons(o.persons ?? loadTestPersons(), o.registrationLevels ?? DEFAULT_REGISTRATION_LEVELS, o.serviceDisabledFor ?? []);
  const initialPersons = persons.map((p) => ({ ...p }));
  const engine = new SimulatorEngine({
    now: o.now ?? Date.now,
    persons,
    transactionLifetimeMs: t.transactionLifetimeMs ?? 120_000,
    pushDeliveryMs: t.pushDeliveryMs ?? 1_000,
    resultRetentionMs: t.resultRetentionMs ?? 600_000,
    ...(t.autoApproveMs !== undefined ? { autoApproveMs: t.autoApproveMs } : {}),
    unknownSsn: o.unknownSsn ?? 'notFound',
    ...(o.relyingPartyIds ? { relyingPartyIds: [...o.relyingPartyIds] } : {}),
  });

  const control: FrejaSimulatorControl = {
    switch(s) {
      const r = engine.applySwitch(s);
      if (!r.ok) throw new Error(`invalid simulator switch: ${r.message}`);
    },
    reset(what) {
      engine.reset(what);
      persons.forEach((p, i) => Object.assign(p, initialPersons[i]));
      signing = firstSigning;
      latencyMs = t.latencyMs ?? 0;
    },
    transactions: () => engine.summaries(),
    stats: () => engine.stats(),
    persons: () => engine.options.persons,
    setPerson(personalNumber, change) {
      const person = engine.person(personalNumber);
      if (!person) throw new Error('no such test person');
      if (change.registrationLevel !== undefined) person.registrationLevel = change.registrationLevel;
      if (change.serviceDisabled !== undefined) person.serviceDisabled = change.serviceDisabled;
    },
    setSigningKey(pem) {
      signing = signingKey(pem);
      return signing.x5t;
    },
    rollover() {
      if (!nextSigning) throw new Error('no nextSigning key was given to the simulator');
      signing = nextSigning;
      return signing.x5t;
    },
    signingX5t: () => signing.x5t,
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    app: (req) => engine.act(req.transactionReference, req.action ?? 'approve', req.personalNumber),
  };

  const formSecret = randomBytes(32);
  const tokenFor = (authRef: string): string => createHmac('sha256', formSecret).update(authRef).digest('base64url');

  const rpServer = https.createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.tls.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    createRpHandler({ engine, signing: () => signing, user: newUserKey(), latencyMs: () => latencyMs }),
  );
  // A client that fails the handshake is simply disconnected; nothing to report.
  rpServer.on('tlsClientError', () => {});
  const rpSockets = trackSockets(rpServer);
  const appServer =
    o.appPort === false
      ? undefined
      : http.createServer(
          createAppHandler({
            engine,
            control,
            tokenFor,
            tokenValid: (authRef, token) => {
              const expected = Buffer.from(tokenFor(authRef));
              const given = Buffer.from(token);
              return expected.length === given.length && timingSafeEqual(expected, given);
            },
          }),
        );
  const appSockets = appServer ? trackSockets(appServer) : new Set<Socket>();

  let port: number;
  let appPort: number | undefined;
  try {
    port = await listen(rpServer, o.port ?? 0, host);
    if (appServer) appPort = await listen(appServer, o.appPort || 0, host);
  } catch (err) {
    await Promise.all([closeServer(rpServer, rpSockets), appServer ? closeServer(appServer, appSockets) : undefined]);
    throw err;
  }

  const sweep = setInterval(() => engine.sweep(), o.sweepIntervalMs ?? 30_000);
  sweep.unref();

  let closing: Promise<void> | undefined;
  const simulator: FrejaSimulator = {
    url: `https://${urlHost(host)}:${port}`,
    control,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        await Promise.all([closeServer(rpServer, rpSockets), appServer ? closeServer(appServer, appSockets) : undefined]);
      })();
      return closing;
    },
  };
  if (appPort !== undefined) simulator.appUrl = `http://${urlHost(host)}:${appPort}${APP_PREFIX}`;
  return simulator;
}
