/**
 * The population registry (Navet, a municipality's KIR): what the hub may learn about a person beyond
 * what the e-ID proved. Adapters return the registry's facts; the hub's policy (src/registry) decides
 * what of it is released.
 */
import type { AdapterDeps } from './eid.ts';
import type { SubjectType } from './identity.ts';

/** What a lookup needs; an adapter may fetch more (Navet always answers with the whole post). */
export type RegistryField = 'name' | 'address' | 'registration' | 'relations';

export interface PersonName {
  /** All given names (förnamn), as registered. */
  givenNames?: string;
  /** The given name the person is called by (tilltalsnamn), when the registry marks one. */
  callingName?: string;
  middleName?: string;
  familyName?: string;
}

export interface PostalAddress {
  careOf?: string;
  /** Street address lines, in order (one or two in Sweden, up to three abroad). */
  streetLines: string[];
  postalCode?: string;
  locality?: string;
  /** ISO 3166-1 alpha-2 where known; absent for a Swedish address. */
  country?: string;
}

export interface Registration {
  /** Two digits: the county (län) of registration. */
  countyCode: string;
  /** Four digits: county code + municipality code, e.g. `1780` (Karlstad). */
  municipalityCode: string;
  /** ISO date the registration took effect, possibly partial (`YYYY-MM` or `YYYY`). */
  since?: string;
}

/**
 * A relation as the registry states it. `custody-of` is the guardian's side of a custody relation
 * (vårdnad för): the registry ends it when the child comes of age or custody changes.
 */
export type RelationType = 'custody-of' | 'guardian' | 'child' | 'mother' | 'father' | 'parent' | 'spouse' | 'partner' | 'other';

export interface Relation {
  type: RelationType;
  /** The registry's own code (e.g. Navet `Relationstyp` VF). */
  code: string;
  /** 12 digits, when the related person has a personal identity or coordination number. */
  personalNumber?: string;
  /** ISO date of birth, when the registry identifies the relative only by it. */
  birthdate?: string;
  name?: PersonName;
  /** ISO dates, possibly partial. */
  from?: string;
  to?: string;
  /** The related person is deregistered (e.g. deceased). */
  deregistered?: boolean;
}

export type DeregistrationReason = 'deceased' | 'emigrated' | 'other';

export interface Deregistration {
  reason: DeregistrationReason;
  /** The registry's own code (e.g. Navet `AvregistreringsorsakKod` AV, UV). */
  code: string;
  date?: string;
}

export interface Protection {
  /** Skyddad folkbokföring: nothing about where the person lives may be released. */
  protectedRegistration: boolean;
  /** Sekretessmarkering: a harm test is needed before releasing anything; the hub releases nothing by default. */
  confidentialityMarking: boolean;
}

/** One person as the registry knows them. */
export interface Person {
  /** 12 digits, century included. */
  personalNumber: string;
  subjectType: SubjectType;
  protection: Protection;
  name?: PersonName;
  /** ISO date, possibly partial. */
  birthdate?: string;
  /** The address of registration (folkbokföringsadress), or the address abroad for an emigrated person. */
  address?: PostalAddress;
  registration?: Registration;
  relations?: Relation[];
  deregistration?: Deregistration;
  /** The number now in use, when the registry refers this one elsewhere (hänvisningsnummer). */
  referredTo?: string;
}

export interface RegistryLookupContext {
  /** The tenant of the client asking: picks the credentials (each municipality may have its own). */
  tenant?: string;
  signal?: AbortSignal;
}

/**
 * A registry adapter. `lookup` returns the person or `null` when the registry has no such person, and
 * throws a HubError with a `REGISTRY_*` code when it cannot answer (unreachable, timed out, refused the
 * request, answered with something unreadable). The two outcomes are never confused.
 */
export interface RegistryAdapter {
  readonly id: string;
  lookup(personalNumber: string, fields: readonly RegistryField[], context?: RegistryLookupContext): Promise<Person | null>;
  /** Throws when the registry cannot be reached with the given tenant's credentials (default ones without). */
  health(context?: RegistryLookupContext): Promise<void>;
  close(): Promise<void>;
}

/** What every registry adapter module exports; `adapters/index.ts` maps config `type` to one of these. */
export interface RegistryAdapterModule<C = unknown, T = unknown> {
  readonly type: string;
  /** Validates the registry block of hub.yaml. */
  validate(config: unknown): { ok: true; config: C } | { ok: false; problems: Array<[string, string]> };
  /** Validates one tenant's `registry` block (its own credentials). */
  validateTenant(config: unknown): { ok: true; config: T } | { ok: false; problems: Array<[string, string]> };
  /** Builds the adapter. Contacts nothing; reads the files the config names. */
  create(id: string, config: C, tenants: Readonly<Record<string, T>>, deps: AdapterDeps): Promise<RegistryAdapter>;
}
