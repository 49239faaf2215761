/**
 * The simulated Freja eID RP API, authentication 1.0 and signature 1.0 (served over HTTPS with mutual
 * TLS by server.ts).
 *
 * Every call is a POST whose body is one form parameter holding Base64 of the UTF-8 request JSON
 * (`initAuthRequest=...`, `initSignRequest=...`), optionally followed by `&relyingPartyId=...`. Both encodings seen in the wild
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
  type SignRequestPart,
  type SimulatorEngine,
} from './engine.ts';
import { isRegistrationLevel, type RegistrationLevel } from './persons.ts';
import { signResult, type SigningKey, type UserKey } from './signing.ts';

export const RP_PATHS: Record<string, { endpoint: Endpoint; param: string }> = {
  '/authentication/1.0/initAuthentication': { endpoint: 'initAuthentication', param: 'initAuthRequest' },
  '/authentication/1.0/getOneResult': { endpoint: 'getOneResult', param: 'getOneAuthResultRequest' },
  '/authentication/1.0/getResults': { endpoint: 'getResults', param: 'getAuthResultsRequest' },
  '/authentication/1.0/cancel': { endpoint: 'cancel', param: 'cancelAuthRequest' },
  '/sign/1.0/initSignature': { endpoint: 'initSignature', param: 'initSignRequest' },
  '/sign/1.0/getOneResult': { endpoint: 'getOneSignResult', param: 'getOneSignResultRequest' },
  '/sign/1.0/getResults': { endpoint: 'getSignResults', param: 'getSignResultsRequest' },
  '/sign/1.0/cancel': { endpoint: 'cancelSign', param: 'cancelSignRequest' },
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

const SIGN_FIELDS = new Set([...INIT_FIELDS, 'title', 'pushNotification', 'expiry', 'dataToSignType', 'dataToSign', 'signatureType']);

/** Freja takes a sign transaction's expiry between two minutes and 30 days from now. */
const MIN_EXPIRY_MS = 2 * 60_000;
const MAX_EXPIRY_MS = 30 * 24 * 60 * 60_000;
/** Slack for the relying party's clock when it asks for exactly two minutes. */
const EXPIRY_SLACK_MS = 5_000;

const MAX_BODY_BYTES = 256 * 1024;

export interface RpContext {
  engine: SimulatorEngine;
  signing: () => SigningKey;
  /** The simulated app's key, for the person's signature in sign results. */
  user: UserKey;
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
    case 'initSignature': {
      const v = validateInitSign(body, engine.now());
      if (!v.ok) return sendError(res, v.error);
      const r = engine.init(v.value, meta);
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, r.qrCodeSecret ? { signRef: r.authRef, qrCodeSecret: r.qrCodeSecret } : { signRef: r.authRef });
    }
    case 'getOneSignResult': {
      if (typeof body.signRef !== 'string') return sendError(res, frejaError(1000));
      const r = engine.result(body.signRef, meta, 'sign');
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, await resultJson(ctx, r.view));
    }
    case 'getSignResults': {
      if (body.includePrevious !== 'ALL') return sendError(res, frejaError(1200));
      const signatureResults = [];
      for (const view of engine.results(meta, 'sign')) signatureResults.push(await resultJson(ctx, view));
      return sendJson(res, { signatureResults });
    }
    case 'cancelSign': {
      if (typeof body.signRef !== 'string') return sendError(res, frejaError(1000));
      const r = engine.cancel(body.signRef, meta, 'sign');
      if (!r.ok) return sendError(res, r.error);
      return sendJson(res, {});
    }
  }
}

/**
 * A result object (`authRef`, or `signRef` for a sign transaction); an approved one carries the signed
 * `details` and the attributes beside it.
 */
async function resultJson(ctx: RpContext, view: ResultView): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { [view.kind === 'sign' ? 'signRef' : 'authRef']: view.authRef, status: view.status };
  if (!view.approved) return out;
  const tamper = ctx.engine.takeResultSwitch(view.authRef);
  const sign = view.approved.dataToSign ? { dataToSign: view.approved.dataToSign, user: ctx.user } : undefined;
  let details: string;
  if (tamper) {
    details = await signResult(view.approved.payload, ctx.signing(), tamper, sign);
  } else if (view.approved.details !== undefined) {
    details = view.approved.details;
  } else {
    details = await signResult(view.approved.payload, ctx.signing(), undefined, sign);
    ctx.engine.keepDetails(view.authRef, details);
  }
  out.details = details;
  out.requestedAttributes = view.approved.payload.requestedAttributes;
  return out;
}

type Validated<T> = { ok: true; value: T } | { ok: false; error: FrejaError };

const failWith = (code: number, note?: string): { ok: false; error: FrejaError } => ({
  ok: false,
  error: frejaError(code, note ? `${frejaError(code).message} (${note})` : undefined),
});

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Who the transaction is for, its level and the attributes: what initAuthentication and initSignature share. */
function validateCommon(
  body: Record<string, unknown>,
  fields: ReadonlySet<string>,
  attributesCode: number,
): Validated<Omit<InitRequest, 'raw' | 'sign'>> {
  const fail = failWith;
  for (const key of Object.keys(body)) {
    if (!fields.has(key)) return fail(1000, `unknown field ${key}`);
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
    if (!BASE64.test(userInfo)) return fail(1002, 'SSN userInfo is Base64 JSON');
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
  const attributes = validateAttributes(body.attributesToReturn, level, attributesCode);
  if (!Array.isArray(attributes)) return attributes;
  if (body.userConfirmationMethod !== undefined && body.userConfirmationMethod !== 'DEFAULT' && body.userConfirmationMethod !== 'DEFAULT_AND_FACE') {
    return fail(1000, 'userConfirmationMethod');
  }
  const odd = body.originDeviceDetails;
  if (odd !== undefined && (typeof odd !== 'object' || odd === null || Array.isArray(odd))) return fail(1000, 'originDeviceDetails');
  if (body.useDynamicQrCode !== undefined && typeof body.useDynamicQrCode !== 'boolean') return fail(1000, 'useDynamicQrCode');
  const value: Omit<InitRequest, 'raw' | 'sign'> = {
    userInfoType,
    userInfo,
    minRegistrationLevel: level,
    attributesToReturn: attributes,
    useDynamicQrCode: body.useDynamicQrCode === true,
  };
  if (ssn !== undefined) value.ssn = ssn;
  if (userInfoJson !== undefined) value.userInfoJson = userInfoJson;
  return { ok: true, value };
}

function validateAttributes(list: unknown, level: RegistrationLevel, code: number): string[] | { ok: false; error: FrejaError } {
  const attributes: string[] = [];
  if (list === undefined) return attributes;
  if (!Array.isArray(list)) return failWith(code);
  for (const item of list) {
    const name = (item as { attribute?: unknown } | null)?.attribute;
    if (typeof item !== 'object' || item === null || typeof name !== 'string' || !KNOWN_ATTRIBUTES.has(name) || attributes.includes(name)) {
      return failWith(code);
    }
    if (level === 'BASIC' && VERIFIED_ONLY_ATTRIBUTES.has(name)) return failWith(code, `${name} needs EXTENDED or PLUS`);
    attributes.push(name);
  }
  return attributes;
}

/** The initAuthentication request, checked as Freja documents it (in the order of its error codes). */
export function validateInit(body: Record<string, unknown>): Validated<InitRequest> {
  const common = validateCommon(body, INIT_FIELDS, 2002);
  if (!common.ok) return common;
  return { ok: true, value: { ...common.value, raw: structuredClone(body) } };
}

/** Strict Base64 that decodes to valid UTF-8, or undefined. */
function utf8FromBase64(value: unknown): string | undefined {
  if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 !== 0) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The initSignature request: who, level and attributes as for initAuthentication (attribute errors are
 * 3005 here), then title (3007), push notification (3004), expiry (3003), dataToSignType (3000),
 * dataToSign (3001) and signatureType (3002, also for a type that does not fit the data type).
 */
export function validateInitSign(body: Record<string, unknown>, now: number): Validated<InitRequest> {
  const fail = failWith;
  const common = validateCommon(body, SIGN_FIELDS, 3005);
  if (!common.ok) return common;
  const { title, pushNotification, expiry, dataToSignType, dataToSign, signatureType } = body;
  if (title !== undefined && (typeof title !== 'string' || title.trim() === '' || title.length > 128)) return fail(3007, 'a non-empty text of at most 128 characters');
  let push: { title: string; text: string } | undefined;
  if (pushNotification !== undefined) {
    const p = pushNotification as { title?: unknown; text?: unknown } | null;
    if (typeof p !== 'object' || p === null || typeof p.title !== 'string' || !p.title.trim() || typeof p.text !== 'string' || !p.text.trim()) {
      return fail(3004, 'title and text are required');
    }
    push = { title: p.title, text: p.text };
  }
  if (expiry !== undefined) {
    if (typeof expiry !== 'number' || !Number.isInteger(expiry)) return fail(3003, 'epoch milliseconds');
    if (expiry < now + MIN_EXPIRY_MS - EXPIRY_SLACK_MS || expiry > now + MAX_EXPIRY_MS) return fail(3003, 'between two minutes and 30 days from now');
  }
  if (dataToSignType !== 'SIMPLE_UTF8_TEXT' && dataToSignType !== 'EXTENDED_UTF8_TEXT') return fail(3000);
  const d = dataToSign as { text?: unknown; binaryData?: unknown } | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return fail(3001);
  for (const key of Object.keys(d)) if (key !== 'text' && key !== 'binaryData') return fail(3001, `unknown field ${key}`);
  const text = utf8FromBase64(d.text);
  if (text === undefined || text === '') return fail(3001, 'text is Base64 of non-empty UTF-8 text');
  if (dataToSignType === 'EXTENDED_UTF8_TEXT') {
    if (typeof d.binaryData !== 'string' || d.binaryData === '' || !BASE64.test(d.binaryData) || d.binaryData.length % 4 !== 0) {
      return fail(3001, 'EXTENDED_UTF8_TEXT needs binaryData in Base64');
    }
  } else if (d.binaryData !== undefined) {
    return fail(3001, 'SIMPLE_UTF8_TEXT takes text only');
  }
  if (signatureType !== 'SIMPLE' && signatureType !== 'EXTENDED') {
    const known = ['XML_MINAMEDDELANDEN', 'CMS_EXPLICIT'].includes(signatureType as string);
    return fail(3002, known ? 'the simulator supports SIMPLE and EXTENDED only' : undefined);
  }
  if ((dataToSignType === 'SIMPLE_UTF8_TEXT') !== (signatureType === 'SIMPLE')) return fail(3002, `${signatureType} does not go with ${dataToSignType}`);
  const sign: SignRequestPart = { dataToSignType, signatureType, text: d.text as string };
  if (dataToSignType === 'EXTENDED_UTF8_TEXT') sign.binaryData = d.binaryData as string;
  if (title !== undefined) sign.title = title as string;
  if (push) sign.pushNotification = push;
  if (expiry !== undefined) sign.expiry = expiry as number;
  return { ok: true, value: { ...common.value, raw: structuredClone(body), sign } };
}
