/**
 * BankID Relying Party API v6.0 over mutual TLS: identification (`/auth`) and signing (`/sign`).
 * Stateless: everything an order needs travels in the opaque handle the hub keeps in its login
 * transaction, so any hub process can continue any order. Remote answers and transport failures are
 * translated into hub errors here, once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { Agent, request } from 'undici';
import { HubError } from '../../src/contracts/errors.ts';
import type {
  AdapterDeps,
  DeviceChoice,
  PollResult,
  PollingEidAdapter,
  PollingPageTexts,
  PollingSignRequest,
  PollingStart,
  PollingStartRequest,
  PollOptions,
  SignatureEvidence,
} from '../../src/contracts/eid.ts';
import type { Identity, Localized } from '../../src/contracts/identity.ts';
import { parsePersonalNumber } from '../../src/identity/personnummer.ts';
import type { BankIdConfig, BankIdTls } from './config.ts';
import { BANKID_PAGE_TEXTS, RFA, SIGN_REQUEST_REFUSED, errorOutcome, failedOutcome, pendingMessage, type OrderPurpose } from './messages.ts';
import { qrPayload } from './qr.ts';

export const BANKID_METHOD_URI = 'urn:idnav:method:bankid';

interface Handle {
  /** orderRef */
  o: string;
  /** qrStartToken */
  t: string;
  /** qrStartSecret */
  s: string;
  /** epoch ms the order was created (QR clock) */
  at: number;
  /** the user agent looked like a phone or tablet */
  m: boolean;
  /** `s`: a signing order (`/sign`); absent: an identification (`/auth`) */
  k?: 's';
  /** for an order restricted to a person (`requirement.personalNumber`): a digest of that number (the number itself stays out of the handle) */
  p?: string;
  /** signing orders: digests of the bytes of userVisibleData and userNonVisibleData as sent */
  v?: string;
  n?: string;
}

/** BankID's limits on `/sign` (RP API v6.0), counted in characters of the base64 text. */
export const USER_VISIBLE_DATA_MAX = 40_000;
export const USER_NON_VISIBLE_DATA_MAX = 200_000;
/** Base64 as BankID takes it: the standard alphabet, padded, without line breaks. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The namespace of `<bankIdSignedData>` in BankID's XML signature. */
const BANKID_SIGNATURE_TYPES = 'http://www.bankid.com/signature/v1.0.0/types';

const numberDigest = (personalNumber: string): string =>
  createHash('sha256').update(`idnav bankid pno\0${personalNumber}`).digest('base64url').slice(0, 22);
/** A digest of the bytes a base64 text stands for (so a re-encoding of the same bytes still matches). */
const dataDigest = (base64: string): string => createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64url');

const MOBILE_UA = /Android|iPhone|iPad|iPod|Mobile/i;

function parseHandle(handle: string): Handle {
  try {
    const h = JSON.parse(handle) as Handle;
    if (
      typeof h.o === 'string' &&
      typeof h.t === 'string' &&
      typeof h.s === 'string' &&
      typeof h.at === 'number' &&
      (h.k === undefined || h.k === 's') &&
      (h.p === undefined || typeof h.p === 'string') &&
      (h.k !== 's' || (typeof h.v === 'string' && typeof h.n === 'string'))
    ) {
      return h;
    }
  } catch {
    // fall through
  }
  throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'malformed BankID handle' });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class BankIdAdapter implements PollingEidAdapter {
  readonly kind = 'polling' as const;
  readonly id: string;
  readonly methodUri = BANKID_METHOD_URI;
  readonly displayName: Localized;
  readonly pageTexts: PollingPageTexts = BANKID_PAGE_TEXTS;
  readonly acrValues: readonly string[];
  readonly pollIntervalMs: number;
  readonly #config: BankIdConfig;
  readonly #agent: Agent;
  readonly #deps: AdapterDeps;
  readonly #base: string;

  constructor(id: string, config: BankIdConfig, tls: BankIdTls, deps: AdapterDeps) {
    this.id = id;
    this.#config = config;
    this.#deps = deps;
    this.displayName = config.displayName;
    this.acrValues = [config.acr];
    this.pollIntervalMs = config.pollIntervalMs;
    this.#base = config.baseUrl.replace(/\/+$/, '');
    this.#agent = new Agent({
      connect: {
        ca: tls.ca,
        ...(tls.pfx ? { pfx: tls.pfx, passphrase: tls.passphrase } : { cert: tls.cert, key: tls.key }),
        rejectUnauthorized: true,
        timeout: config.timeoutMs,
      },
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 64,
    });
  }

  /** One POST to the RP API. Resolves with the parsed JSON body of a 200 answer; throws HubError otherwise. */
  async #call(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    let res;
    try {
      res = await request(`${this.#base}${path}`, {
        method: 'POST',
        dispatcher: this.#agent,
        // BankID refuses a charset parameter (415).
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.#config.timeoutMs)]) : AbortSignal.timeout(this.#config.timeoutMs),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const tlsProblem = typeof e.code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(e.code);
      throw new HubError('EID_UPSTREAM_UNAVAILABLE', {
        detail: `BankID ${path}: ${tlsProblem ? 'TLS handshake refused: ' : ''}${e.code ?? e.name}: ${e.message}`,
        userMessage: RFA.RFA5,
        cause: err,
      });
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 200) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (isObject(parsed)) return parsed;
      } catch {
        // fall through
      }
      throw new HubError('EID_RESPONSE_INVALID', { detail: `BankID ${path}: 200 with a body that is not a JSON object`, userMessage: RFA.RFA5 });
    }
    let errorCode: string | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed) && typeof parsed.errorCode === 'string') errorCode = parsed.errorCode;
    } catch {
      // an empty or non-JSON error body (429 often has none)
    }
    const outcome = errorOutcome(res.statusCode, errorCode);
    const retryAfter = Number(res.headers['retry-after'] ?? res.headers['ratelimit-reset']);
    throw new HubError(outcome.code, {
      detail: `BankID ${path}: HTTP ${res.statusCode} ${errorCode ?? '(no errorCode)'}`,
      userMessage: outcome.message,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    });
  }

  async start(req: PollingStartRequest, signal?: AbortSignal): Promise<PollingStart> {
    const body = this.#orderBody(req);
    if (req.userMessage?.text.trim()) {
      // The relying party's message, shown in the BankID app during identification.
      const userVisibleData = Buffer.from(req.userMessage.text, 'utf8').toString('base64');
      if (userVisibleData.length > USER_VISIBLE_DATA_MAX) {
        throw new HubError('EID_START_FAILED', { detail: `the user message is ${userVisibleData.length} characters as base64; BankID accepts at most ${USER_VISIBLE_DATA_MAX}` });
      }
      body.userVisibleData = userVisibleData;
      if (req.userMessage.format === 'markdown') body.userVisibleDataFormat = 'simpleMarkdownV1';
    }
    return this.#startOrder('/auth', body, req, undefined, signal);
  }

  /**
   * A signing order: the person sees `visibleText` in the app and signs it together with `data`. BankID's
   * limits are checked here, so a request BankID would refuse never leaves the hub.
   */
  async startSign(req: PollingSignRequest, signal?: AbortSignal): Promise<PollingStart> {
    const body = this.#orderBody(req);
    if (typeof req.visibleText !== 'string' || req.visibleText.trim() === '') {
      throw signRefused('the text to sign (visibleText, userVisibleData) is empty');
    }
    const userVisibleData = Buffer.from(req.visibleText, 'utf8').toString('base64');
    if (userVisibleData.length > USER_VISIBLE_DATA_MAX) {
      throw signRefused(
        `the text to sign is ${userVisibleData.length} characters as base64 (userVisibleData); BankID accepts at most ${USER_VISIBLE_DATA_MAX}, about ${(USER_VISIBLE_DATA_MAX / 4) * 3} bytes of UTF-8`,
      );
    }
    if (req.visibleFormat !== 'text' && req.visibleFormat !== 'markdown') {
      throw signRefused(`visibleFormat must be text or markdown, not ${JSON.stringify(String(req.visibleFormat)).slice(0, 40)}`);
    }
    if (typeof req.data !== 'string' || req.data.length === 0) throw signRefused('the data to sign (data, userNonVisibleData) is empty');
    if (req.data.length > USER_NON_VISIBLE_DATA_MAX) {
      throw signRefused(`the data to sign is ${req.data.length} characters of base64 (userNonVisibleData); BankID accepts at most ${USER_NON_VISIBLE_DATA_MAX}`);
    }
    if (!BASE64.test(req.data)) {
      throw signRefused('the data to sign (data, userNonVisibleData) is not base64 (standard alphabet, padded, no line breaks)');
    }
    body.userVisibleData = userVisibleData;
    if (req.visibleFormat === 'markdown') body.userVisibleDataFormat = 'simpleMarkdownV1';
    body.userNonVisibleData = req.data;
    return this.#startOrder('/sign', body, req, { v: dataDigest(userVisibleData), n: dataDigest(req.data) }, signal);
  }

  /** The fields `/auth` and `/sign` share. */
  #orderBody(req: PollingStartRequest): Record<string, unknown> {
    if (!isIP(req.endUserIp)) throw new HubError('INTERNAL', { detail: 'endUserIp is not an IP address' });
    const body: Record<string, unknown> = { endUserIp: req.endUserIp };
    if (req.returnUrl) body.returnUrl = req.returnUrl;
    if (req.personalNumber) body.requirement = { personalNumber: req.personalNumber };
    if (req.userAgent || req.referringDomain) {
      body.web = {
        ...(req.referringDomain ? { referringDomain: req.referringDomain } : {}),
        ...(req.userAgent ? { userAgent: req.userAgent.slice(0, 256) } : {}),
        deviceIdentifier: randomUUID(),
      };
    }
    return body;
  }

  /** `signed`: for a signing order, the digests of what is sent to be signed. */
  async #startOrder(
    path: '/auth' | '/sign',
    body: Record<string, unknown>,
    req: PollingStartRequest,
    signed: { v: string; n: string } | undefined,
    signal?: AbortSignal,
  ): Promise<PollingStart> {
    const answer = await this.#call(path, body, signal);
    const { orderRef, autoStartToken, qrStartToken, qrStartSecret } = answer;
    if (typeof orderRef !== 'string' || typeof autoStartToken !== 'string' || typeof qrStartToken !== 'string' || typeof qrStartSecret !== 'string') {
      throw new HubError('EID_RESPONSE_INVALID', { detail: `BankID ${path}: answer lacks orderRef, autoStartToken or QR tokens`, userMessage: RFA.RFA5 });
    }
    // The QR clock starts when the answer is received.
    const startedAt = this.#deps.now();
    const handle: Handle = { o: orderRef, t: qrStartToken, s: qrStartSecret, at: startedAt, m: MOBILE_UA.test(req.userAgent ?? '') };
    if (signed) {
      handle.k = 's';
      handle.v = signed.v;
      handle.n = signed.n;
    }
    if (req.personalNumber) handle.p = numberDigest(req.personalNumber);
    return { handle: JSON.stringify(handle), autoStartToken, startedAt };
  }

  async poll(handle: string, options: PollOptions): Promise<PollResult> {
    const h = parseHandle(handle);
    let answer: Record<string, unknown>;
    try {
      answer = await this.#call('/collect', { orderRef: h.o }, options.signal);
    } catch (err) {
      if (err instanceof HubError) {
        return { status: 'failed', code: err.code, hint: 'error', message: err.userMessage ?? RFA.RFA22 };
      }
      throw err;
    }
    const status = answer.status;
    const hintCode = typeof answer.hintCode === 'string' ? answer.hintCode : '';
    const purpose: OrderPurpose = h.k === 's' ? 'sign' : 'auth';
    if (status === 'pending') {
      return { status: 'pending', hint: hintCode || 'unknown', message: pendingMessage(hintCode, options.device, h.m, purpose) };
    }
    if (status === 'failed') {
      const outcome = failedOutcome(hintCode, options.device);
      return { status: 'failed', code: outcome.code, hint: hintCode || 'unknown', message: outcome.message };
    }
    if (status === 'complete') {
      const identity = this.#identity(answer.completionData);
      // BankID enforces requirement.personalNumber; a completion by anyone else is not BankID's answer to this order.
      if (h.p !== undefined && numberDigest(identity.subject) !== h.p) {
        throw new HubError('EID_RESPONSE_INVALID', {
          detail: 'BankID /collect: the order was completed by another person than the one it was restricted to',
          userMessage: RFA.RFA22,
        });
      }
      if (purpose === 'auth') return { status: 'complete', identity };
      const signature = signatureEvidence(answer.completionData);
      checkSignedData(h, signature.value);
      return { status: 'complete', identity, signature };
    }
    throw new HubError('EID_RESPONSE_INVALID', { detail: 'BankID /collect: unknown status', userMessage: RFA.RFA22 });
  }

  #identity(data: unknown): Identity {
    const user = isObject(data) && isObject(data.user) ? data.user : undefined;
    const parsed = parsePersonalNumber(user?.personalNumber);
    if (!isObject(data) || !user || !parsed) {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'BankID /collect: completionData without a valid personalNumber', userMessage: RFA.RFA22 });
    }
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
    const evidence: Record<string, string> = {};
    if (str(data.signature)) evidence.signature = data.signature as string;
    if (str(data.ocspResponse)) evidence.ocspResponse = data.ocspResponse as string;
    if (isObject(data.device) && str(data.device.ipAddress)) evidence.deviceIp = data.device.ipAddress as string;
    if (str(data.bankIdIssueDate)) evidence.bankIdIssueDate = data.bankIdIssueDate as string;
    const identity: Identity = {
      subjectType: parsed.type,
      subject: parsed.normalized,
      birthdate: parsed.birthdate,
      method: BANKID_METHOD_URI,
      acr: this.#config.acr,
      // Possession of the BankID key plus the security code or biometrics (RFC 8176).
      amr: ['mfa', 'swk'],
      authTime: Math.floor(this.#deps.now() / 1000),
      evidence,
    };
    const given = str(user.givenName);
    const family = str(user.surname);
    const name = str(user.name);
    if (given) identity.givenName = given;
    if (family) identity.familyName = family;
    if (name) identity.name = name;
    return identity;
  }

  async cancel(handle: string): Promise<void> {
    const h = parseHandle(handle);
    try {
      await this.#call('/cancel', { orderRef: h.o });
    } catch (err) {
      // An order that has already ended answers invalidParameters: nothing left to cancel.
      if (err instanceof HubError && err.code === 'EID_RESPONSE_INVALID') return;
      this.#deps.log.warn({ method: this.id, errorCode: err instanceof HubError ? err.code : 'INTERNAL' }, 'BankID cancel failed');
    }
  }

  qrFrame(handle: string, nowMs: number): string {
    const h = parseHandle(handle);
    return qrPayload(h.t, h.s, h.at, nowMs);
  }

  launchUrl(autoStartToken: string, userAgent: string | undefined): string {
    const query = `autostarttoken=${encodeURIComponent(autoStartToken)}&redirect=null`;
    if (this.#config.launch.insecureDevAppUrl) return `${this.#config.launch.insecureDevAppUrl}?${query}`;
    // The universal link on phones and tablets, the custom scheme on computers (BankID launch guidance).
    return MOBILE_UA.test(userAgent ?? '') ? `https://app.bankid.com/?${query}` : `bankid:///?${query}`;
  }

  initialMessage(device: DeviceChoice): Localized {
    return device === 'this' ? RFA.RFA13 : RFA.RFA1;
  }

  async health(signal?: AbortSignal): Promise<void> {
    // An empty /collect is answered with 400 invalidParameters by a reachable, authenticating BankID.
    try {
      await this.#call('/collect', { orderRef: '' }, signal);
    } catch (err) {
      if (err instanceof HubError && err.code === 'EID_RESPONSE_INVALID') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function signRefused(detail: string): HubError {
  return new HubError('EID_START_FAILED', { detail: `BankID /sign not sent: ${detail}`, userMessage: SIGN_REQUEST_REFUSED });
}

/** The signature of a completed signing order: BankID's XML signature and the OCSP response for the person's certificate. */
function signatureEvidence(data: unknown): SignatureEvidence {
  const value = isObject(data) ? data.signature : undefined;
  const ocspResponse = isObject(data) ? data.ocspResponse : undefined;
  if (typeof value !== 'string' || value.length === 0 || typeof ocspResponse !== 'string' || ocspResponse.length === 0) {
    throw new HubError('EID_RESPONSE_INVALID', { detail: 'BankID /collect: a completed signing order without signature or ocspResponse', userMessage: RFA.RFA22 });
  }
  return { format: 'bankid-xmldsig', value, ocspResponse };
}

const signatureInvalid = (detail: string): HubError =>
  new HubError('EID_RESPONSE_INVALID', { detail: `BankID /collect: signature ${detail}`, userMessage: RFA.RFA22 });

/**
 * The signature of a signing order must cover exactly what was sent: the `usrVisibleData` and
 * `usrNonVisibleData` of its `<bankIdSignedData>` stand for the bytes whose digests the handle keeps.
 * (The signature itself is the relying party's to verify against BankID's CA; this catches an answer
 * that belongs to another order or another text.)
 */
function checkSignedData(h: Handle, signatureBase64: string): void {
  const xml = Buffer.from(signatureBase64, 'base64').toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw signatureInvalid('carries a DOCTYPE or an entity declaration');
  let root: Element | null;
  try {
    root = new DOMParser({
      onError: (level: string, message: string) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'text/xml').documentElement;
  } catch (err) {
    throw signatureInvalid(`is not well-formed XML (${(err as Error).message.slice(0, 120)})`);
  }
  if (!root || root.localName !== 'Signature') throw signatureInvalid('is not an XML signature document');
  const signedData = root.getElementsByTagNameNS(BANKID_SIGNATURE_TYPES, 'bankIdSignedData');
  if (signedData.length !== 1) throw signatureInvalid(`has ${signedData.length} bankIdSignedData elements, not one`);
  const field = (name: string): string | undefined => {
    const found = Array.from(signedData[0]!.childNodes).filter(
      (n): n is Element => n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === BANKID_SIGNATURE_TYPES,
    );
    return found.length === 1 ? (found[0]!.textContent ?? '') : undefined;
  };
  const visible = field('usrVisibleData');
  if (visible === undefined || dataDigest(visible) !== h.v) throw signatureInvalid('does not cover the text sent (usrVisibleData)');
  const nonVisible = field('usrNonVisibleData');
  if (nonVisible === undefined || dataDigest(nonVisible) !== h.n) throw signatureInvalid('does not cover the data sent (usrNonVisibleData)');
}

export function createBankIdAdapter(id: string, config: BankIdConfig, tls: BankIdTls, deps: AdapterDeps): PollingEidAdapter {
  return new BankIdAdapter(id, config, tls, deps);
}
