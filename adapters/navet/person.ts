/**
 * One Navet `Folkbokforingspost` -> the hub's {@link Person}. Pure; throws {@link InvalidXml} when the
 * post does not have the structure it must have. Messages name elements, never values.
 */
import type {
  Deregistration,
  DeregistrationReason,
  Person,
  PersonName,
  PostalAddress,
  Registration,
  RegistryField,
  Relation,
  RelationType,
} from '../../src/contracts/registry.ts';
import type { SubjectType } from '../../src/contracts/identity.ts';
import { InvalidXml, child, element, leafText, type XmlNode } from './soap.ts';

/**
 * Navet's "ofullständigt datum": YYYYMMDD where unknown parts are 00. Returns `YYYY-MM-DD`, `YYYY-MM`,
 * `YYYY`, or undefined when nothing is known (0 or 00000000).
 */
export function incompleteDate(value: string | undefined, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (/^0+$/.test(value)) return undefined;
  if (!/^\d{8}$/.test(value)) throw new InvalidXml(`${where}: not a date of 8 digits`);
  const [y, m, d] = [value.slice(0, 4), value.slice(4, 6), value.slice(6, 8)];
  if (y === '0000') return undefined;
  if (Number(m) > 12 || Number(d) > 31) throw new InvalidXml(`${where}: not a date`);
  if (m === '00') return y;
  if (d === '00') return `${y}-${m}`;
  return `${y}-${m}-${d}`;
}

/**
 * The calling name (tilltalsnamn) from `Tilltalsnamnsmarkering`, in the adapter's reading of the code:
 * the first digit is the 1-based position of the calling name among the given names; a non-zero second
 * digit is the position of a second given name joined to the first with a hyphen (`12` on "Anna Karin"
 * -> "Anna-Karin"). Undefined when there is no usable code.
 */
export function callingName(givenNames: string | undefined, code: string | undefined): string | undefined {
  if (!givenNames || !code || !/^[1-9]\d$/.test(code)) return undefined;
  const names = givenNames.split(/\s+/);
  const first = names[Number(code[0]) - 1];
  if (!first) return undefined;
  if (code[1] === '0') return first;
  const second = names[Number(code[1]) - 1];
  return second ? `${first}-${second}` : undefined;
}

let countryCodes: Map<string, string> | undefined;

/** Swedish (as Navet writes `Land`) and English country names -> ISO 3166-1 alpha-2, from the ICU data. */
function countryCodeOf(land: string): string | undefined {
  if (!countryCodes) {
    countryCodes = new Map();
    const names = ['sv', 'en'].map((l) => new Intl.DisplayNames([l], { type: 'region', fallback: 'none' }));
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        // User-assigned ranges and groupings (EU, UN, ...) are not countries; aliases (UK, DD) are not canonical.
        if (/^(AA|Q[M-Z]|X.|ZZ|EU|EZ|UN)$/.test(code) || Intl.getCanonicalLocales(`und-${code}`)[0] !== `und-${code}`) continue;
        for (const dn of names) {
          let name: string | undefined;
          try {
            name = dn.of(code);
          } catch {
            name = undefined;
          }
          if (name) countryCodes.set(normaliseCountry(name), code);
        }
        countryCodes.set(code, code);
      }
    }
  }
  return countryCodes.get(normaliseCountry(land));
}

function normaliseCountry(name: string): string {
  return name.normalize('NFC').toLocaleUpperCase('sv').replace(/\s+/g, ' ').trim();
}

const RELATION_TYPES: Record<string, RelationType> = {
  VF: 'custody-of',
  V: 'guardian',
  B: 'child',
  MO: 'mother',
  FA: 'father',
  F: 'parent',
  M: 'spouse',
  P: 'partner',
};

const DEREGISTRATION_REASONS: Record<string, DeregistrationReason> = { AV: 'deceased', UV: 'emigrated' };

function flag(v: unknown, where: string): boolean {
  const text = leafText(v, where);
  if (text === undefined || text === 'N') return false;
  if (text === 'J') return true;
  throw new InvalidXml(`${where}: expected J or N`);
}

function twelveDigits(v: unknown, where: string): string | undefined {
  const text = leafText(v, where);
  if (text !== undefined && !/^\d{12}$/.test(text)) throw new InvalidXml(`${where}: not 12 digits`);
  return text;
}

function nameOf(node: XmlNode | undefined, where: string): PersonName | undefined {
  if (!node) return undefined;
  const given = leafText(child(node, 'Fornamn', where), `${where}.Fornamn`);
  const middle = leafText(child(node, 'Mellannamn', where), `${where}.Mellannamn`);
  const family = leafText(child(node, 'Efternamn', where), `${where}.Efternamn`);
  const calling = callingName(given, leafText(child(node, 'Tilltalsnamnsmarkering', where), `${where}.Tilltalsnamnsmarkering`));
  const name: PersonName = {};
  if (given) name.givenNames = given;
  if (calling) name.callingName = calling;
  if (middle) name.middleName = middle;
  if (family) name.familyName = family;
  return Object.keys(name).length ? name : undefined;
}

function deregistrationOf(node: XmlNode | undefined, where: string): Deregistration | undefined {
  if (!node) return undefined;
  const code = leafText(child(node, 'AvregistreringsorsakKod', where), `${where}.AvregistreringsorsakKod`);
  const date = incompleteDate(leafText(child(node, 'Avregistreringsdatum', where), `${where}.Avregistreringsdatum`), `${where}.Avregistreringsdatum`);
  if (code === undefined && date === undefined) return undefined;
  const out: Deregistration = { reason: (code && DEREGISTRATION_REASONS[code]) || 'other', code: code ?? '' };
  if (date) out.date = date;
  return out;
}

function swedishAddress(node: XmlNode, where: string): PostalAddress | undefined {
  const get = (name: string) => leafText(child(node, name, where), `${where}.${name}`);
  const careOf = get('CareOf');
  const lines = [get('Utdelningsadress1'), get('Utdelningsadress2')].filter((l): l is string => !!l);
  const postalCode = get('PostNr');
  const locality = get('Postort');
  if (!careOf && !lines.length && !postalCode && !locality) return undefined;
  const address: PostalAddress = { streetLines: lines };
  if (careOf) address.careOf = careOf;
  if (postalCode) address.postalCode = postalCode;
  if (locality) address.locality = locality;
  return address;
}

/** Lines as given; `Land` becomes `country` when it names a known country, else it is kept as the last line. */
function foreignAddress(node: XmlNode, where: string): PostalAddress | undefined {
  const get = (name: string) => leafText(child(node, name, where), `${where}.${name}`);
  const lines = [get('Utdelningsadress1'), get('Utdelningsadress2'), get('Utdelningsadress3')].filter((l): l is string => !!l);
  const land = get('Land');
  if (!lines.length && !land) return undefined;
  const address: PostalAddress = { streetLines: lines };
  if (land) {
    const code = countryCodeOf(land);
    if (code) address.country = code;
    else lines.push(land);
  }
  return address;
}

function addressOf(personpost: XmlNode): PostalAddress | undefined {
  const adresser = element(child(personpost, 'Adresser', 'Personpost'), 'Adresser');
  if (!adresser) return undefined;
  const home = element(child(adresser, 'Folkbokforingsadress', 'Adresser'), 'Folkbokforingsadress');
  const homeAddress = home && swedishAddress(home, 'Folkbokforingsadress');
  if (homeAddress) return homeAddress;
  const abroad = element(child(adresser, 'Utlandsadress', 'Adresser'), 'Utlandsadress');
  return abroad && foreignAddress(abroad, 'Utlandsadress');
}

function registrationOf(personpost: XmlNode): Registration | undefined {
  const node = element(child(personpost, 'Folkbokforing', 'Personpost'), 'Folkbokforing');
  if (!node) return undefined;
  const where = 'Folkbokforing';
  const lan = leafText(child(node, 'LanKod', where), `${where}.LanKod`);
  const kommun = leafText(child(node, 'KommunKod', where), `${where}.KommunKod`);
  const since = incompleteDate(leafText(child(node, 'Folkbokforingsdatum', where), `${where}.Folkbokforingsdatum`), `${where}.Folkbokforingsdatum`);
  if (lan === undefined || kommun === undefined) return undefined;
  if (!/^\d{2}$/.test(lan) || !/^\d{2}$/.test(kommun)) throw new InvalidXml(`${where}: LanKod and KommunKod must be 2 digits each`);
  const registration: Registration = { countyCode: lan, municipalityCode: `${lan}${kommun}` };
  if (since) registration.since = since;
  return registration;
}

function relationsOf(personpost: XmlNode): Relation[] {
  const node = element(child(personpost, 'Relationer', 'Personpost'), 'Relationer');
  if (!node) return [];
  const list = (node.Relation ?? []) as unknown[];
  return list.map((raw, i) => {
    const where = `Relation[${i}]`;
    const r = element(raw, where);
    if (!r) throw new InvalidXml(`${where} is empty`);
    const code = leafText(child(r, 'Relationstyp', where), `${where}.Relationstyp`);
    if (!code) throw new InvalidXml(`${where} has no Relationstyp`);
    const relation: Relation = { type: RELATION_TYPES[code] ?? 'other', code };
    const id = element(child(r, 'RelationId', where), `${where}.RelationId`);
    if (id) {
      const personalNumber = twelveDigits(child(id, 'PersonNr', `${where}.RelationId`), `${where}.RelationId.PersonNr`);
      const birth = leafText(child(id, 'FodelsetidNr', `${where}.RelationId`), `${where}.RelationId.FodelsetidNr`);
      if (personalNumber) relation.personalNumber = personalNumber;
      else if (birth) {
        // The adapter's reading: the first eight digits of FodelsetidNr are the date of birth.
        if (!/^\d{8,12}$/.test(birth)) throw new InvalidXml(`${where}.RelationId.FodelsetidNr: not 8 to 12 digits`);
        const birthdate = incompleteDate(birth.slice(0, 8), `${where}.RelationId.FodelsetidNr`);
        if (birthdate) relation.birthdate = birthdate;
      }
    }
    const name = nameOf(element(child(r, 'Namn', where), `${where}.Namn`), `${where}.Namn`);
    if (name) relation.name = name;
    const from = incompleteDate(leafText(child(r, 'RelationFromdatum', where), `${where}.RelationFromdatum`), `${where}.RelationFromdatum`);
    const to = incompleteDate(leafText(child(r, 'RelationTomdatum', where), `${where}.RelationTomdatum`), `${where}.RelationTomdatum`);
    if (from) relation.from = from;
    if (to) relation.to = to;
    if (element(child(r, 'Avregistrering', where), `${where}.Avregistrering`)) relation.deregistered = true;
    return relation;
  });
}

/** The number a post is about (`PersonId/PersonNr` or `PersonId/TilldelatPersonNrSamordningsNr`). */
export function postPersonId(post: XmlNode): string | undefined {
  const personpost = element(child(post, 'Personpost', 'Folkbokforingspost'), 'Personpost');
  const id = personpost && element(child(personpost, 'PersonId', 'Personpost'), 'PersonId');
  if (!id) return undefined;
  return twelveDigits(child(id, 'PersonNr', 'PersonId'), 'PersonId.PersonNr') ?? twelveDigits(child(id, 'TilldelatPersonNrSamordningsNr', 'PersonId'), 'PersonId.TilldelatPersonNrSamordningsNr');
}

export interface RequestedPerson {
  personalNumber: string;
  subjectType: SubjectType;
  birthdate: string;
}

/**
 * Maps one post about `requested` to a Person with the requested fields (identity, protection,
 * deregistration and reference are always included). The caller has checked the post's PersonId.
 */
export function personOf(post: XmlNode, requested: RequestedPerson, fields: readonly RegistryField[]): Person {
  const personpost = element(child(post, 'Personpost', 'Folkbokforingspost'), 'Personpost');
  if (!personpost) throw new InvalidXml('Folkbokforingspost has no Personpost');
  const person: Person = {
    personalNumber: requested.personalNumber,
    subjectType: requested.subjectType,
    protection: {
      protectedRegistration: flag(child(post, 'SkyddadFolkbokforing', 'Folkbokforingspost'), 'SkyddadFolkbokforing'),
      confidentialityMarking: flag(child(post, 'Sekretessmarkering', 'Folkbokforingspost'), 'Sekretessmarkering'),
    },
    birthdate: requested.birthdate,
  };
  const deregistration = deregistrationOf(element(child(personpost, 'Avregistrering', 'Personpost'), 'Avregistrering'), 'Avregistrering');
  if (deregistration) person.deregistration = deregistration;
  const referredTo = twelveDigits(child(personpost, 'HanvisningsPersonNr', 'Personpost'), 'HanvisningsPersonNr');
  if (referredTo) person.referredTo = referredTo;

  if (fields.includes('name')) {
    const name = nameOf(element(child(personpost, 'Namn', 'Personpost'), 'Namn'), 'Namn');
    if (name) person.name = name;
  }
  if (fields.includes('address')) {
    const address = addressOf(personpost);
    if (address) person.address = address;
  }
  if (fields.includes('registration')) {
    const registration = registrationOf(personpost);
    if (registration) person.registration = registration;
  }
  if (fields.includes('relations')) person.relations = relationsOf(personpost);
  return person;
}
