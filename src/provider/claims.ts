/** The Swedish OIDC profile's scopes and claims, and where each claim goes. */
import { REGISTRY_CLAIM_SCOPES } from '../registry/claims.ts';

export const SCOPE_NATURAL_PERSON_NUMBER = 'https://id.oidc.se/scope/naturalPersonNumber';
export const SCOPE_NATURAL_PERSON_INFO = 'https://id.oidc.se/scope/naturalPersonInfo';
export const CLAIM_PERSONAL_IDENTITY_NUMBER = 'https://id.oidc.se/claim/personalIdentityNumber';
export const CLAIM_COORDINATION_NUMBER = 'https://id.oidc.se/claim/coordinationNumber';
export const CLAIM_AUTHN_PROVIDER = 'https://id.oidc.se/claim/authnProvider';
export const PARAM_AUTHN_PROVIDER = 'https://id.oidc.se/param/authnProvider';
export const PARAM_USER_MESSAGE = 'https://id.oidc.se/param/userMessage';

/** MIME types of a `userMessage` the hub can have shown (BankID shows text and its simple Markdown). */
export const USER_MESSAGE_MIME_TYPES = ['text/plain', 'text/markdown'] as const;

export interface UserMessage {
  /** Decoded text per language tag (`''` for the untagged `message`). */
  texts: Record<string, string>;
  mimeType: (typeof USER_MESSAGE_MIME_TYPES)[number];
}

/** Largest decoded message accepted (BankID shows at most 40 000 base64 characters, about 30 KB). */
const USER_MESSAGE_MAX_BYTES = 4096;

/**
 * Reads the `userMessage` parameter (Authentication Request Parameter Extensions 1.1): a JSON object
 * with `message` and/or `message#<lang>` (base64 of UTF-8 text) and `mime_type`. Throws an Error whose
 * message says what is wrong (the caller turns it into `invalid_request`).
 */
export function parseUserMessage(value: unknown): UserMessage | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    throw new Error('userMessage must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('userMessage must be a JSON object');
  const o = parsed as Record<string, unknown>;
  const mimeType = o.mime_type ?? 'text/plain';
  if (!USER_MESSAGE_MIME_TYPES.includes(mimeType as UserMessage['mimeType'])) throw new Error(`userMessage mime_type ${String(mimeType)} is not supported`);
  const texts: Record<string, string> = {};
  for (const [key, v] of Object.entries(o)) {
    const m = /^message(?:#([a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{1,8})*))?$/.exec(key);
    if (!m) continue;
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new Error(`userMessage ${key} must be base64`);
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length === 0 || bytes.length > USER_MESSAGE_MAX_BYTES) throw new Error(`userMessage ${key} must be 1 to ${USER_MESSAGE_MAX_BYTES} bytes`);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: false });
    if (mimeType === 'text/markdown' && /<\/?[a-zA-Z!]/.test(text)) throw new Error('userMessage markdown must not contain HTML');
    texts[(m[1] ?? '').toLowerCase()] = text;
  }
  if (Object.keys(texts).length === 0) throw new Error('userMessage has no message');
  return { texts, mimeType: mimeType as UserMessage['mimeType'] };
}

/** The message in `lang`, else the untagged one, else any. */
export function userMessageIn(message: UserMessage, lang: string): string {
  return message.texts[lang] ?? message.texts[''] ?? Object.values(message.texts)[0]!;
}

/** Sweden Connect's eIDAS claims and scopes (OpenID Connect Claims and Scopes Specification 1.0). */
export const SCOPE_EIDAS_NATURAL_PERSON = 'https://id.swedenconnect.se/scope/eidasNaturalPersonIdentity';
export const SCOPE_EIDAS_SWEDISH_IDENTITY = 'https://id.swedenconnect.se/scope/eidasSwedishIdentity';
export const CLAIM_EIDAS_PRID = 'https://id.swedenconnect.se/claim/prid';
export const CLAIM_EIDAS_PRID_PERSISTENCE = 'https://id.swedenconnect.se/claim/pridPersistence';
export const CLAIM_EIDAS_PERSON_IDENTIFIER = 'https://id.swedenconnect.se/claim/eidasPersonIdentifier';
export const CLAIM_EIDAS_COUNTRY = 'https://id.swedenconnect.se/claim/eidasCountry';
export const CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER = 'https://id.swedenconnect.se/claim/mappedPersonalIdentityNumber';
export const CLAIM_MAPPED_COORDINATION_NUMBER = 'https://id.swedenconnect.se/claim/mappedCoordinationNumber';
export const CLAIM_IDENTITY_BINDING = 'https://id.swedenconnect.se/claim/identityBinding';

/** Staff of a municipality (from its staff IdP): the hub's own scope and claim. */
export const SCOPE_STAFF = 'urn:idnav:scope:staff';
export const CLAIM_STAFF = 'urn:idnav:claim:staff';

const NAME_CLAIMS = ['name', 'family_name', 'given_name', 'middle_name', 'birthdate'];

/** oidc-provider's `claims` configuration: scope -> claims it releases. */
export const CLAIMS_CONFIG: Record<string, string[] | null> = {
  // acr, amr and auth_time are only released when a scope lists them.
  openid: ['sub', 'acr', 'amr', 'auth_time', CLAIM_AUTHN_PROVIDER],
  profile: NAME_CLAIMS,
  [SCOPE_NATURAL_PERSON_INFO]: NAME_CLAIMS,
  [SCOPE_NATURAL_PERSON_NUMBER]: [CLAIM_PERSONAL_IDENTITY_NUMBER, CLAIM_COORDINATION_NUMBER],
  [SCOPE_EIDAS_NATURAL_PERSON]: [CLAIM_EIDAS_PRID, CLAIM_EIDAS_PRID_PERSISTENCE, CLAIM_EIDAS_PERSON_IDENTIFIER, CLAIM_EIDAS_COUNTRY],
  [SCOPE_EIDAS_SWEDISH_IDENTITY]: [CLAIM_MAPPED_PERSONAL_IDENTITY_NUMBER, CLAIM_MAPPED_COORDINATION_NUMBER, CLAIM_IDENTITY_BINDING],
  email: ['email'],
  [SCOPE_STAFF]: [CLAIM_STAFF],
  // Population-registry claims (src/registry/claims.ts): UserInfo by scope, either destination by `claims`.
  ...Object.fromEntries(Object.entries(REGISTRY_CLAIM_SCOPES).map(([claim, scope]) => [scope, [claim]])),
};

export const SCOPES = [
  'openid',
  'offline_access',
  'profile',
  SCOPE_NATURAL_PERSON_INFO,
  SCOPE_NATURAL_PERSON_NUMBER,
  SCOPE_EIDAS_NATURAL_PERSON,
  SCOPE_EIDAS_SWEDISH_IDENTITY,
  'email',
  SCOPE_STAFF,
  ...Object.values(REGISTRY_CLAIM_SCOPES),
];

/** Claims a scope puts in the ID token as well as UserInfo (the rest of a scope's claims go to UserInfo only). */
const ID_TOKEN_BY_SCOPE: Readonly<Record<string, string>> = {
  [CLAIM_PERSONAL_IDENTITY_NUMBER]: SCOPE_NATURAL_PERSON_NUMBER,
  [CLAIM_COORDINATION_NUMBER]: SCOPE_NATURAL_PERSON_NUMBER,
  [CLAIM_EIDAS_PRID]: SCOPE_EIDAS_NATURAL_PERSON,
  [CLAIM_EIDAS_PRID_PERSISTENCE]: SCOPE_EIDAS_NATURAL_PERSON,
};

export type ClaimsRequest = { id_token?: Record<string, unknown> | null; userinfo?: Record<string, unknown> | null };

/**
 * Claims for one destination. Rules of the profile: a `claims` parameter's destination wins; then scope
 * rules (naturalPersonNumber -> ID token and UserInfo; naturalPersonInfo and profile -> UserInfo); the
 * identity number only for clients allowed the naturalPersonNumber scope.
 */
export function claimsFor(
  use: 'id_token' | 'userinfo',
  scopes: ReadonlySet<string>,
  request: ClaimsRequest | undefined,
  person: Record<string, unknown>,
  allowIdentityNumber: boolean,
  allowedScopes?: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const numberClaims = new Set([CLAIM_PERSONAL_IDENTITY_NUMBER, CLAIM_COORDINATION_NUMBER]);
  const requestedHere = request?.[use] ?? {};
  const requestedElsewhere = request?.[use === 'id_token' ? 'userinfo' : 'id_token'] ?? {};
  for (const [claim, value] of Object.entries(person)) {
    if (value === undefined) continue;
    if (numberClaims.has(claim) && !allowIdentityNumber) continue;
    // A claim is released only to a client allowed one of its scopes, also when the claims parameter
    // asks for it without the scope.
    if (allowedScopes && !claimAllowed(claim, allowedScopes)) continue;
    if (claim in requestedHere) {
      out[claim] = value;
      continue;
    }
    if (claim in requestedElsewhere) continue; // the claims parameter named another destination
    if (claim === CLAIM_AUTHN_PROVIDER) {
      // Authentication information belongs in the ID token, not UserInfo (claims specification 1.0).
      if (use === 'id_token') out[claim] = value;
    } else if (use === 'userinfo') {
      out[claim] = value; // the provider masks by granted scope
    } else if (ID_TOKEN_BY_SCOPE[claim] && scopes.has(ID_TOKEN_BY_SCOPE[claim]!)) {
      out[claim] = value;
    }
  }
  return out;
}

/** Claim -> the scopes that carry it (from {@link CLAIMS_CONFIG}). */
const SCOPES_OF_CLAIM: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, string[]>();
  for (const [scope, claims] of Object.entries(CLAIMS_CONFIG)) {
    for (const claim of claims ?? []) out.set(claim, [...(out.get(claim) ?? []), scope]);
  }
  return out;
})();

/** Whether a client allowed `allowedScopes` (besides `openid`) may receive `claim`. */
export function claimAllowed(claim: string, allowedScopes: readonly string[]): boolean {
  const scopes = SCOPES_OF_CLAIM.get(claim);
  if (!scopes) return false; // not a claim of any scope: never released
  return scopes.some((s) => s === 'openid' || allowedScopes.includes(s));
}
