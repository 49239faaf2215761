/**
 * The simulated BankID app and the control API, on plain HTTP on loopback:
 *
 *   GET  /                         paste form; `?qr=` scans a code, `?autostarttoken=` starts by token
 *   POST /approve                  the decision form of the page (one-time session token)
 *   POST /scan, /autostart, /phone JSON: scan or start and decide in one call (scripts and tests)
 *   GET  /persons                  the test persons
 *   POST /control/switch, /control/reset; GET /control/stats, /control/orders, /control/qr?orderRef=
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppAction, AppDecision, AppErrorCode, AppRequest, AppResult, SimulatorEngine } from './engine.ts';
import { APP_CSS, APP_JS, CSP, donePage, errorPage, errorText, homePage, orderPage } from './pages.ts';

const MAX_BODY_BYTES = 64 * 1024;

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The page URL carries QR payloads and tokens.
  'Referrer-Policy': 'no-referrer',
};

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

const sendHtml = (res: ServerResponse, status: number, html: string): void =>
  send(res, status, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' });

function sendAppError(res: ServerResponse, r: { error: AppErrorCode; status: number; message: string }): void {
  sendJson(res, r.status, { error: r.error, message: r.message });
}

class BadRequest extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequest('body must be a JSON object');
  return value as Record<string, unknown>;
}

function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function appRequest(body: Record<string, unknown>): AppRequest {
  const r: AppRequest = {};
  const qr = optionalString(body.qr);
  if (qr !== undefined) r.qr = qr;
  const token = optionalString(body.autoStartToken);
  if (token !== undefined) r.autoStartToken = token;
  if (body.personalNumber !== undefined) r.personalNumber = body.personalNumber as string;
  if (body.action !== undefined) r.action = body.action as AppAction;
  return r;
}

/** Only web URLs are followed after a decision; `null` is BankID's "no redirect". */
function safeRedirect(url: string | undefined): string | undefined {
  if (url === undefined || url === '' || url === 'null' || !URL.canParse(url)) return undefined;
  const { protocol } = new URL(url);
  return protocol === 'https:' || protocol === 'http:' ? url : undefined;
}

export function createAppHandler(engine: SimulatorEngine): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(engine, req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: 'invalidRequest', message: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internalError', message: 'internal error' });
      else res.destroy();
    });
  };
}

async function handle(engine: SimulatorEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /':
      return page(engine, req, res, url);
    case 'GET /app.css':
      return send(res, 200, 'text/css; charset=utf-8', APP_CSS);
    case 'GET /app.js':
      return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
    case 'POST /approve':
      return decideFromForm(engine, req, res);
    case 'POST /scan':
      return answer(res, engine.scan(appRequest(await readJsonObject(req)), clientIp(req)));
    case 'POST /autostart':
      return answer(res, engine.autostart(appRequest(await readJsonObject(req))));
    case 'POST /phone': {
      const body = await readJsonObject(req);
      const action = (body.action ?? 'approve') as AppAction | 'decline';
      return answer(res, engine.phone(body.personalNumber as string, action, clientIp(req)));
    }
    case 'GET /persons':
      return sendJson(res, 200, engine.options.persons);
    case 'POST /control/switch': {
      const r = engine.applySwitch(await readJsonObject(req));
      return r.ok ? sendJson(res, 200, { ok: true }) : sendJson(res, 400, { error: 'invalidSwitch', message: r.message });
    }
    case 'POST /control/reset': {
      const body = await readJsonObject(req);
      engine.reset({ stats: body.stats === true, orders: body.orders === true });
      return sendJson(res, 200, { ok: true });
    }
    case 'GET /control/stats':
      return sendJson(res, 200, engine.stats());
    case 'GET /control/orders':
      return sendJson(res, 200, engine.summaries());
    case 'GET /control/qr': {
      const ref = url.searchParams.get('orderRef') ?? '';
      const qr = engine.currentQr(ref);
      if (qr === undefined) return sendJson(res, 404, { error: 'orderNotFound', message: 'No such order.' });
      return sendJson(res, 200, { qr, autoStartToken: engine.autoStartTokenOf(ref) });
    }
  }
  await readBody(req).catch(() => '');
  const knownPath = ['/', '/app.css', '/app.js', '/approve', '/scan', '/autostart', '/phone', '/persons'].includes(url.pathname) || url.pathname.startsWith('/control/');
  if (knownPath) return sendJson(res, 405, { error: 'methodNotAllowed', message: 'Method not allowed.' });
  return sendJson(res, 404, { error: 'notFound', message: 'Not found.' });
}

function answer(res: ServerResponse, r: AppResult<AppDecision>): void {
  if (!r.ok) return sendAppError(res, r);
  const body: AppDecision = { status: r.value.status };
  if (r.value.returnUrl !== undefined) body.returnUrl = r.value.returnUrl;
  if (r.value.userVisibleData !== undefined) body.userVisibleData = r.value.userVisibleData;
  if (r.value.userVisibleDataFormat !== undefined) body.userVisibleDataFormat = r.value.userVisibleDataFormat;
  sendJson(res, 200, body);
}

function page(engine: SimulatorEngine, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const qr = url.searchParams.get('qr');
  const token = url.searchParams.get('autostarttoken');
  if (qr === null && token === null) return sendHtml(res, 200, homePage(engine.options.persons, engine.options.qrMaxAgeMs));
  const opened = qr !== null ? engine.openByQr(qr) : engine.openByAutoStart(token!);
  if (!opened.ok) return sendHtml(res, opened.status, errorPage(opened.error));
  const redirect = qr === null ? safeRedirect(url.searchParams.get('redirect') ?? undefined) : undefined;
  const deviceIp = opened.value.via === 'autostart' ? opened.value.endUserIp : clientIp(req);
  const session = engine.createSession(opened.value.orderRef, opened.value.via, deviceIp, redirect);
  sendHtml(res, 200, orderPage({ order: opened.value, session, persons: engine.options.persons }));
}

async function decideFromForm(engine: SimulatorEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  const session = engine.takeSession(form.get('session') ?? '');
  if (!session) return sendHtml(res, 400, errorPage('sessionInvalid'));
  const action = form.get('action') === 'cancel' ? 'cancel' : 'approve';
  const personalNumber = form.get('personalNumber') ?? undefined;
  const decided = engine.decide(session.orderRef, action, personalNumber || undefined, session.deviceIp);
  if (!decided.ok) {
    if (decided.error === 'personMismatch' || decided.error === 'invalidRequest') {
      // Let the tester pick again on a fresh one-time token.
      const view = engine.openedView(session.orderRef, session.via);
      if (view) {
        const next = engine.createSession(session.orderRef, session.via, session.deviceIp, session.redirect);
        return sendHtml(res, 409, orderPage({ order: view, session: next, persons: engine.options.persons, error: errorText(decided.error) }));
      }
    }
    return sendHtml(res, decided.status, errorPage(decided.error));
  }
  // Same device: the app opens the RP's returnUrl (or the launch link's redirect) after approval.
  const back = session.via === 'autostart' ? safeRedirect(engine.returnUrlOf(session.orderRef)) ?? session.redirect : undefined;
  if (decided.value.status === 'complete' && back !== undefined) {
    res.writeHead(303, { ...COMMON_HEADERS, Location: back, 'Content-Length': 0 });
    res.end();
    return;
  }
  sendHtml(res, 200, donePage(decided.value.status === 'cancelled', back));
}
