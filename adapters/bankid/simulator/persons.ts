/** Test persons of the simulated BankID app, and the personal identity number rules BankID applies. */
import { readFileSync } from 'node:fs';

export interface TestPerson {
  /** 12 digits, century included (personnummer or samordningsnummer). */
  personalNumber: string;
  /** All given names, as BankID states them. */
  givenName: string;
  surname: string;
  name: string;
  tags: string[];
}

const DEFAULT_PERSONS_FILE = new URL('../../../fixtures/test-persons.json', import.meta.url);

export function loadTestPersons(file: string | URL = DEFAULT_PERSONS_FILE): TestPerson[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new Error('test persons: expected a JSON array');
  return raw.map((p, i) => {
    const person = p as Partial<TestPerson>;
    if (typeof person.personalNumber !== 'string' || !isValidPersonalNumber(person.personalNumber)) {
      throw new Error(`test persons[${i}]: invalid personalNumber`);
    }
    if (typeof person.givenName !== 'string' || typeof person.surname !== 'string') {
      throw new Error(`test persons[${i}]: givenName and surname are required`);
    }
    return {
      personalNumber: person.personalNumber,
      givenName: person.givenName,
      surname: person.surname,
      name: typeof person.name === 'string' ? person.name : `${person.givenName} ${person.surname}`,
      tags: Array.isArray(person.tags) ? person.tags.map(String) : [],
    };
  });
}

/** Modulus-10 check digit over the nine digits YYMMDDNNN (weights 2,1,2,...; digits of products summed). */
export function luhnCheckDigit(nineDigits: string): number {
  let sum = 0;
  for (let i = 0; i < nineDigits.length; i++) {
    const product = Number(nineDigits[i]) * (i % 2 === 0 ? 2 : 1);
    sum += product > 9 ? product - 9 : product;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * 12 digits (century 18, 19 or 20), a real calendar date (day + 60 for a samordningsnummer),
 * and a correct check digit: what BankID requires of `requirement.personalNumber`.
 */
export function isValidPersonalNumber(value: string): boolean {
  if (!/^(18|19|20)\d{10}$/.test(value)) return false;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(4, 6));
  let day = Number(value.slice(6, 8));
  if (day > 60) day -= 60;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  return luhnCheckDigit(value.slice(2, 11)) === Number(value[11]);
}
