/** What an e-ID adapter proves about the person who signed in. */

export type SubjectType = 'personnummer' | 'samordningsnummer';

export interface Identity {
  /** The kind of subject identifier. */
  subjectType: SubjectType;
  /** The normalised subject: 12 digits, century included, no separator. */
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
}

/** Text in both languages of the login pages. */
export interface Localized {
  sv: string;
  en: string;
}
