/**
 * Population-registry enrichment end to end: RP -> hub -> BankID simulator -> Navet simulator, over real
 * HTTP and mutual TLS. A guardian sees their children in the demo e-service; a protected person's address
 * appears nowhere (tokens, UserInfo, pages, logs); concurrent sign-ins of one person cost one Navet call;
 * an unreachable registry degrades the sign-in unless a registry claim is essential.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { startTestEnv, type TestEnv } from '../helpers/env.ts';
import { authorizationRequest, demoSignIn, exchange, redirectUriFor, rpFor, signInWithBankId, SCOPE_NPI, SCOPE_NPN } from '../helpers/flows.ts';

const GUARDIAN = '198602212394';
const ORDINARY = '194106279161';
const PROTECTED = '190111032850';
const CONFIDENTIAL = '190205112790';
const DECEASED = '190402202584';
const PROTECTED_CHILD = '190704152628';
const NOT_FOUND = '190501121230';

const CLAIM_MUNICIPALITY = 'urn:idnav:claim:municipality';
const CLAIM_CHILDREN = 'urn:idnav:claim:children';
const REGISTRY_SCOPES = 'address urn:idnav:scope:municipality urn:idnav:scope:guardianship';

interface DemoState {
  signedIn: boolean;
  userinfo?: Record<string, unknown>;
  idTokenClaims?: Record<string, unknown>;
}

function navetCalls(env: TestEnv, pnr?: string): number {
  const calls = env.sims.navet.control.calls();
  return pnr === undefined ? calls.total : (calls.byPersonId[pnr] ?? 0);
}

/** A direct RP sign-in (e-tjanst for Karlstad) with the registry scopes; returns tokens and UserInfo. */
async function signIn(env: TestEnv, person: string, params: Record<string, string> = {}) {
  const rp = await rpFor(env, 'e-tjanst');
  const req = await authorizationRequest(rp, redirectUriFor(env, 'e-tjanst', 'karlstad'), { scope: `openid profile ${SCOPE_NPN} ${SCOPE_NPI} ${REGISTRY_SCOPES}`, ...params });
  const browser = new Browser();
  const callback = await signInWithBankId(env, browser, req, person);
  if (callback.searchParams.has('error')) return { callback, browser };
  const tokens = await exchange(rp, callback, req);
  const claims = tokens.claims()!;
  const userinfo = await oc.fetchUserInfo(rp, tokens.access_token, claims.sub);
  return { callback, browser, tokens, claims: claims as Record<string, unknown>, userinfo: userinfo as Record<string, unknown> };
}

describe('registry enrichment through the whole flow', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
  });
  after(() => env.close());

  it('shows a guardian their two children (not the protected one, not the adult one) in the demo e-service and the school system', async () => {
    const browser = new Browser();
    await demoSignIn(env, browser, '/demo/e-tjanst/karlstad', GUARDIAN);
    const state = await browser.json<DemoState>(`${env.issuer}/demo/e-tjanst/karlstad/state`);
    assert.equal(state.signedIn, true);
    const children = state.userinfo?.[CLAIM_CHILDREN] as Array<Record<string, unknown>>;
    assert.deepEqual(
      children.map((c) => [c.personal_identity_number, c.name, (c.municipality as { name: string }).name]),
      [
        ['190806142386', 'Alva Testsson', 'Kil'],
        ['190909272437', 'Elis Testsson', 'Hammarö'],
      ],
    );
    assert.deepEqual(state.userinfo?.[CLAIM_MUNICIPALITY], { code: '1780', name: 'Karlstad', county_code: '17', county: 'Värmlands län' });
    assert.equal((state.userinfo?.address as { postal_code: string }).postal_code, '65224');

    const page = await (await browser.get(`${env.issuer}/demo/e-tjanst/karlstad/`)).text();
    assert.match(page, /Alva Testsson/);
    assert.match(page, /Elis Testsson/);
    assert.match(page, /Drottninggatan 1/);
    assert.doesNotMatch(page, /Stina|Maja/);
    assert.ok(!JSON.stringify(state).includes(PROTECTED_CHILD));

    // The school system (single sign-on, no second BankID) asks only for guardianship.
    await demoSignIn(env, browser, '/demo/kil-skola', GUARDIAN);
    const school = await browser.json<DemoState>(`${env.issuer}/demo/kil-skola/state`);
    assert.equal((school.userinfo?.[CLAIM_CHILDREN] as unknown[]).length, 2);
    assert.equal(school.userinfo?.address, undefined, 'kil-skola is not allowed the address');
  });

  it('releases no address, municipality or relations of a protected person anywhere, and the person still signs in', async () => {
    const before = navetCalls(env, PROTECTED);
    const r = await signIn(env, PROTECTED, { claims: JSON.stringify({ id_token: { address: null, [CLAIM_MUNICIPALITY]: null } }) });
    assert.ok(r.claims && r.userinfo, 'signed in');
    for (const claims of [r.claims, r.userinfo]) {
      assert.equal(claims.address, undefined);
      assert.equal(claims[CLAIM_MUNICIPALITY], undefined);
      assert.equal(claims[CLAIM_CHILDREN], undefined);
    }
    assert.equal(r.userinfo.name, 'Johan Lindqvist');
    assert.ok(navetCalls(env, PROTECTED) > before, 'the registry was asked');

    // The same person through the demo e-service: nothing on the page either.
    const browser = new Browser();
    await demoSignIn(env, browser, '/demo/e-tjanst/karlstad', PROTECTED);
    const page = await (await browser.get(`${env.issuer}/demo/e-tjanst/karlstad/`)).text();
    const state = await browser.json<DemoState>(`${env.issuer}/demo/e-tjanst/karlstad/state`);
    assert.match(page, /Inga uppgifter från folkbokföringen/);

    // Whatever the registry holds about the person (the forwarding address) is in no token, page or log.
    const record = env.sims.navet.control.records().find((p: { personalNumber?: string; personId?: string }) => (p.personalNumber ?? p.personId) === PROTECTED);
    assert.ok(record, 'the fixture exists');
    const secrets = ['Box 2820', '40320', '403 20', 'Göteborg', 'GÖTEBORG', 'Torsby', '1737'];
    const everything = [JSON.stringify(r.claims), JSON.stringify(r.userinfo), r.tokens!.id_token!, page, JSON.stringify(state), env.logs.join('\n')].join('\n');
    for (const s of secrets) assert.ok(!everything.includes(s), `"${s}" leaked`);
    assert.ok(!env.logs.join('\n').includes(PROTECTED), 'no personal number in the application log');
  });

  it('withholds a person with sekretessmarkering by default', async () => {
    const r = await signIn(env, CONFIDENTIAL);
    assert.equal(r.userinfo!.address, undefined);
    assert.equal(r.userinfo![CLAIM_MUNICIPALITY], undefined);
    assert.ok(!JSON.stringify(r.userinfo).includes('Sunne'));
  });

  it('makes one Navet call for ten concurrent sign-ins of the same person', async () => {
    env.sims.navet.control.setLatency(300);
    const before = navetCalls(env, ORDINARY);
    const stats = env.hub.registry!.stats();
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => signIn(env, ORDINARY)));
      for (const r of results) assert.equal((r.userinfo![CLAIM_MUNICIPALITY] as { name: string }).name, 'Arvika');
    } finally {
      env.sims.navet.control.setLatency(0);
    }
    assert.equal(navetCalls(env, ORDINARY) - before, 1);
    const after = env.hub.registry!.stats();
    assert.equal(after.calls - stats.calls, 1);
    assert.ok(after.cacheHits + after.coalesced - stats.cacheHits - stats.coalesced >= 19, 'the other lookups were shared or cached');
  });

  it('omits registry claims for a deceased person by default, lets them sign in, and audits it', async () => {
    const r = await signIn(env, DECEASED);
    assert.ok(r.userinfo, 'signed in');
    assert.equal(r.userinfo.address, undefined);
    assert.equal(r.userinfo[CLAIM_MUNICIPALITY], undefined);
    const records = env.audit.map((l) => JSON.parse(l) as Record<string, unknown>);
    const rec = records.find((a) => a.event === 'registry.deregistered' && a.subject === DECEASED);
    assert.ok(rec, JSON.stringify(records));
    assert.equal(rec.reason, 'deceased');
    assert.equal(rec.action, 'omit');
    assert.equal(rec.client, 'e-tjanst');
  });

  it('signs in a person the registry does not know, without registry claims', async () => {
    const r = await signIn(env, NOT_FOUND);
    assert.ok(r.userinfo);
    assert.equal(r.userinfo.address, undefined);
    assert.equal(r.userinfo.name, 'Oskar Provsson');
  });

  it('fetches nothing for a client that may not receive registry claims', async () => {
    const rp = await rpFor(env, 'kommun-app');
    const redirectUri = redirectUriFor(env, 'kommun-app');
    const before = navetCalls(env);
    // Its registration does not allow the registry scopes (asking for them is invalid_scope); the claims
    // parameter is no way around that.
    const req = await authorizationRequest(rp, redirectUri, {
      scope: 'openid profile',
      claims: JSON.stringify({ userinfo: { address: { essential: true }, [CLAIM_CHILDREN]: null } }),
    });
    const callback = await signInWithBankId(env, new Browser(), req, ORDINARY);
    const tokens = await exchange(rp, callback, req);
    const userinfo = (await oc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub)) as Record<string, unknown>;
    assert.equal(userinfo.address, undefined);
    assert.equal(navetCalls(env), before, 'no registry call');
  });

  it('puts registry claims in the ID token when the claims parameter asks for them there', async () => {
    const r = await signIn(env, ORDINARY, { scope: `openid ${SCOPE_NPN}`, claims: JSON.stringify({ id_token: { address: null, [CLAIM_MUNICIPALITY]: null } }) });
    assert.equal((r.claims!.address as { locality: string }).locality, 'Arvika');
    assert.equal((r.claims![CLAIM_MUNICIPALITY] as { code: string }).code, '1784');
    assert.equal(r.userinfo!.address, undefined, 'asked for in the ID token only');
  });

  it('degrades to the e-ID claims when Navet is down, and refuses an essential registry claim clearly', async () => {
    env.sims.navet.control.setOutage('unavailable');
    try {
      const r = await signIn(env, GUARDIAN);
      assert.ok(r.userinfo, 'signed in');
      assert.equal(r.userinfo.name, 'Tore Testsson');
      assert.equal(r.userinfo.address, undefined);
      assert.equal(r.userinfo[CLAIM_CHILDREN], undefined);

      const essential = await signIn(env, '189912300085', { claims: JSON.stringify({ userinfo: { [CLAIM_MUNICIPALITY]: { essential: true } } }) });
      assert.equal(essential.callback.searchParams.get('error'), 'temporarily_unavailable');
      assert.match(essential.callback.searchParams.get('error_description') ?? '', /population registry/);
      assert.ok(env.logs.some((l) => l.includes('population registry unavailable')));
    } finally {
      env.sims.navet.control.setOutage(null);
    }
  });

  it('lists the test persons in dev mode', async () => {
    const res = await fetch(`${env.issuer}/dev/test-persons`);
    assert.equal(res.status, 200);
    const persons = (await res.json()) as Array<{ personalNumber: string; name: string; tags: string[] }>;
    const tags = new Set(persons.flatMap((p) => p.tags));
    for (const t of ['ordinary', 'guardian', 'child', 'adult-child', 'protected', 'confidential', 'deceased', 'emigrated', 'coordination-number', 'middle-name', 'not-found']) {
      assert.ok(tags.has(t), t);
    }
    assert.deepEqual(Object.keys(persons[0]!).sort(), ['name', 'personalNumber', 'tags']);
  });
});
