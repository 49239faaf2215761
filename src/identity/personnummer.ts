/**
 * Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).
 * Normalised form: 12 digits with century, no separator. Luhn over the 10-digit form (Skatteverket).
 */
import type { SubjectType } from '../contracts/identity.ts';

export interface ParsedPersonalNumber {
  normalized: string;
  type: SubjectType;
  /** ISO date of birth (for a samordningsnummer the day with 60 subtracted). */
  birthdate: string;
}

export function luhnCheckDigit(nineDigits: string): number {
  let sum = 0;
  for (let i = 0; i < nineDigits.length; i++) {
    let d = nineDigits.charCodeAt(i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * Parses a 12-digit number (as BankID, Freja and the Swedish OIDC profile carry it). Returns undefined
 * for anything else: wrong length, not a real date, wrong check digit.
 */
export function parsePersonalNumber(value: unknown): ParsedPersonalNumber | undefined {
  if (typeof value !== 'string' || !/^(18|19|20)\d{10}$/.test(value)) return undefined;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(4, 6));
  let day = Number(value.slice(6, 8));
  let type: SubjectType = 'personnummer';
  if (day > 60) {
    day -= 60;
    type = 'samordningsnummer';
  }
  if (!isRealDate(year, month, day)) return undefined;
  if (luhnCheckDigit(value.slice(2, 11)) !== Number(value[11])) return undefined;
  const birthdate = `${value.slice(0, 4)}-${value.slice(4, 6)}-${String(day).padStart(2, '0')}`;
  return { normalized: value, type, birthdate };
}
