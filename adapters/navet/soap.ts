/**
 * The SOAP 1.1 messages of ePersondata V2 Personpost (XML answer): the request the adapter sends and a
 * hardened reading of the answer. Shared by the adapter and its simulator.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const EPERSONDATA_NS = 'http://xmls.skatteverket.se/se/skatteverket/folkbokforing/na/epersondata/V1';
/** The path of the Personpost (XML) service below the ePersondata V2 base URL. */
export const PERSONPOST_XML_PATH = '/personpostXML';

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The five predefined XML entities and character references; nothing else is expanded. */
export function decodeXmlText(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, ref: string) => {
    switch (ref) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

export function personpostRequest(orgNr: string, bestallningsId: string, personId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}" xmlns:v1="${EPERSONDATA_NS}">` +
    `<soapenv:Header/>` +
    `<soapenv:Body>` +
    `<v1:PersonpostRequest>` +
    `<v1:Bestallning>` +
    `<v1:OrgNr>${escapeXml(orgNr)}</v1:OrgNr>` +
    `<v1:BestallningsId>${escapeXml(bestallningsId)}</v1:BestallningsId>` +
    `</v1:Bestallning>` +
    `<v1:PersonId>${escapeXml(personId)}</v1:PersonId>` +
    `</v1:PersonpostRequest>` +
    `</soapenv:Body>` +
    `</soapenv:Envelope>`
  );
}

/** Why an answer cannot be read; never holds content from the answer beyond element names. */
export class InvalidXml extends Error {
  override readonly name = 'InvalidXml';
}

export type XmlNode = Record<string, unknown>;

export interface SoapFault {
  faultcode?: string;
  faultstring?: string;
  felkod?: string;
  beskrivning?: string;
}

export type PersonpostAnswer = { kind: 'fault'; fault: SoapFault } | { kind: 'posts'; posts: XmlNode[] };

/** Declarations that could define entities or pull in external content are refused outright. */
export function hasDtd(text: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(text);
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  isArray: (name) => name === 'Folkbokforingspost' || name === 'Relation' || name === 'Medborgarskap',
});

function isNode(v: unknown): v is XmlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Element names (local) of a node's children. */
function childNames(node: XmlNode): string[] {
  return Object.keys(node).filter((k) => k !== '#text');
}

/** The single child element `name` of `node`: an object, '' for an empty element, or undefined. */
export function child(node: XmlNode, name: string, where: string): unknown {
  const v = node[name];
  if (Array.isArray(v)) throw new InvalidXml(`${where}: more than one ${name}`);
  return v;
}

/** Text content of a leaf element; undefined when absent or empty. */
export function leafText(v: unknown, where: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidXml(`${where}: expected text, found elements`);
  const text = decodeXmlText(v).trim();
  return text === '' ? undefined : text;
}

/** Content of an element that holds elements; undefined when absent or empty. */
export function element(v: unknown, where: string): XmlNode | undefined {
  if (v === undefined || v === '') return undefined;
  if (!isNode(v)) throw new InvalidXml(`${where}: expected elements, found ${Array.isArray(v) ? 'a repeated element' : 'text'}`);
  return v;
}

function findDeep(node: unknown, name: string, depth = 0): unknown {
  if (!isNode(node) || depth > 8) return undefined;
  if (name in node) return node[name];
  for (const k of childNames(node)) {
    const found = findDeep(node[k], name, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function faultOf(fault: unknown): SoapFault {
  const f = element(fault, 'Fault') ?? {};
  const detail = f.detail;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? leafText(v, 'Fault') : undefined);
  const out: SoapFault = {};
  const faultcode = str(f.faultcode);
  const faultstring = str(f.faultstring);
  const felkod = str(findDeep(detail, 'Felkod'));
  const beskrivning = str(findDeep(detail, 'Beskrivning'));
  if (faultcode) out.faultcode = faultcode;
  if (faultstring) out.faultstring = faultstring;
  if (felkod) out.felkod = felkod;
  if (beskrivning) out.beskrivning = beskrivning;
  return out;
}

/**
 * Reads a SOAP answer of Personpost: a Fault, or the `Folkbokforingspost` elements of
 * `Body/<response>/Folkbokforingsposter` (any name of the response element is accepted). Namespace
 * prefixes are ignored. Throws {@link InvalidXml} for a DTD, malformed XML or an unexpected structure.
 */
export function readPersonpostAnswer(text: string): PersonpostAnswer {
  if (hasDtd(text)) throw new InvalidXml('the answer has a DOCTYPE or ENTITY declaration');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new InvalidXml(`not well-formed XML (${valid.err.code} at line ${valid.err.line})`);
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch {
    throw new InvalidXml('not well-formed XML');
  }
  if (!isNode(doc)) throw new InvalidXml('no document element');
  const roots = childNames(doc);
  if (roots.length !== 1 || roots[0] !== 'Envelope') throw new InvalidXml('the document element is not a SOAP Envelope');
  const envelope = element(doc.Envelope, 'Envelope');
  const body = envelope && element(child(envelope, 'Body', 'Envelope'), 'Body');
  if (!body) throw new InvalidXml('the SOAP Envelope has no Body');
  if ('Fault' in body) return { kind: 'fault', fault: faultOf(child(body, 'Fault', 'Body')) };

  const names = childNames(body);
  if (names.length !== 1) throw new InvalidXml(`the SOAP Body holds ${names.length} elements, expected one response`);
  const response = element(child(body, names[0]!, 'Body'), names[0]!);
  if (!response || !('Folkbokforingsposter' in response)) throw new InvalidXml(`${names[0]} has no Folkbokforingsposter`);
  const posterRaw = child(response, 'Folkbokforingsposter', names[0]!);
  const poster = element(posterRaw, 'Folkbokforingsposter');
  if (!poster) return { kind: 'posts', posts: [] };
  const extra = childNames(poster).filter((n) => n !== 'Folkbokforingspost');
  if (extra.length) throw new InvalidXml(`Folkbokforingsposter holds unexpected elements (${extra.join(', ')})`);
  const list = (poster.Folkbokforingspost ?? []) as unknown[];
  const posts = list.map((p, i) => {
    const post = element(p, `Folkbokforingspost[${i}]`);
    if (!post) throw new InvalidXml(`Folkbokforingspost[${i}] is empty`);
    return post;
  });
  return { kind: 'posts', posts };
}

/** Reads a SOAP Fault from an error answer, or undefined when the text is not a SOAP Fault. */
export function readFault(text: string): SoapFault | undefined {
  try {
    const answer = readPersonpostAnswer(text);
    return answer.kind === 'fault' ? answer.fault : undefined;
  } catch {
    return undefined;
  }
}
