/**
 * One table for every hub error code: the OIDC error it becomes at the RP, the HTTP status of a page
 * or JSON answer, and the default message users see. Adapters may supply a more specific user message
 * (BankID's RFA texts); internal detail goes only to the log.
 */
import { HubError, type HubErrorCode } from './contracts/errors.ts';
import type { Localized } from './contracts/identity.ts';

export { HubError, isHubError, HUB_ERROR_CODES, type HubErrorCode } from './contracts/errors.ts';

export type OidcErrorCode =
  | 'access_denied'
  | 'login_required'
  | 'temporarily_unavailable'
  | 'unmet_authentication_requirements'
  | 'server_error'
  | 'invalid_request';

interface ErrorEntry {
  oidc: OidcErrorCode;
  status: number;
  message: Localized;
}

const UNAVAILABLE: Localized = {
  sv: 'Tjänsten för inloggning svarar inte just nu. Försök igen om en stund.',
  en: 'The sign-in service is not responding right now. Please try again in a moment.',
};

const REGISTRY: Localized = {
  sv: 'Uppgifter från folkbokföringen kan inte hämtas just nu. Försök igen om en stund.',
  en: 'Details from the population register cannot be fetched right now. Please try again in a moment.',
};

export const ERROR_TABLE: Record<HubErrorCode, ErrorEntry> = {
  EID_USER_CANCELLED: { oidc: 'access_denied', status: 200, message: { sv: 'Inloggningen avbröts.', en: 'The sign-in was cancelled.' } },
  EID_EXPIRED: { oidc: 'login_required', status: 200, message: { sv: 'Tiden för inloggningen gick ut. Försök igen.', en: 'The sign-in timed out. Please try again.' } },
  EID_START_FAILED: { oidc: 'login_required', status: 200, message: { sv: 'Inloggningen startades inte i tid. Försök igen.', en: 'The sign-in was not started in time. Please try again.' } },
  EID_ALREADY_IN_PROGRESS: { oidc: 'temporarily_unavailable', status: 409, message: { sv: 'En inloggning pågår redan. Försök igen.', en: 'A sign-in is already in progress. Please try again.' } },
  EID_CERTIFICATE_INVALID: { oidc: 'access_denied', status: 200, message: { sv: 'Din e-legitimation är för gammal eller spärrad.', en: 'Your e-ID is blocked or too old.' } },
  EID_UNSUPPORTED: { oidc: 'access_denied', status: 200, message: { sv: 'Din app behöver uppdateras för att kunna användas här.', en: 'Your app needs to be updated to be used here.' } },
  EID_RISK_BLOCKED: { oidc: 'access_denied', status: 200, message: { sv: 'Inloggningen stoppades av säkerhetsskäl.', en: 'The sign-in was stopped for security reasons.' } },
  EID_UPSTREAM_UNAVAILABLE: { oidc: 'temporarily_unavailable', status: 503, message: UNAVAILABLE },
  EID_UPSTREAM_RATE_LIMITED: { oidc: 'temporarily_unavailable', status: 503, message: UNAVAILABLE },
  EID_RESPONSE_INVALID: { oidc: 'server_error', status: 502, message: { sv: 'Ett tekniskt fel uppstod vid inloggningen. Försök igen.', en: 'A technical error occurred during sign-in. Please try again.' } },
  EID_FAILED: { oidc: 'access_denied', status: 200, message: { sv: 'Inloggningen misslyckades. Försök igen.', en: 'The sign-in failed. Please try again.' } },
  TRANSACTION_NOT_FOUND: { oidc: 'login_required', status: 404, message: { sv: 'Inloggningen finns inte längre. Börja om från tjänsten du kom från.', en: 'This sign-in no longer exists. Please start again from the service you came from.' } },
  TRANSACTION_MISMATCH: { oidc: 'access_denied', status: 403, message: { sv: 'Inloggningen påbörjades i en annan webbläsare.', en: 'This sign-in was started in another browser.' } },
  TRANSACTION_LINK_INVALID: {
    oidc: 'access_denied',
    status: 403,
    message: { sv: 'Länken är ogiltig eller för gammal. Gå tillbaka till tjänsten och börja om.', en: 'The link is not valid or too old. Go back to the service and start again.' },
  },
  TENANT_MISMATCH: {
    oidc: 'access_denied',
    status: 403,
    message: {
      sv: 'Den här inloggningen för personal gäller bara kommunens egna tjänster. Logga in på ett annat sätt.',
      en: "This staff sign-in is valid only for the municipality's own services. Sign in another way.",
    },
  },
  TRANSACTION_REPLAYED: { oidc: 'access_denied', status: 409, message: { sv: 'Inloggningen är redan slutförd.', en: 'This sign-in has already been completed.' } },
  REGISTRY_UNAVAILABLE: { oidc: 'temporarily_unavailable', status: 503, message: REGISTRY },
  REGISTRY_REJECTED: { oidc: 'temporarily_unavailable', status: 503, message: REGISTRY },
  REGISTRY_RESPONSE_INVALID: { oidc: 'temporarily_unavailable', status: 503, message: REGISTRY },
  REGISTRY_PERSON_DEREGISTERED: {
    oidc: 'access_denied',
    status: 403,
    message: { sv: 'Inloggningen kan inte slutföras här. Kontakta kommunen om du behöver hjälp.', en: 'The sign-in cannot be completed here. Contact the municipality if you need help.' },
  },
  CONFIG_INVALID: { oidc: 'server_error', status: 500, message: { sv: 'Tjänsten är felaktigt konfigurerad.', en: 'The service is misconfigured.' } },
  STORE_UNAVAILABLE: { oidc: 'temporarily_unavailable', status: 503, message: UNAVAILABLE },
  RATE_LIMITED: {
    oidc: 'temporarily_unavailable',
    status: 429,
    message: { sv: 'För många inloggningsförsök. Vänta en stund och försök sedan igen.', en: 'Too many sign-in attempts. Please wait a while and try again.' },
  },
  INTERNAL: { oidc: 'server_error', status: 500, message: { sv: 'Ett internt fel uppstod. Försök igen.', en: 'An internal error occurred. Please try again.' } },
};

export function toHubError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  return new HubError('INTERNAL', { detail: err instanceof Error ? err.message : String(err), cause: err });
}

export function userMessageOf(err: HubError): Localized {
  return err.userMessage ?? ERROR_TABLE[err.code].message;
}

export function toOidcError(err: HubError): { error: OidcErrorCode; error_description: string } {
  const entry = ERROR_TABLE[err.code];
  return { error: entry.oidc, error_description: entry.message.en };
}
