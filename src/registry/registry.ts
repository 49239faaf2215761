/**
 * Registry enrichment: looks a signed-in person up in the population registry (through the configured
 * adapter), applies the protection policy, and turns what may be released into claims. Lookups are
 * cached for a short time and concurrent lookups of one person share one registry call; the cache holds
 * only what may be released, and nothing at all about a protected person.
 */
import { LRUCache } from 'lru-cache';
import { HubError, isHubError } from '../contracts/errors.ts';
import type { Person, RegistryAdapter, RegistryField } from '../contracts/registry.ts';
import {
  CLAIM_ADDRESS,
  CLAIM_CHILDREN,
  CLAIM_MUNICIPALITY,
  type AddressClaim,
  type ChildClaim,
  type MunicipalityClaim,
  type RegistryClaim,
  type RegistryClaimValues,
} from './claims.ts';
import { COUNTIES, municipalityName } from './municipalities.ts';

export type DeregisteredAction = 'omit' | 'release' | 'deny';

export interface RegistryPolicy {
  /** Sekretessmarkering: `withhold` (default) releases nothing about the person; `release` treats them as anyone else. */
  confidentialityMarking: 'withhold' | 'release';
  /** A deceased person signing in: `omit` registry claims (default), `release` them, or `deny` the sign-in. */
  deceased: DeregisteredAction;
  /** An emigrated person: as for `deceased`. */
  emigrated: DeregisteredAction;
}

export interface RegistrySettings {
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  policy: RegistryPolicy;
}

export type ReleaseOutcome = 'released' | 'not-found' | 'withheld' | 'deregistered';

export interface Release {
  outcome: ReleaseOutcome;
  /** For `deregistered`: why, and what the policy did. */
  deregistration?: { reason: 'deceased' | 'emigrated' | 'other'; action: DeregisteredAction };
  claims: RegistryClaimValues;
}

export interface RegistryStats {
  /** Calls made to the registry (each one may cost money). */
  calls: number;
  /** Lookups answered from the cache. */
  cacheHits: number;
  /** Lookups that joined a call already in flight. */
  coalesced: number;
  /** Lookups of persons whose data is withheld (protected identity or sekretessmarkering). */
  withheld: number;
  /** Lookups that failed because the registry could not answer. */
  failures: number;
}

/** What the cache may hold about one person: only what may be released. */
type View =
  | { kind: 'not-found' }
  | { kind: 'withheld'; reason: 'protected' | 'confidential' }
  | { kind: 'deregistered'; reason: 'deceased' | 'emigrated' | 'other'; action: DeregisteredAction; released?: Released }
  | { kind: 'ok'; released: Released };

interface Released {
  address?: AddressClaim;
  municipality?: MunicipalityClaim;
  /** Numbers of the children in the person's custody (active custody relations). */
  custodyOf: string[];
  /** The person as a guardian's `children` entry would show them. */
  asChild: ChildClaim;
}

const ALL_FIELDS: readonly RegistryField[] = ['name', 'address', 'registration', 'relations'];

export class Registry {
  readonly #adapter: RegistryAdapter;
  readonly #policy: RegistryPolicy;
  readonly #cache: LRUCache<string, View>;
  readonly #inflight = new Map<string, Promise<View>>();
  readonly #now: () => number;
  readonly #stats: RegistryStats = { calls: 0, cacheHits: 0, coalesced: 0, withheld: 0, failures: 0 };

  readonly #ownCredentials: ReadonlySet<string>;

  /**
   * `tenantsWithOwnCredentials`: lookups for these tenants use their own credentials and their own cache
   * entries; every other lookup uses the default credentials and shares one set of entries.
   */
  constructor(adapter: RegistryAdapter, settings: RegistrySettings, tenantsWithOwnCredentials: Iterable<string> = [], now: () => number = Date.now) {
    this.#adapter = adapter;
    this.#ownCredentials = new Set(tenantsWithOwnCredentials);
    this.#policy = settings.policy;
    this.#now = now;
    this.#cache = new LRUCache<string, View>({ max: settings.cacheMaxEntries, ttl: settings.cacheTtlSeconds * 1000, ttlResolution: 0, perf: { now } });
  }

  get adapterId(): string {
    return this.#adapter.id;
  }

  /** Throws when the registry cannot be reached with the default credentials. */
  health(): Promise<void> {
    return this.#adapter.health();
  }

  stats(): RegistryStats {
    return { ...this.#stats };
  }

  /**
   * The registry claims of `wanted` that may be released about the person. Throws a HubError with a
   * `REGISTRY_*` code when the registry cannot answer (nothing is released then, not even a partial list
   * of children). A deregistered person's outcome carries the policy's action; the caller enforces `deny`.
   */
  async release(personalNumber: string, wanted: ReadonlySet<RegistryClaim>, context: { tenant?: string; signal?: AbortSignal } = {}): Promise<Release> {
    const view = await this.#view(personalNumber, context);
    if (view.kind === 'not-found') return { outcome: 'not-found', claims: {} };
    if (view.kind === 'withheld') return { outcome: 'withheld', claims: {} };
    let released: Released | undefined;
    let outcome: ReleaseOutcome = 'released';
    let deregistration: Release['deregistration'];
    if (view.kind === 'deregistered') {
      deregistration = { reason: view.reason, action: view.action };
      outcome = 'deregistered';
      released = view.released;
      if (!released) return { outcome, deregistration, claims: {} };
    } else {
      released = view.released;
    }

    const claims: RegistryClaimValues = {};
    if (wanted.has(CLAIM_ADDRESS) && released.address) claims[CLAIM_ADDRESS] = released.address;
    if (wanted.has(CLAIM_MUNICIPALITY) && released.municipality) claims[CLAIM_MUNICIPALITY] = released.municipality;
    if (wanted.has(CLAIM_CHILDREN)) claims[CLAIM_CHILDREN] = await this.#children(released.custodyOf, context);
    return deregistration ? { outcome, deregistration, claims } : { outcome, claims };
  }

  async #children(numbers: string[], context: { tenant?: string; signal?: AbortSignal }): Promise<ChildClaim[]> {
    const views = await Promise.all(numbers.map((n) => this.#view(n, context)));
    const out: ChildClaim[] = [];
    for (const view of views) {
      // A protected or confidential child is never listed, nor one the registry no longer knows or who died.
      if (view.kind !== 'ok') continue;
      out.push(view.released.asChild);
    }
    return out;
  }

  #view(personalNumber: string, context: { tenant?: string; signal?: AbortSignal }): Promise<View> {
    // A municipality with its own agreement looks people up under it: its entries are its own.
    const tenant = context.tenant !== undefined && this.#ownCredentials.has(context.tenant) ? context.tenant : undefined;
    const key = `${tenant ?? ''}\u0000${personalNumber}`;
    const cached = this.#cache.get(key);
    if (cached) {
      this.#stats.cacheHits++;
      return Promise.resolve(cached);
    }
    const pending = this.#inflight.get(key);
    if (pending) {
      this.#stats.coalesced++;
      return pending;
    }
    const call = this.#fetch(personalNumber, tenant).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, call);
    return call.then((view) => {
      if (view.kind === 'withheld') this.#stats.withheld++;
      // Nothing about a protected or confidential person is kept, not even that they are.
      else this.#cache.set(key, view);
      return view;
    });
  }

  async #fetch(personalNumber: string, tenant: string | undefined): Promise<View> {
    this.#stats.calls++;
    let person: Person | null;
    try {
      // The signal of one caller must not cancel a call that others share: it is not passed on.
      person = await this.#adapter.lookup(personalNumber, ALL_FIELDS, tenant === undefined ? {} : { tenant });
    } catch (err) {
      this.#stats.failures++;
      if (isHubError(err)) throw err;
      throw new HubError('REGISTRY_UNAVAILABLE', { detail: `registry lookup failed: ${err instanceof Error ? err.message : String(err)}`, cause: err });
    }
    if (!person) return { kind: 'not-found' };
    if (person.personalNumber !== personalNumber) {
      throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: 'registry answered about another person than the one asked for' });
    }
    return viewOf(person, this.#policy, this.#now());
  }
}

function viewOf(person: Person, policy: RegistryPolicy, nowMs: number): View {
  if (person.protection.protectedRegistration) return { kind: 'withheld', reason: 'protected' };
  if (person.protection.confidentialityMarking && policy.confidentialityMarking === 'withhold') return { kind: 'withheld', reason: 'confidential' };
  const released = releasedOf(person, nowMs);
  if (person.deregistration) {
    const reason = person.deregistration.reason;
    const action: DeregisteredAction = reason === 'other' ? 'omit' : policy[reason];
    return action === 'release' ? { kind: 'deregistered', reason, action, released } : { kind: 'deregistered', reason, action };
  }
  return { kind: 'ok', released };
}

function releasedOf(person: Person, nowMs: number): Released {
  const municipality = person.registration ? municipalityOf(person.registration.municipalityCode, person.registration.countyCode) : undefined;
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const custodyOf = [
    ...new Set(
      (person.relations ?? [])
        .filter((r) => r.type === 'custody-of' && r.personalNumber && !r.deregistered && (r.to === undefined || r.to >= today))
        .map((r) => r.personalNumber as string),
    ),
  ];
  const n = person.name ?? {};
  const given = n.callingName ?? n.givenNames;
  const family = [n.middleName, n.familyName].filter(Boolean).join(' ') || undefined;
  const asChild: ChildClaim = {
    ...(person.subjectType === 'samordningsnummer' ? { coordination_number: person.personalNumber } : { personal_identity_number: person.personalNumber }),
    ...(n.givenNames ? { given_name: n.givenNames } : {}),
    ...(family ? { family_name: family } : {}),
    ...(given || family ? { name: [given, family].filter(Boolean).join(' ') } : {}),
    ...(person.birthdate ? { birthdate: person.birthdate } : {}),
    ...(municipality ? { municipality } : {}),
  };
  return {
    ...(person.address ? { address: addressOf(person.address) } : {}),
    ...(municipality ? { municipality } : {}),
    custodyOf,
    asChild,
  };
}

function municipalityOf(code: string, countyCode: string): MunicipalityClaim {
  const name = municipalityName(code);
  const county = Object.hasOwn(COUNTIES, countyCode) ? COUNTIES[countyCode] : undefined;
  return { code, ...(name ? { name } : {}), county_code: countyCode, ...(county ? { county } : {}) };
}

function addressOf(a: NonNullable<Person['address']>): AddressClaim {
  const street = a.streetLines.filter(Boolean);
  const country = a.country ?? 'SE';
  const cityLine = [a.postalCode, a.locality].filter(Boolean).join(' ');
  const lines = [a.careOf ? `c/o ${a.careOf}` : undefined, ...street, cityLine || undefined, country === 'SE' ? undefined : country].filter(Boolean);
  return {
    formatted: lines.join('\n'),
    ...(street.length ? { street_address: [a.careOf ? `c/o ${a.careOf}` : undefined, ...street].filter(Boolean).join('\n') } : {}),
    ...(a.postalCode ? { postal_code: a.postalCode } : {}),
    ...(a.locality ? { locality: a.locality } : {}),
    country,
  };
}
