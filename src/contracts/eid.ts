import type { HubErrorCode } from './errors.ts';
import type { Identity, Localized } from './identity.ts';
import type { Store } from './store.ts';

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
  /**
   * A message from the relying party to show in the e-ID app during sign-in (the Swedish OIDC profile's
   * `userMessage` parameter), already in the person's language. Methods that cannot show one ignore it.
   */
  userMessage?: { text: string; format: 'text' | 'markdown' };
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

/** What a signing order asks the person to sign (the Swedish OIDC signature extension's sign request). */
export interface PollingSignRequest extends PollingStartRequest {
  /** Shown to the person in the e-ID app: what they sign. */
  visibleText: string;
  /** `text` (plain) or `markdown` (BankID simpleMarkdownV1; Freja shows it as text). */
  visibleFormat: 'text' | 'markdown';
  /** The data to be signed but not shown (the RP's `tbs_data`), base64. */
  data: string;
}

/** The signature a signing order produced, as the e-ID service returned it. */
export interface SignatureEvidence {
  /** `bankid-xmldsig`: BankID's base64 XML signature; `freja-jws`: Freja's signed result (a compact JWS). */
  format: 'bankid-xmldsig' | 'freja-jws';
  /** The signature itself (base64 for BankID, the JWS for Freja). */
  value: string;
  /** BankID: the base64 OCSP response for the person's certificate. */
  ocspResponse?: string;
}

export type PollResult =
  | { status: 'pending'; hint: string; message: Localized }
  | { status: 'complete'; identity: Identity; signature?: SignatureEvidence }
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
  /**
   * Starts a signing order (methods that can sign): the same handle, `poll`, `cancel` and `qrFrame`
   * follow; a complete poll carries the `signature`.
   */
  startSign?(request: PollingSignRequest, signal?: AbortSignal): Promise<PollingStart>;
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

/** What the hub asks of a redirect e-ID (a SAML or OIDC IdP) when a sign-in starts. */
export interface RedirectBeginRequest {
  /** Where the IdP sends the person back (the hub's endpoint for this method; a SAML ACS URL). */
  returnUrl: string;
  /** Opaque value the IdP hands back with its answer (SAML RelayState, OIDC state); the hub's own. */
  relayState: string;
  /** The RP asked for a fresh authentication (`prompt=login`, `max_age`): the IdP must not use its session. */
  forceAuthn: boolean;
  /** As for polling methods: the `acr` values the sign-in may end in, of this method's `acrValues`. */
  acceptableAcr?: readonly string[];
  /** The language of the hub's pages, for IdPs that take a hint. */
  lang: 'sv' | 'en';
}

/**
 * How the browser goes to the IdP: a redirect (HTTP-Redirect binding) or an auto-submitted form
 * (HTTP-POST binding). `state` is opaque adapter state the hub keeps in the login transaction (in the
 * Store, so any process can receive the answer) and hands back to `complete`.
 */
export type RedirectBegin =
  | { binding: 'redirect'; url: string; state: string }
  | { binding: 'post'; url: string; fields: Record<string, string>; state: string };

/** The IdP's answer as the hub received it. */
export interface RedirectCompleteRequest {
  /** The full URL the answer arrived at (scheme and host as the person's browser used them). */
  url: string;
  /** Form fields (HTTP-POST) or query parameters (HTTP-Redirect). */
  fields: Record<string, string>;
  /** The state `begin` returned for this sign-in. */
  state: string;
}

/**
 * A redirect e-ID (SAML IdPs, upstream OIDC IdPs): `begin` sends the person to the IdP, `complete`
 * checks the answer and returns the Identity, or throws a HubError (the person cancelled:
 * `EID_USER_CANCELLED`; a forged, replayed or misdirected answer: `EID_RESPONSE_INVALID` or
 * `TRANSACTION_REPLAYED`, with operator detail). Stateless like polling adapters: what must outlive
 * the request goes in `state` or the Store.
 */
export interface RedirectEidAdapter {
  readonly kind: 'redirect';
  readonly id: string;
  readonly methodUri: string;
  readonly displayName: Localized;
  readonly acrValues: readonly string[];
  /** For a municipality's staff IdP: the tenant it belongs to (its identities are that tenant's staff). */
  readonly tenant?: string;
  begin(request: RedirectBeginRequest): Promise<RedirectBegin>;
  complete(request: RedirectCompleteRequest): Promise<Identity>;
  /** The hub's own metadata towards this IdP (SAML SP metadata), served by the hub. */
  metadata?(): string;
  /** Throws when the IdP (or its metadata) cannot be used. */
  health(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export type EidAdapter = PollingEidAdapter | RedirectEidAdapter;

/** What every adapter module exports; `adapters/index.ts` maps config `type` to one of these. */
export interface EidAdapterModule<C = unknown, A extends EidAdapter = EidAdapter> {
  readonly type: string;
  /** Validates this adapter's config block; returns a list of problems as `[dottedPath, reason]`. */
  validate(config: unknown): { ok: true; config: C } | { ok: false; problems: Array<[string, string]> };
  /** Builds the adapter. Contacts nothing; reads files the config names. */
  create(id: string, config: C, deps: AdapterDeps): Promise<A>;
}

export interface AdapterDeps {
  /** Directory relative file paths in config are resolved against. */
  baseDir: string;
  /** The hub's issuer URL (an SP's entityID and endpoints are built from it). */
  issuer?: string;
  /** The hub's Store, for state shared by every process (e.g. a SAML assertion replay cache). */
  store?: Store;
  /** Clock, injectable for tests. */
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}
