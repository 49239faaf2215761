import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ensureDevPki, type DevPki } from '../../../dev/pki.ts';
import { postPersonId } from '../person.ts';
import { EPERSONDATA_NS, SOAP_ENV_NS, personpostRequest, readPersonpostAnswer } from '../soap.ts';
import {
  NAVET_FELKOD,
  NAVET_REGION_CREDENTIALS,
  NAVET_TENANT_CREDENTIALS,
  parseNavetRecords,
  renderPersonpostAnswer,
  startNavetSimulator,
  type NavetSimulator,
} from './server.ts';

const TORE = '198602212394';
const NOT_FOUND = '190501121230';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let pki: DevPki;
let sim: NavetSimulator;
let ca: string;
let region: { cert: string; key: string };
let tenant: { cert: string; key: string };
let tenantCn: string;

before(async () => {
  pki = await ensureDevPki(join(tmpdir(), 'idnav-test-pki'));
  sim = await startNavetSimulator({ pki });
  ca = await readFile(pki.navetServerCa, 'utf8');
  region = { cert: await readFile(pki.navetClientCert, 'utf8'), key: await readFile(pki.navetClientKey, 'utf8') };
  tenant = { cert: await readFile(pki.navetTenantCert, 'utf8'), key: await readFile(pki.navetTenantKey, 'utf8') };
  tenantCn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(tenant.cert).subject)![1]!;
});

afterEach(() => sim.control.reset());
after(() => sim?.close());

/** One HTTPS request with a fresh connection; rejects on a transport error or after `giveUpMs`. */
function call(
  options: { path?: string; method?: string; body?: string; contentType?: string; client?: { cert: string; key: string } | null; base?: string; giveUpMs?: number } = {},
): Promise<Answer> {
  const url = new URL((options.base ?? sim.url) + (options.path ?? '/personpostXML'));
  const client = options.client === undefined ? region : options.client;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'POST',
        ca,
        ...(client ?? {}),
        agent: false,
        headers: { 'content-type': options.contentType ?? 'text/xml;charset=UTF-8', soapaction: '""' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.giveUpMs) req.setTimeout(options.giveUpMs, () => req.destroy(new Error('gave up waiting')));
    req.end(options.body ?? (options.method && options.method !== 'POST' ? undefined : personpostRequest(NAVET_REGION_CREDENTIALS.orgNr, NAVET_REGION_CREDENTIALS.bestallningsId, TORE)));
  });
}

function lookupBody(personId: string, creds: { orgNr: string; bestallningsId: string } = NAVET_REGION_CREDENTIALS): string {
  return personpostRequest(creds.orgNr, creds.bestallningsId, personId);
}

/** The Felkod of a SOAP fault answer (and checks the fault's shape). */
function felkodOf(answer: Answer): number {
  assert.equal(answer.status, 500);
  assert.match(String(answer.headers['content-type']), /^text\/xml/);
  const read = readPersonpostAnswer(answer.body);
  assert.equal(read.kind, 'fault');
  if (read.kind !== 'fault') return NaN;
  assert.equal(read.fault.faultcode, 'S:Server');
  assert.ok(read.fault.beskrivning);
  return Number(read.fault.felkod);
}

describe('TLS', () => {
  it('refuses a client certificate from another CA before any HTTP', async () => {
    const before = sim.control.calls().total;
    const foreign = { cert: await readFile(pki.foreignClientCert, 'utf8'), key: await readFile(pki.foreignClientKey, 'utf8') };
    await assert.rejects(call({ client: foreign }));
    assert.equal(sim.control.calls().total, before);
  });

  it('refuses a client without a certificate', async () => {
    const before = sim.control.calls().total;
    await assert.rejects(call({ client: null }));
    assert.equal(sim.control.calls().total, before);
  });

  it("records the client certificate's subject", async () => {
    await call({ client: tenant, body: lookupBody(TORE, NAVET_TENANT_CREDENTIALS) });
    const last = sim.control.calls().recent.at(-1)!;
    assert.equal(last.clientCn, tenantCn);
    assert.match(last.clientSubject!, new RegExp(`^C=SE, O=.+, CN=${tenantCn.replace(/[()]/g, '\\$&')}$`));
    assert.equal(last.orgNr, NAVET_TENANT_CREDENTIALS.orgNr);
  });
});

describe('Personpost', () => {
  it('answers a known number with one namespaced post', async () => {
    const answer = await call({ body: lookupBody(TORE) });
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^text\/xml/);
    assert.ok(answer.body.includes(`<S:Envelope xmlns:S="${SOAP_ENV_NS}">`));
    assert.ok(answer.body.includes(`<ns2:PersonpostXMLResponse xmlns:ns2="${EPERSONDATA_NS}"><ns2:Folkbokforingsposter><Folkbokforingspost>`));
    const read = readPersonpostAnswer(answer.body);
    assert.equal(read.kind, 'posts');
    if (read.kind === 'posts') {
      assert.equal(read.posts.length, 1);
      assert.equal(postPersonId(read.posts[0]!), TORE);
    }
  });

  it('answers an unknown valid number with an empty Folkbokforingsposter', async () => {
    const answer = await call({ body: lookupBody(NOT_FOUND) });
    assert.equal(answer.status, 200);
    assert.ok(answer.body.includes('<ns2:Folkbokforingsposter/>'));
    assert.deepEqual(readPersonpostAnswer(answer.body), { kind: 'posts', posts: [] });
  });

  it('accepts any namespace prefixes, including a default namespace', async () => {
    const body =
      `<e:Envelope xmlns:e="${SOAP_ENV_NS}"><e:Body><PersonpostRequest xmlns="${EPERSONDATA_NS}">` +
      `<Bestallning><OrgNr>${NAVET_REGION_CREDENTIALS.orgNr}</OrgNr><BestallningsId>${NAVET_REGION_CREDENTIALS.bestallningsId}</BestallningsId></Bestallning>` +
      `<PersonId>${TORE}</PersonId></PersonpostRequest></e:Body></e:Envelope>`;
    assert.equal((await call({ body })).status, 200);
  });

  it('refuses an unknown OrgNr/BestallningsId pair with "Felaktiga inparametrar"', async () => {
    const answer = await call({ body: lookupBody(TORE, { orgNr: NAVET_REGION_CREDENTIALS.orgNr, bestallningsId: NAVET_TENANT_CREDENTIALS.bestallningsId }) });
    assert.equal(felkodOf(answer), NAVET_FELKOD.UNKNOWN_ORDER);
    assert.match(answer.body, /<faultstring>Felaktiga inparametrar<\/faultstring>/);
  });

  it('refuses a malformed PersonId', async () => {
    for (const bad of ['19860221239', '198602212395', '198613212394', 'abc']) {
      assert.equal(felkodOf(await call({ body: lookupBody(bad) })), NAVET_FELKOD.INVALID_PERSON_ID, bad);
    }
  });

  it('refuses a bad envelope', async () => {
    const bodies = [
      'not xml',
      `<Envelope><Body/></Envelope>`,
      lookupBody(TORE).replace(EPERSONDATA_NS, 'urn:other'),
      lookupBody(TORE).replace(/<v1:PersonId>.*<\/v1:PersonId>/, ''),
      `<!DOCTYPE x [<!ENTITY a "b">]>${lookupBody(TORE)}`,
    ];
    for (const body of bodies) assert.equal(felkodOf(await call({ body })), NAVET_FELKOD.INVALID_REQUEST, body.slice(0, 60));
  });

  it('answers 404 elsewhere, 405 for other methods, 415 for another content type', async () => {
    assert.equal((await call({ path: '/personpost' })).status, 404);
    const get = await call({ method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await call({ contentType: 'application/json' })).status, 415);
  });

  it('binds a pair to a certificate when asked to', async () => {
    const bound = await startNavetSimulator({ pki, credentials: [{ ...NAVET_TENANT_CREDENTIALS, clientCn: tenantCn }] });
    try {
      const body = lookupBody(TORE, NAVET_TENANT_CREDENTIALS);
      assert.equal((await call({ base: bound.url, client: tenant, body })).status, 200);
      assert.equal(felkodOf(await call({ base: bound.url, client: region, body })), NAVET_FELKOD.CERTIFICATE_NOT_OF_ORGANISATION);
    } finally {
      await bound.close();
    }
  });
});

describe('control', () => {
  it('counts calls per PersonId and resets the counts', async () => {
    sim.control.resetCalls();
    await call({ body: lookupBody(TORE) });
    await call({ body: lookupBody(TORE) });
    await call({ body: lookupBody(NOT_FOUND) });
    await call({ path: '/nowhere' });
    const stats = sim.control.calls();
    assert.equal(stats.total, 4);
    assert.deepEqual(stats.byPersonId, { [TORE]: 2, [NOT_FOUND]: 1 });
    assert.deepEqual(
      stats.recent.map((c) => c.outcome),
      ['post', 'post', 'empty', 'not-found'],
    );
    sim.control.resetCalls();
    assert.deepEqual(sim.control.calls(), { total: 0, byPersonId: {}, recent: [] });
  });

  it('fails the next calls as told, then answers normally', async () => {
    sim.control.failNext({ kind: 'http500', count: 2 });
    sim.control.failNext({ kind: 'wrong-content-type' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call({ body: lookupBody(TORE) })).status);
    assert.deepEqual(statuses, [500, 500, 200, 200]);
    assert.deepEqual(
      sim.control.calls().recent.slice(-4).map((c) => c.forced),
      ['http500', 'http500', 'wrong-content-type', undefined],
    );
  });

  it('renders each forced failure', async () => {
    sim.control.failNext({ kind: 'fault', felkod: 42, beskrivning: 'Test' });
    assert.equal(felkodOf(await call()), 42);

    sim.control.failNext({ kind: 'malformed' });
    const malformed = await call();
    assert.equal(malformed.status, 200);
    assert.throws(() => readPersonpostAnswer(malformed.body), /well-formed/);

    sim.control.failNext({ kind: 'wrong-content-type' });
    const html = await call();
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.equal(readPersonpostAnswer(html.body).kind, 'posts');

    sim.control.failNext({ kind: 'doctype' });
    const doctype = await call();
    assert.throws(() => readPersonpostAnswer(doctype.body), /DOCTYPE/);

    sim.control.failNext({ kind: 'two-posts' });
    const two = readPersonpostAnswer((await call()).body);
    assert.equal(two.kind === 'posts' && two.posts.length, 2);

    sim.control.failNext({ kind: 'other-person' });
    const other = readPersonpostAnswer((await call()).body);
    assert.ok(other.kind === 'posts' && postPersonId(other.posts[0]!) !== TORE);

    sim.control.failNext({ kind: 'oversized' });
    assert.ok((await call()).body.length > 2 * 1024 * 1024);
  });

  it('outage "unavailable" answers 503 with an HTML page', async () => {
    sim.control.setOutage('unavailable');
    const answer = await call();
    assert.equal(answer.status, 503);
    assert.match(String(answer.headers['content-type']), /^text\/html/);
    assert.match(answer.body, /^<!DOCTYPE html>/);
  });

  it('outage "reset" destroys the connection', async () => {
    sim.control.setOutage('reset');
    await assert.rejects(call(), /socket hang up|ECONNRESET/);
    assert.equal(sim.control.calls().recent.at(-1)!.outcome, 'reset');
  });

  it('outage "hang" never answers', async () => {
    sim.control.setOutage('hang');
    await assert.rejects(call({ giveUpMs: 300 }), /gave up waiting/);
    assert.equal(sim.control.calls().recent.at(-1)!.outcome, 'hang');
  });

  it('latency delays but still answers', async () => {
    sim.control.setLatency(50);
    assert.equal((await call()).status, 200);
  });

  it('rejects bad control input', () => {
    assert.throws(() => sim.control.setLatency(-1));
    assert.throws(() => sim.control.failNext({ kind: 'fault', count: 0 }));
  });
});

describe('records', () => {
  it('loads the fixtures: every record renders and reads back as its own post', () => {
    const records = sim.control.records();
    assert.equal(records.length, 13);
    assert.ok(!records.some((r) => r.personId === NOT_FOUND));
    for (const r of records) {
      const read = readPersonpostAnswer(renderPersonpostAnswer([r]));
      assert.ok(read.kind === 'posts' && postPersonId(read.posts[0]!) === r.personId, r.personId);
    }
  });

  it('refuses records with unknown keys, bad values or a number twice', () => {
    const ok = { personId: TORE, Sekretessmarkering: 'N', SkyddadFolkbokforing: 'N', Personpost: {} };
    assert.doesNotThrow(() => parseNavetRecords([ok]));
    assert.throws(() => parseNavetRecords([{ ...ok, Personpost: { Namn: { Fornamm: 'x' } } }]), /records\.0\.Personpost\.Namn/);
    assert.throws(() => parseNavetRecords([{ ...ok, Sekretessmarkering: 'Ja' }]), /records\.0\.Sekretessmarkering/);
    assert.throws(() => parseNavetRecords([{ ...ok, Personpost: { Folkbokforing: { Folkbokforingsdatum: '1995-05-14' } } }]), /Folkbokforingsdatum/);
    assert.throws(() => parseNavetRecords([ok, ok]), /twice/);
  });
});
