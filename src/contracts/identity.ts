/** What an e-ID adapter proves about the person who signed in. */

/**
 * The kind of subject identifier: a Swedish personal identity or coordination number, an eIDAS
 * person identifier (`prid`, for a citizen of another EU country), or a municipality's staff member.
 */
export type SubjectType = 'personnummer' | 'samordningsnummer' | 'eidas' | 'staff';

/** What the Swedish eIDAS connector says about a foreign citizen (Sweden Connect attribute names). */
export interface EidasAttributes {
  /** ISO 3166-1 alpha-2 of the country that authenticated the person. */
  country: string;
  /** Sweden Connect's provisional ID, e.g. `NO:05068907693`. */
  prid: string;
  /** A (as stable as a personnummer), B or C. */
  pridPersistence: string;
  /** The eIDAS person identifier as the foreign node gave it. */
  personIdentifier: string;
  /** A Swedish number bound to this identity by the Identity Binding Service, and the binding processes. */
  mappedPersonalIdentityNumber?: string;
  personalIdentityNumberBinding?: string[];
}

/** A staff member of one municipality, from that municipality's own IdP. */
export interface StaffAttributes {
  /** The tenant whose IdP vouched for the person; the identity is valid for that tenant's clients only. */
  tenant: string;
  /** The configured employee id attribute's value (the subject within the tenant). */
  employeeId: string;
  mail?: string;
  eduPersonPrincipalName?: string;
}

export interface Identity {
  /** The kind of subject identifier. */
  subjectType: SubjectType;
  /**
   * The normalised subject: for personnummer and samordningsnummer 12 digits, century included, no
   * separator; for eIDAS the `prid`; for staff the tenant's employee id.
   */
  subject: string;
  givenName?: string;
  familyName?: string;
  /** Full name as the e-ID states it. */
  name?: string;
  /** ISO date (YYYY-MM-DD). */
  birthdate?: string;
  /** The method URI that proved it, e.g. `urn:idnav:method:bankid`. */
  method: string;
  /** Authentication context class reference (LoA URI). */
  acr: string;
  /** Authentication methods references (RFC 8176 values where they fit). */
  amr: string[];
  /** Epoch seconds of the e-ID authentication. */
  authTime: number;
  /** Proof kept for audit (signatures, OCSP responses); never released in tokens. */
  evidence?: Record<string, string>;
  /** For `eidas` subjects. */
  eidas?: EidasAttributes;
  /** For `staff` subjects. */
  staff?: StaffAttributes;
}

/** Text in both languages of the login pages. */
export interface Localized {
  sv: string;
  en: string;
}
