/**
 * Freja eID Relying Party REST API (authentication 1.0 and signature 1.0) over mutual TLS. Stateless:
 * everything a transaction needs travels in the opaque handle the hub keeps in its login transaction, so
 * any hub process can continue any transaction. Remote answers and transport failures are translated
 * into hub errors here, once. An approved result counts only when its `details` JWS verifies against one
 * of the configured signing certificates (chosen by the header's `x5t`); every attribute is read from the
 * signed payload, never from the unsigned copy beside it. A signing order's result counts only when the
 * data its signature covers is exactly the data sent.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Agent, request } from 'undici';
import { HubError } from '../../src/contracts/errors.ts';
import type {
  AdapterDeps,
  DeviceChoice,
  PollResult,
  PollingEidAdapter,
  PollingSignRequest,
  PollingStart,
  PollingStartRequest,
  PollOptions,
} from '../../src/contracts/eid.ts';
import type { Identity, Localized } from '../../src/contracts/identity.ts';
import { parsePersonalNumber } from '../../src/identity/personnummer.ts';
import type { FrejaConfig, FrejaMaterial, RegistrationLevel, SigningCertificate } from './config.ts';
import {
  MESSAGES,
  SIGN_NEEDS_PERSONAL_NUMBER,
  describeErrorCode,
  errorOutcome,
  failedOutcome,
  flowOf,
  initialMessage,
  messagesFor,
  pendingMessage,
  type Flow,
  type FrejaCall,
} from './messages.ts';

export const FREJA_METHOD_URI = 'urn:idnav:method:freja';

/** Paths under the service host and the form parameter each call's Base64 JSON travels in. */
const CALLS: Record<FrejaCall, { path: string; param: string }> = {
  initAuthentication: { path: '/authentication/1.0/initAuthentication', param: 'initAuthRequest' },
  getOneResult: { path: '/authentication/1.0/getOneResult', param: 'getOneAuthResultRequest' },
  cancel: { path: '/authentication/1.0/cancel', param: 'cancelAuthRequest' },
  initSignature: { path: '/sign/1.0/initSignature', param: 'initSignRequest' },
  getOneSignResult: { path: '/sign/1.0/getOneResult', param: 'getOneSignResultRequest' },
  cancelSign: { path: '/sign/1.0/cancel', param: 'cancelSignRequest' },
};

/**
 * Signature algorithms accepted for the result JWS. Freja's signing certificates are RSA and RS256 is
 * what is seen in practice; PS256 and ES256 are accepted so that a change of key type at Freja does not
 * break sign-ins. Never `none` and never an HMAC.
 */
export const JWS_ALGORITHMS = ['RS256', 'PS256', 'ES256'] as const;

/** The app link a QR code or a same-device button opens (Freja's static QR format). */
export function bindUserUrl(authRef: string): string {
  return `frejaeid://bindUserToTransaction?transactionReference=${encodeURIComponent(authRef)}`;
}

interface Handle {
  /** authRef, or signRef for a signing order */
  r: string;
  /** epoch ms the transaction was created */
  at: number;
  /** minRegistrationLevel sent */
  l: RegistrationLevel;
  /** registration levels whose acr the relying party accepts */
  a: RegistrationLevel[];
  /** for a transaction bound to a personal number: a digest of that number (the number itself stays out of the handle) */
  p?: string;
  /** `s`: a signing order (signature API, `signRef`); absent: an authentication */
  k?: 's';
  /** signing order: SHA-256 (base64url) of the UTF-8 text sent */
  t?: string;
  /** signing order with binary data (EXTENDED): SHA-256 (base64url) of the data sent; absent for a text-only (SIMPLE) order */
  b?: string;
}

const LEVEL_ORDER: Record<RegistrationLevel, number> = { EXTENDED: 1, PLUS: 2 };
const isLevel = (v: unknown): v is RegistrationLevel => v === 'EXTENDED' || v === 'PLUS';

function parseHandle(handle: string): Handle {
  try {
    const h = JSON.parse(handle) as Handle;
    if (typeof h.r === 'string' && h.r && typeof h.at === 'number' && isLevel(h.l) && Array.isArray(h.a) && h.a.every(isLevel)) {
      if (h.k === undefined) return h;
      if (h.k === 's' && typeof h.t === 'string' && (h.b === undefined || typeof h.b === 'string')) return h;
    }
  } catch {
    // fall through
  }
  throw new HubError('TRANSACTION_NOT_FOUND', { detail: 'malformed Freja handle' });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

const flowOfHandle = (h: Handle): Flow => (h.k === 's' ? 'sign' : 'auth');

/** The reference field of a flow's requests and results. */
const refField = (flow: Flow): 'authRef' | 'signRef' => (flow === 'sign' ? 'signRef' : 'authRef');

/** SHA-256 of bytes, base64url: how a handle remembers the data a signing order sent. */
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64url');

/** Strict standard Base64 (padding optional) to bytes, or undefined. */
function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(v, 'base64');
}

/**
 * The content the person's signature covers, read from `signatureData.userSignature` of the signed
 * result: for a text-only (SIMPLE) signature a compact JWS whose payload is the UTF-8 text; for text with
 * binary data (EXTENDED) the four-part form
 * `BASE64URL(header).BASE64URL(text).BASE64URL(binaryData).BASE64URL(signature)`. This layout is the
 * adapter's reading of Freja's signature service and is not confirmed against a live Freja (see the
 * README). The person's own signature is not verified here (the relying party gets no key for it);
 * Freja's signed result vouches for it, and what is checked is that it covers exactly the data sent.
 */
export function signedContent(userSignature: string): { text: Buffer; binaryData?: Buffer } | undefined {
  const parts = userSignature.split('.');
  if ((parts.length !== 3 && parts.length !== 4) || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(header) || typeof header.alg !== 'string' || parts[parts.length - 1] === '') return undefined;
  const text = Buffer.from(parts[1]!, 'base64url');
  return parts.length === 4 ? { text, binaryData: Buffer.from(parts[2]!, 'base64url') } : { text };
}

/** Binds a handle to a personal number without carrying the number. */
function numberDigest(personalNumber: string): string {
  return createHash('sha256').update(`idnav freja ssn\0${personalNumber}`).digest('base64url').slice(0, 22);
}

/** Freja's error messages are fixed texts; digits runs are masked anyway so that no number reaches a log. */
const scrub = (text: string): string => text.replace(/\d{6,}/g, '[digits]').slice(0, 200);

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), as milliseconds. */
function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) {
    const s = Number(v.trim());
    return s > 0 ? s * 1000 : undefined;
  }
  const at = Date.parse(v);
  return Number.isFinite(at) && at > nowMs ? at - nowMs : undefined;
}

const invalid = (detail: string, userMessage: Localized): HubError =>
  new HubError('EID_RESPONSE_INVALID', { detail: `Freja result: ${detail}`, userMessage });

/**
 * A signing order's signed payload must say that exactly the data sent was signed: the signature type
 * asked for (when the payload names one) and `signatureData.userSignature` covering the very text and
 * binary data whose digests the handle keeps.
 */
function checkSignedData(h: Handle, payload: Record<string, unknown>, invalid: (detail: string) => HubError): void {
  const type = h.b === undefined ? 'SIMPLE' : 'EXTENDED';
  if (payload.signatureType !== undefined && payload.signatureType !== type) {
    throw invalid(`signed signatureType ${JSON.stringify(String(payload.signatureType).slice(0, 20))} differs from the requested ${type}`);
  }
  const data = payload.signatureData;
  if (!isObject(data)) throw invalid('signed payload has no signatureData');
  const userSignature = str(data.userSignature);
  if (!userSignature) throw invalid('signatureData has no userSignature');
  const content = signedContent(userSignature);
  if (!content) throw invalid('signatureData.userSignature is not a JWS');
  if (digest(content.text) !== h.t) throw invalid('the signed text differs from the text sent');
  if (h.b === undefined) {
    if (content.binaryData !== undefined) throw invalid('the signature covers binary data, none was sent');
  } else if (content.binaryData === undefined) {
    throw invalid('the signature does not cover the binary data sent');
  } else if (digest(content.binaryData) !== h.b) {
    throw invalid('the signed binary data differs from the data sent');
  }
}

class FrejaAdapter implements PollingEidAdapter {
  readonly kind = 'polling' as const;
  readonly id: string;
  readonly methodUri = FREJA_METHOD_URI;
  readonly displayName: Localized;
  readonly acrValues: readonly string[];
  readonly pollIntervalMs: number;
  readonly #config: FrejaConfig;
  readonly #signing: Map<string, SigningCertificate>;
  readonly #agent: Agent;
  readonly #deps: AdapterDeps;
  readonly #base: string;
  /** Registration levels a transaction can end with under the configured minimum, lowest first. */
  readonly #levels: RegistrationLevel[];

  constructor(id: string, config: FrejaConfig, material: FrejaMaterial, deps: AdapterDeps) {
    this.id = id;
    this.#config = config;
    this.#deps = deps;
    this.#signing = material.signing;
    this.displayName = config.displayName;
    this.#levels = (['EXTENDED', 'PLUS'] as const).filter((l) => LEVEL_ORDER[l] >= LEVEL_ORDER[config.minRegistrationLevel]);
    this.acrValues = [...this.#levels].reverse().map((l) => config.acr[l]);
    this.pollIntervalMs = config.pollIntervalMs;
    this.#base = config.baseUrl.replace(/\/+$/, '');
    const { tls } = material;
    this.#agent = new Agent({
      connect: {
        ca: tls.ca,
        ...('pfx' in tls ? { pfx: tls.pfx, passphrase: tls.passphrase } : { cert: tls.cert, key: tls.key }),
        rejectUnauthorized: true,
        timeout: config.timeoutMs,
      },
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 64,
    });
  }

  /**
   * One POST to the RP API: the JSON request, Base64 of its UTF-8 bytes, as the single form parameter
   * the call expects (plus `relyingPartyId` when configured). Sent as ordinary
   * `application/x-www-form-urlencoded` with the value percent-encoded; Freja's Java client sends the
   * same `name=value` body raw under `Content-Type: application/json`, which Freja's documentation does
   * not explain. Resolves with the JSON object of a 200 answer (`{}` for 204 or an empty body).
   */
  async #call(call: FrejaCall, json: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const { path, param } = CALLS[call];
    let body = `${param}=${encodeURIComponent(Buffer.from(JSON.stringify(json), 'utf8').toString('base64'))}`;
    if (this.#config.relyingPartyId) body += `&relyingPartyId=${encodeURIComponent(this.#config.relyingPartyId)}`;
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    let res;
    try {
      res = await request(`${this.#base}${path}`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const code = typeof e.code === 'string' ? e.code : '';
      // A server that refuses our client certificate under TLS 1.3 just closes the connection.
      const note = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(code)
        ? 'TLS handshake failed (server certificate not chaining to caFile?): '
        : /ECONNRESET|UND_ERR_SOCKET/.test(code)
          ? 'connection closed by the server (a refused client certificate looks like this): '
          : '';
      throw new HubError('EID_UPSTREAM_UNAVAILABLE', {
        detail: `Freja ${call}: ${note}${e.code ?? e.name}: ${e.message}`,
        userMessage: MESSAGES.unavailable,
        cause: err,
      });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new HubError('EID_UPSTREAM_UNAVAILABLE', {
        detail: `Freja ${call}: answer body not received: ${(err as Error).name}`,
        userMessage: MESSAGES.unavailable,
        cause: err,
      });
    }
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const errorCode = isObject(parsed) && typeof parsed.code === 'number' && Number.isInteger(parsed.code) ? parsed.code : undefined;
    if ((res.statusCode === 200 || res.statusCode === 204) && isObject(parsed)) {
      // Some integrations report Freja error objects on 200; an answer that is nothing but an error is one.
      if (errorCode === undefined || 'authRef' in parsed || 'signRef' in parsed || 'status' in parsed) return parsed;
    } else if (res.statusCode === 200 || res.statusCode === 204) {
      throw new HubError('EID_RESPONSE_INVALID', {
        detail: `Freja ${call}: ${res.statusCode} with a body that is not a JSON object`,
        userMessage: messagesFor(flowOf(call)).technicalError,
      });
    }
    const status = res.statusCode === 200 || res.statusCode === 204 ? 400 : res.statusCode;
    const outcome = errorOutcome(call, status, errorCode);
    const freja = isObject(parsed) && typeof parsed.message === 'string' ? ` (${scrub(parsed.message)})` : '';
    const wait = retryAfterMs(res.headers['retry-after'], this.#deps.now());
    throw new HubError(outcome.code, {
      detail: `Freja ${call}: HTTP ${res.statusCode}, ${describeErrorCode(errorCode)}${freja}`,
      userMessage: outcome.message,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }

  /**
   * What an authentication and a signing order have in common: who (INFERRED, or SSN for a given
   * personal number), the lowest registration level whose acr the relying party accepts (the transaction
   * is started at it, so Freja itself keeps users below it away), the attributes and the end user's IP.
   */
  #common(req: PollingStartRequest, flow: Flow): { body: Record<string, unknown>; minLevel: RegistrationLevel; accepted: RegistrationLevel[]; personalNumber?: string } {
    const accepted = req.acceptableAcr ? this.#levels.filter((l) => req.acceptableAcr!.includes(this.#config.acr[l])) : [...this.#levels];
    const minLevel = accepted[0];
    if (!minLevel) {
      throw new HubError('EID_UNSUPPORTED', {
        detail: `Freja: none of the acceptable acr values can be reached (minRegistrationLevel ${this.#config.minRegistrationLevel} gives ${this.acrValues.join(', ')})`,
        userMessage: messagesFor(flow).levelUnsupported,
      });
    }

    let personalNumber: string | undefined;
    if (req.personalNumber !== undefined) {
      const parsed = parsePersonalNumber(req.personalNumber);
      if (!parsed) throw new HubError('INTERNAL', { detail: `Freja ${flow === 'sign' ? 'startSign' : 'start'}: personalNumber is not a valid 12-digit number` });
      personalNumber = parsed.normalized;
    }

    // The number is always asked for: the hub derives the subject from it. Names and date of birth only
    // when the client may receive them; the registration level decides the acr.
    const releasable = req.releasableAttributes ?? ['name', 'birthdate'];
    const attributes = ['SSN'];
    if (releasable.includes('name')) attributes.push('BASIC_USER_INFO');
    if (releasable.includes('birthdate')) attributes.push('DATE_OF_BIRTH');
    attributes.push('REGISTRATION_LEVEL');

    const body: Record<string, unknown> = personalNumber
      ? {
          userInfoType: 'SSN',
          userInfo: Buffer.from(JSON.stringify({ country: 'SE', ssn: personalNumber }), 'utf8').toString('base64'),
        }
      : { userInfoType: 'INFERRED', userInfo: 'N/A' };
    body.minRegistrationLevel = minLevel;
    body.attributesToReturn = attributes.map((attribute) => ({ attribute }));
    if (isIP(req.endUserIp)) body.originDeviceDetails = { userIpAddress: req.endUserIp };
    return personalNumber ? { body, minLevel, accepted, personalNumber } : { body, minLevel, accepted };
  }

  async start(req: PollingStartRequest, signal?: AbortSignal): Promise<PollingStart> {
    const { body, minLevel, accepted, personalNumber } = this.#common(req, 'auth');
    const answer = await this.#call('initAuthentication', body, signal);
    const authRef = str(answer.authRef);
    if (!authRef || authRef.length > 512) {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'Freja initAuthentication: answer lacks authRef', userMessage: MESSAGES.startFailed });
    }
    const startedAt = this.#deps.now();
    const handle: Handle = { r: authRef, at: startedAt, l: minLevel, a: accepted };
    if (personalNumber) handle.p = numberDigest(personalNumber);
    return { handle: JSON.stringify(handle), autoStartToken: authRef, startedAt };
  }

  /**
   * initSignature: the visible text, and the relying party's data to be signed but not shown, both
   * covered by the person's signature (EXTENDED_UTF8_TEXT / EXTENDED); text only (SIMPLE_UTF8_TEXT /
   * SIMPLE) when there is no data. Who, level and attributes as for authentication.
   */
  async startSign(req: PollingSignRequest, signal?: AbortSignal): Promise<PollingStart> {
    if (typeof req.visibleText !== 'string' || req.visibleText.trim() === '') {
      throw new HubError('INTERNAL', { detail: 'Freja startSign: visibleText is empty (Freja requires a text to show)' });
    }
    const binary = decodeBase64(req.data);
    if (!binary) throw new HubError('INTERNAL', { detail: 'Freja startSign: data is not Base64' });
    if (req.personalNumber === undefined && this.#config.sign.requirePersonalNumber) {
      throw new HubError('EID_UNSUPPORTED', {
        detail:
          'Freja startSign: no personal number for the signer, and sign.requirePersonalNumber allows signing orders only for a user named up front (userInfoType SSN); the relying party must name the signer',
        userMessage: SIGN_NEEDS_PERSONAL_NUMBER,
      });
    }
    const { body, minLevel, accepted, personalNumber } = this.#common(req, 'sign');
    const text = Buffer.from(req.visibleText, 'utf8');
    body.title = this.#config.sign.title;
    if (binary.length > 0) {
      body.dataToSignType = 'EXTENDED_UTF8_TEXT';
      body.dataToSign = { text: text.toString('base64'), binaryData: binary.toString('base64') };
      body.signatureType = 'EXTENDED';
    } else {
      body.dataToSignType = 'SIMPLE_UTF8_TEXT';
      body.dataToSign = { text: text.toString('base64') };
      body.signatureType = 'SIMPLE';
    }

    const answer = await this.#call('initSignature', body, signal);
    const signRef = str(answer.signRef);
    if (!signRef || signRef.length > 512) {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'Freja initSignature: answer lacks signRef', userMessage: messagesFor('sign').startFailed });
    }
    const startedAt = this.#deps.now();
    const handle: Handle = { r: signRef, at: startedAt, l: minLevel, a: accepted, k: 's', t: digest(text) };
    if (binary.length > 0) handle.b = digest(binary);
    if (personalNumber) handle.p = numberDigest(personalNumber);
    return { handle: JSON.stringify(handle), autoStartToken: signRef, startedAt };
  }

  async poll(handle: string, options: PollOptions): Promise<PollResult> {
    const h = parseHandle(handle);
    const flow = flowOfHandle(h);
    const m = messagesFor(flow);
    const ref = refField(flow);
    let answer: Record<string, unknown>;
    try {
      answer = await this.#call(flow === 'sign' ? 'getOneSignResult' : 'getOneResult', { [ref]: h.r }, options.signal);
    } catch (err) {
      if (err instanceof HubError) {
        this.#deps.log.warn({ method: this.id, errorCode: err.code, detail: err.detail }, `Freja ${flow === 'sign' ? 'getOneSignResult' : 'getOneResult'} failed`);
        return { status: 'failed', code: err.code, hint: 'error', message: err.userMessage ?? m.technicalError };
      }
      throw err;
    }
    const status = str(answer.status) ?? '';
    if (answer[ref] !== undefined && answer[ref] !== h.r) {
      return this.#refused(invalid(`the answer names another ${ref}`, m.technicalError));
    }
    switch (status) {
      case 'STARTED':
      case 'DELIVERED_TO_MOBILE':
        return { status: 'pending', hint: status, message: pendingMessage(status, options.device, h.p !== undefined, flow) };
      case 'APPROVED':
        try {
          const identity = await this.#identity(h, answer);
          if (flow === 'sign') return { status: 'complete', identity, signature: { format: 'freja-jws', value: identity.evidence!.jws! } };
          return { status: 'complete', identity };
        } catch (err) {
          if (err instanceof HubError) return this.#refused(err);
          throw err;
        }
      case 'CANCELED':
      case 'RP_CANCELED':
      case 'EXPIRED':
      case 'REJECTED': {
        const outcome = failedOutcome(status, flow);
        return { status: 'failed', code: outcome.code, hint: status, message: outcome.message };
      }
      default: {
        // Still running at Freja as far as we know: hint `error` makes the hub cancel it.
        const e = invalid(`unknown status ${JSON.stringify(status.slice(0, 40))}`, m.technicalError);
        this.#deps.log.warn({ method: this.id, errorCode: e.code, detail: e.detail }, 'Freja result refused');
        return { status: 'failed', code: e.code, hint: 'error', message: m.technicalError };
      }
    }
  }

  #refused(err: HubError): PollResult {
    this.#deps.log.warn({ method: this.id, errorCode: err.code, detail: err.detail }, 'Freja result refused');
    return { status: 'failed', code: err.code, hint: 'invalidResult', message: err.userMessage ?? MESSAGES.technicalError };
  }

  /** Verifies the signed result and builds the Identity from the signed payload only. */
  async #identity(h: Handle, answer: Record<string, unknown>): Promise<Identity> {
    const flow = flowOfHandle(h);
    const m = messagesFor(flow);
    const ref = refField(flow);
    const invalid = (detail: string, userMessage: Localized = m.technicalError): HubError =>
      new HubError('EID_RESPONSE_INVALID', { detail: `Freja ${flow === 'sign' ? 'sign ' : ''}result: ${detail}`, userMessage });
    const details = str(answer.details);
    if (!details) throw invalid('APPROVED without details');

    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(details);
    } catch {
      throw invalid('details is not a compact JWS');
    }
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) throw invalid(`JWS alg ${JSON.stringify(alg.slice(0, 20))} is not accepted`);
    const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
    if (!x5t) throw invalid('JWS header has no x5t');
    const certificate = this.#signing.get(x5t);
    if (!certificate) {
      throw invalid(`JWS signed by an unknown certificate x5t=${x5t.slice(0, 64)} (configured: ${[...this.#signing.keys()].join(', ')})`);
    }
    const now = this.#deps.now();
    if (now < certificate.notBefore || now > certificate.notAfter) {
      throw invalid(`signing certificate x5t=${x5t} (${certificate.file}) is not valid now`);
    }
    let payload: unknown;
    try {
      const verified = await compactVerify(details, certificate.key, { algorithms: [...JWS_ALGORITHMS] });
      payload = JSON.parse(new TextDecoder().decode(verified.payload));
    } catch (err) {
      throw invalid(`JWS does not verify with x5t=${x5t}: ${(err as { code?: string }).code ?? (err as Error).name}`);
    }
    if (!isObject(payload)) throw invalid('signed payload is not a JSON object');
    if (payload[ref] !== h.r) throw invalid(`signed ${ref} differs from the transaction`);
    if (payload.status !== 'APPROVED') throw invalid('signed status is not APPROVED');
    if (payload.minRegistrationLevel !== undefined && payload.minRegistrationLevel !== h.l) {
      throw invalid(`signed minRegistrationLevel ${String(payload.minRegistrationLevel).slice(0, 20)} differs from the requested ${h.l}`);
    }
    const attributes = payload.requestedAttributes;
    if (!isObject(attributes)) throw invalid('signed payload has no requestedAttributes');

    const ssn = isObject(attributes.ssn) ? attributes.ssn : undefined;
    if (ssn?.country !== undefined && ssn.country !== 'SE') throw invalid('the signed SSN is not Swedish');
    const parsed = parsePersonalNumber(ssn?.ssn);
    if (!parsed) throw invalid('signed payload lacks a valid Swedish SSN');
    if (h.p !== undefined) {
      if (payload.userInfoType !== 'SSN' || numberDigest(parsed.normalized) !== h.p) {
        throw invalid('signed SSN is not the personal number the transaction was started for');
      }
    }

    const level = attributes.registrationLevel ?? payload.minRegistrationLevel;
    if (!isLevel(level)) throw invalid(`signed registration level ${JSON.stringify(String(level).slice(0, 20))} gives no acr`, m.levelTooLow);
    if (LEVEL_ORDER[level] < LEVEL_ORDER[h.l]) throw invalid(`signed registration level ${level} is below the requested ${h.l}`, m.levelTooLow);
    if (!h.a.includes(level)) {
      throw new HubError('EID_FAILED', {
        detail: `Freja result: registration level ${level} (acr ${this.#config.acr[level]}) is not among the acceptable levels ${h.a.join(', ')}`,
        userMessage: m.levelUnsupported,
      });
    }
    if (flow === 'sign') checkSignedData(h, payload, invalid);

    const identity: Identity = {
      subjectType: parsed.type,
      subject: parsed.normalized,
      birthdate: typeof attributes.dateOfBirth === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(attributes.dateOfBirth) ? attributes.dateOfBirth : parsed.birthdate,
      method: FREJA_METHOD_URI,
      acr: this.#config.acr[level],
      // The Freja app's key lives on the phone (software key) and is unlocked with a PIN or biometrics:
      // two factors (RFC 8176 `swk` + `mfa`), as for BankID.
      amr: ['mfa', 'swk'],
      authTime: Math.floor((typeof payload.timestamp === 'number' && Number.isFinite(payload.timestamp) && payload.timestamp > 0 ? payload.timestamp : now) / 1000),
      evidence: { jws: details, [ref]: h.r, x5t, registrationLevel: level },
    };
    const basic = isObject(attributes.basicUserInfo) ? attributes.basicUserInfo : undefined;
    // Freja's basicUserInfo.name holds the given name(s), surname the family name.
    const given = str(basic?.name);
    const family = str(basic?.surname);
    if (given) identity.givenName = given;
    if (family) identity.familyName = family;
    if (given || family) identity.name = [given, family].filter(Boolean).join(' ');
    return identity;
  }

  async cancel(handle: string): Promise<void> {
    const h = parseHandle(handle);
    const flow = flowOfHandle(h);
    try {
      await this.#call(flow === 'sign' ? 'cancelSign' : 'cancel', { [refField(flow)]: h.r });
    } catch (err) {
      // 1100: the transaction has already ended (or never existed): nothing left to cancel.
      if (err instanceof HubError && err.code === 'EID_EXPIRED') return;
      this.#deps.log.warn(
        { method: this.id, errorCode: err instanceof HubError ? err.code : 'INTERNAL', detail: err instanceof HubError ? err.detail : String(err) },
        'Freja cancel failed',
      );
    }
  }

  /** Freja's dynamic QR algorithm (`qrCodeSecret`) is not published: the static link, as Freja's own clients show it. */
  qrFrame(handle: string, _nowMs: number): string {
    return bindUserUrl(parseHandle(handle).r);
  }

  launchUrl(autoStartToken: string, _userAgent: string | undefined): string {
    const dev = this.#config.launch.insecureDevAppUrl;
    if (dev) return `${dev}${dev.includes('?') ? '&' : '?'}transactionReference=${encodeURIComponent(autoStartToken)}`;
    return bindUserUrl(autoStartToken);
  }

  initialMessage(device: DeviceChoice): Localized {
    return initialMessage(device, false);
  }

  /**
   * A real but free call: getOneResult for a reference that cannot exist. A reachable Freja that accepts
   * our client certificate answers 1100 (invalid reference); 1004/1008, TLS failures, 5xx and timeouts
   * throw.
   */
  async health(signal?: AbortSignal): Promise<void> {
    try {
      await this.#call('getOneResult', { authRef: 'idnav-health-check' }, signal);
    } catch (err) {
      if (err instanceof HubError && err.code === 'EID_EXPIRED') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

export function createFrejaAdapter(id: string, config: FrejaConfig, material: FrejaMaterial, deps: AdapterDeps): PollingEidAdapter {
  return new FrejaAdapter(id, config, material, deps);
}
