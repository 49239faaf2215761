import type { HubErrorCode } from './errors.ts';
import type { Identity, Localized } from './identity.ts';

/** Which device the user signs in with; it changes which user messages fit (BankID RFA13/17A vs RFA1/17B). */
export type DeviceChoice = 'this' | 'other';

export interface PollingStartRequest {
  /** The end user's IP address as the hub saw it (after trusted-proxy handling). */
  endUserIp: string;
  /** Where the e-ID app returns after a same-device sign-in; carries a nonce bound to the browser. */
  returnUrl?: string;
  userAgent?: string;
  /** The RP-facing domain shown to the e-ID provider for risk assessment. */
  referringDomain?: string;
  /** Restricts who may complete the order (12 digits). */
  personalNumber?: string;
  /**
   * The `acr` values the relying party accepts (from `acr_values`, an essential `acr` claim, or the
   * tenant's or client's minimum). Absent: any of the method's `acrValues`. An adapter that can start
   * orders at several levels starts one that can only end in one of these.
   */
  acceptableAcr?: readonly string[];
  /**
   * Person attributes the client may receive, beyond the subject's number (which the hub always needs
   * to derive `sub`). An adapter asks the e-ID service for no more than this.
   */
  releasableAttributes?: ReadonlyArray<'name' | 'birthdate'>;
}

export interface PollingStart {
  /**
   * Opaque adapter state the hub stores in the login transaction and hands back to `poll`, `cancel`
   * and `qrFrame`. It may hold secrets (the QR start secret): it never leaves the hub.
   */
  handle: string;
  /** Same-device launch token, if the method has one. */
  autoStartToken?: string;
  /** Epoch milliseconds when the order was created (the QR clock starts here). */
  startedAt: number;
}

export type PollResult =
  | { status: 'pending'; hint: string; message: Localized }
  | { status: 'complete'; identity: Identity }
  | { status: 'failed'; code: HubErrorCode; hint: string; message: Localized };

export interface PollOptions {
  device: DeviceChoice;
  signal?: AbortSignal;
}

/**
 * A polling e-ID (BankID, Freja): the hub owns the schedule, the adapter makes exactly one remote call
 * per `poll`. Adapters are stateless: any hub process can continue any order from its handle.
 */
export interface PollingEidAdapter {
  readonly kind: 'polling';
  /** Instance id from config (e.g. `bankid`). */
  readonly id: string;
  /** Method URI (e.g. `urn:idnav:method:bankid`). */
  readonly methodUri: string;
  readonly displayName: Localized;
  /** The `acr` values a sign-in with this method can carry. */
  readonly acrValues: readonly string[];
  /** Minimum milliseconds between two polls of one order. */
  readonly pollIntervalMs: number;
  /** Starts an order. Throws a HubError (with a user message) when the e-ID service refuses. */
  start(request: PollingStartRequest, signal?: AbortSignal): Promise<PollingStart>;
  poll(handle: string, options: PollOptions): Promise<PollResult>;
  /** Cancels an order at the e-ID service; never throws for an order that has already ended. */
  cancel(handle: string): Promise<void>;
  /** The QR payload to show at `nowMs`, or undefined when the method has no animated QR. Pure. */
  qrFrame(handle: string, nowMs: number): string | undefined;
  /** The URL that opens the e-ID app on this device. */
  launchUrl(autoStartToken: string, userAgent: string | undefined): string | undefined;
  /** The user message shown before the first poll answers. */
  initialMessage(device: DeviceChoice): Localized;
  /** The method's own wording on the e-ID page; the hub words it generically from `displayName` otherwise. */
  readonly pageTexts?: PollingPageTexts;
  /** Throws when the e-ID service cannot be reached. */
  health(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface PollingPageTexts {
  /** How to sign in on another device (under the QR code). */
  qrHelp: Localized;
  /** The QR image's text alternative. */
  qrAlt: Localized;
  /** The button that opens the e-ID app on this device. */
  openThisDevice: Localized;
}

export type EidAdapter = PollingEidAdapter;

/** What every adapter module exports; `adapters/index.ts` maps config `type` to one of these. */
export interface EidAdapterModule<C = unknown> {
  readonly type: string;
  /** Validates this adapter's config block; returns a list of problems as `[dottedPath, reason]`. */
  validate(config: unknown): { ok: true; config: C } | { ok: false; problems: Array<[string, string]> };
  /** Builds the adapter. Contacts nothing; reads files the config names. */
  create(id: string, config: C, deps: AdapterDeps): Promise<EidAdapter>;
}

export interface AdapterDeps {
  /** Directory relative file paths in config are resolved against. */
  baseDir: string;
  /** Clock, injectable for tests. */
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}
