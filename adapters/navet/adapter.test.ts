import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ensureDevPki, type DevPki } from '../../dev/pki.ts';
import type { AdapterDeps } from '../../src/contracts/eid.ts';
import { HubError } from '../../src/contracts/errors.ts';
import type { Person, RegistryAdapter, RegistryField, Relation } from '../../src/contracts/registry.ts';
import { luhnCheckDigit } from '../../src/identity/personnummer.ts';
import type { NavetConfig, NavetTenantConfig } from './config.ts';
import { NAVET_HEALTH_PERSON_ID, navetModule } from './index.ts';
import { callingName, incompleteDate } from './person.ts';
import {
  NAVET_FELKOD,
  NAVET_REGION_CREDENTIALS,
  NAVET_TENANT_CREDENTIALS,
  loadNavetRecords,
  startNavetSimulator,
  type NavetRecord,
  type NavetSimulator,
} from './simulator/server.ts';

const ALL: readonly RegistryField[] = ['name', 'address', 'registration', 'relations'];
const TORE = '198602212394';
const NOT_FOUND = '190501121230';

const deps: AdapterDeps = { baseDir: process.cwd(), now: Date.now, log: { info() {}, warn() {}, error() {} } };

let pki: DevPki;
let sim: NavetSimulator;
/** Subject CNs of the region's default certificate and of the second municipality's own one. */
let regionCn: string;
let tenantCn: string;
const opened: RegistryAdapter[] = [];

async function cnOf(file: string): Promise<string> {
  return /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(await readFile(file)).subject)![1]!;
}

before(async () => {
  pki = await ensureDevPki(join(tmpdir(), 'idnav-test-pki'));
  sim = await startNavetSimulator({ pki });
  regionCn = await cnOf(pki.navetClientCert);
  tenantCn = await cnOf(pki.navetTenantCert);
  assert.notEqual(regionCn, tenantCn);
});

afterEach(() => sim.control.reset());

after(async () => {
  await Promise.all(opened.map((a) => a.close()));
  await sim?.close();
});

/** The hub-level block as an operator writes it (before validation). */
function rawConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    baseUrl: sim.url,
    caFile: pki.navetServerCa,
    clientCert: { pfxFile: pki.navetClientPfx, passphrase: pki.pfxPassphrase },
    orgNr: NAVET_REGION_CREDENTIALS.orgNr,
    bestallningsId: NAVET_REGION_CREDENTIALS.bestallningsId,
    ...overrides,
  };
}

function validConfig(overrides: Record<string, unknown> = {}): NavetConfig {
  const v = navetModule.validate(rawConfig(overrides));
  if (!v.ok) assert.fail(`config should be valid: ${JSON.stringify(v.problems)}`);
  return v.config;
}

function validTenant(raw: unknown): NavetTenantConfig {
  const v = navetModule.validateTenant(raw);
  if (!v.ok) assert.fail(`tenant block should be valid: ${JSON.stringify(v.problems)}`);
  return v.config;
}

function ownBlock(): NavetTenantConfig {
  return validTenant({ clientCert: { certFile: pki.navetTenantCert, keyFile: pki.navetTenantKey }, ...NAVET_TENANT_CREDENTIALS });
}

async function adapter(overrides: Record<string, unknown> = {}, tenants: Record<string, NavetTenantConfig> = {}): Promise<RegistryAdapter> {
  const a = await navetModule.create('navet', validConfig(overrides), tenants, deps);
  opened.push(a);
  return a;
}

/** Asserts a HubError with this code whose message and detail hold no personal number; returns it. */
async function rejectsHub(promise: Promise<unknown>, code: string): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code, `code (detail: ${err.detail})`);
    assert.doesNotMatch(`${err.message} ${err.detail ?? ''}`, /\d{10}/, 'no personal number in the error');
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

function lastCall() {
  const recent = sim.control.calls().recent;
  return recent[recent.length - 1]!;
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('incompleteDate and callingName', () => {
  it('turns ofullständiga datum into ISO dates of the known precision', () => {
    assert.equal(incompleteDate('19950514', 'x'), '1995-05-14');
    assert.equal(incompleteDate('19950500', 'x'), '1995-05');
    assert.equal(incompleteDate('19950000', 'x'), '1995');
    assert.equal(incompleteDate('19950014', 'x'), '1995');
    assert.equal(incompleteDate('00000000', 'x'), undefined);
    assert.equal(incompleteDate('0', 'x'), undefined);
    assert.equal(incompleteDate(undefined, 'x'), undefined);
    assert.throws(() => incompleteDate('1995051', 'x'));
    assert.throws(() => incompleteDate('19951301', 'x'));
  });

  it('reads Tilltalsnamnsmarkering as position, and a second position joined with a hyphen', () => {
    assert.equal(callingName('Karl Johan', '20'), 'Johan');
    assert.equal(callingName('Karl Johan', '10'), 'Karl');
    assert.equal(callingName('Anna Karin Maria', '12'), 'Anna-Karin');
    assert.equal(callingName('Anna Karin Maria', '31'), 'Maria-Anna');
    assert.equal(callingName('Tore', '20'), undefined, 'no second given name');
    assert.equal(callingName('Tore', undefined), undefined);
    assert.equal(callingName('Tore', '5'), undefined);
  });
});

// ---------------------------------------------------------------------------------------------

describe('navetModule.validate', () => {
  it('accepts a PKCS#12 config and fills in the defaults', () => {
    const config = validConfig();
    assert.equal(config.timeoutMs, 5000);
    assert.equal(config.maxResponseBytes, 1024 * 1024);
    assert.equal(config.orgNr, '162021004748');
  });

  it('accepts a PEM pair, an OrgNr written as a YAML number, and a block without default credentials', () => {
    assert.ok(navetModule.validate(rawConfig({ clientCert: { certFile: pki.navetClientCert, keyFile: pki.navetClientKey }, orgNr: 162021004748 })).ok);
    const v = navetModule.validate({ baseUrl: sim.url, caFile: pki.navetServerCa });
    assert.ok(v.ok, JSON.stringify(v));
  });

  it('reports every problem with its dotted path', () => {
    const v = navetModule.validate(
      rawConfig({ baseUrl: 'http://www2.test.skatteverket.se/na/na_epersondata/V2', orgNr: '2021004748', bestallningsId: '79-FO01-1', timeoutMs: 100, extra: true }),
    );
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems.map(([p]) => p).sort(), ['', 'baseUrl', 'bestallningsId', 'orgNr', 'timeoutMs']);
    assert.match(v.problems.find(([p]) => p === '')![1], /extra/);
  });

  it('reports an OrgNr with a wrong check digit', () => {
    const v = navetModule.validate(rawConfig({ orgNr: '162021004749' }));
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems, [['orgNr', 'the organisationsnummer has a wrong check digit']]);
  });

  it('reports unreadable files and a key that does not belong to the certificate', () => {
    const v = navetModule.validate(rawConfig({ caFile: join(pki.dir, 'missing.pem'), clientCert: { certFile: pki.navetClientCert, keyFile: pki.navetTenantKey } }));
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems.map(([p]) => p).sort(), ['caFile', 'clientCert.keyFile']);
    assert.match(v.problems.find(([p]) => p === 'caFile')![1], /missing\.pem: ENOENT/);
  });

  it('reports a wrong passphrase under clientCert without echoing it', () => {
    const v = navetModule.validate(rawConfig({ clientCert: { pfxFile: pki.navetClientPfx, passphrase: 'not-the-passphrase' } }));
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems.map(([p]) => p), ['clientCert.passphrase']);
    assert.doesNotMatch(v.problems[0]![1], /not-the-passphrase/);
  });
});

describe('navetModule.validateTenant', () => {
  it('accepts an empty block and a full one', () => {
    assert.deepEqual(validTenant({}), {});
    assert.equal(ownBlock().orgNr, NAVET_TENANT_CREDENTIALS.orgNr);
  });

  it('reports problems with dotted paths', () => {
    const v = navetModule.validateTenant({ clientCert: { certFile: join(pki.dir, 'nope.pem'), keyFile: pki.navetTenantKey }, orgNr: 'x' });
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(v.problems.map(([p]) => p), ['orgNr']);
    const files = navetModule.validateTenant({ clientCert: { certFile: join(pki.dir, 'nope.pem'), keyFile: pki.navetTenantKey } });
    assert.equal(files.ok, false);
    if (!files.ok) assert.deepEqual(files.problems.map(([p]) => p), ['clientCert.certFile']);
  });
});

describe('navetModule.create', () => {
  it('refuses a tenant left without a complete credential set, naming what is missing', async () => {
    const config = validConfig({ clientCert: undefined, orgNr: undefined, bestallningsId: undefined });
    const err = await rejectsHub(navetModule.create('navet', config, { kil: ownBlock(), arvika: validTenant({ orgNr: '162021004748' }) }, deps), 'CONFIG_INVALID');
    assert.match(err.detail!, /tenants\.arvika\.registry: no clientCert, bestallningsId/);
    assert.doesNotMatch(err.detail!, /tenants\.kil/);
  });

  it('refuses a config with neither default credentials nor tenants', async () => {
    const config = validConfig({ orgNr: undefined });
    const err = await rejectsHub(navetModule.create('navet', config, {}, deps), 'CONFIG_INVALID');
    assert.match(err.detail!, /^registry\.config: .*orgNr missing/);
  });

  it('contacts nothing', async () => {
    const before = sim.control.calls().total;
    await adapter({}, { kil: ownBlock() });
    assert.equal(sim.control.calls().total, before);
  });
});

// ---------------------------------------------------------------------------------------------

const NO_PROTECTION = { protectedRegistration: false, confidentialityMarking: false };
const rel = (type: Relation['type'], code: string, personalNumber: string, from: string, to?: string): Relation => ({
  type,
  code,
  personalNumber,
  from,
  ...(to ? { to } : {}),
});
const named = (given: string, family: string, extra: Record<string, string> = {}) => ({ givenNames: given, callingName: given, ...extra, familyName: family });
const swedish = (street: string[], postalCode: string, locality: string) => ({ streetLines: street, postalCode, locality });
const registered = (municipalityCode: string, since: string) => ({ countyCode: municipalityCode.slice(0, 2), municipalityCode, since });
const FORMEDLING = swedish(['Skatteverket', 'Box 2820'], '40320', 'Göteborg');

const EXPECTED: Record<string, Person> = {
  '198602212394': {
    personalNumber: '198602212394',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1986-02-21',
    name: named('Tore', 'Testsson'),
    address: swedish(['Drottninggatan 1'], '65224', 'Karlstad'),
    registration: registered('1780', '2015-06-01'),
    relations: [
      rel('custody-of', 'VF', '190806142386', '1908-06-14'),
      rel('child', 'B', '190806142386', '1908-06-14'),
      rel('custody-of', 'VF', '190909272437', '1909-09-27'),
      rel('child', 'B', '190909272437', '1909-09-27'),
      rel('custody-of', 'VF', '190704152628', '1907-04-15'),
      rel('child', 'B', '190704152628', '1907-04-15'),
      rel('child', 'B', '190503182446', '1905-03-18'),
      rel('custody-of', 'VF', '190503182446', '1905-03-18', '1923-03-18'),
    ],
  },
  '194106279161': {
    personalNumber: '194106279161',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1941-06-27',
    name: named('Greta', 'Testdotter'),
    address: swedish(['Storgatan 5'], '67131', 'Arvika'),
    registration: registered('1784', '1999-03-01'),
    relations: [],
  },
  '190806142386': {
    personalNumber: '190806142386',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1908-06-14',
    name: named('Alva', 'Testsson'),
    address: swedish(['Kilsgatan 3'], '66530', 'Kil'),
    registration: registered('1715', '2018-08-15'),
    relations: [rel('guardian', 'V', TORE, '1908-06-14')],
  },
  '190909272437': {
    personalNumber: '190909272437',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1909-09-27',
    name: named('Elis', 'Testsson'),
    address: swedish(['Skoghallsvägen 12'], '66330', 'Skoghall'),
    registration: registered('1761', '2019-01-02'),
    relations: [rel('guardian', 'V', TORE, '1909-09-27')],
  },
  '190704152628': {
    personalNumber: '190704152628',
    subjectType: 'personnummer',
    protection: { protectedRegistration: true, confidentialityMarking: true },
    birthdate: '1907-04-15',
    name: named('Stina', 'Testsson'),
    address: FORMEDLING,
    registration: registered('2584', '2020-09-01'),
    relations: [rel('guardian', 'V', TORE, '1907-04-15')],
  },
  '190503182446': {
    personalNumber: '190503182446',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1905-03-18',
    name: named('Maja', 'Testsson'),
    address: swedish(['Våxnäsgatan 20'], '65340', 'Karlstad'),
    registration: registered('1780', '2012-04-01'),
    relations: [
      { type: 'father', code: 'FA', personalNumber: TORE, name: named('Tore', 'Testsson'), from: '1905-03-18' },
      { type: 'mother', code: 'MO', birthdate: '1879-04-12', from: '1905-03-18', deregistered: true },
    ],
  },
  '190111032850': {
    personalNumber: '190111032850',
    subjectType: 'personnummer',
    protection: { protectedRegistration: true, confidentialityMarking: false },
    birthdate: '1901-11-03',
    name: named('Johan', 'Lindqvist'),
    address: FORMEDLING,
    registration: registered('1737', '1997-06-10'),
    relations: [],
  },
  '190205112790': {
    personalNumber: '190205112790',
    subjectType: 'personnummer',
    protection: { protectedRegistration: false, confidentialityMarking: true },
    birthdate: '1902-05-11',
    name: named('Nils', 'Berggren'),
    address: swedish(['Kyrkgatan 2'], '68630', 'Sunne'),
    registration: registered('1766', '1988-05-01'),
    relations: [],
  },
  '190402202584': {
    personalNumber: '190402202584',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1904-02-20',
    deregistration: { reason: 'deceased', code: 'AV', date: '1995-05-14' },
    name: named('Elsa', 'Hedlund'),
    registration: registered('1782', '1960'),
    relations: [],
  },
  '190310092374': {
    personalNumber: '190310092374',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1903-10-09',
    deregistration: { reason: 'emigrated', code: 'UV', date: '1998-03-01' },
    name: named('Erik', 'Nordin'),
    address: { streetLines: ['Karl Johans gate 1', '0154 Oslo'], country: 'NO' },
    relations: [],
  },
  '190803752427': {
    personalNumber: '190803752427',
    subjectType: 'samordningsnummer',
    protection: NO_PROTECTION,
    birthdate: '1908-03-15',
    name: named('Ebba', 'Samordnadsson'),
    relations: [],
  },
  '190208254573': {
    personalNumber: '190208254573',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1902-08-25',
    name: { givenNames: 'Karl Johan', callingName: 'Johan', middleName: 'Berg', familyName: 'Mellansson' },
    address: swedish(['Köpmangatan 4'], '66130', 'Säffle'),
    registration: registered('1785', '2005-07-15'),
    relations: [],
  },
  '189912300085': {
    personalNumber: '189912300085',
    subjectType: 'personnummer',
    protection: NO_PROTECTION,
    birthdate: '1899-12-30',
    name: named('Sigrid', 'Sekelsdotter'),
    address: swedish(['Västerlånggatan 8'], '68130', 'Kristinehamn'),
    registration: registered('1781', '1947'),
    relations: [],
  },
};

describe('lookup against the simulator (mutual TLS)', () => {
  let navet: RegistryAdapter;
  before(async () => {
    navet = await adapter();
  });

  it('has an expectation for every fixture record', () => {
    assert.deepEqual(sim.control.records().map((r) => r.personId).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [number, expected] of Object.entries(EXPECTED)) {
    it(`maps ${expected.name?.givenNames} ${expected.name?.familyName} (${expected.subjectType}${expected.deregistration ? `, ${expected.deregistration.reason}` : ''})`, async () => {
      assert.deepEqual(await navet.lookup(number, ALL), expected);
    });
  }

  it('answers null for a person the registry does not know', async () => {
    assert.equal(await navet.lookup(NOT_FOUND, ALL), null);
    assert.equal(lastCall().outcome, 'empty');
  });

  it('returns only the requested fields (plus identity, protection and deregistration)', async () => {
    assert.deepEqual(await navet.lookup(TORE, ['registration']), {
      personalNumber: TORE,
      subjectType: 'personnummer',
      protection: NO_PROTECTION,
      birthdate: '1986-02-21',
      registration: registered('1780', '2015-06-01'),
    });
    const elsa = await navet.lookup('190402202584', []);
    assert.deepEqual(elsa?.deregistration, EXPECTED['190402202584']!.deregistration);
    assert.equal(elsa?.name, undefined);
  });

  it('sends the SOAP request as documented', async () => {
    await navet.lookup(TORE, ALL);
    const call = lastCall();
    assert.equal(call.path, '/na/na_epersondata/V2/personpostXML');
    assert.equal(call.contentType, 'text/xml;charset=UTF-8');
    assert.equal(call.soapAction, '""');
    assert.equal(call.personId, TORE);
    assert.equal(call.orgNr, NAVET_REGION_CREDENTIALS.orgNr);
    assert.equal(call.bestallningsId, NAVET_REGION_CREDENTIALS.bestallningsId);
  });

  it('does not send a malformed personal number', async () => {
    const before = sim.control.calls().total;
    for (const bad of ['8602212394', '19860221-2394', '198613212394', '19860221239X']) {
      await rejectsHub(navet.lookup(bad, ALL), 'REGISTRY_REJECTED');
    }
    assert.equal(sim.control.calls().total, before);
  });

  it('checks health with a real lookup', async () => {
    await navet.health();
    assert.equal(lastCall().personId, NAVET_HEALTH_PERSON_ID);
    assert.equal(lastCall().outcome, 'empty');
  });
});

describe('lookup of unusual records', () => {
  const pn = (nine: string) => `19${nine}${luhnCheckDigit(nine)}`;
  const REFERRED = pn('010101123');
  const NEW_NUMBER = pn('010101131');
  const HYPHEN = pn('020202234');
  const ABROAD = pn('030303345');
  let special: NavetSimulator;
  let navet: RegistryAdapter;
  before(async () => {
    const records: NavetRecord[] = [
      {
        personId: REFERRED,
        Sekretessmarkering: 'N',
        SkyddadFolkbokforing: 'N',
        Personpost: {
          HanvisningsPersonNr: NEW_NUMBER,
          Avregistrering: { AvregistreringsorsakKod: 'GN', Avregistreringsdatum: '19950500' },
          Namn: { Fornamn: 'Per' },
        },
      },
      {
        personId: HYPHEN,
        Sekretessmarkering: 'N',
        SkyddadFolkbokforing: 'N',
        Personpost: {
          Namn: { Tilltalsnamnsmarkering: '12', Fornamn: 'Anna Karin Maria', Efternamn: 'Ek & Lind <AB>' },
          Folkbokforing: { LanKod: '01', KommunKod: '80' },
          Adresser: { Folkbokforingsadress: { CareOf: 'Bo Ek', Utdelningsadress1: 'Lgh 1102', Utdelningsadress2: 'Storgatan 1', PostNr: '11122', Postort: 'Stockholm' } },
          Relationer: [{ RelationId: { PersonNr: NEW_NUMBER }, Relationstyp: 'XX' }],
        },
      },
      {
        personId: ABROAD,
        Sekretessmarkering: 'N',
        SkyddadFolkbokforing: 'N',
        Personpost: { Adresser: { Utlandsadress: { Utdelningsadress1: 'Main Street 1', Utdelningsadress2: 'Springfield', Land: 'Atlantis' } } },
      },
    ];
    special = await startNavetSimulator({ pki, records });
    navet = await adapter({ baseUrl: special.url });
  });
  after(() => special.close());

  it('maps a reference to a new number and an incomplete deregistration date', async () => {
    const p = await navet.lookup(REFERRED, ALL);
    assert.equal(p?.referredTo, NEW_NUMBER);
    assert.deepEqual(p?.deregistration, { reason: 'other', code: 'GN', date: '1995-05' });
    assert.deepEqual(p?.name, { givenNames: 'Per' });
    assert.equal(p?.registration, undefined);
  });

  it('decodes a hyphenated calling name, escaped text, care-of, no registration date and an unknown relation type', async () => {
    const p = await navet.lookup(HYPHEN, ALL);
    assert.deepEqual(p?.name, { givenNames: 'Anna Karin Maria', callingName: 'Anna-Karin', familyName: 'Ek & Lind <AB>' });
    assert.deepEqual(p?.address, { careOf: 'Bo Ek', streetLines: ['Lgh 1102', 'Storgatan 1'], postalCode: '11122', locality: 'Stockholm' });
    assert.deepEqual(p?.registration, { countyCode: '01', municipalityCode: '0180' });
    assert.deepEqual(p?.relations, [{ type: 'other', code: 'XX', personalNumber: NEW_NUMBER }]);
  });

  it('keeps a country it cannot name as the last address line', async () => {
    const p = await navet.lookup(ABROAD, ['address']);
    assert.deepEqual(p?.address, { streetLines: ['Main Street 1', 'Springfield', 'Atlantis'] });
  });
});

// ---------------------------------------------------------------------------------------------

describe('credentials per tenant', () => {
  it("uses a tenant's own certificate, OrgNr and BestallningsId, and the defaults for everyone else", async () => {
    const navet = await adapter({}, { kil: ownBlock() });

    assert.ok(await navet.lookup(TORE, ['name'], { tenant: 'kil' }));
    let call = lastCall();
    assert.equal(call.clientCn, tenantCn);
    assert.equal(call.orgNr, NAVET_TENANT_CREDENTIALS.orgNr);
    assert.equal(call.bestallningsId, NAVET_TENANT_CREDENTIALS.bestallningsId);

    for (const context of [{}, { tenant: 'arvika' }]) {
      assert.ok(await navet.lookup(TORE, ['name'], context));
      call = lastCall();
      assert.equal(call.clientCn, regionCn);
      assert.equal(call.orgNr, NAVET_REGION_CREDENTIALS.orgNr);
      assert.equal(call.bestallningsId, NAVET_REGION_CREDENTIALS.bestallningsId);
    }
  });

  it('fills a partial tenant block from the defaults', async () => {
    // Only a BestallningsId of its own: the region's certificate and OrgNr with Grums's order, which the registry does not know.
    const navet = await adapter({}, { grums: validTenant({ bestallningsId: '00000079-FO01-0009' }) });
    const err = await rejectsHub(navet.lookup(TORE, ALL, { tenant: 'grums' }), 'REGISTRY_REJECTED');
    assert.match(err.detail!, new RegExp(`Felkod ${NAVET_FELKOD.UNKNOWN_ORDER}`));
    const call = lastCall();
    assert.equal(call.clientCn, regionCn);
    assert.equal(call.orgNr, NAVET_REGION_CREDENTIALS.orgNr);
    assert.equal(call.bestallningsId, '00000079-FO01-0009');
  });

  it('refuses a lookup without a tenant when there are no default credentials', async () => {
    const navet = await adapter({ clientCert: undefined, orgNr: undefined, bestallningsId: undefined }, { kil: ownBlock() });
    assert.ok(await navet.lookup(TORE, ['name'], { tenant: 'kil' }));
    const before = sim.control.calls().total;
    await rejectsHub(navet.lookup(TORE, ['name']), 'CONFIG_INVALID');
    await rejectsHub(navet.lookup(TORE, ['name'], { tenant: 'arvika' }), 'CONFIG_INVALID');
    assert.equal(sim.control.calls().total, before);
  });
});

// ---------------------------------------------------------------------------------------------

describe('errors', () => {
  let navet: RegistryAdapter;
  /** Only for the cases that wait for the timeout. */
  let quick: RegistryAdapter;
  before(async () => {
    navet = await adapter();
    quick = await adapter({ timeoutMs: 600 });
  });

  it('an unknown BestallningsId is REGISTRY_REJECTED with Felkod and Beskrivning', async () => {
    const other = await adapter({ bestallningsId: '00000079-FO01-0042' });
    const err = await rejectsHub(other.lookup(TORE, ALL), 'REGISTRY_REJECTED');
    assert.match(err.detail!, /HTTP 500/);
    assert.match(err.detail!, /faultstring "Felaktiga inparametrar"/);
    assert.match(err.detail!, /Felkod 11/);
    assert.match(err.detail!, /Beskrivning "Beställningen finns inte/);
  });

  it('a SOAP fault is REGISTRY_REJECTED, and a personal number in its text is masked', async () => {
    sim.control.failNext({ kind: 'fault', beskrivning: `Personen ${TORE} (860221-2394) kunde inte hämtas` });
    const err = await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_REJECTED');
    assert.match(err.detail!, /Felkod 99/);
    assert.match(err.detail!, /Personen <nummer> \(<nummer>\) kunde inte hämtas/);
  });

  it('503 from a load balancer is REGISTRY_UNAVAILABLE', async () => {
    sim.control.setOutage('unavailable');
    const err = await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    assert.match(err.detail!, /HTTP 503/);
  });

  it('HTTP 500 without a SOAP fault is REGISTRY_UNAVAILABLE', async () => {
    sim.control.failNext({ kind: 'http500' });
    await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
  });

  it('a reset connection is REGISTRY_UNAVAILABLE', async () => {
    sim.control.setOutage('reset');
    await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
  });

  it('a registry that never answers times out as REGISTRY_UNAVAILABLE', async () => {
    sim.control.setOutage('hang');
    const err = await rejectsHub(quick.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    assert.match(err.detail!, /timed out after 600 ms/);
  });

  it('an answer slower than timeoutMs is REGISTRY_UNAVAILABLE', async () => {
    sim.control.setLatency(10_000);
    const err = await rejectsHub(quick.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    assert.match(err.detail!, /timed out after 600 ms/);
  });

  it("the caller's abort is REGISTRY_UNAVAILABLE", async () => {
    sim.control.setOutage('hang');
    const controller = new AbortController();
    const pending = navet.lookup(TORE, ALL, { signal: controller.signal });
    controller.abort();
    const err = await rejectsHub(pending, 'REGISTRY_UNAVAILABLE');
    assert.match(err.detail!, /aborted by the caller/);
  });

  it('a refused connection is REGISTRY_UNAVAILABLE', async () => {
    const closed = await adapter({ baseUrl: `https://127.0.0.1:${await closedPort()}/na/na_epersondata/V2` });
    const err = await rejectsHub(closed.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    assert.match(err.detail!, /ECONNREFUSED/);
  });

  it('a wrong path is REGISTRY_REJECTED (HTTP 404)', async () => {
    const wrong = await adapter({ baseUrl: sim.url.replace('/V2', '/V9') });
    const err = await rejectsHub(wrong.lookup(TORE, ALL), 'REGISTRY_REJECTED');
    assert.match(err.detail!, /HTTP 404/);
  });

  for (const [kind, pattern] of [
    ['malformed', /not well-formed/],
    ['doctype', /DOCTYPE/],
    ['wrong-content-type', /content type text\/html/],
    ['two-posts', /2 posts for one number/],
    ['other-person', /another number/],
    ['oversized', /maxResponseBytes/],
  ] as const) {
    it(`an answer that is ${kind} is REGISTRY_RESPONSE_INVALID`, async () => {
      sim.control.failNext({ kind });
      const err = await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_RESPONSE_INVALID');
      assert.match(err.detail!, pattern);
    });
  }

  it('a client certificate from another CA is refused by the registry: REGISTRY_UNAVAILABLE, no call served', async () => {
    const foreign = await adapter({ clientCert: { certFile: pki.foreignClientCert, keyFile: pki.foreignClientKey } });
    const before = sim.control.calls().total;
    await rejectsHub(foreign.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    assert.equal(sim.control.calls().total, before);
  });

  it('a server whose certificate does not chain to the pinned CA is refused: REGISTRY_UNAVAILABLE', async () => {
    const impostor = await startNavetSimulator({
      tls: {
        cert: await readFile(pki.unpinnedServerCert, 'utf8'),
        key: await readFile(pki.unpinnedServerKey, 'utf8'),
        ca: await readFile(pki.navetClientCa, 'utf8'),
      },
    });
    try {
      const pinned = await adapter({ baseUrl: impostor.url });
      const err = await rejectsHub(pinned.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
      assert.match(err.detail!, /TLS failure/);
      assert.equal(impostor.control.calls().total, 0);
      // The same server is accepted when its own CA is the pinned one: the refusal was the pinning.
      const trusting = await adapter({ baseUrl: impostor.url, caFile: pki.unpinnedServerCa });
      assert.ok(await trusting.lookup(TORE, ['name']));
    } finally {
      await impostor.close();
    }
  });

  it('recovers once the registry is back', async () => {
    sim.control.setOutage('unavailable');
    await rejectsHub(navet.lookup(TORE, ALL), 'REGISTRY_UNAVAILABLE');
    sim.control.setOutage(null);
    assert.deepEqual(await navet.lookup(TORE, ALL), EXPECTED[TORE]);
  });
});

describe('the fixture records', () => {
  it('are the test persons of fixtures/test-persons.json, except the one the registry must not know', async () => {
    const persons = JSON.parse(await readFile(new URL('../../fixtures/test-persons.json', import.meta.url), 'utf8')) as Array<{
      personalNumber: string;
      givenName: string;
      surname: string;
      tags: string[];
    }>;
    const records = loadNavetRecords();
    const byId = new Map(records.map((r) => [r.personId, r]));
    for (const p of persons) {
      const record = byId.get(p.personalNumber);
      if (p.tags.includes('not-found')) {
        assert.equal(record, undefined, `${p.givenName} must not be in the records`);
        continue;
      }
      assert.ok(record, `${p.givenName} ${p.surname} has a record`);
      assert.equal(record.Personpost.Namn?.Fornamn, p.givenName);
      assert.equal(record.Personpost.Namn?.Efternamn, p.surname);
      const protectedTag = p.tags.includes('protected');
      assert.equal(record.SkyddadFolkbokforing === 'J', protectedTag, `${p.givenName}: SkyddadFolkbokforing`);
    }
    assert.equal(records.length, persons.length - 1);
  });
});
