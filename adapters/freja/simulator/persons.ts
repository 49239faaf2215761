/**
 * Test persons of the simulated Freja eID service: the same list the BankID simulator offers
 * (fixtures/test-persons.json), each with a Freja registration level.
 */
import { readFileSync } from 'node:fs';
import { parsePersonalNumber } from '../../../src/identity/personnummer.ts';

export type RegistrationLevel = 'BASIC' | 'EXTENDED' | 'PLUS';

export const REGISTRATION_LEVEL_ORDER: Readonly<Record<RegistrationLevel, number>> = { BASIC: 0, EXTENDED: 1, PLUS: 2 };

export const isRegistrationLevel = (v: unknown): v is RegistrationLevel => v === 'BASIC' || v === 'EXTENDED' || v === 'PLUS';

export interface TestPerson {
  /** 12 digits, century included (personnummer or samordningsnummer). */
  personalNumber: string;
  /** All given names. */
  givenName: string;
  surname: string;
  name: string;
  tags: string[];
}

export interface FrejaPerson extends TestPerson {
  registrationLevel: RegistrationLevel;
  /** The person has turned the relying party's service off in the app (Freja error 1005). */
  serviceDisabled: boolean;
}

/**
 * Everyone is Freja eID+ (PLUS) except Sigrid Sekelsdotter (189912300085), who has Freja eID Extended:
 * verified with an ID document, never at an in-person check. She is the person to try an RP that
 * requires PLUS with.
 */
export const DEFAULT_REGISTRATION_LEVELS: Readonly<Record<string, RegistrationLevel>> = { '189912300085': 'EXTENDED' };

const DEFAULT_PERSONS_FILE = new URL('../../../fixtures/test-persons.json', import.meta.url);

export function loadTestPersons(file: string | URL = DEFAULT_PERSONS_FILE): TestPerson[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new Error('test persons: expected a JSON array');
  return raw.map((p, i) => {
    const person = p as Partial<TestPerson>;
    if (!parsePersonalNumber(person.personalNumber)) throw new Error(`test persons[${i}]: invalid personalNumber`);
    if (typeof person.givenName !== 'string' || typeof person.surname !== 'string') {
      throw new Error(`test persons[${i}]: givenName and surname are required`);
    }
    return {
      personalNumber: person.personalNumber!,
      givenName: person.givenName,
      surname: person.surname,
      name: typeof person.name === 'string' ? person.name : `${person.givenName} ${person.surname}`,
      tags: Array.isArray(person.tags) ? person.tags.map(String) : [],
    };
  });
}

export function frejaPersons(
  persons: TestPerson[],
  levels: Readonly<Record<string, RegistrationLevel>> = DEFAULT_REGISTRATION_LEVELS,
  serviceDisabledFor: readonly string[] = [],
): FrejaPerson[] {
  for (const [pnr, level] of Object.entries(levels)) {
    if (!isRegistrationLevel(level)) throw new Error(`registrationLevels[${pnr}]: expected BASIC, EXTENDED or PLUS`);
  }
  return persons.map((p) => ({
    ...p,
    tags: [...p.tags],
    registrationLevel: levels[p.personalNumber] ?? 'PLUS',
    serviceDisabled: serviceDisabledFor.includes(p.personalNumber),
  }));
}
