/**
 * State of the simulated BankID service: orders, the simulated app's actions on them, switches that
 * make the RP API misbehave on purpose, and call statistics. Time comes only from the injected clock
 * and every deadline is evaluated lazily when an order is looked at, so a test can jump the clock
 * instead of waiting, and no timer is kept per order.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ocspResponse, signatureXml, uhiFor } from './completion.ts';
import { isValidPersonalNumber, type TestPerson } from './persons.ts';
import type { SigningCredentials } from './signing.ts';
import { parseQrPayload, qrPayload, verifyQr } from './qr.ts';
import type { PhoneStartRequest, Requirement, StartRequest } from './validate.ts';

export type OrderKind = 'auth' | 'sign' | 'phone/auth' | 'phone/sign';
export type Endpoint = OrderKind | 'collect' | 'cancel';
export type SwitchEndpoint = Endpoint | 'any';

/** Makes the next `count` calls of an endpoint answer an error instead of doing their work. */
export interface ErrorSwitch {
  kind: 'error';
  endpoint: SwitchEndpoint;
  /** How many calls it applies to (default 1). */
  count?: number;
  httpStatus: number;
  /** Omit for an answer without BankID's error body (e.g. 429). */
  errorCode?: string;
  details?: string;
  /** Body when errorCode is omitted: nothing at all, or `{}` (default). */
  body?: 'empty' | 'emptyObject';
  /** For 429 and 503: seconds in Retry-After and RateLimit-Reset (default 1). */
  retryAfterSeconds?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** Delays the next `count` calls of an endpoint by `ms` before they are answered. */
export interface DelaySwitch {
  kind: 'delay';
  endpoint: SwitchEndpoint;
  count?: number;
  ms: number;
}

/**
 * Forces collect answers. `pending` replaces the hint while the order is pending; `failed` ends the
 * order at once with that hint. Without orderRef it applies to every order that exists now.
 */
export interface CollectSwitch {
  kind: 'collect';
  orderRef?: string;
  status: 'pending' | 'failed';
  hintCode: string;
}

export type SimulatorSwitch = ErrorSwitch | DelaySwitch | CollectSwitch;

export interface SimulatorStats {
  /** Calls per endpoint, including those answered by an error switch or refused as invalid. */
  calls: Record<Endpoint, number>;
  /** Per orderRef, the clock time (ms) of every collect call naming it. */
  collects: Record<string, number[]>;
}

export interface OrderSummary {
  orderRef: string;
  kind: OrderKind;
  status: 'pending' | 'complete' | 'failed' | 'cancelledByRp';
  hintCode?: string;
  createdAt: number;
  endedAt?: number;
  endUserIp?: string;
  personalNumber?: string;
  /** What the app shows with the order (userVisibleData decoded): the text to sign, or the RP's message at sign-in. */
  userVisibleText?: string;
}

export interface CompletionData {
  user: { personalNumber: string; name: string; givenName: string; surname: string };
  device: { ipAddress: string; uhi: string };
  bankIdIssueDate: string;
  stepUp: { mrtd: boolean };
  signature: string;
  ocspResponse: string;
  risk?: 'low' | 'moderate' | 'high';
}

export type CollectAnswer =
  | { orderRef: string; status: 'pending' | 'failed'; hintCode: string }
  | { orderRef: string; status: 'complete'; completionData: CompletionData };

export interface RpError {
  httpStatus: number;
  errorCode: string;
  details: string;
}

export type AppErrorCode =
  | 'qrInvalid'
  | 'qrExpired'
  | 'orderNotFound'
  | 'orderNotPending'
  | 'personMismatch'
  | 'invalidRequest'
  | 'sessionInvalid';

export type AppResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorCode; status: number; message: string };

export type AppAction = 'approve' | 'cancel' | 'open';

export interface AppRequest {
  qr?: string;
  autoStartToken?: string;
  /** 12 digits; defaults to the order's required person, else the default test person. */
  personalNumber?: string;
  /** Default approve; `open` only scans or starts, leaving the order waiting for a decision. */
  action?: AppAction;
}

const isAction = (a: unknown): a is AppAction => a === 'approve' || a === 'cancel' || a === 'open';

export interface AppDecision {
  status: 'complete' | 'cancelled' | 'pending';
  returnUrl?: string;
  /** Signing orders: the text the app showed (userVisibleData decoded), so a tester sees what was signed. */
  userVisibleData?: string;
  /** Signing orders: `simpleMarkdownV1` when the text is formatted. */
  userVisibleDataFormat?: string;
}

/** What the simulated app shows after it has opened an order (QR scan or autostart). */
export interface OpenedOrder {
  orderRef: string;
  kind: OrderKind;
  via: 'qr' | 'autostart';
  endUserIp: string;
  userVisibleText?: string;
  userVisibleDataFormat?: string;
  requiredPersonalNumber?: string;
  returnUrl?: string;
}

export interface EngineOptions {
  now: () => number;
  persons: TestPerson[];
  startWindowMs: number;
  orderLifetimeMs: number;
  collectableAfterEndMs: { complete: number; failed: number };
  qrMaxAgeMs: number;
  qrMaxFutureMs: number;
  startedHintMs: number;
  autoApproveMs?: number;
  collectFinishedOnce: boolean;
  /** The key and certificate completion signatures are made with. */
  signing: () => SigningCredentials;
}

type State = 'pending' | 'complete' | 'failed' | 'cancelledByRp';

interface Order {
  orderRef: string;
  kind: OrderKind;
  createdAt: number;
  autoStartToken?: string;
  qrStartToken?: string;
  qrStartSecret?: string;
  endUserIp?: string;
  returnUrl?: string;
  returnRisk?: boolean;
  requirement?: Requirement;
  userVisibleData?: string;
  userNonVisibleData?: string;
  userVisibleDataFormat?: string;
  /** Phone orders name their person up front. */
  phonePersonalNumber?: string;
  state: State;
  /** Failed hint code once failed. */
  failedHint?: string;
  openedAt?: number;
  openedVia?: 'qr' | 'autostart' | 'phone';
  person?: TestPerson;
  endedAt?: number;
  completionData?: CompletionData;
  forcedPendingHint?: string;
  finalCollected: boolean;
}

interface ScanSession {
  orderRef: string;
  via: 'qr' | 'autostart';
  redirect?: string;
  deviceIp: string;
  expiresAt: number;
}

const ENDPOINTS: Endpoint[] = ['auth', 'sign', 'phone/auth', 'phone/sign', 'collect', 'cancel'];
const DEFAULT_POLICY = '1.2.3.4.25';

const appError = <T>(error: AppErrorCode, status: number, message: string): AppResult<T> => ({ ok: false, error, status, message });

export class SimulatorEngine {
  readonly options: EngineOptions;
  private readonly orders = new Map<string, Order>();
  private readonly byQrToken = new Map<string, string>();
  private readonly byAutoStartToken = new Map<string, string>();
  /** Orders tied to a person (requirement, phone or bound): candidates for the one-order-per-person rule. */
  private readonly byPerson = new Map<string, Set<string>>();
  private readonly sessions = new Map<string, ScanSession>();
  private errorSwitches: Array<ErrorSwitch & { left: number }> = [];
  private delaySwitches: Array<DelaySwitch & { left: number }> = [];
  private calls = {} as Record<Endpoint, number>;
  private collects = new Map<string, number[]>();

  constructor(options: EngineOptions) {
    this.options = options;
    this.resetStats();
  }

  now(): number {
    return this.options.now();
  }

  // ---------------------------------------------------------------------------------------------
  // RP API

  recordCall(endpoint: Endpoint, orderRef?: string): void {
    this.calls[endpoint]++;
    if (endpoint === 'collect' && orderRef !== undefined) {
      let list = this.collects.get(orderRef);
      if (!list) this.collects.set(orderRef, (list = []));
      list.push(this.now());
    }
  }

  takeErrorSwitch(endpoint: Endpoint): ErrorSwitch | undefined {
    return take(this.errorSwitches, endpoint, (kept) => (this.errorSwitches = kept));
  }

  takeDelaySwitch(endpoint: Endpoint): DelaySwitch | undefined {
    return take(this.delaySwitches, endpoint, (kept) => (this.delaySwitches = kept));
  }

  start(
    kind: OrderKind,
    req: ({ phone: false } & StartRequest) | ({ phone: true } & PhoneStartRequest),
  ): { ok: true; order: { orderRef: string; autoStartToken?: string; qrStartToken?: string; qrStartSecret?: string } } | { ok: false; error: RpError } {
    const now = this.now();
    const personalNumber = req.phone ? req.personalNumber : req.requirement?.personalNumber;
    if (personalNumber !== undefined) {
      const others = this.pendingOrdersOf(personalNumber, now);
      if (others.length > 0) {
        // BankID cancels the running order and refuses the new one.
        for (const other of others) this.fail(other, 'cancelled', now);
        return {
          ok: false,
          error: { httpStatus: 400, errorCode: 'alreadyInProgress', details: 'Order already in progress for pno' },
        };
      }
    }
    const order: Order = {
      orderRef: randomUUID(),
      kind,
      createdAt: now,
      state: 'pending',
      finalCollected: false,
    };
    if (req.userVisibleData !== undefined) order.userVisibleData = req.userVisibleData;
    if (req.userNonVisibleData !== undefined) order.userNonVisibleData = req.userNonVisibleData;
    if (req.userVisibleDataFormat !== undefined) order.userVisibleDataFormat = req.userVisibleDataFormat;
    if (req.requirement) order.requirement = req.requirement;
    if (req.phone) {
      order.phonePersonalNumber = req.personalNumber;
    } else {
      order.endUserIp = req.endUserIp;
      order.autoStartToken = randomUUID();
      order.qrStartToken = randomUUID();
      order.qrStartSecret = randomUUID();
      if (req.returnUrl !== undefined) order.returnUrl = req.returnUrl;
      if (req.returnRisk !== undefined) order.returnRisk = req.returnRisk;
      this.byQrToken.set(order.qrStartToken, order.orderRef);
      this.byAutoStartToken.set(order.autoStartToken, order.orderRef);
    }
    this.orders.set(order.orderRef, order);
    if (personalNumber !== undefined) this.indexPerson(personalNumber, order.orderRef);
    const answer: { orderRef: string; autoStartToken?: string; qrStartToken?: string; qrStartSecret?: string } = { orderRef: order.orderRef };
    if (order.autoStartToken) {
      answer.autoStartToken = order.autoStartToken;
      answer.qrStartToken = order.qrStartToken!;
      answer.qrStartSecret = order.qrStartSecret!;
    }
    return { ok: true, order: answer };
  }

  collect(orderRef: string): { ok: true; answer: CollectAnswer } | { ok: false; error: RpError } {
    const now = this.now();
    const order = this.orders.get(orderRef);
    const noSuchOrder = { ok: false as const, error: { httpStatus: 400, errorCode: 'invalidParameters', details: 'No such order' } };
    if (!order) return noSuchOrder;
    this.evaluate(order, now);
    if (order.state === 'cancelledByRp') return noSuchOrder;
    if (order.state === 'pending') {
      return { ok: true, answer: { orderRef, status: 'pending', hintCode: this.pendingHint(order, now) } };
    }
    if (now > order.endedAt! + this.collectWindow(order)) {
      this.drop(order);
      return noSuchOrder;
    }
    if (this.options.collectFinishedOnce && order.finalCollected) return noSuchOrder;
    order.finalCollected = true;
    if (order.state === 'complete') {
      return { ok: true, answer: { orderRef, status: 'complete', completionData: order.completionData! } };
    }
    return { ok: true, answer: { orderRef, status: 'failed', hintCode: order.failedHint! } };
  }

  cancel(orderRef: string): { ok: true } | { ok: false; error: RpError } {
    const now = this.now();
    const order = this.orders.get(orderRef);
    if (!order) return { ok: false, error: { httpStatus: 400, errorCode: 'invalidParameters', details: 'No such order' } };
    this.evaluate(order, now);
    if (order.state !== 'pending') {
      return { ok: false, error: { httpStatus: 400, errorCode: 'invalidParameters', details: 'Order already ended' } };
    }
    order.state = 'cancelledByRp';
    order.endedAt = now;
    delete order.forcedPendingHint;
    return { ok: true };
  }

  // ---------------------------------------------------------------------------------------------
  // The simulated app

  /** The camera moment: verifies the code as the app does and marks the order as picked up. */
  openByQr(payload: string): AppResult<OpenedOrder> {
    const now = this.now();
    const qr = typeof payload === 'string' ? parseQrPayload(payload) : undefined;
    if (!qr) return appError('qrInvalid', 400, 'Not a BankID QR code.');
    const ref = this.byQrToken.get(qr.qrStartToken);
    const order = ref === undefined ? undefined : this.orders.get(ref);
    if (!order || !order.qrStartSecret) return appError('orderNotFound', 404, 'No order for this QR code.');
    this.evaluate(order, now);
    if (order.state !== 'pending') return appError('orderNotPending', 409, 'The order has already ended.');
    const verdict = verifyQr(qr, {
      qrStartSecret: order.qrStartSecret,
      createdAt: order.createdAt,
      now,
      maxAgeMs: this.options.qrMaxAgeMs,
      maxFutureMs: this.options.qrMaxFutureMs,
    });
    if (verdict === 'qrInvalid') return appError('qrInvalid', 400, 'The QR code is not valid.');
    if (verdict === 'qrExpired') return appError('qrExpired', 400, 'The QR code is too old.');
    if (order.openedAt === undefined) {
      order.openedAt = now;
      order.openedVia = 'qr';
    }
    return { ok: true, value: this.opened(order, 'qr') };
  }

  /** The app started with an autostart token on the same device. */
  openByAutoStart(autoStartToken: string): AppResult<OpenedOrder> {
    const now = this.now();
    const ref = typeof autoStartToken === 'string' ? this.byAutoStartToken.get(autoStartToken) : undefined;
    const order = ref === undefined ? undefined : this.orders.get(ref);
    if (!order) return appError('orderNotFound', 404, 'No order for this autostart token.');
    this.evaluate(order, now);
    if (order.state !== 'pending') return appError('orderNotPending', 409, 'The order has already ended.');
    if (order.openedAt === undefined) {
      order.openedAt = now;
      order.openedVia = 'autostart';
    }
    return { ok: true, value: this.opened(order, 'autostart') };
  }

  /** The user's decision in the app on an opened order. */
  decide(orderRef: string, action: AppAction, personalNumber: string | undefined, deviceIp: string): AppResult<AppDecision> {
    const now = this.now();
    const order = this.orders.get(orderRef);
    if (!order) return appError('orderNotFound', 404, 'No such order.');
    this.evaluate(order, now);
    if (order.state !== 'pending') return appError('orderNotPending', 409, 'The order has already ended.');
    if (action === 'open') return { ok: true, value: this.shown(order, { status: 'pending' }) };
    if (action === 'cancel') {
      this.fail(order, 'userCancel', now);
      return { ok: true, value: this.shown(order, { status: 'cancelled' }) };
    }
    const person = this.resolvePerson(order, personalNumber);
    if (!person.ok) return person;
    const required = order.requirement?.personalNumber ?? order.phonePersonalNumber;
    if (required !== undefined && required !== person.value.personalNumber) {
      return appError('personMismatch', 409, 'The order requires another person.');
    }
    this.bind(order, person.value, now, true);
    this.complete(order, person.value, deviceIp, now);
    return { ok: true, value: this.shown(order, { status: 'complete' }) };
  }

  /** The app's camera and decision in one step (the JSON API and in-process tests). */
  scan(req: AppRequest, deviceIp: string): AppResult<AppDecision> {
    const action = req.action ?? 'approve';
    if (!isAction(action)) return appError('invalidRequest', 400, 'action must be approve, cancel or open.');
    const opened = this.openByQr(req.qr as string);
    if (!opened.ok) return opened;
    // The other device's app never opens the RP's returnUrl.
    return this.decide(opened.value.orderRef, action, req.personalNumber, deviceIp);
  }

  /** The app started by its autostart token, and the decision, in one step. */
  autostart(req: AppRequest): AppResult<AppDecision> {
    const action = req.action ?? 'approve';
    if (!isAction(action)) return appError('invalidRequest', 400, 'action must be approve, cancel or open.');
    const opened = this.openByAutoStart(req.autoStartToken as string);
    if (!opened.ok) return opened;
    // Same device: the device's address is the one the RP saw.
    const decided = this.decide(opened.value.orderRef, action, req.personalNumber, opened.value.endUserIp);
    if (decided.ok && decided.value.status === 'complete' && opened.value.returnUrl !== undefined) {
      return { ok: true, value: { ...decided.value, returnUrl: opened.value.returnUrl } };
    }
    return decided;
  }

  /** A phone order: the person confirms (or denies) the call in the app. */
  phone(personalNumber: string, action: AppAction | 'decline', deviceIp: string): AppResult<AppDecision> {
    const now = this.now();
    if (!isAction(action) && action !== 'decline') return appError('invalidRequest', 400, 'action must be approve, cancel, decline or open.');
    if (typeof personalNumber !== 'string' || !isValidPersonalNumber(personalNumber)) {
      return appError('invalidRequest', 400, 'personalNumber must be 12 digits with a valid check digit.');
    }
    const order = this.pendingOrdersOf(personalNumber, now)
      .filter((o) => o.kind === 'phone/auth' || o.kind === 'phone/sign')
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    if (!order) return appError('orderNotFound', 404, 'No pending phone order for this person.');
    if (order.openedAt === undefined) {
      order.openedAt = now;
      order.openedVia = 'phone';
    }
    if (action === 'decline') {
      this.fail(order, 'userDeclinedCall', now);
      return { ok: true, value: { status: 'cancelled' } };
    }
    return this.decide(order.orderRef, action, personalNumber, deviceIp);
  }

  /** One-time token that carries an opened order from the app's page to its form post. */
  createSession(orderRef: string, via: 'qr' | 'autostart', deviceIp: string, redirect?: string): string {
    const token = randomBytes(24).toString('base64url');
    const order = this.orders.get(orderRef)!;
    const session: ScanSession = { orderRef, via, deviceIp, expiresAt: order.createdAt + this.options.orderLifetimeMs };
    if (redirect !== undefined) session.redirect = redirect;
    this.sessions.set(token, session);
    return token;
  }

  takeSession(token: string): ScanSession | undefined {
    const session = this.sessions.get(token);
    if (!session) return undefined;
    this.sessions.delete(token);
    return session.expiresAt >= this.now() ? session : undefined;
  }

  /** The payload an RP would display for this order now (a convenience for tests and tools). */
  currentQr(orderRef: string, atMs?: number): string | undefined {
    const order = this.orders.get(orderRef);
    if (!order || !order.qrStartToken || !order.qrStartSecret) return undefined;
    const qrTime = Math.max(0, Math.floor(((atMs ?? this.now()) - order.createdAt) / 1000));
    return qrPayload(order.qrStartToken, order.qrStartSecret, qrTime);
  }

  /** What the app shows for a still pending order. */
  openedView(orderRef: string, via: 'qr' | 'autostart'): OpenedOrder | undefined {
    const order = this.orders.get(orderRef);
    if (!order) return undefined;
    this.evaluate(order, this.now());
    return order.state === 'pending' ? this.opened(order, via) : undefined;
  }

  returnUrlOf(orderRef: string): string | undefined {
    return this.orders.get(orderRef)?.returnUrl;
  }

  autoStartTokenOf(orderRef: string): string | undefined {
    return this.orders.get(orderRef)?.autoStartToken;
  }

  // ---------------------------------------------------------------------------------------------
  // Control

  applySwitch(input: unknown): { ok: true } | { ok: false; message: string } {
    const s = input as Partial<SimulatorSwitch> & Record<string, unknown>;
    if (typeof s !== 'object' || s === null) return { ok: false, message: 'switch must be an object' };
    const validEndpoint = (e: unknown): e is SwitchEndpoint => e === 'any' || ENDPOINTS.includes(e as Endpoint);
    const count = s.count === undefined ? 1 : s.count;
    if (s.kind === 'error' || s.kind === 'delay') {
      if (!validEndpoint(s.endpoint)) return { ok: false, message: `endpoint must be one of any, ${ENDPOINTS.join(', ')}` };
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return { ok: false, message: 'count must be a positive integer' };
    }
    if (s.kind === 'error') {
      const e = s as ErrorSwitch;
      if (!Number.isInteger(e.httpStatus) || e.httpStatus < 400 || e.httpStatus > 599) return { ok: false, message: 'httpStatus must be 400-599' };
      if (e.errorCode !== undefined && typeof e.errorCode !== 'string') return { ok: false, message: 'errorCode must be a string' };
      this.errorSwitches.push({ ...e, left: count as number });
      return { ok: true };
    }
    if (s.kind === 'delay') {
      const d = s as DelaySwitch;
      if (typeof d.ms !== 'number' || d.ms < 0 || d.ms > 600_000) return { ok: false, message: 'ms must be 0-600000' };
      this.delaySwitches.push({ ...d, left: count as number });
      return { ok: true };
    }
    if (s.kind === 'collect') {
      const c = s as CollectSwitch;
      if (c.status !== 'pending' && c.status !== 'failed') return { ok: false, message: 'status must be pending or failed' };
      if (typeof c.hintCode !== 'string' || c.hintCode.length === 0) return { ok: false, message: 'hintCode is required' };
      let targets: Order[];
      if (c.orderRef !== undefined) {
        const order = this.orders.get(c.orderRef);
        if (!order) return { ok: false, message: 'no such order' };
        targets = [order];
      } else {
        targets = [...this.orders.values()];
      }
      const now = this.now();
      for (const order of targets) {
        this.evaluate(order, now);
        if (order.state !== 'pending') continue;
        if (c.status === 'failed') this.fail(order, c.hintCode, now);
        else order.forcedPendingHint = c.hintCode;
      }
      return { ok: true };
    }
    return { ok: false, message: 'kind must be error, delay or collect' };
  }

  /** Clears the switches (and forced collect hints); optionally the statistics and all orders too. */
  reset(what: { stats?: boolean; orders?: boolean } = {}): void {
    this.errorSwitches = [];
    this.delaySwitches = [];
    for (const order of this.orders.values()) delete order.forcedPendingHint;
    if (what.stats) this.resetStats();
    if (what.orders) {
      this.orders.clear();
      this.byQrToken.clear();
      this.byAutoStartToken.clear();
      this.byPerson.clear();
      this.sessions.clear();
    }
  }

  stats(): SimulatorStats {
    return { calls: { ...this.calls }, collects: Object.fromEntries([...this.collects].map(([k, v]) => [k, [...v]])) };
  }

  /** The orders that still exist (ended ones until their collectable window has passed). */
  summaries(): OrderSummary[] {
    this.sweep();
    const now = this.now();
    return [...this.orders.values()].map((order) => {
      this.evaluate(order, now);
      const s: OrderSummary = { orderRef: order.orderRef, kind: order.kind, status: order.state, createdAt: order.createdAt };
      if (order.state === 'pending') s.hintCode = this.pendingHint(order, now);
      if (order.state === 'failed') s.hintCode = order.failedHint!;
      if (order.endedAt !== undefined) s.endedAt = order.endedAt;
      if (order.endUserIp !== undefined) s.endUserIp = order.endUserIp;
      const pnr = order.person?.personalNumber ?? order.requirement?.personalNumber ?? order.phonePersonalNumber;
      if (pnr !== undefined) s.personalNumber = pnr;
      if (order.userVisibleData !== undefined) s.userVisibleText = Buffer.from(order.userVisibleData, 'base64').toString('utf8');
      return s;
    });
  }

  /** Drops orders past their collectable window and expired page sessions. */
  sweep(): void {
    const now = this.now();
    for (const order of this.orders.values()) {
      this.evaluate(order, now);
      if (order.state !== 'pending' && now > order.endedAt! + this.collectWindow(order)) this.drop(order);
    }
    for (const [token, session] of this.sessions) {
      if (session.expiresAt < now) this.sessions.delete(token);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private resetStats(): void {
    this.calls = Object.fromEntries(ENDPOINTS.map((e) => [e, 0])) as Record<Endpoint, number>;
    this.collects = new Map();
  }

  /** Applies the deadlines that passed since the order was last looked at, in time order. */
  private evaluate(order: Order, now: number): void {
    if (order.state !== 'pending') return;
    const o = this.options;
    const expireAt = order.createdAt + o.orderLifetimeMs;
    const isPhone = order.kind === 'phone/auth' || order.kind === 'phone/sign';
    const startFailAt = order.openedAt === undefined && !isPhone ? order.createdAt + o.startWindowMs : Infinity;
    const autoAt = o.autoApproveMs !== undefined ? order.createdAt + o.autoApproveMs : Infinity;
    const first = Math.min(expireAt, startFailAt, autoAt);
    if (first > now) return;
    if (first === autoAt && autoAt < Math.min(expireAt, startFailAt)) {
      const person = this.resolvePerson(order, undefined);
      if (person.ok) {
        // Auto-approval binds without the one-order-per-person rule, so load tests can reuse persons.
        this.bind(order, person.value, autoAt, false);
        this.complete(order, person.value, order.endUserIp ?? '127.0.0.1', autoAt);
        return;
      }
    }
    if (first === startFailAt && startFailAt <= expireAt) this.fail(order, 'startFailed', startFailAt);
    else this.fail(order, 'expiredTransaction', expireAt);
  }

  private pendingHint(order: Order, now: number): string {
    if (order.forcedPendingHint !== undefined) return order.forcedPendingHint;
    const isPhone = order.kind === 'phone/auth' || order.kind === 'phone/sign';
    if (order.openedAt === undefined) return isPhone ? 'userCallConfirm' : 'outstandingTransaction';
    if (order.openedVia === 'autostart' && !order.person && now < order.openedAt + this.options.startedHintMs) return 'started';
    return 'userSign';
  }

  private collectWindow(order: Order): number {
    return order.state === 'complete' ? this.options.collectableAfterEndMs.complete : this.options.collectableAfterEndMs.failed;
  }

  private opened(order: Order, via: 'qr' | 'autostart'): OpenedOrder {
    const view: OpenedOrder = { orderRef: order.orderRef, kind: order.kind, via, endUserIp: order.endUserIp ?? '' };
    if (order.userVisibleData !== undefined) view.userVisibleText = Buffer.from(order.userVisibleData, 'base64').toString('utf8');
    if (order.userVisibleDataFormat !== undefined) view.userVisibleDataFormat = order.userVisibleDataFormat;
    if (order.requirement?.personalNumber !== undefined) view.requiredPersonalNumber = order.requirement.personalNumber;
    if (order.returnUrl !== undefined) view.returnUrl = order.returnUrl;
    return view;
  }

  /** A signing order's decision carries the text the app showed. */
  private shown(order: Order, decision: AppDecision): AppDecision {
    if (order.kind !== 'sign' && order.kind !== 'phone/sign') return decision;
    if (order.userVisibleData !== undefined) decision.userVisibleData = Buffer.from(order.userVisibleData, 'base64').toString('utf8');
    if (order.userVisibleDataFormat !== undefined) decision.userVisibleDataFormat = order.userVisibleDataFormat;
    return decision;
  }

  private resolvePerson(order: Order, personalNumber: string | undefined): AppResult<TestPerson> {
    const pnr = personalNumber ?? order.requirement?.personalNumber ?? order.phonePersonalNumber;
    if (pnr === undefined) {
      const fallback = this.options.persons[0]; // the first person in the list is the default
      if (!fallback) return appError('invalidRequest', 400, 'personalNumber is required (no test persons loaded).');
      return { ok: true, value: fallback };
    }
    if (typeof pnr !== 'string' || !isValidPersonalNumber(pnr)) {
      return appError('invalidRequest', 400, 'personalNumber must be 12 digits with a valid check digit.');
    }
    const known = this.options.persons.find((p) => p.personalNumber === pnr);
    if (known) return { ok: true, value: known };
    // Any valid number may sign in; it gets a neutral name.
    return { ok: true, value: { personalNumber: pnr, givenName: 'Test', surname: 'Person', name: 'Test Person', tags: [] } };
  }

  private bind(order: Order, person: TestPerson, now: number, cancelOthers: boolean): void {
    if (cancelOthers) {
      // One order per person: binding this one cancels the person's other running orders.
      for (const other of this.pendingOrdersOf(person.personalNumber, now)) {
        if (other !== order) this.fail(other, 'cancelled', now);
      }
    }
    order.person = person;
    this.indexPerson(person.personalNumber, order.orderRef);
  }

  private complete(order: Order, person: TestPerson, deviceIp: string, now: number): void {
    const kind = order.kind === 'sign' || order.kind === 'phone/sign' ? 'sign' : 'auth';
    const uhi = uhiFor(person.personalNumber, 'idnav-simulated-device');
    const evidence: Parameters<typeof signatureXml>[0] = {
      kind,
      person,
      uhi,
      certificatePolicy: order.requirement?.certificatePolicies?.[0] ?? DEFAULT_POLICY,
    };
    if (order.userVisibleData !== undefined) evidence.userVisibleData = order.userVisibleData;
    if (order.userNonVisibleData !== undefined) evidence.userNonVisibleData = order.userNonVisibleData;
    if (order.userVisibleDataFormat !== undefined) evidence.userVisibleDataFormat = order.userVisibleDataFormat;
    const data: CompletionData = {
      user: { personalNumber: person.personalNumber, name: person.name, givenName: person.givenName, surname: person.surname },
      device: { ipAddress: deviceIp, uhi },
      bankIdIssueDate: issueDate(person.personalNumber),
      stepUp: { mrtd: order.requirement?.mrtd === true },
      signature: signatureXml(evidence, this.options.signing()),
      ocspResponse: ocspResponse(),
    };
    if (order.returnRisk) data.risk = 'low';
    order.state = 'complete';
    order.endedAt = now;
    order.completionData = data;
    delete order.forcedPendingHint;
  }

  private fail(order: Order, hint: string, at: number): void {
    order.state = 'failed';
    order.failedHint = hint;
    order.endedAt = at;
    delete order.forcedPendingHint;
  }

  private pendingOrdersOf(personalNumber: string, now: number): Order[] {
    const refs = this.byPerson.get(personalNumber);
    if (!refs) return [];
    const out: Order[] = [];
    for (const ref of refs) {
      const order = this.orders.get(ref);
      if (!order) {
        refs.delete(ref);
        continue;
      }
      this.evaluate(order, now);
      if (order.state === 'pending') out.push(order);
    }
    return out;
  }

  private indexPerson(personalNumber: string, orderRef: string): void {
    let set = this.byPerson.get(personalNumber);
    if (!set) this.byPerson.set(personalNumber, (set = new Set()));
    set.add(orderRef);
  }

  private drop(order: Order): void {
    this.orders.delete(order.orderRef);
    if (order.qrStartToken) this.byQrToken.delete(order.qrStartToken);
    if (order.autoStartToken) this.byAutoStartToken.delete(order.autoStartToken);
    for (const pnr of [order.requirement?.personalNumber, order.phonePersonalNumber, order.person?.personalNumber]) {
      if (pnr === undefined) continue;
      const set = this.byPerson.get(pnr);
      set?.delete(order.orderRef);
      if (set && set.size === 0) this.byPerson.delete(pnr);
    }
  }
}

function take<S extends { endpoint: SwitchEndpoint; left: number }>(list: S[], endpoint: Endpoint, store: (kept: S[]) => void): S | undefined {
  const index = list.findIndex((s) => s.endpoint === endpoint || s.endpoint === 'any');
  if (index < 0) return undefined;
  const s = list[index]!;
  s.left--;
  if (s.left <= 0) store(list.filter((_, i) => i !== index));
  return s;
}

/** A stable, plausible issue date for a person's BankID (2020-2025). */
function issueDate(personalNumber: string): string {
  const h = createHash('sha256').update(`issue:${personalNumber}`).digest();
  const year = 2020 + (h[0]! % 6);
  const month = 1 + (h[1]! % 12);
  const day = 1 + (h[2]! % 28);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
