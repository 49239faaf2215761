/**
 * Test persons of the SAML IdP simulator's personas:
 *
 * - Sweden Connect: the Swedish test persons of fixtures/test-persons.json (personnummer and the
 *   samordningsnummer holder), the same list the BankID and Freja simulators offer.
 * - eIDAS: foreign citizens from fixtures/saml/simulator/eidas-persons.json. `prid` and `pridPersistence`
 *   are computed from the eIDAS PersonIdentifier the way the Swedish eIDAS connector constructs them
 *   ("eIDAS Constructed Attributes Specification for the Swedish eID Framework" §2.3–2.4).
 * - Staff: municipal employees from fixtures/saml/simulator/karlstad-staff.json.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parsePersonalNumber } from '../../../src/identity/personnummer.ts';

export interface SwedishPerson {
  /** The personnummer or samordningsnummer (12 digits); also the person's id on the simulator. */
  id: string;
  personalIdentityNumber: string;
  coordinationNumber: boolean;
  givenName: string;
  sn: string;
  displayName: string;
  /** YYYY-MM-DD (for a samordningsnummer the day with 60 subtracted). */
  dateOfBirth: string;
  tags: string[];
}

export type PridAlgorithm = 'default-eIDAS' | 'colresist-eIDAS' | 'special-characters-eIDAS';
export type PridPersistence = 'A' | 'B' | 'C';

export interface ForeignPerson {
  /** Short id on the simulator, e.g. `no-solveig`. The prid is accepted too. */
  id: string;
  /** The eIDAS PersonIdentifier as the foreign node sends it, e.g. `NO/SE/05868941253`. */
  eidasPersonIdentifier: string;
  /** Computed from eidasPersonIdentifier with `pridAlgorithm`. */
  prid: string;
  pridPersistence: PridPersistence;
  pridAlgorithm: PridAlgorithm;
  /** ISO 3166 alpha-2 of the country whose eID was used. */
  c: string;
  givenName: string;
  sn: string;
  dateOfBirth: string;
  birthName?: string;
  placeOfBirth?: string;
  /** M, F or U. */
  gender?: string;
  /** entityID of the foreign eIDAS node (proxy service), put in AuthenticatingAuthority. */
  authenticatingAuthority: string;
  /** A Swedish personnummer or samordningsnummer bound to this eIDAS identity. */
  mappedPersonalIdentityNumber?: string;
  /** The binding process URIs; required with mappedPersonalIdentityNumber. */
  personalIdentityNumberBinding?: string[];
  tags: string[];
}

export interface StaffPerson {
  /** Short id on the simulator, e.g. `lena`. The employee number, mail and eduPersonPrincipalName are accepted too. */
  id: string;
  employeeNumber: string;
  givenName: string;
  sn: string;
  displayName: string;
  mail: string;
  eduPersonPrincipalName: string;
  title?: string;
  /** Organisational unit (förvaltning). */
  department?: string;
  tags: string[];
}

export type SamlTestPerson = SwedishPerson | ForeignPerson | StaffPerson;

export const BINDING_POPULATION_REGISTER = 'http://id.swedenconnect.se/id-binding/process/populationregister';
export const BINDING_SWEDISH_EID = 'http://id.swedenconnect.se/id-binding/process/swedish-eid';

const fixture = (name: string): URL => new URL(`../../../fixtures/${name}`, import.meta.url);

export const DEFAULT_SWEDISH_PERSONS_FILE = fixture('test-persons.json');
export const DEFAULT_FOREIGN_PERSONS_FILE = fixture('saml/simulator/eidas-persons.json');
export const DEFAULT_STAFF_FILE = fixture('saml/simulator/karlstad-staff.json');

function readArray(file: string | URL, what: string): Record<string, unknown>[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new Error(`${what}: expected a JSON array`);
  return raw.map((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error(`${what}[${i}]: expected an object`);
    return p as Record<string, unknown>;
  });
}

function str(p: Record<string, unknown>, key: string, where: string, required = true): string | undefined {
  const v = p[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`${where}.${key}: expected a non-empty string`);
  return v;
}

const tagsOf = (p: Record<string, unknown>): string[] => (Array.isArray(p.tags) ? p.tags.map(String) : []);

/** A Swedish test person from a personal number and names; throws on an invalid number. */
export function swedishPerson(p: { personalNumber: string; givenName: string; surname: string; name?: string; tags?: string[] }): SwedishPerson {
  const parsed = parsePersonalNumber(p.personalNumber);
  if (!parsed) throw new Error(`invalid personal number ${p.personalNumber}`);
  return {
    id: parsed.normalized,
    personalIdentityNumber: parsed.normalized,
    coordinationNumber: parsed.type === 'samordningsnummer',
    givenName: p.givenName,
    sn: p.surname,
    displayName: p.name ?? `${p.givenName} ${p.surname}`,
    dateOfBirth: parsed.birthdate,
    tags: [...(p.tags ?? [])],
  };
}

/** fixtures/test-persons.json format: `{ personalNumber, givenName, surname, name?, tags? }`. */
export function loadSwedishPersons(file: string | URL = DEFAULT_SWEDISH_PERSONS_FILE): SwedishPerson[] {
  return readArray(file, 'test persons').map((p, i) => {
    const where = `test persons[${i}]`;
    return swedishPerson({
      personalNumber: str(p, 'personalNumber', where)!,
      givenName: str(p, 'givenName', where)!,
      surname: str(p, 'surname', where)!,
      ...(typeof p.name === 'string' ? { name: p.name } : {}),
      tags: tagsOf(p),
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// prid (eIDAS Constructed Attributes Specification §2.3)

const PRID_PATTERN = /^[A-Z]{2}:[0-9a-z][0-9a-z-]{8,28}[0-9a-z]$/;

/** Countries whose PersonIdentifier gives pridPersistence A (Appendix A) and B (Appendix B); the rest are C. */
const PERSISTENCE_A = new Set(['DK', 'NO', 'SE']);
const PERSISTENCE_B = new Set(['DE']);

export function pridPersistenceFor(country: string): PridPersistence {
  const c = country.toUpperCase();
  return PERSISTENCE_A.has(c) ? 'A' : PERSISTENCE_B.has(c) ? 'B' : 'C';
}

/** The first `n` digits of the SHA-256 of `s` (UTF-8) as an unsigned big integer in `radix`, without leading zeros. */
function hashDigits(s: string, radix: 16 | 36, n: number): string {
  const value = BigInt(`0x${createHash('sha256').update(s, 'utf8').digest('hex')}`);
  return value.toString(radix).slice(0, n);
}

/**
 * The prid for an eIDAS PersonIdentifier (`CC/SE/identifier`), or undefined when the algorithm fails
 * (prefix not `xx/SE/`, fewer than 8 identifier characters, or for special-characters-eIDAS fewer than 16).
 */
export function computePrid(personIdentifier: string, algorithm: PridAlgorithm = 'default-eIDAS'): string | undefined {
  if (!/^[A-Za-z]{2}\/(SE|se)\//.test(personIdentifier)) return undefined;
  const country = personIdentifier.slice(0, 2).toUpperCase();
  const stripped = personIdentifier.slice(6).replace(/\s+/g, '');
  let component: string;
  if (algorithm === 'special-characters-eIDAS') {
    if (stripped.length < 16) return undefined;
    component = hashDigits(stripped, 36, 30);
  } else {
    let normalized = stripped
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+/, '')
      .replace(/-+$/, '');
    if (normalized.replace(/-/g, '').length < 8) return undefined;
    if (normalized.length < 10) normalized = normalized.padStart(10, '0');
    component = normalized.length > 30 ? hashDigits(stripped, algorithm === 'colresist-eIDAS' ? 36 : 16, 30) : normalized;
  }
  const prid = `${country}:${component}`;
  return PRID_PATTERN.test(prid) ? prid : undefined;
}

export function foreignPerson(p: {
  id: string;
  eidasPersonIdentifier: string;
  pridAlgorithm?: PridAlgorithm;
  givenName: string;
  sn: string;
  dateOfBirth: string;
  birthName?: string;
  placeOfBirth?: string;
  gender?: string;
  authenticatingAuthority: string;
  mappedPersonalIdentityNumber?: string;
  personalIdentityNumberBinding?: string[];
  tags?: string[];
}): ForeignPerson {
  const algorithm = p.pridAlgorithm ?? 'default-eIDAS';
  const prid = computePrid(p.eidasPersonIdentifier, algorithm);
  if (!prid) throw new Error(`${p.id}: no prid can be computed from ${p.eidasPersonIdentifier} with ${algorithm}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(p.dateOfBirth)) throw new Error(`${p.id}: dateOfBirth must be YYYY-MM-DD`);
  if (p.mappedPersonalIdentityNumber !== undefined) {
    if (!parsePersonalNumber(p.mappedPersonalIdentityNumber)) throw new Error(`${p.id}: invalid mappedPersonalIdentityNumber`);
    if (!p.personalIdentityNumberBinding?.length) throw new Error(`${p.id}: mappedPersonalIdentityNumber needs personalIdentityNumberBinding`);
  }
  if (p.gender !== undefined && !/^[MFU]$/i.test(p.gender)) throw new Error(`${p.id}: gender must be M, F or U`);
  const c = prid.slice(0, 2);
  const person: ForeignPerson = {
    id: p.id,
    eidasPersonIdentifier: p.eidasPersonIdentifier,
    prid,
    pridPersistence: pridPersistenceFor(c),
    pridAlgorithm: algorithm,
    c,
    givenName: p.givenName,
    sn: p.sn,
    dateOfBirth: p.dateOfBirth,
    authenticatingAuthority: p.authenticatingAuthority,
    tags: [...(p.tags ?? [])],
  };
  if (p.birthName !== undefined) person.birthName = p.birthName;
  if (p.placeOfBirth !== undefined) person.placeOfBirth = p.placeOfBirth;
  if (p.gender !== undefined) person.gender = p.gender.toUpperCase();
  if (p.mappedPersonalIdentityNumber !== undefined) {
    person.mappedPersonalIdentityNumber = p.mappedPersonalIdentityNumber;
    person.personalIdentityNumberBinding = [...p.personalIdentityNumberBinding!];
  }
  return person;
}

const PRID_ALGORITHMS: readonly string[] = ['default-eIDAS', 'colresist-eIDAS', 'special-characters-eIDAS'];

/** fixtures/saml/simulator/eidas-persons.json. */
export function loadForeignPersons(file: string | URL = DEFAULT_FOREIGN_PERSONS_FILE): ForeignPerson[] {
  return readArray(file, 'eIDAS persons').map((p, i) => {
    const where = `eIDAS persons[${i}]`;
    const algorithm = p.pridAlgorithm ?? 'default-eIDAS';
    if (typeof algorithm !== 'string' || !PRID_ALGORITHMS.includes(algorithm)) throw new Error(`${where}.pridAlgorithm: unknown algorithm`);
    const binding = p.personalIdentityNumberBinding;
    if (binding !== undefined && (!Array.isArray(binding) || !binding.every((b) => typeof b === 'string'))) {
      throw new Error(`${where}.personalIdentityNumberBinding: expected an array of URIs`);
    }
    const opt = (key: string) => str(p, key, where, false);
    const extra: Partial<Parameters<typeof foreignPerson>[0]> = {};
    for (const key of ['birthName', 'placeOfBirth', 'gender', 'mappedPersonalIdentityNumber'] as const) {
      const v = opt(key);
      if (v !== undefined) extra[key] = v;
    }
    if (binding !== undefined) extra.personalIdentityNumberBinding = binding as string[];
    return foreignPerson({
      id: str(p, 'id', where)!,
      eidasPersonIdentifier: str(p, 'eidasPersonIdentifier', where)!,
      pridAlgorithm: algorithm as PridAlgorithm,
      givenName: str(p, 'givenName', where)!,
      sn: str(p, 'sn', where)!,
      dateOfBirth: str(p, 'dateOfBirth', where)!,
      authenticatingAuthority: str(p, 'authenticatingAuthority', where)!,
      tags: tagsOf(p),
      ...extra,
    });
  });
}

/** fixtures/saml/simulator/karlstad-staff.json. */
export function loadStaff(file: string | URL = DEFAULT_STAFF_FILE): StaffPerson[] {
  return readArray(file, 'staff').map((p, i) => {
    const where = `staff[${i}]`;
    const person: StaffPerson = {
      id: str(p, 'id', where)!,
      employeeNumber: str(p, 'employeeNumber', where)!,
      givenName: str(p, 'givenName', where)!,
      sn: str(p, 'sn', where)!,
      displayName: str(p, 'displayName', where)!,
      mail: str(p, 'mail', where)!,
      eduPersonPrincipalName: str(p, 'eduPersonPrincipalName', where)!,
      tags: tagsOf(p),
    };
    if (!/^[^@\s]+@[^@\s]+$/.test(person.mail)) throw new Error(`${where}.mail: not an e-mail address`);
    if (!/^[^@\s]+@[^@\s]+$/.test(person.eduPersonPrincipalName)) throw new Error(`${where}.eduPersonPrincipalName: expected user@scope`);
    const title = str(p, 'title', where, false);
    const department = str(p, 'department', where, false);
    if (title !== undefined) person.title = title;
    if (department !== undefined) person.department = department;
    return person;
  });
}

/** Whether `person` answers to `key` (its id or one of its natural identifiers). */
export function personMatches(person: SamlTestPerson, key: string): boolean {
  if (person.id === key) return true;
  if ('personalIdentityNumber' in person) return person.personalIdentityNumber === key;
  if ('prid' in person) return person.prid === key || person.eidasPersonIdentifier === key;
  return person.employeeNumber === key || person.mail.toLowerCase() === key.toLowerCase() || person.eduPersonPrincipalName.toLowerCase() === key.toLowerCase();
}

/** The label the login page shows for a person. */
export function personLabel(person: SamlTestPerson): { name: string; detail: string } {
  if ('personalIdentityNumber' in person) return { name: person.displayName, detail: person.personalIdentityNumber };
  if ('prid' in person) return { name: `${person.givenName} ${person.sn}`, detail: `${person.c} · ${person.prid}` };
  return { name: person.displayName, detail: `${person.mail} · ${person.employeeNumber}` };
}
