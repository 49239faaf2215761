/**
 * The simulated Freja eID app and the control API, on plain HTTP on loopback. Every path works with or
 * without the `/dev/freja-app` prefix the hub proxies it under:
 *
 *   GET  /dev/freja-app/                      dev page: pending sign-ins and signings (with the text to sign) with
 *                                             buttons, test persons, QR paste form
 *        ?transactionReference=<authRef>      the app opened by the launch link: DELIVERED_TO_MOBILE, shown first
 *        ?qr=frejaeid://bindUserToTransaction?transactionReference=...   the same, by a scanned QR payload
 *   POST /dev/freja-app/approve               JSON {"transactionReference", "personalNumber"?, "action"?} → {"status"}
 *                                             (or the page's form, with its anti-forgery token)
 *   GET  /dev/freja-app/persons               [{"personalNumber", "name", "tags"}]
 *   GET  /dev/freja-app/transactions          pending transactions (JSON; a sign transaction's text to sign in `sign.text`)
 *   POST /dev/freja-app/control/switch, /control/reset, /control/rollover; GET /control/transactions, /control/stats
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAppAction, type AppAction, type SimulatorEngine } from './engine.ts';
import { APP_CSS, CSP, donePage, errorPage, errorText, homePage } from './pages.ts';
import type { FrejaSimulatorControl } from './server.ts';

export const APP_PREFIX = '/dev/freja-app';

const MAX_BODY_BYTES = 64 * 1024;

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export interface AppDeps {
  engine: SimulatorEngine;
  control: FrejaSimulatorControl;
  /** Anti-forgery token of the page's forms, bound to one transaction. */
  tokenFor(authRef: string): string;
  tokenValid(authRef: string, token: string): boolean;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

const sendHtml = (res: ServerResponse, status: number, html: string): void =>
  send(res, status, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' });

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

function parseJsonObject(text: string): Record<string, unknown> {
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

/** The transaction reference in a `frejaeid://bindUserToTransaction?transactionReference=...` payload. */
export function referenceFromQr(payload: string): string | undefined {
  const m = /^frejaeid:\/\/bindUserToTransaction\?(.*)$/.exec(payload.trim());
  if (!m) return undefined;
  const ref = new URLSearchParams(m[1]).get('transactionReference');
  return ref || undefined;
}

export function createAppHandler(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: 'invalidRequest', message: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internalError', message: 'internal error' });
      else res.destroy();
    });
  };
}

async function handle(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { engine, control } = deps;
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  if (url.pathname === APP_PREFIX) {
    // The page's links are relative: it must be served from the directory URL.
    res.writeHead(308, { ...COMMON_HEADERS, Location: `${APP_PREFIX}/${url.search}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const path = url.pathname.startsWith(`${APP_PREFIX}/`) ? url.pathname.slice(APP_PREFIX.length) : url.pathname;
  switch (`${req.method ?? 'GET'} ${path}`) {
    case 'GET /':
      return page(deps, res, url);
    case 'GET /app.css':
      return send(res, 200, 'text/css; charset=utf-8', APP_CSS);
    case 'POST /approve':
      return approve(deps, req, res);
    case 'GET /persons':
      return sendJson(
        res,
        200,
        engine.options.persons.map((p) => ({ personalNumber: p.personalNumber, name: p.name, tags: [...p.tags] })),
      );
    case 'GET /transactions':
      return sendJson(res, 200, engine.pending());
    case 'POST /control/switch': {
      const r = engine.applySwitch(parseJsonObject(await readBody(req)));
      return r.ok ? sendJson(res, 200, { ok: true }) : sendJson(res, 400, { error: 'invalidSwitch', message: r.message });
    }
    case 'POST /control/reset': {
      const body = parseJsonObject(await readBody(req));
      control.reset({ transactions: body.transactions === true, stats: body.stats === true });
      return sendJson(res, 200, { ok: true });
    }
    case 'POST /control/rollover': {
      await readBody(req);
      try {
        return sendJson(res, 200, { x5t: control.rollover() });
      } catch (err) {
        return sendJson(res, 409, { error: 'noNextSigningKey', message: (err as Error).message });
      }
    }
    case 'GET /control/transactions':
      return sendJson(res, 200, control.transactions());
    case 'GET /control/stats':
      return sendJson(res, 200, control.stats());
  }
  await readBody(req).catch(() => '');
  const known = ['/', '/app.css', '/approve', '/persons', '/transactions'].includes(path) || path.startsWith('/control/');
  return sendJson(res, known ? 405 : 404, known ? { error: 'methodNotAllowed', message: 'Method not allowed.' } : { error: 'notFound', message: 'Not found.' });
}

function page(deps: AppDeps, res: ServerResponse, url: URL): void {
  const { engine } = deps;
  const qr = url.searchParams.get('qr');
  let ref = url.searchParams.get('transactionReference') ?? undefined;
  let notice: { sv: string; en: string; error?: boolean } | undefined;
  if (qr !== null) {
    ref = referenceFromQr(qr);
    if (ref === undefined) return sendHtml(res, 400, errorPage('qrInvalid'));
  }
  if (ref !== undefined) {
    // The app is opened on this transaction: it is now delivered to the phone.
    const opened = engine.act(ref, 'open');
    if (!opened.ok) notice = { ...errorText(opened.error), error: true };
  }
  const o: Parameters<typeof homePage>[0] = { persons: engine.options.persons, pending: engine.pending(), tokenFor: deps.tokenFor };
  if (ref !== undefined) o.opened = ref;
  if (notice) o.notice = notice;
  sendHtml(res, 200, homePage(o));
}

async function approve(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const text = await readBody(req);
  if (type === 'application/x-www-form-urlencoded') {
    // The page's form: the token proves the form came from the page (a dev tool, but still behind the hub's origin).
    const form = new URLSearchParams(text);
    const ref = form.get('transactionReference') ?? '';
    if (!deps.tokenValid(ref, form.get('token') ?? '')) return sendHtml(res, 403, errorPage('tokenInvalid'));
    const action = form.get('action') ?? 'approve';
    if (!isAppAction(action) || action === 'open') return sendHtml(res, 400, errorPage('invalidRequest'));
    const r = deps.engine.act(ref, action, form.get('personalNumber') || undefined);
    if (!r.ok) return sendHtml(res, r.status, errorPage(r.error));
    return sendHtml(res, 200, donePage(r.value.status, deps.engine.kindOf(ref)));
  }
  if (type !== 'application/json') return sendJson(res, 415, { error: 'invalidRequest', message: 'Content-Type must be application/json.' });
  const body = parseJsonObject(text);
  const ref = body.transactionReference;
  const action = (body.action ?? 'approve') as AppAction;
  const pnr = body.personalNumber;
  if (typeof ref !== 'string' || (pnr !== undefined && typeof pnr !== 'string')) {
    return sendJson(res, 400, { error: 'invalidRequest', message: 'transactionReference (and personalNumber) must be strings.' });
  }
  const r = deps.engine.act(ref, action, pnr as string | undefined);
  if (!r.ok) return sendJson(res, r.status, { error: r.error, message: r.message });
  return sendJson(res, 200, { status: r.value.status });
}
