/**
 * The simulator's records: JSON that mirrors Navet's `Folkbokforingspost` element for element (same
 * names, same order as the schema), rendered into the XML the real service answers with.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EPERSONDATA_NS, SOAP_ENV_NS, escapeXml } from '../soap.ts';

/** Default records: `fixtures/navet/records.json`. */
export const DEFAULT_RECORDS_FILE = fileURLToPath(new URL('../../../fixtures/navet/records.json', import.meta.url));

const text = z.string().min(1);
/** Ofullständigt datum: YYYYMMDD, unknown parts 00. */
const date = z.string().regex(/^\d{8}$/, 'YYYYMMDD (00 for an unknown month or day)');
const number12 = z.string().regex(/^\d{12}$/, '12 digits');
const jn = z.enum(['J', 'N']);

// Key order is the schema's element order: the renderer writes the keys in this order.
const namn = z.strictObject({
  Tilltalsnamnsmarkering: z.string().regex(/^[1-9]\d$/, 'two digits, 10-99').optional(),
  Fornamn: text.optional(),
  Mellannamn: text.optional(),
  Efternamn: text.optional(),
  Aviseringsnamn: text.optional(),
});

const avregistrering = z.strictObject({
  AvregistreringsorsakKod: text.optional(),
  Avregistreringsdatum: date.optional(),
});

const folkbokforing = z.strictObject({
  Folkbokforingsdatum: date.optional(),
  LanKod: z.string().regex(/^\d{2}$/).optional(),
  KommunKod: z.string().regex(/^\d{2}$/).optional(),
  ForsamlingKod: z.string().regex(/^\d{2}$/).optional(),
  Fastighetsbeteckning: text.optional(),
  Folkbokforingstyp: text.optional(),
});

const svenskAdress = z.strictObject({
  CareOf: text.optional(),
  Utdelningsadress1: text.optional(),
  Utdelningsadress2: text.optional(),
  PostNr: z.string().regex(/^\d{5}$/, '5 digits').optional(),
  Postort: text.optional(),
});

const utlandsadress = z.strictObject({
  Utdelningsadress1: text.optional(),
  Utdelningsadress2: text.optional(),
  Utdelningsadress3: text.optional(),
  Land: text.optional(),
  Utlandsadressdatum: date.optional(),
});

const relation = z.strictObject({
  RelationId: z.union([z.strictObject({ PersonNr: number12 }), z.strictObject({ FodelsetidNr: z.string().regex(/^\d{8,12}$/) })]),
  Relationstyp: text,
  RelationFromdatum: date.optional(),
  RelationTomdatum: date.optional(),
  Namn: namn.optional(),
  Avregistrering: avregistrering.optional(),
});

/** `PersonId` is not given here: it is rendered from the record's `personId`. */
const personpost = z.strictObject({
  HanvisningsPersonNr: number12.optional(),
  Avregistrering: avregistrering.optional(),
  Namn: namn.optional(),
  Folkbokforing: folkbokforing.optional(),
  Adresser: z
    .strictObject({
      Folkbokforingsadress: svenskAdress.optional(),
      SarskildPostadress: svenskAdress.optional(),
      Utlandsadress: utlandsadress.optional(),
    })
    .optional(),
  Civilstand: z.strictObject({ CivilstandKod: text, Civilstandsdatum: date.optional() }).optional(),
  Invandring: z.strictObject({ Invandringsdatum: date.optional() }).optional(),
  /** Rendered as `<Relationer><Relation>...</Relation>...</Relationer>`. */
  Relationer: z.array(relation).optional(),
  /** Rendered as repeated `<Medborgarskap>` elements. */
  Medborgarskap: z.array(z.strictObject({ MedborgarskapslandKod: text, Medborgarskapsdatum: date.optional() })).optional(),
});

export const navetRecordSchema = z.strictObject({
  /** The personnummer or samordningsnummer (12 digits): rendered as `Personpost/PersonId/PersonNr`. */
  personId: number12,
  /** For the reader of the fixtures; not rendered. */
  note: z.string().optional(),
  Sekretessmarkering: jn,
  SkyddadFolkbokforing: jn,
  Personpost: personpost,
});

export const navetRecordsFileSchema = z.strictObject({
  about: z.string().optional(),
  records: z.array(navetRecordSchema),
});

export type NavetRecord = z.infer<typeof navetRecordSchema>;

/** Validates records; throws with every problem (`records.3.Personpost.Namn.Fornamn: ...`). */
export function parseNavetRecords(input: unknown, label = 'records'): NavetRecord[] {
  const parsed = z.array(navetRecordSchema).safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid Navet records: ${parsed.error.issues.map((i) => `${[label, ...i.path].join('.')}: ${i.message}`).join('; ')}`);
  }
  const seen = new Set<string>();
  for (const r of parsed.data) {
    if (seen.has(r.personId)) throw new Error(`invalid Navet records: ${r.personId} appears twice`);
    seen.add(r.personId);
  }
  return parsed.data;
}

export function loadNavetRecords(file = DEFAULT_RECORDS_FILE): NavetRecord[] {
  const parsed = navetRecordsFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parseNavetRecords(parsed.data.records);
}

function render(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return `<${name}>${escapeXml(value)}</${name}>`;
  if (Array.isArray(value)) {
    if (name === 'Relationer') return `<Relationer>${value.map((v) => render('Relation', v)).join('')}</Relationer>`;
    return value.map((v) => render(name, v)).join('');
  }
  const inner = Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => render(k, v))
    .join('');
  return `<${name}>${inner}</${name}>`;
}

/** One `<Folkbokforingspost>` (no namespace, as in Navet's schema). */
export function renderFolkbokforingspost(record: NavetRecord): string {
  const { personId, note: _note, Personpost, ...flags } = record;
  return render('Folkbokforingspost', { ...flags, Personpost: { PersonId: { PersonNr: personId }, ...Personpost } });
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const ENVELOPE_OPEN = `<S:Envelope xmlns:S="${SOAP_ENV_NS}"><S:Body>`;
const ENVELOPE_CLOSE = '</S:Body></S:Envelope>';

/** The answer of personpostXML: zero or more posts. `padding` is put in a comment (for oversized answers). */
export function renderPersonpostAnswer(records: readonly NavetRecord[], options: { doctype?: boolean; padding?: number } = {}): string {
  const posts = records.map(renderFolkbokforingspost).join('');
  const poster = posts ? `<ns2:Folkbokforingsposter>${posts}</ns2:Folkbokforingsposter>` : '<ns2:Folkbokforingsposter/>';
  const doctype = options.doctype ? '<!DOCTYPE S:Envelope [<!ENTITY lan "17">]>' : '';
  const padding = options.padding ? `<!--${'x'.repeat(options.padding)}-->` : '';
  return (
    XML_DECL +
    doctype +
    ENVELOPE_OPEN +
    `<ns2:PersonpostXMLResponse xmlns:ns2="${EPERSONDATA_NS}">${poster}</ns2:PersonpostXMLResponse>` +
    padding +
    ENVELOPE_CLOSE
  );
}

export function renderFault(felkod: number, beskrivning: string, faultstring = 'Felaktiga inparametrar'): string {
  return (
    XML_DECL +
    ENVELOPE_OPEN +
    '<S:Fault>' +
    '<faultcode>S:Server</faultcode>' +
    `<faultstring>${escapeXml(faultstring)}</faultstring>` +
    `<detail><ns2:WebServiceFault xmlns:ns2="${EPERSONDATA_NS}">` +
    `<ns2:Felkod>${felkod}</ns2:Felkod><ns2:Beskrivning>${escapeXml(beskrivning)}</ns2:Beskrivning>` +
    '</ns2:WebServiceFault></detail>' +
    '</S:Fault>' +
    ENVELOPE_CLOSE
  );
}
