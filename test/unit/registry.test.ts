import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HubError } from '../../src/contracts/errors.ts';
import type { Person, RegistryAdapter, RegistryLookupContext } from '../../src/contracts/registry.ts';
import {
  CLAIM_ADDRESS,
  CLAIM_CHILDREN,
  CLAIM_MUNICIPALITY,
  SCOPE_ADDRESS,
  SCOPE_GUARDIANSHIP,
  SCOPE_MUNICIPALITY,
  registryClaimsRequested,
  registryClaimsWanted,
} from '../../src/registry/claims.ts';
import { Registry, type RegistryPolicy } from '../../src/registry/registry.ts';

const ALL = new Set([CLAIM_ADDRESS, CLAIM_MUNICIPALITY, CLAIM_CHILDREN] as const);
const DEFAULT_POLICY: RegistryPolicy = { confidentialityMarking: 'withhold', deceased: 'omit', emigrated: 'omit' };

function person(pnr: string, extra: Partial<Person> = {}): Person {
  return {
    personalNumber: pnr,
    subjectType: Number(pnr.slice(6, 8)) > 60 ? 'samordningsnummer' : 'personnummer',
    protection: { protectedRegistration: false, confidentialityMarking: false },
    name: { givenNames: 'Test', familyName: 'Person' },
    birthdate: `${pnr.slice(0, 4)}-${pnr.slice(4, 6)}-${pnr.slice(6, 8)}`,
    address: { streetLines: ['Drottninggatan 1'], postalCode: '65224', locality: 'KARLSTAD' },
    registration: { countyCode: '17', municipalityCode: '1780' },
    ...extra,
  };
}

/** A registry in memory: counts calls, can fail, and answers after the test lets it. */
class FakeRegistry implements RegistryAdapter {
  readonly id = 'fake';
  readonly persons = new Map<string, Person>();
  readonly calls: Array<{ pnr: string; tenant: string | undefined }> = [];
  failWith: HubError | undefined;
  gate: Promise<void> | undefined;

  async lookup(pnr: string, _fields: unknown, context: RegistryLookupContext = {}): Promise<Person | null> {
    this.calls.push({ pnr, tenant: context.tenant });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return this.persons.get(pnr) ?? null;
  }
  async health(): Promise<void> {}
  async close(): Promise<void> {}
}

function setup(policy: Partial<RegistryPolicy> = {}, ownCredentials: string[] = []) {
  const adapter = new FakeRegistry();
  let now = Date.parse('2026-11-24T10:00:00Z');
  const clock = { advance: (ms: number) => (now += ms) };
  const registry = new Registry(adapter, { cacheTtlSeconds: 60, cacheMaxEntries: 100, policy: { ...DEFAULT_POLICY, ...policy } }, ownCredentials, () => now);
  return { adapter, registry, clock };
}

const PARENT = '198602212394';
const CHILD_A = '190806142386';
const CHILD_B = '190909272437';
const CHILD_PROTECTED = '190704152628';
const ADULT_CHILD = '190503182446';

function family(adapter: FakeRegistry): void {
  adapter.persons.set(
    PARENT,
    person(PARENT, {
      relations: [
        { type: 'custody-of', code: 'VF', personalNumber: CHILD_A },
        { type: 'child', code: 'B', personalNumber: CHILD_A },
        { type: 'custody-of', code: 'VF', personalNumber: CHILD_B, from: '1909-09-27' },
        { type: 'custody-of', code: 'VF', personalNumber: CHILD_PROTECTED },
        { type: 'custody-of', code: 'VF', personalNumber: ADULT_CHILD, to: '1923-03-18' },
        { type: 'child', code: 'B', personalNumber: ADULT_CHILD },
      ],
    }),
  );
  adapter.persons.set(CHILD_A, person(CHILD_A, { name: { givenNames: 'Alva', familyName: 'Testsson' }, registration: { countyCode: '17', municipalityCode: '1715' } }));
  adapter.persons.set(CHILD_B, person(CHILD_B, { name: { givenNames: 'Elis Karl', callingName: 'Elis', familyName: 'Testsson' }, registration: { countyCode: '17', municipalityCode: '1761' } }));
  adapter.persons.set(CHILD_PROTECTED, person(CHILD_PROTECTED, { protection: { protectedRegistration: true, confidentialityMarking: true } }));
  adapter.persons.set(ADULT_CHILD, person(ADULT_CHILD));
}

describe('registry enrichment', () => {
  it('releases the address (OIDC structure) and the municipality of registration with names', async () => {
    const { adapter, registry } = setup();
    adapter.persons.set(PARENT, person(PARENT));
    const r = await registry.release(PARENT, ALL);
    assert.equal(r.outcome, 'released');
    assert.deepEqual(r.claims[CLAIM_ADDRESS], {
      formatted: 'Drottninggatan 1\n65224 KARLSTAD',
      street_address: 'Drottninggatan 1',
      postal_code: '65224',
      locality: 'KARLSTAD',
      country: 'SE',
    });
    assert.deepEqual(r.claims[CLAIM_MUNICIPALITY], { code: '1780', name: 'Karlstad', county_code: '17', county: 'Värmlands län' });
    assert.deepEqual(r.claims[CLAIM_CHILDREN], []);
  });

  it('releases only the claims asked for, and looks children up only when they are asked for', async () => {
    const { adapter, registry } = setup();
    family(adapter);
    const r = await registry.release(PARENT, new Set([CLAIM_MUNICIPALITY]));
    assert.deepEqual(Object.keys(r.claims), [CLAIM_MUNICIPALITY]);
    assert.equal(adapter.calls.length, 1);
  });

  it('lists the children in active custody with their municipality, never a protected child or an adult child', async () => {
    const { adapter, registry } = setup();
    family(adapter);
    const r = await registry.release(PARENT, new Set([CLAIM_CHILDREN]));
    const children = r.claims[CLAIM_CHILDREN]!;
    assert.deepEqual(
      children.map((c) => [c.personal_identity_number, c.name, c.municipality?.name]),
      [
        [CHILD_A, 'Alva Testsson', 'Kil'],
        [CHILD_B, 'Elis Testsson', 'Hammarö'],
      ],
    );
    assert.equal(children[1]!.given_name, 'Elis Karl');
    assert.ok(!JSON.stringify(r).includes(CHILD_PROTECTED));
    assert.ok(!JSON.stringify(r).includes(ADULT_CHILD), 'the ended custody is not looked up or listed');
    assert.ok(!adapter.calls.some((c) => c.pnr === ADULT_CHILD));
  });

  it('shares one registry call among concurrent lookups of one person, then answers from the cache until the TTL', async () => {
    const { adapter, registry, clock } = setup();
    adapter.persons.set(PARENT, person(PARENT));
    let open!: () => void;
    adapter.gate = new Promise((resolve) => (open = resolve));
    const pending = Array.from({ length: 10 }, () => registry.release(PARENT, ALL));
    open();
    const results = await Promise.all(pending);
    assert.equal(adapter.calls.length, 1);
    assert.ok(results.every((r) => r.claims[CLAIM_ADDRESS]?.postal_code === '65224'));
    assert.deepEqual({ ...registry.stats(), cacheHits: 0 }, { calls: 1, cacheHits: 0, coalesced: 9, withheld: 0, failures: 0 });

    await registry.release(PARENT, ALL);
    assert.equal(adapter.calls.length, 1);
    clock.advance(61_000);
    await registry.release(PARENT, ALL);
    assert.equal(adapter.calls.length, 2);
  });

  it('withholds everything about a person with skyddad folkbokföring and keeps nothing of them', async () => {
    const { adapter, registry } = setup();
    adapter.persons.set(PARENT, person(PARENT, { protection: { protectedRegistration: true, confidentialityMarking: false } }));
    for (let i = 0; i < 2; i++) {
      const r = await registry.release(PARENT, ALL);
      assert.deepEqual(r, { outcome: 'withheld', claims: {} });
    }
    assert.equal(adapter.calls.length, 2, 'not cached');
    assert.equal(registry.stats().withheld, 2);
  });

  it('withholds a person with sekretessmarkering by default, and releases when the operator says so', async () => {
    const marked = person(PARENT, { protection: { protectedRegistration: false, confidentialityMarking: true } });
    const a = setup();
    a.adapter.persons.set(PARENT, marked);
    assert.equal((await a.registry.release(PARENT, ALL)).outcome, 'withheld');
    const b = setup({ confidentialityMarking: 'release' });
    b.adapter.persons.set(PARENT, marked);
    const r = await b.registry.release(PARENT, ALL);
    assert.equal(r.outcome, 'released');
    assert.ok(r.claims[CLAIM_ADDRESS]);
  });

  it('applies the policy for deceased and emigrated persons', async () => {
    const deceased = person(PARENT, { deregistration: { reason: 'deceased', code: 'AV', date: '1995-05-14' }, address: undefined });
    const emigrated = person(CHILD_A, {
      deregistration: { reason: 'emigrated', code: 'UV' },
      address: { streetLines: ['Karl Johans gate 1'], postalCode: '0154', locality: 'Oslo', country: 'NO' },
      registration: undefined,
    });
    const omit = setup();
    omit.adapter.persons.set(PARENT, deceased);
    assert.deepEqual(await omit.registry.release(PARENT, ALL), { outcome: 'deregistered', deregistration: { reason: 'deceased', action: 'omit' }, claims: {} });

    const release = setup({ emigrated: 'release' });
    release.adapter.persons.set(CHILD_A, emigrated);
    const r = await release.registry.release(CHILD_A, ALL);
    assert.equal(r.outcome, 'deregistered');
    assert.equal(r.claims[CLAIM_ADDRESS]?.country, 'NO');
    assert.equal(r.claims[CLAIM_ADDRESS]?.formatted, 'Karl Johans gate 1\n0154 Oslo\nNO');

    const deny = setup({ deceased: 'deny' });
    deny.adapter.persons.set(PARENT, deceased);
    assert.deepEqual((await deny.registry.release(PARENT, ALL)).deregistration, { reason: 'deceased', action: 'deny' });
  });

  it('tells "not found" apart from "unavailable", and caches neither failure', async () => {
    const { adapter, registry } = setup();
    assert.deepEqual(await registry.release(PARENT, ALL), { outcome: 'not-found', claims: {} });
    adapter.failWith = new HubError('REGISTRY_UNAVAILABLE', { detail: 'timeout' });
    await assert.rejects(registry.release(CHILD_A, ALL), (err: HubError) => err.code === 'REGISTRY_UNAVAILABLE');
    adapter.failWith = undefined;
    adapter.persons.set(CHILD_A, person(CHILD_A));
    assert.equal((await registry.release(CHILD_A, ALL)).outcome, 'released');
    assert.equal(registry.stats().failures, 1);
  });

  it('fails the whole children claim when a child cannot be looked up, rather than list some', async () => {
    const { adapter, registry } = setup();
    family(adapter);
    await registry.release(PARENT, new Set([CLAIM_ADDRESS]));
    adapter.failWith = new HubError('REGISTRY_UNAVAILABLE', { detail: 'down' });
    await assert.rejects(registry.release(PARENT, new Set([CLAIM_CHILDREN])), (err: HubError) => err.code === 'REGISTRY_UNAVAILABLE');
  });

  it('uses a tenant’s own credentials and cache entries only for tenants that have them', async () => {
    const { adapter, registry } = setup({}, ['karlstad']);
    adapter.persons.set(PARENT, person(PARENT));
    await registry.release(PARENT, ALL, { tenant: 'karlstad' });
    await registry.release(PARENT, ALL, { tenant: 'kil' });
    await registry.release(PARENT, ALL, { tenant: 'arvika' });
    await registry.release(PARENT, ALL);
    assert.deepEqual(adapter.calls, [
      { pnr: PARENT, tenant: 'karlstad' },
      { pnr: PARENT, tenant: undefined },
    ]);
  });

  it('refuses an answer about someone else', async () => {
    const { adapter, registry } = setup();
    adapter.persons.set(PARENT, person(CHILD_A));
    await assert.rejects(registry.release(PARENT, ALL), (err: HubError) => err.code === 'REGISTRY_RESPONSE_INVALID');
  });
});

describe('registry claims requested', () => {
  const allowed = [SCOPE_ADDRESS, SCOPE_MUNICIPALITY];

  it('needs the client to be allowed the scope, for scopes and the claims parameter alike', () => {
    const r = registryClaimsRequested(new Set(['openid', SCOPE_ADDRESS, SCOPE_GUARDIANSHIP]), { userinfo: { [CLAIM_CHILDREN]: { essential: true } } }, allowed);
    assert.deepEqual([...r.wanted], [CLAIM_ADDRESS]);
    assert.deepEqual([...r.essential], []);
  });

  it('marks essential claims from either destination', () => {
    const r = registryClaimsRequested(new Set(['openid']), { id_token: { [CLAIM_MUNICIPALITY]: { essential: true } }, userinfo: { [CLAIM_ADDRESS]: null } }, allowed);
    assert.deepEqual([...r.wanted].sort(), [CLAIM_ADDRESS, CLAIM_MUNICIPALITY]);
    assert.deepEqual([...r.essential], [CLAIM_MUNICIPALITY]);
  });

  it('puts scope-requested claims in UserInfo, and the claims parameter decides the destination', () => {
    const scopes = new Set(['openid', SCOPE_ADDRESS, SCOPE_MUNICIPALITY]);
    assert.deepEqual([...registryClaimsWanted('id_token', scopes, undefined, allowed)], []);
    assert.deepEqual([...registryClaimsWanted('userinfo', scopes, undefined, allowed)].sort(), [CLAIM_ADDRESS, CLAIM_MUNICIPALITY]);
    const claims = { id_token: { [CLAIM_ADDRESS]: null } };
    assert.deepEqual([...registryClaimsWanted('id_token', scopes, claims, allowed)], [CLAIM_ADDRESS]);
    assert.deepEqual([...registryClaimsWanted('userinfo', scopes, claims, allowed)], [CLAIM_MUNICIPALITY]);
  });
});
