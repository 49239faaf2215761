/**
 * The simulated RP API v6.0 (served over HTTPS with mutual TLS by server.ts). Validation order and
 * answers follow the real service: unknown path 404, other methods than POST 405, a Content-Type
 * other than exactly `application/json` 415, bad JSON or fields 400 invalidParameters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint, ErrorSwitch, SimulatorEngine } from './engine.ts';
import { validateOrderRef, validatePhoneStart, validateStart } from './validate.ts';

export const RP_BASE_PATH = '/rp/v6.0';

const ROUTES: Record<string, Endpoint> = {
  [`${RP_BASE_PATH}/auth`]: 'auth',
  [`${RP_BASE_PATH}/sign`]: 'sign',
  [`${RP_BASE_PATH}/phone/auth`]: 'phone/auth',
  [`${RP_BASE_PATH}/phone/sign`]: 'phone/sign',
  [`${RP_BASE_PATH}/collect`]: 'collect',
  [`${RP_BASE_PATH}/cancel`]: 'cancel',
};

const MAX_BODY_BYTES = 512 * 1024;

const DEFAULT_DETAILS: Record<string, string> = {
  alreadyInProgress: 'Order already in progress for pno',
  invalidParameters: 'Invalid parameters',
  unauthorized: 'RP does not have access to the service',
  notFound: 'Not found',
  methodNotAllowed: 'Method not allowed',
  requestTimeout: 'Request timed out',
  unsupportedMediaType: 'Unsupported media type',
  internalError: 'Internal error',
  maintenance: 'The service is temporarily unavailable',
};

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const h: Record<string, string | number> = { 'Cache-Control': 'no-store', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  h['Content-Length'] = body === undefined ? 0 : Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, errorCode: string, details?: string, headers?: Record<string, string>): void {
  send(res, status, JSON.stringify({ errorCode, details: details ?? DEFAULT_DETAILS[errorCode] ?? errorCode }), headers);
}

function sendSwitchedError(res: ServerResponse, s: ErrorSwitch): void {
  const headers: Record<string, string> = {};
  const retryAfter = String(s.retryAfterSeconds ?? 1);
  if (s.httpStatus === 429) {
    headers['RateLimit-Limit'] = '100';
    headers['RateLimit-Remaining'] = '0';
    headers['RateLimit-Reset'] = retryAfter;
    headers['Retry-After'] = retryAfter;
  } else if (s.retryAfterSeconds !== undefined) {
    headers['Retry-After'] = retryAfter;
  }
  Object.assign(headers, s.headers ?? {});
  if (s.errorCode !== undefined) sendError(res, s.httpStatus, s.errorCode, s.details, headers);
  else send(res, s.httpStatus, s.body === 'empty' ? undefined : '{}', headers);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** `application/json` and nothing else (a charset parameter is refused, as by BankID). */
const isExactJson = (contentType: string | undefined): boolean => contentType?.trim().toLowerCase() === 'application/json';

export function createRpHandler(engine: SimulatorEngine): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(engine, req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'internalError');
      else res.destroy();
    });
  };
}

async function handle(engine: SimulatorEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'https://simulator.invalid').pathname;
  const endpoint = ROUTES[path];
  const raw = await readBody(req);
  if (!endpoint) return sendError(res, 404, 'notFound');
  if (req.method !== 'POST') return sendError(res, 405, 'methodNotAllowed', undefined, { Allow: 'POST' });

  const jsonOk = isExactJson(req.headers['content-type']);
  let body: unknown;
  let parsed = false;
  if (jsonOk && raw !== undefined) {
    try {
      body = JSON.parse(raw.toString('utf8'));
      parsed = true;
    } catch {
      parsed = false;
    }
  }
  const bodyObject = parsed && typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const orderRefForStats = typeof bodyObject?.orderRef === 'string' ? bodyObject.orderRef : undefined;
  engine.recordCall(endpoint, orderRefForStats);

  const delay = engine.takeDelaySwitch(endpoint);
  if (delay) await sleep(delay.ms);
  const forced = engine.takeErrorSwitch(endpoint);
  if (forced) return sendSwitchedError(res, forced);

  if (!jsonOk) return sendError(res, 415, 'unsupportedMediaType', 'Content-Type must be application/json');
  if (raw === undefined) return sendError(res, 400, 'invalidParameters', 'Request too large');
  if (!parsed) return sendError(res, 400, 'invalidParameters', 'Invalid JSON');
  if (!bodyObject) return sendError(res, 400, 'invalidParameters', 'Request body must be a JSON object');

  switch (endpoint) {
    case 'auth':
    case 'sign': {
      const v = validateStart(bodyObject, endpoint);
      if (!v.ok) return sendError(res, 400, 'invalidParameters', v.details);
      const r = engine.start(endpoint, { phone: false, ...v.value });
      if (!r.ok) return sendError(res, r.error.httpStatus, r.error.errorCode, r.error.details);
      return send(res, 200, JSON.stringify(r.order));
    }
    case 'phone/auth':
    case 'phone/sign': {
      const v = validatePhoneStart(bodyObject, endpoint === 'phone/sign' ? 'sign' : 'auth');
      if (!v.ok) return sendError(res, 400, 'invalidParameters', v.details);
      const r = engine.start(endpoint, { phone: true, ...v.value });
      if (!r.ok) return sendError(res, r.error.httpStatus, r.error.errorCode, r.error.details);
      return send(res, 200, JSON.stringify({ orderRef: r.order.orderRef }));
    }
    case 'collect': {
      const v = validateOrderRef(bodyObject);
      if (!v.ok) return sendError(res, 400, 'invalidParameters', v.details);
      const r = engine.collect(v.value);
      if (!r.ok) return sendError(res, r.error.httpStatus, r.error.errorCode, r.error.details);
      return send(res, 200, JSON.stringify(r.answer));
    }
    case 'cancel': {
      const v = validateOrderRef(bodyObject);
      if (!v.ok) return sendError(res, 400, 'invalidParameters', v.details);
      const r = engine.cancel(v.value);
      if (!r.ok) return sendError(res, r.error.httpStatus, r.error.errorCode, r.error.details);
      return send(res, 200, '{}');
    }
  }
}
