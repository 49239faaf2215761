/**
 * BankID Relying Party API v6.0 over mutual TLS. Stateless: everything an order needs travels in the
 * opaque handle the hub keeps in its login transaction, so any hub process can continue any order.
 * Remote answers and transport failures are translated into hub errors here, once.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { HubError } from '../../src/contracts/errors.ts';
import type { AdapterDeps, DeviceChoice, PollResult, PollingEidAdapter, PollingPageTexts, PollingStart, PollingStartRequest, PollOptions } from '../../src/contracts/eid.ts';
import type { Identity, Localized } from '../../src/contracts/identity.ts';
import { parsePersonalNumber } from '../../src/identity/personnummer.ts';
import type { BankIdConfig, BankIdTls } from './config.ts';
import { BANKID_PAGE_TEXTS, RFA, errorOutcome, failedOutcome, pendingMessage } from './messages.ts';
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
}

const MOBILE_UA = /Android|iPhone|iPad|iPod|Mobile/i;

function parseHandle(handle: string): Handle {
  try {
    const h = JSON.parse(handle) as Handle;
    if (typeof h.o === 'string' && typeof h.t === 'string' && typeof h.s === 'string' && typeof h.at === 'number') return h;
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
    const answer = await this.#call('/auth', body, signal);
    const { orderRef, autoStartToken, qrStartToken, qrStartSecret } = answer;
    if (typeof orderRef !== 'string' || typeof autoStartToken !== 'string' || typeof qrStartToken !== 'string' || typeof qrStartSecret !== 'string') {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'BankID /auth: answer lacks orderRef, autoStartToken or QR tokens', userMessage: RFA.RFA5 });
    }
    // The QR clock starts when the answer is received.
    const startedAt = this.#deps.now();
    const handle: Handle = { o: orderRef, t: qrStartToken, s: qrStartSecret, at: startedAt, m: MOBILE_UA.test(req.userAgent ?? '') };
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
    if (status === 'pending') {
      return { status: 'pending', hint: hintCode || 'unknown', message: pendingMessage(hintCode, options.device, h.m) };
    }
    if (status === 'failed') {
      const outcome = failedOutcome(hintCode, options.device);
      return { status: 'failed', code: outcome.code, hint: hintCode || 'unknown', message: outcome.message };
    }
    if (status === 'complete') {
      return { status: 'complete', identity: this.#identity(answer.completionData) };
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

export function createBankIdAdapter(id: string, config: BankIdConfig, tls: BankIdTls, deps: AdapterDeps): PollingEidAdapter {
  return new BankIdAdapter(id, config, tls, deps);
}
