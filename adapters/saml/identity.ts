/**
 * From a validated assertion to an Identity, per profile, and the `acr`/`amr` the hub issues for it.
 * Attribute names: Sweden Connect attribute specification §3.1 (registry §3.2).
 */
import type { Identity } from '../../src/contracts/identity.ts';
import { parsePersonalNumber } from '../../src/identity/personnummer.ts';
import { fail, shorten } from './xml.ts';
import type { AttributeValues, ValidatedAssertion } from './response.ts';
import type { SamlProfile } from './config.ts';

export const ATTR = {
  personalIdentityNumber: 'urn:oid:1.2.752.29.4.13',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  dateOfBirth: 'urn:oid:1.3.6.1.5.5.7.9.1',
  c: 'urn:oid:2.5.4.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  eduPersonPrincipalName: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  prid: 'urn:oid:1.2.752.201.3.4',
  pridPersistence: 'urn:oid:1.2.752.201.3.5',
  personalIdentityNumberBinding: 'urn:oid:1.2.752.201.3.6',
  eidasPersonIdentifier: 'urn:oid:1.2.752.201.3.7',
  mappedPersonalIdentityNumber: 'urn:oid:1.2.752.201.3.16',
  transactionIdentifier: 'urn:oid:1.2.752.201.3.2',
} as const;

const OFFICIAL_LOA = /^http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa([1-4])$/;
const OFFICIAL_EIDAS = /^http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/eidas-(?:nf-)?(low|sub|high)$/;
const EU_EIDAS = /^http:\/\/eidas\.europa\.eu\/(?:NotNotified\/)?LoA\/(low|substantial|high)$/;

/**
 * The `acr` the hub issues for a received AuthnContextClassRef. Unless the hub itself has been reviewed,
 * a proxy must not relay the official URIs (registry for identifiers §3.1.1.2): `loaN` becomes
 * `uncertified-loaN`, the eIDAS levels `uncertified-eidas-*`. `acrMap` overrides both; anything else
 * passes through.
 */
export function issuedAcr(received: string, reviewed: boolean, acrMap: Readonly<Record<string, string>>): string {
  const mapped = acrMap[received];
  if (mapped) return mapped;
  if (reviewed) return received;
  const loa = OFFICIAL_LOA.exec(received);
  if (loa) return `http://id.swedenconnect.se/loa/1.0/uncertified-loa${loa[1]}`;
  const eidas = OFFICIAL_EIDAS.exec(received);
  if (eidas) return `http://id.swedenconnect.se/loa/1.0/uncertified-eidas-${eidas[1]}`;
  const eu = EU_EIDAS.exec(received);
  if (eu) return `http://id.swedenconnect.se/loa/1.0/uncertified-eidas-${eu[1] === 'substantial' ? 'sub' : eu[1]}`;
  return received;
}

const MULTI_FACTOR = [
  /\/loa\/1\.0\/(uncertified-)?loa[34](-nonresident)?$/,
  /\/loa\/1\.0\/(uncertified-)?eidas-(nf-)?(sub|high)$/,
  /^http:\/\/eidas\.europa\.eu\/(NotNotified\/)?LoA\/(substantial|high)$/,
  /^http:\/\/schemas\.microsoft\.com\/claims\/multipleauthn$/,
  /^urn:oasis:names:tc:SAML:2\.0:ac:classes:(MobileTwoFactor|TimeSync|Smartcard|SmartcardPKI)/,
];
const PASSWORD = /^urn:oasis:names:tc:SAML:2\.0:ac:classes:(Password|PasswordProtectedTransport)$/;

/**
 * RFC 8176 `amr` for a sign-in at this level. The IdP does not say which factors it used, only the level;
 * Sweden Connect LoA 3 and 4 and eIDAS substantial and high require two factors, so they give `mfa`;
 * a SAML password class gives `pwd`; anything else gives nothing rather than a guess.
 */
export function defaultAmr(received: string): string[] {
  if (MULTI_FACTOR.some((re) => re.test(received))) return ['mfa'];
  if (PASSWORD.test(received)) return ['pwd'];
  return [];
}

export interface IdentityContext {
  profile: SamlProfile;
  methodUri: string;
  tenant?: string;
  acr: string;
  amr: string[];
  staffIdAttribute: string;
  names: { givenName: string; sn: string; displayName: string; mail: string; eduPersonPrincipalName: string; dateOfBirth: string };
  warn(msg: string): void;
}

const PRID = /^[A-Z]{2}:[0-9a-z][0-9a-z-]{8,28}[0-9a-z]$/;

/** Builds the Identity; throws XmlProblem when a required attribute is missing or malformed. */
export function identityFrom(a: ValidatedAssertion, c: IdentityContext): Identity {
  const get = (name: string, what: string): string | undefined => single(a.attributes.get(name), what);
  const required = (name: string, what: string): string => {
    const value = get(name, what);
    if (value === undefined || value.trim() === '') fail(`SAML Response: the attribute ${what} (${name}) is missing`);
    return value.trim();
  };
  const givenName = get(c.names.givenName, 'givenName')?.trim() || undefined;
  const familyName = get(c.names.sn, 'sn')?.trim() || undefined;
  const displayName = get(c.names.displayName, 'displayName')?.trim() || undefined;
  const name = displayName ?? ([givenName, familyName].filter(Boolean).join(' ') || undefined);
  const dateOfBirth = get(c.names.dateOfBirth, 'dateOfBirth')?.trim() || undefined;
  const birthdate = dateOfBirth && isIsoDate(dateOfBirth) ? dateOfBirth : undefined;
  if (dateOfBirth && !birthdate) c.warn('dateOfBirth is not an ISO date; left out');

  const base = {
    method: c.methodUri,
    acr: c.acr,
    amr: c.amr,
    authTime: Math.floor(a.authnInstant / 1000),
    evidence: {
      assertionId: a.assertionId,
      issuer: a.issuer,
      authnInstant: new Date(a.authnInstant).toISOString(),
      authnContextClassRef: a.authnContextClassRef,
      responseId: a.responseId,
      ...(a.authenticatingAuthorities.length ? { authenticatingAuthority: a.authenticatingAuthorities.join(' ') } : {}),
    } as Record<string, string>,
    ...(givenName ? { givenName } : {}),
    ...(familyName ? { familyName } : {}),
    ...(name ? { name } : {}),
  };

  switch (c.profile) {
    case 'sweden-connect': {
      const number = required(ATTR.personalIdentityNumber, 'personalIdentityNumber');
      const parsed = parsePersonalNumber(number);
      if (!parsed) fail('SAML Response: personalIdentityNumber is not a valid personnummer or samordningsnummer (12 digits, real date, check digit)');
      const transaction = get(ATTR.transactionIdentifier, 'transactionIdentifier');
      if (transaction) base.evidence['transactionIdentifier'] = shorten(transaction, 200);
      return { ...base, subjectType: parsed.type, subject: parsed.normalized, birthdate: birthdate ?? parsed.birthdate };
    }
    case 'eidas': {
      const prid = required(ATTR.prid, 'prid');
      if (!PRID.test(prid)) fail(`SAML Response: prid (${prid.length} characters) is not in the prid format (CC:identifier)`);
      const persistence = required(ATTR.pridPersistence, 'pridPersistence');
      if (!/^[ABC]$/.test(persistence)) fail('SAML Response: pridPersistence is not A, B or C');
      const personIdentifier = required(ATTR.eidasPersonIdentifier, 'eidasPersonIdentifier');
      const country = required(ATTR.c, 'c').toUpperCase();
      if (!/^[A-Z]{2}$/.test(country)) fail('SAML Response: c is not an ISO 3166 alpha-2 code');
      const mapped = get(ATTR.mappedPersonalIdentityNumber, 'mappedPersonalIdentityNumber')?.trim();
      const bindingValues = (a.attributes.get(ATTR.personalIdentityNumberBinding) ?? []).filter((v): v is string => typeof v === 'string');
      const bindings = bindingValues.flatMap((v) => v.split(';')).map((v) => v.trim()).filter(Boolean);
      let mappedNumber: string | undefined;
      if (mapped) {
        if (!parsePersonalNumber(mapped)) c.warn('mappedPersonalIdentityNumber is not a valid personal identity number; left out');
        else if (!bindings.length) c.warn('mappedPersonalIdentityNumber came without personalIdentityNumberBinding; left out');
        else mappedNumber = mapped;
      }
      const transaction = get(ATTR.transactionIdentifier, 'transactionIdentifier');
      if (transaction) base.evidence['transactionIdentifier'] = shorten(transaction, 200);
      return {
        ...base,
        subjectType: 'eidas',
        subject: prid,
        ...(birthdate ? { birthdate } : {}),
        eidas: {
          country,
          prid,
          pridPersistence: persistence,
          personIdentifier,
          // Kept apart: only hub policy per client may ever treat it as a personal identity number.
          ...(mappedNumber ? { mappedPersonalIdentityNumber: mappedNumber, personalIdentityNumberBinding: bindings } : {}),
        },
      };
    }
    case 'staff': {
      const employeeId = c.staffIdAttribute === 'NameID' ? (a.nameId ?? '').trim() : required(c.staffIdAttribute, 'staffIdAttribute');
      if (!employeeId) fail('SAML Response: the assertion has no NameID to use as the employee id');
      if (employeeId.length > 256 || /[\u0000-\u001f\u007f]/.test(employeeId)) fail('SAML Response: the employee id is longer than 256 characters or holds control characters');
      // mail is multi-valued in the attribute specification: the first address is the one kept.
      const mail = (a.attributes.get(c.names.mail) ?? []).find((v): v is string => typeof v === 'string' && v.trim() !== '')?.trim();
      const eppn = get(c.names.eduPersonPrincipalName, 'eduPersonPrincipalName')?.trim() || undefined;
      const tenant = c.tenant!;
      return {
        ...base,
        subjectType: 'staff',
        subject: `${tenant}:${employeeId}`,
        ...(birthdate ? { birthdate } : {}),
        staff: { tenant, employeeId, ...(mail ? { mail } : {}), ...(eppn ? { eduPersonPrincipalName: eppn } : {}) },
      };
    }
  }
}

/** The one plain value of a single-valued attribute. */
function single(values: AttributeValues | undefined, what: string): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) fail(`SAML Response: the attribute ${what} has ${values.length} values (it is single-valued)`);
  const v = values[0];
  if (v === null || v === undefined) fail(`SAML Response: the attribute ${what} is not a plain text value`);
  return v;
}

function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}
