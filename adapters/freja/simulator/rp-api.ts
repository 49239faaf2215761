/**
 * The simulated Freja eID RP API, authentication 1.0 (served over HTTPS with mutual TLS by server.ts).
 *
 * Every call is a POST whose body is one form parameter holding Base64 of the UTF-8 request JSON
 * (`initAuthRequest=...`), optionally followed by `&relyingPartyId=...`. Both encodings seen in the wild
 * are accepted: `application/x-www-form-urlencoded` with the value percent-encoded (or not), and the
 * same raw `name=value` body under `Content-Type: application/json`, as Freja's Java client sends it.
 * Errors are HTTP 400 with `{"code": <int>, "message": "..."}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePersonalNumber } from '../../../src/identity/personnummer.ts';
import {
  VERIFIED_ONLY_ATTRIBUTES,
  frejaError,
  type CallMeta,
  type Endpoint,
  type ErrorSwitch,
  type FrejaError,
  type InitRequest,
  type ResultView,
  type SimulatorEngine,
} from './engine.ts';
import { isRegistrationLevel } from './persons.ts';
import { signResult, type SigningKey } from './signing.ts';

export const RP_PATHS: Record<string, { endpoint: Endpoint; param: string }> = {
  '/authentication/1.0/initAuthentication': { endpoint: 'initAuthentication', param: 'initAuthRequest' },
  '/authentication/1.0/getOneResult': { endpoint: 'getOneResult', param: 'getOneAuthResultRequest' },
  '/authentication/1.0/getResults': { endpoint: 'getResults', param: 'getAuthResultsRequest' },
  '/authentication/1.0/cancel': { endpoint: 'cancel', param: 'cancelAuthRequest' },
};

/** Every attributesToReturn name Freja's Java client knows. */
export const KNOWN_ATTRIBUTES: ReadonlySet<string> = new Set([
  'BASIC_USER_INFO',
  'SSN',
  'DATE_OF_BIRTH',
  'AGE',
  'GENDER',
  'ADDRESSES',
  'EMAIL_ADDRESS',
  'ALL_EMAIL_ADDRESSES',
  'ALL_PHONE_NUMBERS',
  'RELYING_PARTY_USER_ID',
  'CUSTOM_IDENTIFIER',
  'INTEGRATOR_SPECIFIC_USER_ID',
  'ORGANISATION_ID_IDENTIFIER',
  'ORGANISATION_ID',
  'REGISTRATION_LEVEL',
  'LOA_LEVEL',
  'UNIQUE_PERSONAL_IDENTIFIER',
  'PHOTO',
  'NFC_ID_PHOTO',
  'DOCUMENT',
  'DOCUMENT_PHOTO',
  'DOCUMENT_INFO_WITH_PDF',
  'CHILDREN_DOCUMENT_INFO_WITH_PDF',
  'COVID_CERTIFICATES',
  'NETWORK_INFO',
]);

const INIT_FIELDS = new Set([
  'userInfoType',
  'userInfo',
  'minRegistrationLevel',
  'attributesToReturn',
  'orgIdIssuer',
  'userConfirmationMethod',
  'originDeviceDetails',
  'useDynamicQrCode',
]);

const MAX_BODY_BYTES = 256 * 1024;

export interface RpContext {
  engine: SimulatorEngine;
  signing: () => SigningKey;
  /** Added before every answer (ms). */
  latencyMs: () => number;
}

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const h: Record<string, string | number> = { 'Cache-Control': 'no-store', ...headers };
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json;charset=UTF-8';
  h['Content-Length'] = body === undefined ? 0 : Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(body);
}

const sendJson = (res: ServerResponse, value: unknown): void => send(res, 200, JSON.stringify(value));

function sendError(res: ServerResponse, e: FrejaError, headers?: Record<string, string>): void {
  send(res, e.httpStatus, JSON.stringify({ code: e.code, message: e.message }), headers);
}

function sendSwitchedError(res: ServerResponse, s: ErrorSwitch): void {
  const headers: Record<string, string> = {};
  if (s.retryAfterSeconds !== undefined) headers['Retry-After'] = String(s.retryAfterSeconds);
  if (s.code !== undefined) return sendError(res, frejaError(s.code, s.message, s.httpStatus), headers);
  send(res, s.httpStatus, s.message ?? `${s.httpStatus} simulated outage`, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
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

/** `name=value&...`; form bodies are percent- and plus-decoded, the Java client's raw body only percent-decoded. */
function parseParams(raw: string, form: boolean): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of raw.trim().split('&')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    const rawName = i < 0 ? part : part.slice(0, i);
    const rawValue = i < 0 ? '' : part.slice(i + 1);
    try {
      const decode = (s: string) => decodeURIComponent(form ? s.replace(/\+/g, ' ') : s);
      out.set(decode(rawName), decode(rawValue));
    } catch {
      return undefined;
    }
  }
  return out;
}

/** Base64 JSON object, or undefined. A `+` turned into a space by form decoding is put back. */
function decodeJsonParam(value: string): Record<string, unknown> | undefined {
  const b64 = value.replace(/ /g, '+');
  if (b64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function contentTypeOf(req: IncomingMessage): { ok: boolean; form: boolean; value: string } {
  const value = String(req.headers['content-type'] ?? '');
  const type = value.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return { ok: true, form: true, value };
  if (type === 'application/json') return { ok: true, form: false, value };
  return { ok: false, form: false, value };
}

export function createRpHandler(ctx: RpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ctx, req, res).catch(() => {
      if (!res.headersSent) sendError(res, frejaError(0, undefined, 500));
      else res.destroy();
    });
  };
}

async function handle(ctx: RpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { engine } = ctx;
  const path = new URL(req.url ?? '/', 'https://simulator.invalid').pathname;
  const route = RP_PATHS[path];
  const raw = await readBody(req);
  if (!route) return send(res, 404, 'Not Found', { 'Content-Type': 'text/plain; charset=utf-8' });
  if (req.method !== 'POST') return send(res, 405, 'Method Not Allowed', { Allow: 'POST', 'Content-Type': 'text/plain; charset=utf-8' });
  const { endpoint, param } = route;
  engine.recordCall(endpoint);

  const latency = ctx.latencyMs();
  if (latency > 0) await sleep(latency);
  const delay = engine.takeSwitch('delay', endpoint);
  if (delay) await sleep(delay.ms);
  if (engine.takeSwitch('outage', endpoint)) {
    req.socket.destroy();
    return;
  }
  const forced = engine.takeSwitch('error', endpoint);
  if (forced) return sendSwitchedError(res, forced);

  const type = contentTypeOf(req);
  if (!type.ok) return send(res, 415, 'Unsupported Media Type', { 'Content-Type': 'text/plain; charset=utf-8' });
  if (raw === undefined) return sendError(res, frejaError(1000, 'Request too large.'));
  const params = parseParams(raw.toString('utf8'), type.form);
  if (!params) return sendError(res, frejaError(1000));
  const value = params.get(param);
  if (value === undefined) return sendError(res, frejaError(1000, `Invalid parameters. (expected ${param})`));
  const body = decodeJsonParam(value);
  if (!body) return sendError(res, frejaError(1010));
  const meta: CallMeta = { contentType: type.value };
  const rp = params.get('relyingPartyId');
  if (rp !== undefined) {
    if (rp === '') return sendError(res, frejaError(1011));
    meta.relyingPartyId = rp;
  }

  switch (endpoint) {
    case 'initAuthentication': {
      const v = validateInit(body);
      if (!v.ok) return sendError(res, v.error);
      const r = engine.init(v.value, meta);
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, r.qrCodeSecret ? { authRef: r.authRef, qrCodeSecret: r.qrCodeSecret } : { authRef: r.authRef });
    }
    case 'getOneResult': {
      if (typeof body.authRef !== 'string') return sendError(res, frejaError(1000));
      const r = engine.result(body.authRef, meta);
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, await resultJson(ctx, r.view));
    }
    case 'getResults': {
      if (body.includePrevious !== 'ALL') return sendError(res, frejaError(1200));
      const views = engine.results(meta);
      const authenticationResults = [];
      for (const view of views) authenticationResults.push(await resultJson(ctx, view));
      return sendJson(res, { authenticationResults });
    }
    case 'cancel': {
      if (typeof body.authRef !== 'string') return sendError(res, frejaError(1000));
      const r = engine.cancel(body.authRef, meta);
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, {});
    }
  }
}

/** A result object; an approved one carries the signed `details` and the attributes beside it. */
async function resultJson(ctx: RpContext, view: ResultView): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { authRef: view.authRef, status: view.status };
  if (!view.approved) return out;
  const tamper = ctx.engine.takeResultSwitch(view.authRef);
  let details: string;
  if (tamper) {
    details = await signResult(view.approved.payload, ctx.signing(), tamper);
  } else if (view.approved.details !== undefined) {
    details = view.approved.details;
  } else {
    details = await signResult(view.approved.payload, ctx.signing());
    ctx.engine.keepDetails(view.authRef, details);
  }
  out.details = details;
  out.requestedAttributes = view.approved.payload.requestedAttributes;
  return out;
}

type Validated<T> = { ok: true; value: T } | { ok: false; error: FrejaError };

/** The initAuthentication request, checked as Freja documents it (in the order of its error codes). */
export function validateInit(body: Record<string, unknown>): Validated<InitRequest> {
  const fail = (code: number, note?: string): Validated<InitRequest> => ({
    ok: false,
    error: frejaError(code, note ? `${frejaError(code).message} (${note})` : undefined),
  });
  for (const key of Object.keys(body)) {
    if (!INIT_FIELDS.has(key)) return fail(1000, `unknown field ${key}`);
  }
  const { userInfoType, userInfo } = body;
  if (userInfoType !== 'INFERRED' && userInfoType !== 'SSN') {
    const known = ['EMAIL', 'PHONE', 'ORG_ID', 'UPI'].includes(userInfoType as string);
    return fail(1001, known ? 'the simulator supports INFERRED and SSN only' : undefined);
  }
  if (typeof userInfo !== 'string') return fail(1002);
  let ssn: string | undefined;
  let userInfoJson: string | undefined;
  if (userInfoType === 'INFERRED') {
    if (userInfo !== 'N/A') return fail(1002, 'INFERRED takes "N/A"');
  } else {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(userInfo)) return fail(1002, 'SSN userInfo is Base64 JSON');
    userInfoJson = Buffer.from(userInfo, 'base64').toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(userInfoJson);
    } catch {
      return fail(1002, 'SSN userInfo is Base64 JSON');
    }
    const o = parsed as { country?: unknown; ssn?: unknown };
    if (typeof parsed !== 'object' || parsed === null || o.country !== 'SE' || !parsePersonalNumber(o.ssn)) {
      return fail(1002, 'expected {"country":"SE","ssn":"<12 digits>"}');
    }
    ssn = o.ssn as string;
  }
  const level = body.minRegistrationLevel ?? 'BASIC';
  if (!isRegistrationLevel(level)) return fail(1007);
  if (userInfoType === 'SSN' && level === 'BASIC') return fail(1007, 'SSN needs EXTENDED or PLUS');
  const attributes: string[] = [];
  if (body.attributesToReturn !== undefined) {
    if (!Array.isArray(body.attributesToReturn)) return fail(2002);
    for (const item of body.attributesToReturn) {
      const name = (item as { attribute?: unknown } | null)?.attribute;
      if (typeof item !== 'object' || item === null || typeof name !== 'string' || !KNOWN_ATTRIBUTES.has(name) || attributes.includes(name)) {
        return fail(2002);
      }
      if (level === 'BASIC' && VERIFIED_ONLY_ATTRIBUTES.has(name)) return fail(2002, `${name} needs EXTENDED or PLUS`);
      attributes.push(name);
    }
  }
  if (body.userConfirmationMethod !== undefined && body.userConfirmationMethod !== 'DEFAULT' && body.userConfirmationMethod !== 'DEFAULT_AND_FACE') {
    return fail(1000, 'userConfirmationMethod');
  }
  const odd = body.originDeviceDetails;
  if (odd !== undefined && (typeof odd !== 'object' || odd === null || Array.isArray(odd))) return fail(1000, 'originDeviceDetails');
  if (body.useDynamicQrCode !== undefined && typeof body.useDynamicQrCode !== 'boolean') return fail(1000, 'useDynamicQrCode');
  const value: InitRequest = {
    userInfoType,
    userInfo,
    minRegistrationLevel: level,
    attributesToReturn: attributes,
    useDynamicQrCode: body.useDynamicQrCode === true,
    raw: structuredClone(body),
  };
  if (ssn !== undefined) value.ssn = ssn;
  if (userInfoJson !== undefined) value.userInfoJson = userInfoJson;
  return { ok: true, value };
}
