/**
 * State of the simulated Freja eID service: authentication and sign transactions, the simulated app's
 * actions on them, switches that make the RP API misbehave on purpose, and call statistics. Time comes only from the
 * injected clock and every deadline is evaluated lazily when a transaction is looked at, so a test can
 * jump the clock instead of waiting, and no timer is kept per transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parsePersonalNumber } from '../../../src/identity/personnummer.ts';
import { REGISTRATION_LEVEL_ORDER, type FrejaPerson, type RegistrationLevel } from './persons.ts';

export type TransactionStatus = 'STARTED' | 'DELIVERED_TO_MOBILE' | 'APPROVED' | 'CANCELED' | 'RP_CANCELED' | 'EXPIRED' | 'REJECTED';
/** The authentication API's calls (`/authentication/1.0/...`). */
export type AuthEndpoint = 'initAuthentication' | 'getOneResult' | 'getResults' | 'cancel';
/** The signature API's calls (`/sign/1.0/initSignature`, `getOneResult`, `getResults`, `cancel`), named after their parameters. */
export type SignEndpoint = 'initSignature' | 'getOneSignResult' | 'getSignResults' | 'cancelSign';
export type Endpoint = AuthEndpoint | SignEndpoint;
export type SwitchEndpoint = Endpoint | 'any';

export const AUTH_ENDPOINTS: readonly AuthEndpoint[] = ['initAuthentication', 'getOneResult', 'getResults', 'cancel'];
export const SIGN_ENDPOINTS: readonly SignEndpoint[] = ['initSignature', 'getOneSignResult', 'getSignResults', 'cancelSign'];
export const ENDPOINTS: readonly Endpoint[] = [...AUTH_ENDPOINTS, ...SIGN_ENDPOINTS];

/** An authentication (authRef) or a sign transaction (signRef). */
export type TransactionKind = 'authentication' | 'sign';

/** Freja's error codes and texts (FrejaEidErrorCode in Freja's Java client). */
export const ERROR_MESSAGES: Readonly<Record<number, string>> = {
  0: 'Internal error.',
  1000: 'Invalid parameters.',
  1001: 'Invalid or missing userInfoType.',
  1002: 'Invalid or missing userInfo.',
  1003: 'Invalid restrict.',
  1004: 'You are not allowed to call this method.',
  1005: 'User has disabled your service.',
  1006: 'Invalid confidential.',
  1007: 'Invalid minimum registration level.',
  1008: 'Unknown Relying party.',
  1009: 'You are not allowed to request integrator specific user id parameter.',
  1010: 'JSON request cannot be parsed.',
  1011: 'Invalid relyingPartyId.',
  1012: 'User with the specified user info does not exist in the Freja eID database.',
  1100: 'Invalid reference (for example, nonexistent or expired).',
  1200: 'Invalid or missing includePrevious parameter.',
  2000: 'Authentication request failed. Previous authentication request was rejected due to security reasons.',
  2002: 'Invalid attributesToReturn parameter.',
  2003: 'Custom identifier has to exist when it is requested.',
  3000: 'Invalid or missing dataToSignType.',
  3001: 'Invalid or missing dataToSign.',
  3002: 'Invalid or missing signatureType.',
  3003: 'Invalid expiry.',
  3004: 'Invalid push notification.',
  3005: 'Invalid attributesToReturn parameter.',
  3006: 'Custom identifier has to exist when it is requested.',
  3007: 'Invalid title.',
};

export interface FrejaError {
  httpStatus: number;
  code: number;
  message: string;
}

export const frejaError = (code: number, message?: string, httpStatus = 400): FrejaError => ({
  httpStatus,
  code,
  message: message ?? ERROR_MESSAGES[code] ?? 'Error.',
});

/** Makes the next `count` calls of an endpoint answer an error instead of doing their work. */
export interface ErrorSwitch {
  kind: 'error';
  endpoint: SwitchEndpoint;
  /** How many calls it applies to (default 1). */
  count?: number;
  /** 400 or 422 with a Freja code; 429 or 5xx for an outage answer. */
  httpStatus: number;
  /** A Freja error code: the body is `{"code", "message"}`. Omitted: a plain-text body, as a proxy would send. */
  code?: number;
  message?: string;
  /** Seconds in a Retry-After header. */
  retryAfterSeconds?: number;
}

/** The next `count` calls get no answer at all: the connection is dropped. */
export interface OutageSwitch {
  kind: 'outage';
  endpoint: SwitchEndpoint;
  count?: number;
}

/** Delays the next `count` calls of an endpoint by `ms` before they are answered. */
export interface DelaySwitch {
  kind: 'delay';
  endpoint: SwitchEndpoint;
  count?: number;
  ms: number;
}

/**
 * Alters the next `count` APPROVED results (of `authRef`, or any) as they are answered: the checks a
 * relying party must make on the signed result. `payload` keys replace the signed payload's (null
 * deletes), `requestedAttributes` keys replace the signed attributes' (null deletes). For a sign
 * transaction, `signedData` makes the person's signature cover other data than was sent.
 */
export interface ResultSwitch {
  kind: 'result';
  count?: number;
  /** The transaction reference: an authRef, or a signRef. */
  authRef?: string;
  /** Flip bits of the signature. */
  signature?: 'corrupt';
  /** Put this `x5t` in the header (the signature is made over the altered header, with the real key). */
  x5t?: string;
  /** Sign with HS256 and a random secret instead of the signing key. */
  alg?: 'HS256';
  payload?: Record<string, unknown>;
  requestedAttributes?: Record<string, unknown>;
  /** Sign transactions: `userSignature` covers this text / binary data (Base64) instead; null leaves the binary data out. */
  signedData?: { text?: string; binaryData?: string | null };
}

export type SimulatorSwitch = ErrorSwitch | OutageSwitch | DelaySwitch | ResultSwitch;

/** What initSignature adds to a transaction. */
export interface SignRequestPart {
  title?: string;
  pushNotification?: { title: string; text: string };
  /** Epoch ms the transaction expires at, as sent (absent: two minutes after creation). */
  expiry?: number;
  dataToSignType: 'SIMPLE_UTF8_TEXT' | 'EXTENDED_UTF8_TEXT';
  signatureType: 'SIMPLE' | 'EXTENDED';
  /** `dataToSign.text` as sent (Base64 of UTF-8). */
  text: string;
  /** `dataToSign.binaryData` as sent (Base64), EXTENDED only. */
  binaryData?: string;
}

export interface InitRequest {
  userInfoType: 'INFERRED' | 'SSN';
  /** The userInfo value as sent (Base64 JSON for SSN). */
  userInfo: string;
  /** SSN: the decoded `{"country","ssn"}` JSON text. */
  userInfoJson?: string;
  ssn?: string;
  minRegistrationLevel: RegistrationLevel;
  attributesToReturn: string[];
  useDynamicQrCode: boolean;
  /** The decoded request JSON as received. */
  raw: Record<string, unknown>;
  /** initSignature only. */
  sign?: SignRequestPart;
}

export interface CallMeta {
  relyingPartyId?: string;
  contentType: string;
}

/** What the app shows of a sign transaction. */
export interface SignSummary {
  title?: string;
  /** The text to be signed, decoded: what the person reads in the app. */
  text: string;
  /** The data signed but not shown (EXTENDED): its size and SHA-256 (hex). */
  binaryData?: { bytes: number; sha256: string };
  signatureType: 'SIMPLE' | 'EXTENDED';
  expiry?: number;
}

export interface TransactionSummary {
  /** The transaction reference: the authRef, or for a sign transaction its signRef. */
  authRef: string;
  kind: TransactionKind;
  status: TransactionStatus;
  createdAt: number;
  endedAt?: number;
  userInfoType: 'INFERRED' | 'SSN';
  /** SSN transactions: the number they were started for. */
  requiredPersonalNumber?: string;
  /** Who approved, cancelled or rejected it in the app. */
  personalNumber?: string;
  minRegistrationLevel: RegistrationLevel;
  attributesToReturn: string[];
  /** The decoded initAuthentication or initSignature request, as received. */
  request: Record<string, unknown>;
  /** Sign transactions: the text to be signed and the data beside it. */
  sign?: SignSummary;
  relyingPartyId?: string;
  contentType: string;
}

export interface SimulatorStats {
  /** Calls of the authentication API. */
  calls: Record<AuthEndpoint, number>;
  /** Calls of the signature API. */
  signCalls: Record<SignEndpoint, number>;
}

export type AppAction = 'open' | 'approve' | 'cancel' | 'reject';
export const isAppAction = (a: unknown): a is AppAction => a === 'open' || a === 'approve' || a === 'cancel' || a === 'reject';

export type AppErrorCode =
  | 'transactionNotFound'
  | 'transactionNotPending'
  | 'personNotFound'
  | 'personMismatch'
  | 'registrationLevelTooLow'
  | 'serviceDisabled'
  | 'invalidRequest';

export type AppResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorCode; status: number; message: string };

const appError = <T>(error: AppErrorCode, status: number, message: string): AppResult<T> => ({ ok: false, error, status, message });

export interface EngineOptions {
  now: () => number;
  persons: FrejaPerson[];
  /** A pending transaction ends EXPIRED this long after creation. */
  transactionLifetimeMs: number;
  /** An SSN transaction reaches the person's phone (DELIVERED_TO_MOBILE) this long after creation. */
  pushDeliveryMs: number;
  /** Ended transactions answer getOneResult this long; after that 1100. */
  resultRetentionMs: number;
  /** When set, pending transactions are approved by themselves this long after creation (load tests). */
  autoApproveMs?: number;
  /** SSN of nobody in the list: 1012 at once, or a transaction that never reaches anyone. */
  unknownSsn: 'notFound' | 'silent';
  /** When set, a relyingPartyId outside this list is refused with 1011. */
  relyingPartyIds?: readonly string[];
}

interface Transaction {
  authRef: string;
  createdAt: number;
  request: InitRequest;
  meta: CallMeta;
  status: TransactionStatus;
  deliveredAt?: number;
  endedAt?: number;
  /** The person who acted in the app. */
  person?: FrejaPerson;
  approvedAt?: number;
  requestedAttributes?: Record<string, unknown>;
  /** The signed result, made on first demand and kept. */
  details?: string;
  qrCodeSecret?: string;
}

const kindOf = (tx: Transaction): TransactionKind => (tx.request.sign ? 'sign' : 'authentication');

const FINAL: ReadonlySet<TransactionStatus> = new Set(['APPROVED', 'CANCELED', 'RP_CANCELED', 'EXPIRED', 'REJECTED']);
const isPending = (tx: Transaction): boolean => !FINAL.has(tx.status);

/** Attributes that need a verified identity (EXTENDED or PLUS), per Freja's documentation. */
export const VERIFIED_ONLY_ATTRIBUTES: ReadonlySet<string> = new Set(['BASIC_USER_INFO', 'SSN', 'DATE_OF_BIRTH', 'AGE', 'ADDRESSES']);

export class SimulatorEngine {
  readonly options: EngineOptions;
  private readonly transactions = new Map<string, Transaction>();
  private switches: Array<SimulatorSwitch & { left: number }> = [];
  private calls = {} as Record<Endpoint, number>;

  constructor(options: EngineOptions) {
    this.options = options;
    this.resetStats();
  }

  now(): number {
    return this.options.now();
  }

  person(personalNumber: string): FrejaPerson | undefined {
    return this.options.persons.find((p) => p.personalNumber === personalNumber);
  }

  // ---------------------------------------------------------------------------------------------
  // Switches and statistics

  applySwitch(s: unknown): { ok: true } | { ok: false; message: string } {
    if (typeof s !== 'object' || s === null) return { ok: false, message: 'a switch is a JSON object' };
    const sw = s as SimulatorSwitch;
    const count = sw.count ?? 1;
    if (!Number.isInteger(count) || count < 1) return { ok: false, message: 'count must be a positive integer' };
    switch (sw.kind) {
      case 'error':
        if (!isSwitchEndpoint(sw.endpoint)) return { ok: false, message: 'unknown endpoint' };
        if (!Number.isInteger(sw.httpStatus) || sw.httpStatus < 400 || sw.httpStatus > 599) return { ok: false, message: 'httpStatus must be 400-599' };
        if (sw.code !== undefined && !Number.isInteger(sw.code)) return { ok: false, message: 'code must be an integer' };
        break;
      case 'outage':
        if (!isSwitchEndpoint(sw.endpoint)) return { ok: false, message: 'unknown endpoint' };
        break;
      case 'delay':
        if (!isSwitchEndpoint(sw.endpoint)) return { ok: false, message: 'unknown endpoint' };
        if (typeof sw.ms !== 'number' || sw.ms < 0 || sw.ms > 600_000) return { ok: false, message: 'ms must be 0-600000' };
        break;
      case 'result': {
        if (sw.alg !== undefined && sw.alg !== 'HS256') return { ok: false, message: 'alg can only be HS256' };
        if (sw.signature !== undefined && sw.signature !== 'corrupt') return { ok: false, message: 'signature can only be corrupt' };
        const d = sw.signedData as unknown;
        if (d !== undefined) {
          const o = d as { text?: unknown; binaryData?: unknown };
          const b64 = (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
          if (typeof d !== 'object' || d === null || (o.text !== undefined && !b64(o.text)) || (o.binaryData !== undefined && o.binaryData !== null && !b64(o.binaryData))) {
            return { ok: false, message: 'signedData is {"text"?: Base64, "binaryData"?: Base64 | null}' };
          }
        }
        break;
      }
      default:
        return { ok: false, message: 'kind must be error, outage, delay or result' };
    }
    this.switches.push({ ...sw, left: count });
    return { ok: true };
  }

  /** The first pending switch of this kind for the endpoint, used up by one. */
  takeSwitch<K extends 'error' | 'outage' | 'delay'>(kind: K, endpoint: Endpoint): Extract<SimulatorSwitch, { kind: K }> | undefined {
    const index = this.switches.findIndex((s) => s.kind === kind && 'endpoint' in s && (s.endpoint === endpoint || s.endpoint === 'any'));
    return this.use(index) as Extract<SimulatorSwitch, { kind: K }> | undefined;
  }

  takeResultSwitch(authRef: string): ResultSwitch | undefined {
    const index = this.switches.findIndex((s) => s.kind === 'result' && (s.authRef === undefined || s.authRef === authRef));
    return this.use(index) as ResultSwitch | undefined;
  }

  private use(index: number): SimulatorSwitch | undefined {
    if (index < 0) return undefined;
    const s = this.switches[index]!;
    s.left--;
    if (s.left <= 0) this.switches.splice(index, 1);
    const { left: _left, ...rest } = s;
    return rest as SimulatorSwitch;
  }

  recordCall(endpoint: Endpoint): void {
    this.calls[endpoint]++;
  }

  stats(): SimulatorStats {
    return {
      calls: Object.fromEntries(AUTH_ENDPOINTS.map((e) => [e, this.calls[e]])) as Record<AuthEndpoint, number>,
      signCalls: Object.fromEntries(SIGN_ENDPOINTS.map((e) => [e, this.calls[e]])) as Record<SignEndpoint, number>,
    };
  }

  reset(what: { transactions?: boolean; stats?: boolean } = {}): void {
    this.switches = [];
    if (what.transactions) this.transactions.clear();
    if (what.stats) this.resetStats();
  }

  private resetStats(): void {
    this.calls = Object.fromEntries(ENDPOINTS.map((e) => [e, 0])) as Record<Endpoint, number>;
  }

  // ---------------------------------------------------------------------------------------------
  // RP API

  init(req: InitRequest, meta: CallMeta): { ok: true; authRef: string; qrCodeSecret?: string } | { ok: false; error: FrejaError } {
    const now = this.now();
    if (meta.relyingPartyId !== undefined && this.options.relyingPartyIds && !this.options.relyingPartyIds.includes(meta.relyingPartyId)) {
      return { ok: false, error: frejaError(1011) };
    }
    if (req.ssn !== undefined) {
      const person = this.person(req.ssn);
      if (!person && this.options.unknownSsn === 'notFound') return { ok: false, error: frejaError(1012) };
      if (person?.serviceDisabled) return { ok: false, error: frejaError(1005) };
      // One authentication per person at a time; the running one is left as it is. Sign transactions
      // are not limited: several may wait for the same person.
      const running =
        !req.sign &&
        [...this.transactions.values()].some((tx) => {
          if (tx.request.sign || tx.request.ssn !== req.ssn || tx.meta.relyingPartyId !== meta.relyingPartyId) return false;
          this.evaluate(tx, now);
          return isPending(tx);
        });
      if (running) return { ok: false, error: frejaError(2000) };
    }
    const tx: Transaction = { authRef: randomBytes(48).toString('base64url'), createdAt: now, request: req, meta, status: 'STARTED' };
    if (req.useDynamicQrCode) tx.qrCodeSecret = randomBytes(32).toString('base64url');
    this.transactions.set(tx.authRef, tx);
    return tx.qrCodeSecret ? { ok: true, authRef: tx.authRef, qrCodeSecret: tx.qrCodeSecret } : { ok: true, authRef: tx.authRef };
  }

  /**
   * A transaction as getOneResult sees it (after its deadlines), or 1100. A reference of the other API
   * (a signRef at the authentication API, an authRef at the signature API) is unknown there.
   */
  result(authRef: string, meta: CallMeta, kind: TransactionKind = 'authentication'): { ok: true; view: ResultView } | { ok: false; error: FrejaError } {
    const tx = this.lookup(authRef, meta, kind);
    if (!tx) return { ok: false, error: frejaError(1100) };
    return { ok: true, view: this.view(tx) };
  }

  /** Every result of this relying party and kind still kept (getResults with includePrevious ALL). */
  results(meta: CallMeta, kind: TransactionKind = 'authentication'): ResultView[] {
    this.sweep();
    return [...this.transactions.values()]
      .filter((tx) => tx.meta.relyingPartyId === meta.relyingPartyId && kindOf(tx) === kind)
      .map((tx) => this.view(tx));
  }

  /** RP cancel: a pending transaction ends RP_CANCELED; anything else is an invalid reference (1100). */
  cancel(authRef: string, meta: CallMeta, kind: TransactionKind = 'authentication'): { ok: true } | { ok: false; error: FrejaError } {
    const tx = this.lookup(authRef, meta, kind);
    if (!tx || !isPending(tx)) return { ok: false, error: frejaError(1100) };
    this.end(tx, 'RP_CANCELED', this.now());
    return { ok: true };
  }

  /** Keeps the signed result so that later answers carry the very same JWS. */
  keepDetails(authRef: string, details: string): void {
    const tx = this.transactions.get(authRef);
    if (tx && tx.details === undefined) tx.details = details;
  }

  /** Whether a reference is an authentication or a sign transaction (the app's pages word them apart). */
  kindOf(authRef: string): TransactionKind | undefined {
    const tx = this.transactions.get(authRef);
    return tx ? kindOf(tx) : undefined;
  }

  private lookup(authRef: string, meta: CallMeta, kind: TransactionKind): Transaction | undefined {
    const tx = this.transactions.get(authRef);
    if (!tx || tx.meta.relyingPartyId !== meta.relyingPartyId || kindOf(tx) !== kind) return undefined;
    const now = this.now();
    this.evaluate(tx, now);
    if (!isPending(tx) && now > tx.endedAt! + this.options.resultRetentionMs) {
      this.transactions.delete(authRef);
      return undefined;
    }
    return tx;
  }

  private view(tx: Transaction): ResultView {
    const v: ResultView = { authRef: tx.authRef, kind: kindOf(tx), status: tx.status };
    const sign = tx.request.sign;
    if (tx.status === 'APPROVED' && sign) {
      const dataToSign: { text: string; binaryData?: string } = { text: sign.text };
      if (sign.binaryData !== undefined) dataToSign.binaryData = sign.binaryData;
      v.approved = {
        payload: {
          signRef: tx.authRef,
          status: 'APPROVED',
          userInfoType: tx.request.userInfoType,
          userInfo: tx.request.userInfoType === 'SSN' ? tx.request.userInfoJson! : tx.request.userInfo,
          minRegistrationLevel: tx.request.minRegistrationLevel,
          timestamp: tx.approvedAt!,
          signatureType: sign.signatureType,
          requestedAttributes: structuredClone(tx.requestedAttributes ?? {}),
        },
        dataToSign,
        ...(tx.details !== undefined ? { details: tx.details } : {}),
      };
    } else if (tx.status === 'APPROVED') {
      v.approved = {
        payload: {
          authRef: tx.authRef,
          status: 'APPROVED',
          userInfoType: tx.request.userInfoType,
          userInfo: tx.request.userInfoType === 'SSN' ? tx.request.userInfoJson! : tx.request.userInfo,
          minRegistrationLevel: tx.request.minRegistrationLevel,
          requestedAttributes: structuredClone(tx.requestedAttributes ?? {}),
          timestamp: tx.approvedAt!,
        },
        ...(tx.details !== undefined ? { details: tx.details } : {}),
      };
    }
    return v;
  }

  // ---------------------------------------------------------------------------------------------
  // The simulated app

  /** Pending transactions, for the app's page. */
  pending(): TransactionSummary[] {
    return this.summaries().filter((s) => s.status === 'STARTED' || s.status === 'DELIVERED_TO_MOBILE');
  }

  /** The app acts on a transaction: open (scan the QR code / follow the link), approve, cancel or reject. */
  act(authRef: string, action: AppAction, personalNumber?: string): AppResult<{ status: TransactionStatus }> {
    const now = this.now();
    const tx = typeof authRef === 'string' ? this.transactions.get(authRef) : undefined;
    if (!tx) return appError('transactionNotFound', 404, 'No such transaction.');
    this.evaluate(tx, now);
    if (!isPending(tx)) return appError('transactionNotPending', 409, `The transaction has already ended (${tx.status}).`);
    if (!isAppAction(action)) return appError('invalidRequest', 400, 'action must be open, approve, cancel or reject.');
    if (action === 'open') {
      this.deliver(tx, now);
      return { ok: true, value: { status: tx.status } };
    }
    const pnr = personalNumber ?? tx.request.ssn ?? this.options.persons[0]?.personalNumber;
    if (typeof pnr !== 'string' || !parsePersonalNumber(pnr)) {
      return appError('invalidRequest', 400, 'personalNumber must be 12 digits with a valid check digit.');
    }
    const person = this.person(pnr);
    if (!person) return appError('personNotFound', 404, 'No Freja eID user with this personal number.');
    if (tx.request.ssn !== undefined && tx.request.ssn !== person.personalNumber) {
      return appError('personMismatch', 409, 'The transaction was sent to another person.');
    }
    // A user below the required level never gets to answer (an SSN transaction never reaches them).
    if (REGISTRATION_LEVEL_ORDER[person.registrationLevel] < REGISTRATION_LEVEL_ORDER[tx.request.minRegistrationLevel]) {
      return appError(
        'registrationLevelTooLow',
        403,
        `The service requires registration level ${tx.request.minRegistrationLevel}; this user has ${person.registrationLevel}.`,
      );
    }
    if (person.serviceDisabled) return appError('serviceDisabled', 403, 'This user has turned the service off.');
    this.deliver(tx, now);
    tx.person = person;
    if (action === 'approve') this.approve(tx, person, now);
    else this.end(tx, action === 'cancel' ? 'CANCELED' : 'REJECTED', now);
    return { ok: true, value: { status: tx.status } };
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  summaries(): TransactionSummary[] {
    this.sweep();
    const now = this.now();
    return [...this.transactions.values()].map((tx) => {
      this.evaluate(tx, now);
      const s: TransactionSummary = {
        authRef: tx.authRef,
        kind: kindOf(tx),
        status: tx.status,
        createdAt: tx.createdAt,
        userInfoType: tx.request.userInfoType,
        minRegistrationLevel: tx.request.minRegistrationLevel,
        attributesToReturn: [...tx.request.attributesToReturn],
        request: structuredClone(tx.request.raw),
        contentType: tx.meta.contentType,
      };
      if (tx.endedAt !== undefined) s.endedAt = tx.endedAt;
      if (tx.request.ssn !== undefined) s.requiredPersonalNumber = tx.request.ssn;
      if (tx.person) s.personalNumber = tx.person.personalNumber;
      if (tx.meta.relyingPartyId !== undefined) s.relyingPartyId = tx.meta.relyingPartyId;
      if (tx.request.sign) s.sign = signSummary(tx.request.sign);
      return s;
    });
  }

  /** Drops transactions whose results are no longer kept. */
  sweep(): void {
    const now = this.now();
    for (const tx of this.transactions.values()) {
      this.evaluate(tx, now);
      if (!isPending(tx) && now > tx.endedAt! + this.options.resultRetentionMs) this.transactions.delete(tx.authRef);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /** Applies the deadlines that passed since the transaction was last looked at, in time order. */
  private evaluate(tx: Transaction, now: number): void {
    if (!isPending(tx)) return;
    const o = this.options;
    const expireAt = tx.request.sign?.expiry ?? tx.createdAt + o.transactionLifetimeMs;
    const target = tx.request.ssn !== undefined ? this.person(tx.request.ssn) : undefined;
    if (tx.status === 'STARTED' && target && this.eligible(tx, target)) {
      const deliverAt = tx.createdAt + o.pushDeliveryMs;
      if (deliverAt <= now && deliverAt < expireAt) this.deliver(tx, deliverAt);
    }
    if (o.autoApproveMs !== undefined) {
      const autoAt = tx.createdAt + o.autoApproveMs;
      const person = tx.request.ssn !== undefined ? target : o.persons.find((p) => this.eligible(tx, p));
      if (autoAt <= now && autoAt < expireAt && person && this.eligible(tx, person)) {
        this.deliver(tx, autoAt);
        this.approve(tx, person, autoAt);
        return;
      }
    }
    if (expireAt <= now) this.end(tx, 'EXPIRED', expireAt);
  }

  private eligible(tx: Transaction, person: FrejaPerson): boolean {
    return !person.serviceDisabled && REGISTRATION_LEVEL_ORDER[person.registrationLevel] >= REGISTRATION_LEVEL_ORDER[tx.request.minRegistrationLevel];
  }

  private deliver(tx: Transaction, at: number): void {
    if (tx.status === 'STARTED') {
      tx.status = 'DELIVERED_TO_MOBILE';
      tx.deliveredAt = at;
    }
  }

  private approve(tx: Transaction, person: FrejaPerson, at: number): void {
    tx.person = person;
    tx.status = 'APPROVED';
    tx.endedAt = at;
    tx.approvedAt = at;
    tx.requestedAttributes = requestedAttributes(tx.request.attributesToReturn, person);
  }

  private end(tx: Transaction, status: TransactionStatus, at: number): void {
    tx.status = status;
    tx.endedAt = at;
  }
}

export interface ResultView {
  /** authRef or signRef */
  authRef: string;
  kind: TransactionKind;
  status: TransactionStatus;
  /**
   * An approved result: the payload Freja signs (for a sign transaction without `signatureData`, which
   * is made when the result is signed, over `dataToSign`), and the JWS once made.
   */
  approved?: { payload: SignedPayload | SignedSignPayload; dataToSign?: { text: string; binaryData?: string }; details?: string };
}

export interface SignedPayload {
  authRef: string;
  status: 'APPROVED';
  userInfoType: string;
  userInfo: string;
  minRegistrationLevel: RegistrationLevel;
  requestedAttributes: Record<string, unknown>;
  timestamp: number;
}

/** A sign transaction's signed payload before `signatureData` is added. */
export interface SignedSignPayload {
  signRef: string;
  status: 'APPROVED';
  userInfoType: string;
  userInfo: string;
  minRegistrationLevel: RegistrationLevel;
  timestamp: number;
  signatureType: 'SIMPLE' | 'EXTENDED';
  requestedAttributes: Record<string, unknown>;
}

function signSummary(sign: SignRequestPart): SignSummary {
  const out: SignSummary = { text: Buffer.from(sign.text, 'base64').toString('utf8'), signatureType: sign.signatureType };
  if (sign.title !== undefined) out.title = sign.title;
  if (sign.binaryData !== undefined) {
    const bytes = Buffer.from(sign.binaryData, 'base64');
    out.binaryData = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  if (sign.expiry !== undefined) out.expiry = sign.expiry;
  return out;
}

function isSwitchEndpoint(e: unknown): e is SwitchEndpoint {
  return e === 'any' || (ENDPOINTS as readonly unknown[]).includes(e);
}

/** Only what was asked for; attributes the simulator has no data for are left out. */
function requestedAttributes(asked: readonly string[], person: FrejaPerson): Record<string, unknown> {
  const parsed = parsePersonalNumber(person.personalNumber)!;
  const out: Record<string, unknown> = {};
  for (const attribute of asked) {
    switch (attribute) {
      case 'BASIC_USER_INFO':
        out.basicUserInfo = { name: person.givenName, surname: person.surname };
        break;
      case 'SSN':
        out.ssn = { ssn: person.personalNumber, country: 'SE' };
        break;
      case 'DATE_OF_BIRTH':
        out.dateOfBirth = parsed.birthdate;
        break;
      case 'AGE':
        out.age = ageOn(parsed.birthdate, new Date());
        break;
      case 'REGISTRATION_LEVEL':
        out.registrationLevel = person.registrationLevel;
        break;
      case 'LOA_LEVEL':
        out.loaLevel = person.registrationLevel === 'PLUS' ? 'LOA3' : person.registrationLevel === 'EXTENDED' ? 'LOA2' : 'LOA1';
        break;
      case 'EMAIL_ADDRESS':
        out.emailAddress = `${ascii(person.givenName)}.${ascii(person.surname)}@example.test`;
        break;
      case 'RELYING_PARTY_USER_ID':
        out.relyingPartyUserId = Buffer.from(`rp:${person.personalNumber}`).toString('hex').toUpperCase();
        break;
    }
  }
  return out;
}

const ascii = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();

function ageOn(birthdate: string, today: Date): number {
  const [y, m, d] = birthdate.split('-').map(Number) as [number, number, number];
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) age--;
  return age;
}
