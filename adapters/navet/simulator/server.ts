/**
 * Navet ePersondata V2 simulator: Personpost (XML answer) over HTTPS with mutual TLS on loopback, with
 * records from fixtures/navet/records.json. Used by the dev launcher and the tests; the hub itself never
 * imports it, and the adapter talks to it exactly as to Skatteverket.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parsePersonalNumber } from '../../../src/identity/personnummer.ts';
import { PERSONPOST_XML_PATH } from '../soap.ts';
import { loadNavetRecords, parseNavetRecords, renderFault, renderPersonpostAnswer, type NavetRecord } from './records.ts';
import { readPersonpostRequest } from './request.ts';

export type { NavetRecord } from './records.ts';
export { DEFAULT_RECORDS_FILE, loadNavetRecords, parseNavetRecords, renderFolkbokforingspost, renderPersonpostAnswer } from './records.ts';

/** The path of ePersondata V2 on Skatteverket's hosts; `url` of the simulator ends with it. */
export const NAVET_BASE_PATH = '/na/na_epersondata/V2';

export interface NavetSimulatorCredential {
  orgNr: string;
  bestallningsId: string;
  /** When set, only a client certificate with this subject CN may use the pair (Felkod 12 otherwise). */
  clientCn?: string;
}

/** Skatteverket's public test order (Navet test data): the region's default credentials. */
export const NAVET_REGION_CREDENTIALS = { orgNr: '162021004748', bestallningsId: '00000079-FO01-0001' } as const satisfies NavetSimulatorCredential;
/** A second order for a municipality with its own certificate (organisationsnummer 212000-0076, Luhn-valid). */
export const NAVET_TENANT_CREDENTIALS = { orgNr: '162120000076', bestallningsId: '00000079-FO01-0002' } as const satisfies NavetSimulatorCredential;
/** What the simulator accepts unless told otherwise. */
export const NAVET_SIMULATOR_CREDENTIALS: readonly NavetSimulatorCredential[] = [NAVET_REGION_CREDENTIALS, NAVET_TENANT_CREDENTIALS];

/** The simulator's Felkod values (its rendition; Skatteverket's own list is in its technical manual). */
export const NAVET_FELKOD = {
  /** Not a SOAP 1.1 PersonpostRequest (malformed XML, wrong namespace, missing elements). */
  INVALID_REQUEST: 10,
  /** No such OrgNr + BestallningsId pair. */
  UNKNOWN_ORDER: 11,
  /** The client certificate does not belong to the ordering organisation. */
  CERTIFICATE_NOT_OF_ORGANISATION: 12,
  /** PersonId is not a 12-digit personnummer or samordningsnummer. */
  INVALID_PERSON_ID: 13,
  /** A forced technical fault (`failNext({ kind: 'fault' })`). */
  TECHNICAL: 99,
} as const;

export interface NavetSimulatorOptions {
  /** Paths of the server certificate, its key and the CA of accepted client certificates (as `ensureDevPki` returns them). */
  pki?: { navetServerCert: string; navetServerKey: string; navetClientCa: string };
  /** PEM contents; used instead of `pki`. `ca` issues the accepted client certificates. */
  tls?: { key: string; cert: string; ca: string };
  /** Default: fixtures/navet/records.json. */
  records?: readonly NavetRecord[];
  /** Accepted OrgNr/BestallningsId pairs. Default {@link NAVET_SIMULATOR_CREDENTIALS}. */
  credentials?: readonly NavetSimulatorCredential[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
}

export type NavetOutage = 'unavailable' | 'reset' | 'hang';

export type NavetFailureKind =
  /** HTTP 500 with a SOAP Fault (Felkod 99 unless given). */
  | 'fault'
  /** HTTP 200 text/xml, the answer cut off halfway. */
  | 'malformed'
  /** HTTP 200 with the right XML but Content-Type text/html. */
  | 'wrong-content-type'
  /** HTTP 500 with an HTML page, no SOAP Fault. */
  | 'http500'
  /** The answer carries a DOCTYPE with an ENTITY declaration. */
  | 'doctype'
  /** The requested post twice. */
  | 'two-posts'
  /** Another person's post. */
  | 'other-person'
  /** A valid answer padded beyond 2 MiB. */
  | 'oversized';

export interface NavetFailure {
  kind: NavetFailureKind;
  /** How many of the next service calls fail this way. Default 1. */
  count?: number;
  /** For `fault`. */
  felkod?: number;
  beskrivning?: string;
}

export type NavetCallOutcome =
  | 'post'
  | 'empty'
  | 'fault'
  | 'forced'
  | 'unavailable'
  | 'reset'
  | 'hang'
  | 'not-found'
  | 'method-not-allowed'
  | 'unsupported-media-type'
  | 'too-large';

export interface NavetCall {
  /** ISO time of arrival. */
  at: string;
  method: string;
  path: string;
  /** HTTP status answered; 0 when the connection was reset or left hanging. */
  status: number;
  outcome: NavetCallOutcome;
  forced?: NavetFailureKind;
  felkod?: number;
  personId?: string;
  orgNr?: string;
  bestallningsId?: string;
  soapAction?: string;
  contentType?: string;
  /** Subject of the client certificate, e.g. `C=SE, O=Karlstads kommun, CN=Karlstads kommun Navet`. */
  clientSubject?: string;
  clientCn?: string;
}

export interface NavetCallStats {
  /** Every HTTP request that got past the TLS handshake. */
  total: number;
  /** Service calls per PersonId. */
  byPersonId: Record<string, number>;
  /** The latest calls, oldest first (at most 500). */
  recent: NavetCall[];
}

export interface NavetSimulatorControl {
  /** Every answer waits this long first. */
  setLatency(ms: number): void;
  /** `unavailable`: 503 with an HTML page; `reset`: the connection is destroyed; `hang`: no answer. `null` ends it. */
  setOutage(mode: NavetOutage | null): void;
  /** The next service calls (with a valid request) fail this way. */
  failNext(failure: NavetFailure): void;
  calls(): NavetCallStats;
  resetCalls(): void;
  records(): NavetRecord[];
  /** Clears latency, outage and pending failures (not the call statistics). */
  reset(): void;
}

export interface NavetSimulator {
  /** ePersondata V2 base URL, e.g. https://127.0.0.1:PORT/na/na_epersondata/V2 */
  url: string;
  control: NavetSimulatorControl;
  close(): Promise<void>;
}

const SERVICE_PATH = `${NAVET_BASE_PATH}${PERSONPOST_XML_PATH}`;
const MAX_REQUEST_BYTES = 64 * 1024;
const RECENT_CALLS = 500;
const XML_TYPE = 'text/xml;charset=utf-8';

const html = (title: string, text: string) =>
  `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(buf.length), ...headers });
  res.end(buf);
}

function clientOf(req: IncomingMessage): { subject?: string; cn?: string } {
  const cert = (req.socket as TLSSocket).getPeerCertificate?.();
  if (!cert || !cert.subject) return {};
  const subject = cert.subject as unknown as Record<string, string | string[]>;
  const parts = ['C', 'O', 'OU', 'CN'].flatMap((k) => (subject[k] === undefined ? [] : [`${k}=${[subject[k]].flat().join('+')}`]));
  const cn = [subject.CN].flat()[0];
  return { subject: parts.join(', '), ...(cn ? { cn } : {}) };
}

function readBody(req: IncomingMessage): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve('too-large');
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startNavetSimulator(options: NavetSimulatorOptions): Promise<NavetSimulator> {
  const tls = options.tls ?? (options.pki && {
    cert: readFileSync(options.pki.navetServerCert, 'utf8'),
    key: readFileSync(options.pki.navetServerKey, 'utf8'),
    ca: readFileSync(options.pki.navetClientCa, 'utf8'),
  });
  if (!tls) throw new Error('startNavetSimulator: give `pki` (paths) or `tls` (PEM contents)');
  const records = options.records ? parseNavetRecords(options.records) : loadNavetRecords();
  const byId = new Map(records.map((r) => [r.personId, r]));
  const credentials = [...(options.credentials ?? NAVET_SIMULATOR_CREDENTIALS)];
  const host = options.host ?? '127.0.0.1';

  let latencyMs = 0;
  let outage: NavetOutage | null = null;
  const failures: Array<{ failure: NavetFailure; left: number }> = [];
  let stats: NavetCallStats = { total: 0, byPersonId: {}, recent: [] };
  const timers = new Set<NodeJS.Timeout>();

  const record = (call: NavetCall) => {
    stats.recent.push(call);
    if (stats.recent.length > RECENT_CALLS) stats.recent.shift();
  };

  const fault = (res: ServerResponse, call: NavetCall, felkod: number, beskrivning: string, faultstring?: string) => {
    call.status = 500;
    call.outcome = 'fault';
    call.felkod = felkod;
    send(res, 500, XML_TYPE, renderFault(felkod, beskrivning, faultstring));
  };

  const nextFailure = (): NavetFailure | undefined => {
    const head = failures[0];
    if (!head) return undefined;
    head.left -= 1;
    if (head.left <= 0) failures.shift();
    return head.failure;
  };

  async function service(req: IncomingMessage, res: ServerResponse, call: NavetCall): Promise<void> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'text/xml') {
      call.status = 415;
      call.outcome = 'unsupported-media-type';
      req.resume();
      return send(res, 415, 'text/html;charset=utf-8', html('Unsupported Media Type', 'SOAP 1.1 requests are sent as text/xml.'));
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      call.status = 413;
      call.outcome = 'too-large';
      return send(res, 413, 'text/html;charset=utf-8', html('Payload Too Large', 'The request is too large.'), { connection: 'close' });
    }

    const read = readPersonpostRequest(body);
    const fields = read.ok ? read.fields : read.partial;
    if (fields.orgNr !== undefined) call.orgNr = fields.orgNr;
    if (fields.bestallningsId !== undefined) call.bestallningsId = fields.bestallningsId;
    if (fields.personId !== undefined) {
      call.personId = fields.personId;
      stats.byPersonId[fields.personId] = (stats.byPersonId[fields.personId] ?? 0) + 1;
    }
    if (!read.ok) return fault(res, call, NAVET_FELKOD.INVALID_REQUEST, `Ogiltigt anrop: ${read.reason}`);
    const { orgNr, bestallningsId, personId } = read.fields;
    const order = credentials.find((c) => c.orgNr === orgNr && c.bestallningsId === bestallningsId);
    if (!order) return fault(res, call, NAVET_FELKOD.UNKNOWN_ORDER, 'Beställningen finns inte för organisationsnumret');
    if (order.clientCn !== undefined && order.clientCn !== call.clientCn) {
      return fault(res, call, NAVET_FELKOD.CERTIFICATE_NOT_OF_ORGANISATION, 'Certifikatet tillhör inte den beställande organisationen');
    }
    if (!/^\d{12}$/.test(personId) || !parsePersonalNumber(personId)) {
      return fault(res, call, NAVET_FELKOD.INVALID_PERSON_ID, 'Felaktigt personnummer eller samordningsnummer');
    }

    const found = byId.get(personId);
    const failure = nextFailure();
    if (failure) {
      call.forced = failure.kind;
      call.outcome = 'forced';
      const normal = renderPersonpostAnswer(found ? [found] : []);
      switch (failure.kind) {
        case 'fault':
          fault(res, call, failure.felkod ?? NAVET_FELKOD.TECHNICAL, failure.beskrivning ?? 'Tekniskt fel, försök igen senare', 'Tekniskt fel');
          call.outcome = 'forced';
          return;
        case 'malformed':
          call.status = 200;
          return send(res, 200, XML_TYPE, normal.slice(0, Math.floor(normal.length / 2)));
        case 'wrong-content-type':
          call.status = 200;
          return send(res, 200, 'text/html;charset=utf-8', normal);
        case 'http500':
          call.status = 500;
          return send(res, 500, 'text/html;charset=utf-8', html('Internal Server Error', 'The server encountered an internal error.'));
        case 'doctype':
          call.status = 200;
          return send(res, 200, XML_TYPE, renderPersonpostAnswer(found ? [found] : [], { doctype: true }));
        case 'two-posts': {
          const post = found ?? records[0]!;
          call.status = 200;
          return send(res, 200, XML_TYPE, renderPersonpostAnswer([post, post]));
        }
        case 'other-person': {
          const other = records.find((r) => r.personId !== personId)!;
          call.status = 200;
          return send(res, 200, XML_TYPE, renderPersonpostAnswer([other]));
        }
        case 'oversized':
          call.status = 200;
          return send(res, 200, XML_TYPE, renderPersonpostAnswer(found ? [found] : [], { padding: 2 * 1024 * 1024 + 1 }));
      }
    }
    call.status = 200;
    call.outcome = found ? 'post' : 'empty';
    send(res, 200, XML_TYPE, renderPersonpostAnswer(found ? [found] : []));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.total += 1;
    const client = clientOf(req);
    const soapAction = req.headers.soapaction;
    const call: NavetCall = {
      at: new Date().toISOString(),
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0]!,
      status: 0,
      outcome: 'hang',
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
      ...(typeof soapAction === 'string' ? { soapAction } : {}),
      ...(client.subject ? { clientSubject: client.subject } : {}),
      ...(client.cn ? { clientCn: client.cn } : {}),
    };
    record(call);

    if (latencyMs > 0) {
      const wait = latencyMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, wait);
        timers.add(t);
      });
      if (res.destroyed || req.socket.destroyed) return;
    }

    if (outage === 'unavailable') {
      call.status = 503;
      call.outcome = 'unavailable';
      req.resume();
      return send(res, 503, 'text/html;charset=utf-8', html('503 Service Unavailable', 'The server is temporarily unable to service your request.'));
    }
    if (outage === 'reset') {
      call.outcome = 'reset';
      req.socket.destroy();
      return;
    }
    if (outage === 'hang') {
      call.outcome = 'hang';
      req.resume();
      return;
    }

    if (call.path !== SERVICE_PATH) {
      call.status = 404;
      call.outcome = 'not-found';
      req.resume();
      return send(res, 404, 'text/html;charset=utf-8', html('Not Found', 'No such service.'));
    }
    if (req.method !== 'POST') {
      call.status = 405;
      call.outcome = 'method-not-allowed';
      req.resume();
      return send(res, 405, 'text/html;charset=utf-8', html('Method Not Allowed', 'Use POST.'), { allow: 'POST' });
    }
    await service(req, res, call);
  }

  const server = https.createServer(
    {
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, 'text/html;charset=utf-8', html('Internal Server Error', 'Simulator error.'));
        else res.destroy();
      });
    },
  );
  // A client that fails the handshake is simply disconnected; nothing to report.
  server.on('tlsClientError', () => {});
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  server.on('secureConnection', track);

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

  const control: NavetSimulatorControl = {
    setLatency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error('setLatency: milliseconds >= 0');
      latencyMs = ms;
    },
    setOutage(mode) {
      outage = mode;
    },
    failNext(failure) {
      const count = failure.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw new Error('failNext: count must be a positive integer');
      failures.push({ failure: { ...failure }, left: count });
    },
    calls: () => ({ total: stats.total, byPersonId: { ...stats.byPersonId }, recent: stats.recent.map((c) => ({ ...c })) }),
    resetCalls() {
      stats = { total: 0, byPersonId: {}, recent: [] };
    },
    records: () => structuredClone([...records]),
    reset() {
      latencyMs = 0;
      outage = null;
      failures.length = 0;
    },
  };

  let closing: Promise<void> | undefined;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `https://${urlHost}:${port}${NAVET_BASE_PATH}`,
    control,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
