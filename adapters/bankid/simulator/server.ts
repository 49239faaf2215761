/**
 * BankID RP API v6.0 simulator: the RP API over HTTPS with mutual TLS, and a simulated BankID app
 * (plus a control API) over plain HTTP, both on loopback. Used by the dev launcher and the tests;
 * the hub itself never imports it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createAppHandler } from './app.ts';
import {
  SimulatorEngine,
  type AppAction,
  type AppDecision,
  type AppResult,
  type OrderSummary,
  type SimulatorStats,
  type SimulatorSwitch,
} from './engine.ts';
import { loadTestPersons, type TestPerson } from './persons.ts';
import { createRpHandler, RP_BASE_PATH } from './rp-api.ts';
import { signingCredentials } from './signing.ts';

export type {
  AppAction,
  AppDecision,
  AppErrorCode,
  AppResult,
  CollectAnswer,
  CollectSwitch,
  CompletionData,
  DelaySwitch,
  Endpoint,
  ErrorSwitch,
  OrderKind,
  OrderSummary,
  SimulatorStats,
  SimulatorSwitch,
  SwitchEndpoint,
} from './engine.ts';
export type { TestPerson } from './persons.ts';
export { isValidPersonalNumber, loadTestPersons, luhnCheckDigit } from './persons.ts';
export { parseQrPayload, qrAuthCode, qrPayload, verifyQr } from './qr.ts';
export { generateSigningCredentials, type SigningCredentials } from './signing.ts';

export interface BankIdSimulatorOptions {
  /** PEM contents (not paths) of the RP API's server certificate and key. */
  serverCert: string;
  serverKey: string;
  /** PEM: only client certificates issued by this CA are accepted (mTLS). */
  clientCa: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  rpPort?: number;
  appPort?: number;
  /** Not scanned or started within this -> failed startFailed. Default 30000. */
  startWindowMs?: number;
  /** Still pending after this -> failed expiredTransaction. Default 180000. */
  orderLifetimeMs?: number;
  /** How long an ended order can be collected; after that collect -> 400 invalidParameters. Defaults 180000 / 300000. */
  collectableAfterEndMs?: { complete: number; failed: number };
  /** The app refuses a QR code older than this. Default 5000. */
  qrMaxAgeMs?: number;
  /** The app refuses a QR code claiming a time further ahead than this (clock skew). Default 1500. */
  qrMaxFutureMs?: number;
  /** After an autostart, `started` is shown this long before `userSign`. Default 1000. */
  startedHintMs?: number;
  /** When set, a pending order completes by itself this long after creation (load tests). */
  autoApproveMs?: number;
  /** Collecting an ended order a second time -> invalidParameters (BankID documents this). Default false. */
  collectFinishedOnce?: boolean;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** Default: fixtures/test-persons.json. */
  persons?: TestPerson[];
  /** How often ended orders past their collectable window are dropped. Default 30000. */
  sweepIntervalMs?: number;
  /**
   * PEM RSA private key and certificate that completion signatures (`completionData.signature`) are
   * made with; both or neither. Default: a key pair and self-signed certificate generated on first use.
   */
  signingKey?: string;
  signingCert?: string;
}

/** The control operations, in-process (the same as the control HTTP API), plus the app's JSON actions. */
export interface SimulatorControl {
  /** Throws on an invalid switch. */
  switch(s: SimulatorSwitch): void;
  /** Clears switches and forced hints; with `stats` / `orders` also the statistics / all orders. */
  reset(what?: { stats?: boolean; orders?: boolean }): void;
  stats(): SimulatorStats;
  orders(): OrderSummary[];
  persons(): TestPerson[];
  /** The QR payload an RP would show for the order at `atMs` (default now). */
  currentQr(orderRef: string, atMs?: number): string | undefined;
  autoStartToken(orderRef: string): string | undefined;
  /** The app scans a QR payload and acts on it (default action approve). */
  scan(req: { qr: string; personalNumber?: string; action?: AppAction }): AppResult<AppDecision>;
  /** The app is started with an autostart token and acts (default action approve). */
  autostart(req: { autoStartToken: string; personalNumber?: string; action?: AppAction }): AppResult<AppDecision>;
  /** A phone order's person confirms, cancels or declines the call. */
  phone(req: { personalNumber: string; action?: AppAction | 'decline' }): AppResult<AppDecision>;
}

export interface BankIdSimulator {
  /** e.g. https://127.0.0.1:PORT/rp/v6.0 */
  rpUrl: string;
  /** e.g. http://127.0.0.1:PORT2 (the simulated app and the control API) */
  appUrl: string;
  control: SimulatorControl;
  /**
   * PEM certificate of the key every `completionData.signature` is signed with: the XML signature
   * verifies against it (read it to verify; reading it first generates the key when none was given).
   */
  readonly signingCert: string;
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
  // TLS sockets that fail the handshake never become HTTP connections; track them as well.
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

export async function startBankIdSimulator(o: BankIdSimulatorOptions): Promise<BankIdSimulator> {
  const host = o.host ?? '127.0.0.1';
  if ((o.signingKey === undefined) !== (o.signingCert === undefined)) throw new Error('signingKey and signingCert go together: give both or neither');
  const signing = signingCredentials(o.signingKey !== undefined && o.signingCert !== undefined ? { key: o.signingKey, cert: o.signingCert } : undefined);
  const engine = new SimulatorEngine({
    now: o.now ?? Date.now,
    persons: o.persons ?? loadTestPersons(),
    startWindowMs: o.startWindowMs ?? 30_000,
    orderLifetimeMs: o.orderLifetimeMs ?? 180_000,
    collectableAfterEndMs: o.collectableAfterEndMs ?? { complete: 180_000, failed: 300_000 },
    qrMaxAgeMs: o.qrMaxAgeMs ?? 5_000,
    qrMaxFutureMs: o.qrMaxFutureMs ?? 1_500,
    startedHintMs: o.startedHintMs ?? 1_000,
    ...(o.autoApproveMs !== undefined ? { autoApproveMs: o.autoApproveMs } : {}),
    collectFinishedOnce: o.collectFinishedOnce ?? false,
    signing,
  });

  const rpServer = https.createServer(
    {
      cert: o.serverCert,
      key: o.serverKey,
      ca: o.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    createRpHandler(engine),
  );
  const appServer = http.createServer(createAppHandler(engine));
  // A client that fails the handshake is simply disconnected; nothing to report.
  rpServer.on('tlsClientError', () => {});
  const rpSockets = trackSockets(rpServer);
  const appSockets = trackSockets(appServer);

  let rpPort: number;
  let appPort: number;
  try {
    rpPort = await listen(rpServer, o.rpPort ?? 0, host);
    appPort = await listen(appServer, o.appPort ?? 0, host);
  } catch (err) {
    await Promise.all([closeServer(rpServer, rpSockets), closeServer(appServer, appSockets)]);
    throw err;
  }

  const sweep = setInterval(() => engine.sweep(), o.sweepIntervalMs ?? 30_000);
  sweep.unref();

  const control: SimulatorControl = {
    switch(s) {
      const r = engine.applySwitch(s);
      if (!r.ok) throw new Error(`invalid simulator switch: ${r.message}`);
    },
    reset: (what) => engine.reset(what),
    stats: () => engine.stats(),
    orders: () => engine.summaries(),
    persons: () => engine.options.persons,
    currentQr: (orderRef, atMs) => engine.currentQr(orderRef, atMs),
    autoStartToken: (orderRef) => engine.autoStartTokenOf(orderRef),
    scan: (req) => engine.scan(req, '127.0.0.1'),
    autostart: (req) => engine.autostart(req),
    phone: (req) => engine.phone(req.personalNumber, req.action ?? 'approve', '127.0.0.1'),
  };

  let closing: Promise<void> | undefined;
  return {
    rpUrl: `https://${urlHost(host)}:${rpPort}${RP_BASE_PATH}`,
    appUrl: `http://${urlHost(host)}:${appPort}`,
    control,
    get signingCert() {
      return signing().cert;
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        await Promise.all([closeServer(rpServer, rpSockets), closeServer(appServer, appSockets)]);
      })();
      return closing;
    },
  };
}
