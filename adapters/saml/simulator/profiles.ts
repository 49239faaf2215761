/**
 * The three kinds of IdP the simulator plays, and what each releases:
 *
 * - `sweden-connect`: a Sweden Connect IdP for Swedish eIDs (ELN-AP-Pnr-01).
 * - `eidas`: the Swedish eIDAS connector, "Utländsk e-legitimation" (ELN-AP-eIDAS-NatPer-01).
 * - `staff`: a municipality's staff IdP such as AD FS. Its attributes are the simulator's own choice:
 *   LDAP/eduPerson OIDs with the URI name format (what AD FS sends when its claim rules use these names).
 */
import { randomBytes } from 'node:crypto';
import type { AcceptedAuthnRequest } from './authn-request.ts';
import type { ForeignPerson, SamlTestPerson, StaffPerson, SwedishPerson } from './persons.ts';
import type { SamlAttribute } from './response.ts';

export type SamlProfile = 'eidas' | 'sweden-connect' | 'staff';

export const LOA = {
  loa2: 'http://id.elegnamnden.se/loa/1.0/loa2',
  loa3: 'http://id.elegnamnden.se/loa/1.0/loa3',
  loa4: 'http://id.elegnamnden.se/loa/1.0/loa4',
  eidasLow: 'http://id.elegnamnden.se/loa/1.0/eidas-low',
  eidasSub: 'http://id.elegnamnden.se/loa/1.0/eidas-sub',
  eidasHigh: 'http://id.elegnamnden.se/loa/1.0/eidas-high',
  eidasNfLow: 'http://id.elegnamnden.se/loa/1.0/eidas-nf-low',
  eidasNfSub: 'http://id.elegnamnden.se/loa/1.0/eidas-nf-sub',
  eidasNfHigh: 'http://id.elegnamnden.se/loa/1.0/eidas-nf-high',
} as const;

/** Attribute names (all with NameFormat uri). */
export const ATTR = {
  sn: 'urn:oid:2.5.4.4',
  givenName: 'urn:oid:2.5.4.42',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  personalIdentityNumber: 'urn:oid:1.2.752.29.4.13',
  dateOfBirth: 'urn:oid:1.3.6.1.5.5.7.9.1',
  placeOfBirth: 'urn:oid:1.3.6.1.5.5.7.9.2',
  gender: 'urn:oid:1.3.6.1.5.5.7.9.3',
  c: 'urn:oid:2.5.4.6',
  transactionIdentifier: 'urn:oid:1.2.752.201.3.2',
  prid: 'urn:oid:1.2.752.201.3.4',
  pridPersistence: 'urn:oid:1.2.752.201.3.5',
  personalIdentityNumberBinding: 'urn:oid:1.2.752.201.3.6',
  eidasPersonIdentifier: 'urn:oid:1.2.752.201.3.7',
  birthName: 'urn:oid:1.2.752.201.3.8',
  mappedPersonalIdentityNumber: 'urn:oid:1.2.752.201.3.16',
  employeeNumber: 'urn:oid:2.16.840.1.113730.3.1.3',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  eduPersonPrincipalName: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  title: 'urn:oid:2.5.4.12',
  ou: 'urn:oid:2.5.4.11',
} as const;

export const EIDAS_PROXY_SERVICE_PREFIX = 'http://id.swedenconnect.se/eidas/1.0/proxy-service/';

export interface ProfileDefaults {
  loa: string;
  supportedLoas: string[];
  entityCategories: (supportedLoas: readonly string[]) => string[];
  displayName: { sv: string; en: string };
  description: { sv: string; en: string };
  /** psc:RequestedPrincipalSelection names in the metadata. */
  principalSelection: string[];
  signAssertion: boolean;
  /** Sweden Connect IdPs must encrypt: an SP without an encryption key cannot be answered. AD FS sends plain then. */
  encryptionRequired: boolean;
}

export const PROFILE_DEFAULTS: Readonly<Record<SamlProfile, ProfileDefaults>> = {
  'sweden-connect': {
    loa: LOA.loa3,
    supportedLoas: [LOA.loa3],
    entityCategories: (loas) =>
      loas
        .map((l) => /\/loa\/1\.0\/(loa[234])$/.exec(l)?.[1])
        .filter((l): l is string => l !== undefined)
        .map((l) => `http://id.elegnamnden.se/ec/1.0/${l}-pnr`),
    displayName: { sv: 'Svensk e-legitimation (Sweden Connect, test)', en: 'Swedish eID (Sweden Connect, test)' },
    description: { sv: 'Simulerad legitimeringstjänst i Sweden Connect för svenska e-legitimationer.', en: 'Simulated Sweden Connect identity provider for Swedish eIDs.' },
    principalSelection: [ATTR.personalIdentityNumber],
    signAssertion: false,
    encryptionRequired: true,
  },
  eidas: {
    loa: LOA.eidasNfSub,
    supportedLoas: [LOA.eidasNfSub, LOA.eidasNfHigh, LOA.eidasNfLow, LOA.eidasSub, LOA.eidasHigh, LOA.eidasLow],
    entityCategories: () => ['http://id.elegnamnden.se/ec/1.0/eidas-naturalperson', 'http://id.elegnamnden.se/ec/1.0/eidas-pnr-delivery'],
    displayName: { sv: 'Utländsk e-legitimation (eIDAS, test)', en: 'Foreign eID (eIDAS, test)' },
    description: {
      sv: 'Simulerad svensk eIDAS-nod: logga in med en e-legitimation från ett annat EU-land.',
      en: 'Simulated Swedish eIDAS connector: sign in with an eID from another EU country.',
    },
    principalSelection: [ATTR.c, ATTR.prid],
    signAssertion: false,
    encryptionRequired: true,
  },
  staff: {
    loa: LOA.loa2,
    supportedLoas: [LOA.loa2],
    entityCategories: () => [],
    displayName: { sv: 'Karlstads kommun – medarbetarinloggning (test)', en: 'Karlstad municipality – staff sign-in (test)' },
    description: { sv: 'Simulerad AD FS för kommunens medarbetare.', en: 'Simulated AD FS for the municipality’s staff.' },
    principalSelection: [],
    signAssertion: true,
    encryptionRequired: false,
  },
};

const attribute = (name: string, friendlyName: string, ...values: Array<string | undefined>): SamlAttribute | undefined => {
  const v = values.filter((x): x is string => x !== undefined && x !== '');
  return v.length > 0 ? { name, friendlyName, values: v } : undefined;
};

const compact = (list: Array<SamlAttribute | undefined>): SamlAttribute[] => list.filter((a): a is SamlAttribute => a !== undefined);

/** ELN-AP-Pnr-01: sn, givenName, displayName, personalIdentityNumber, dateOfBirth. */
function swedishAttributes(p: SwedishPerson): SamlAttribute[] {
  return compact([
    attribute(ATTR.sn, 'sn', p.sn),
    attribute(ATTR.givenName, 'givenName', p.givenName),
    attribute(ATTR.displayName, 'displayName', p.displayName),
    attribute(ATTR.personalIdentityNumber, 'personalIdentityNumber', p.personalIdentityNumber),
    attribute(ATTR.dateOfBirth, 'dateOfBirth', p.dateOfBirth),
  ]);
}

/**
 * ELN-AP-eIDAS-NatPer-01: prid, pridPersistence, eidasPersonIdentifier, dateOfBirth, sn, givenName, c,
 * transactionIdentifier (the foreign node's assertion ID, new for every sign-in); birthName, placeOfBirth
 * and gender when the person has them; mappedPersonalIdentityNumber with personalIdentityNumberBinding
 * (process URIs separated by `;`) for a bound identity.
 */
function foreignAttributes(p: ForeignPerson): SamlAttribute[] {
  return compact([
    attribute(ATTR.prid, 'prid', p.prid),
    attribute(ATTR.pridPersistence, 'pridPersistence', p.pridPersistence),
    attribute(ATTR.eidasPersonIdentifier, 'eidasPersonIdentifier', p.eidasPersonIdentifier),
    attribute(ATTR.dateOfBirth, 'dateOfBirth', p.dateOfBirth),
    attribute(ATTR.sn, 'sn', p.sn),
    attribute(ATTR.givenName, 'givenName', p.givenName),
    attribute(ATTR.birthName, 'birthName', p.birthName),
    attribute(ATTR.placeOfBirth, 'placeOfBirth', p.placeOfBirth),
    attribute(ATTR.gender, 'gender', p.gender),
    attribute(ATTR.c, 'c', p.c),
    attribute(ATTR.transactionIdentifier, 'transactionIdentifier', `_${randomBytes(16).toString('hex')}`),
    attribute(ATTR.mappedPersonalIdentityNumber, 'mappedPersonalIdentityNumber', p.mappedPersonalIdentityNumber),
    attribute(ATTR.personalIdentityNumberBinding, 'personalIdentityNumberBinding', p.personalIdentityNumberBinding?.join(';')),
  ]);
}

/** Staff: employeeNumber, mail, eduPersonPrincipalName, givenName, sn, displayName, title, ou. */
function staffAttributes(p: StaffPerson): SamlAttribute[] {
  return compact([
    attribute(ATTR.employeeNumber, 'employeeNumber', p.employeeNumber),
    attribute(ATTR.mail, 'mail', p.mail),
    attribute(ATTR.eduPersonPrincipalName, 'eduPersonPrincipalName', p.eduPersonPrincipalName),
    attribute(ATTR.givenName, 'givenName', p.givenName),
    attribute(ATTR.sn, 'sn', p.sn),
    attribute(ATTR.displayName, 'displayName', p.displayName),
    attribute(ATTR.title, 'title', p.title),
    attribute(ATTR.ou, 'ou', p.department),
  ]);
}

export function attributesFor(person: SamlTestPerson): SamlAttribute[] {
  if ('personalIdentityNumber' in person) return swedishAttributes(person);
  if ('prid' in person) return foreignAttributes(person);
  return staffAttributes(person);
}

/** The stable key the persistent NameID is derived from. */
export function subjectKey(person: SamlTestPerson): string {
  if ('personalIdentityNumber' in person) return person.personalIdentityNumber;
  if ('prid' in person) return person.prid;
  return person.employeeNumber;
}

export const authenticatingAuthorities = (person: SamlTestPerson): string[] => ('prid' in person ? [person.authenticatingAuthority] : []);

export interface PersonSelection {
  /** Whether the person may be authenticated for this request. */
  allows(person: SamlTestPerson): boolean;
  /** What was asked for, for the login page. */
  description?: string;
  /** The restriction came from psc:PrincipalSelection (a mismatch is answered with UnknownPrincipal). */
  fromPrincipalSelection: boolean;
}

/**
 * The persons a request allows: eIDAS country preselection (Scoping IDPList with a proxy-service URI, or a
 * PrincipalSelection on `c`) and PrincipalSelection MatchValues on identifiers the persona knows. Several
 * MatchValues are alternatives (any one may match).
 */
export function personSelection(profile: SamlProfile, request: AcceptedAuthnRequest): PersonSelection {
  const countries = new Set<string>();
  if (profile === 'eidas') {
    for (const p of request.idpList) if (p.startsWith(EIDAS_PROXY_SERVICE_PREFIX)) countries.add(p.slice(EIDAS_PROXY_SERVICE_PREFIX.length).toUpperCase());
  }
  const matchers: Array<(p: SamlTestPerson) => boolean> = [];
  const described: string[] = [];
  for (const mv of request.principalSelection) {
    if (profile === 'sweden-connect' && mv.name === ATTR.personalIdentityNumber) {
      matchers.push((p) => 'personalIdentityNumber' in p && p.personalIdentityNumber === mv.value);
      described.push(`personalIdentityNumber ${mv.value}`);
    } else if (profile === 'eidas' && mv.name === ATTR.prid) {
      matchers.push((p) => 'prid' in p && p.prid.toLowerCase() === mv.value.toLowerCase());
      described.push(`prid ${mv.value}`);
    } else if (profile === 'eidas' && mv.name === ATTR.c) {
      countries.add(mv.value.toUpperCase());
    }
  }
  if (countries.size > 0) described.push(`country ${[...countries].join('/')}`);
  const inCountry = (p: SamlTestPerson) => countries.size === 0 || ('prid' in p && countries.has(p.c));
  const matches = (p: SamlTestPerson) => matchers.length === 0 || matchers.some((m) => m(p));
  const s: PersonSelection = { allows: (p) => inCountry(p) && matches(p), fromPrincipalSelection: matchers.length > 0 || request.principalSelection.some((m) => m.name === ATTR.c) };
  if (described.length > 0) s.description = described.join(', ');
  return s;
}
