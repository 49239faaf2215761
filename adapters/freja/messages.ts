/**
 * What the user reads during a Freja eID sign-in or signing, in Swedish and English, and the mapping from
 * Freja's transaction statuses and error codes to hub error codes. Freja publishes no recommended user
 * messages (unlike BankID's RFA list), so these texts are the hub's own.
 */
import type { HubErrorCode } from '../../src/contracts/errors.ts';
import type { DeviceChoice } from '../../src/contracts/eid.ts';
import type { Localized } from '../../src/contracts/identity.ts';

export const MESSAGES = {
  /** Other device, the user is not known up front: the QR code is the only way in. */
  scanQr: {
    sv: 'Öppna Freja-appen i din telefon och skanna QR-koden.',
    en: 'Open the Freja eID app on your phone and scan the QR code.',
  },
  /** This device: the launch link has been followed. */
  openingApp: {
    sv: 'Försöker öppna Freja-appen …',
    en: 'Trying to open the Freja eID app …',
  },
  /** The order names the person (SSN): Freja sends it to the person's phone. */
  sentToPhone: {
    sv: 'Öppna Freja-appen i din telefon. Inloggningen har skickats dit.',
    en: 'Open the Freja eID app on your phone. The sign-in request has been sent there.',
  },
  approveInAppThis: {
    sv: 'Godkänn inloggningen i Freja-appen och gå sedan tillbaka hit.',
    en: 'Approve the sign-in in the Freja eID app, then come back here.',
  },
  approveInAppOther: {
    sv: 'Godkänn inloggningen i Freja-appen i din telefon.',
    en: 'Approve the sign-in in the Freja eID app on your phone.',
  },
  inProgress: { sv: 'Inloggning pågår.', en: 'Sign-in in progress.' },
  userCancelled: { sv: 'Inloggningen avbröts i Freja-appen.', en: 'The sign-in was cancelled in the Freja eID app.' },
  rpCancelled: { sv: 'Inloggningen avbröts. Försök igen.', en: 'The sign-in was cancelled. Please try again.' },
  expired: {
    sv: 'Tiden för inloggningen gick ut. Försök igen. Om ingen begäran visades i Freja-appen kan det bero på att ditt Freja eID inte har den nivå som tjänsten kräver.',
    en: 'The sign-in timed out. Please try again. If no request appeared in the Freja eID app, your Freja eID may not have the level this service requires.',
  },
  rejected: {
    sv: 'Freja eID stoppade inloggningen av säkerhetsskäl.',
    en: 'Freja eID stopped the sign-in for security reasons.',
  },
  alreadyInProgress: {
    sv: 'Det finns redan en begäran till ditt Freja eID. Slutför eller avbryt den i Freja-appen och försök sedan igen.',
    en: 'There is already a request to your Freja eID. Finish or cancel it in the Freja eID app, then try again.',
  },
  serviceDisabled: {
    sv: 'Du har stängt av den här tjänsten i Freja eID. Slå på den igen i Freja-appen och försök sedan igen.',
    en: 'You have turned this service off in Freja eID. Turn it on again in the Freja eID app, then try again.',
  },
  userNotFound: {
    sv: 'Det finns inget Freja eID för det här personnumret. Skaffa Freja eID+ i Freja-appen eller välj ett annat sätt att logga in.',
    en: 'There is no Freja eID for this personal identity number. Get Freja eID+ in the Freja eID app or choose another way to sign in.',
  },
  levelUnsupported: {
    sv: 'Freja eID kan inte ge den säkerhetsnivå som tjänsten kräver. Välj ett annat sätt att logga in.',
    en: 'Freja eID cannot provide the level of assurance this service requires. Choose another way to sign in.',
  },
  levelTooLow: {
    sv: 'Ditt Freja eID har inte den nivå som tjänsten kräver. Välj ett annat sätt att logga in.',
    en: 'Your Freja eID does not have the level this service requires. Choose another way to sign in.',
  },
  startFailed: {
    sv: 'Inloggningen med Freja eID kunde inte startas på grund av ett tekniskt fel. Försök igen senare.',
    en: 'The Freja eID sign-in could not be started because of a technical error. Please try again later.',
  },
  technicalError: {
    sv: 'Ett tekniskt fel uppstod vid inloggningen med Freja eID. Försök igen.',
    en: 'A technical error occurred during the Freja eID sign-in. Please try again.',
  },
  unavailable: {
    sv: 'Freja eID svarar inte just nu. Försök igen om en stund.',
    en: 'Freja eID is not responding right now. Please try again in a moment.',
  },
} as const satisfies Record<string, Localized>;

/** The texts of one flow: every key of {@link MESSAGES}. */
export type FlowMessages = { readonly [K in keyof typeof MESSAGES]: Localized };

/** The same situations while a signing order runs: the person signs, they do not sign in. */
export const SIGN_MESSAGES = {
  scanQr: {
    sv: 'Öppna Freja-appen i din telefon och skanna QR-koden för att skriva under.',
    en: 'Open the Freja eID app on your phone and scan the QR code to sign.',
  },
  openingApp: MESSAGES.openingApp,
  sentToPhone: {
    sv: 'Öppna Freja eID i din telefon och skriv under. Underskriften har skickats dit.',
    en: 'Open Freja eID on your phone and sign. The signing request has been sent there.',
  },
  approveInAppThis: {
    sv: 'Öppna Freja eID och skriv under. Gå sedan tillbaka hit.',
    en: 'Open Freja eID and sign, then come back here.',
  },
  approveInAppOther: {
    sv: 'Öppna Freja eID och skriv under i din telefon.',
    en: 'Open Freja eID and sign on your phone.',
  },
  inProgress: { sv: 'Underskrift pågår.', en: 'Signing in progress.' },
  userCancelled: { sv: 'Underskriften avbröts i Freja-appen.', en: 'The signing was cancelled in the Freja eID app.' },
  rpCancelled: { sv: 'Underskriften avbröts. Försök igen.', en: 'The signing was cancelled. Please try again.' },
  expired: {
    sv: 'Tiden för underskriften gick ut. Försök igen. Om ingen begäran visades i Freja-appen kan det bero på att ditt Freja eID inte har den nivå som tjänsten kräver.',
    en: 'The signing timed out. Please try again. If no request appeared in the Freja eID app, your Freja eID may not have the level this service requires.',
  },
  rejected: {
    sv: 'Freja eID stoppade underskriften av säkerhetsskäl.',
    en: 'Freja eID stopped the signing for security reasons.',
  },
  alreadyInProgress: MESSAGES.alreadyInProgress,
  serviceDisabled: MESSAGES.serviceDisabled,
  userNotFound: {
    sv: 'Det finns inget Freja eID för det här personnumret. Skaffa Freja eID+ i Freja-appen eller välj ett annat sätt att skriva under.',
    en: 'There is no Freja eID for this personal identity number. Get Freja eID+ in the Freja eID app or choose another way to sign.',
  },
  levelUnsupported: {
    sv: 'Freja eID kan inte ge den säkerhetsnivå som tjänsten kräver. Välj ett annat sätt att skriva under.',
    en: 'Freja eID cannot provide the level of assurance this service requires. Choose another way to sign.',
  },
  levelTooLow: {
    sv: 'Ditt Freja eID har inte den nivå som tjänsten kräver. Välj ett annat sätt att skriva under.',
    en: 'Your Freja eID does not have the level this service requires. Choose another way to sign.',
  },
  startFailed: {
    sv: 'Underskriften med Freja eID kunde inte startas på grund av ett tekniskt fel. Försök igen senare.',
    en: 'The Freja eID signing could not be started because of a technical error. Please try again later.',
  },
  technicalError: {
    sv: 'Ett tekniskt fel uppstod vid underskriften med Freja eID. Försök igen.',
    en: 'A technical error occurred during the Freja eID signing. Please try again.',
  },
  unavailable: MESSAGES.unavailable,
} as const satisfies FlowMessages;

/** A signing order without a personal number when the configuration allows signing only for a named person. */
export const SIGN_NEEDS_PERSONAL_NUMBER: Localized = {
  sv: 'Underskrift med Freja eID kräver att tjänsten anger vem som ska skriva under. Välj ett annat sätt att skriva under eller kontakta tjänsten.',
  en: 'Signing with Freja eID requires the service to say who is to sign. Choose another way to sign or contact the service.',
};

/** An authentication (`auth`) or a signing order (`sign`). */
export type Flow = 'auth' | 'sign';

export const messagesFor = (flow: Flow): FlowMessages => (flow === 'sign' ? SIGN_MESSAGES : MESSAGES);

/** Statuses that end a transaction. */
export type FinalStatus = 'APPROVED' | 'CANCELED' | 'RP_CANCELED' | 'EXPIRED' | 'REJECTED';

/**
 * The message while a transaction is pending. `named`: the order was started for a given personal
 * number (Freja pushes it to the phone, no QR code needed).
 */
export function pendingMessage(status: string, device: DeviceChoice, named: boolean, flow: Flow = 'auth'): Localized {
  const m = messagesFor(flow);
  switch (status) {
    case 'STARTED':
      if (device === 'this') return m.openingApp;
      return named ? m.sentToPhone : m.scanQr;
    case 'DELIVERED_TO_MOBILE':
      return device === 'this' ? m.approveInAppThis : m.approveInAppOther;
    default:
      return m.inProgress;
  }
}

/** The message shown before the first poll answers. */
export function initialMessage(device: DeviceChoice, named: boolean, flow: Flow = 'auth'): Localized {
  return pendingMessage('STARTED', device, named, flow);
}

/** A final status other than APPROVED to a hub error code and user message. */
export function failedOutcome(status: Exclude<FinalStatus, 'APPROVED'>, flow: Flow = 'auth'): { code: HubErrorCode; message: Localized } {
  const m = messagesFor(flow);
  switch (status) {
    case 'CANCELED':
      return { code: 'EID_USER_CANCELLED', message: m.userCancelled };
    case 'RP_CANCELED':
      // Not the user's doing in the app: this hub (another tab, another process, a newer order) ended it.
      return { code: 'EID_FAILED', message: m.rpCancelled };
    case 'EXPIRED':
      return { code: 'EID_EXPIRED', message: m.expired };
    case 'REJECTED':
      return { code: 'EID_RISK_BLOCKED', message: m.rejected };
  }
}

export type FrejaCall = 'initAuthentication' | 'getOneResult' | 'cancel' | 'initSignature' | 'getOneSignResult' | 'cancelSign';

/** The flow a call belongs to. */
export const flowOf = (call: FrejaCall): Flow => (call === 'initSignature' || call === 'getOneSignResult' || call === 'cancelSign' ? 'sign' : 'auth');

/** The calls that start a transaction. */
const isInit = (call: FrejaCall): boolean => call === 'initAuthentication' || call === 'initSignature';

/**
 * Freja's error codes (FrejaEidErrorCode in Freja's Java client) that are faults of the request itself;
 * 3000-3007 are initSignature's (dataToSignType, dataToSign, signatureType, expiry, pushNotification,
 * attributesToReturn, custom identifier, title).
 */
const REQUEST_FAULTS = new Set([1000, 1001, 1002, 1003, 1006, 1007, 1009, 1010, 1200, 2002, 2003, 3000, 3001, 3002, 3003, 3004, 3005, 3006, 3007]);
/** Codes that say Freja does not accept this relying party (certificate, contract or relyingPartyId). */
const RELYING_PARTY_FAULTS = new Set([1004, 1008, 1011]);

/**
 * A Freja error answer (HTTP 400/422 with `{code, message}`) to a hub error code and user message.
 * `code` is undefined when the body carried none.
 */
export function errorOutcome(call: FrejaCall, httpStatus: number, code: number | undefined): { code: HubErrorCode; message: Localized } {
  const m = messagesFor(flowOf(call));
  const init = isInit(call);
  if (httpStatus === 429) return { code: 'EID_UPSTREAM_RATE_LIMITED', message: m.unavailable };
  if (httpStatus >= 500) return { code: 'EID_UPSTREAM_UNAVAILABLE', message: m.unavailable };
  if ((httpStatus !== 400 && httpStatus !== 422) || code === undefined) {
    // Not an answer of the Freja API (wrong path, a proxy's page): the integration is broken.
    return { code: 'EID_RESPONSE_INVALID', message: m.technicalError };
  }
  switch (code) {
    case 0: // "Internal error." at Freja
      return { code: 'EID_UPSTREAM_UNAVAILABLE', message: m.unavailable };
    case 1005:
      return { code: 'EID_FAILED', message: m.serviceDisabled };
    case 1012:
      return { code: 'EID_FAILED', message: m.userNotFound };
    case 1100:
      // Unknown or expired reference: the transaction is gone at Freja.
      return init ? { code: 'EID_START_FAILED', message: m.startFailed } : { code: 'EID_EXPIRED', message: m.expired };
    case 2000:
      return { code: 'EID_ALREADY_IN_PROGRESS', message: m.alreadyInProgress };
  }
  if (REQUEST_FAULTS.has(code) || RELYING_PARTY_FAULTS.has(code)) {
    return init ? { code: 'EID_START_FAILED', message: m.startFailed } : { code: 'EID_FAILED', message: m.technicalError };
  }
  // Freja reserves the right to add codes: an unknown one gets a generic message.
  return init ? { code: 'EID_START_FAILED', message: m.startFailed } : { code: 'EID_FAILED', message: m.technicalError };
}

/** A short operator-facing description of a Freja error code (for `detail`; never a personal number). */
export function describeErrorCode(code: number | undefined): string {
  if (code === undefined) return 'no Freja error code';
  const known: Record<number, string> = {
    0: 'internal error at Freja',
    1000: 'invalid parameters',
    1001: 'invalid or missing userInfoType',
    1002: 'invalid or missing userInfo',
    1003: 'invalid restrict',
    1004: 'this relying party may not call this method (check the contract with Freja)',
    1005: 'the user has disabled this service',
    1006: 'invalid confidential',
    1007: 'invalid minRegistrationLevel',
    1008: 'unknown relying party (check the client certificate)',
    1009: 'integrator-specific user id not allowed',
    1010: 'request JSON cannot be parsed',
    1011: 'invalid relyingPartyId (check the config)',
    1012: 'no user with the given userInfo',
    1100: 'invalid reference (unknown or expired)',
    1200: 'invalid includePrevious',
    2000: 'previous authentication for this user was rejected / one is in progress',
    2002: 'invalid attributesToReturn',
    2003: 'custom identifier missing',
    3000: 'invalid or missing dataToSignType',
    3001: 'invalid or missing dataToSign',
    3002: 'invalid or missing signatureType',
    3003: 'invalid expiry',
    3004: 'invalid pushNotification',
    3005: 'invalid attributesToReturn (signing)',
    3006: 'custom identifier missing (signing)',
    3007: 'invalid title',
  };
  return `Freja code ${code}: ${known[code] ?? 'unknown code'}`;
}
