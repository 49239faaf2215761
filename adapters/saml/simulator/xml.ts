/**
 * XML utilities of the SAML IdP simulator: namespaces, strict parsing (no DTD, no parser leniency),
 * escaping, element navigation and SAML identifiers and timestamps.
 */
import { randomBytes } from 'node:crypto';
import { DOMParser, XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  mdui: 'urn:oasis:names:tc:SAML:metadata:ui',
  mdattr: 'urn:oasis:names:tc:SAML:metadata:attribute',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  psc: 'http://id.swedenconnect.se/authn/1.0/principal-selection/ns',
  shibmd: 'urn:mace:shibboleth:metadata:1.0',
  mdorgext: 'http://id.swedenconnect.se/authn/1.0/md-org-ext/ns',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

export const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  entity: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity',
} as const;

export const ATTRNAME_FORMAT_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

/** Largest SAML message (decoded XML) the simulator reads. */
export const MAX_XML_BYTES = 256 * 1024;

export class XmlError extends Error {}

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/**
 * Parses a SAML message strictly: a document type declaration (DTD, entities) is refused before the
 * parser sees the text, as Sweden Connect requires, and any parser warning or error fails the parse.
 */
export function parseXml(text: string): Document {
  if (Buffer.byteLength(text, 'utf8') > MAX_XML_BYTES) throw new XmlError('the XML document is too large');
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('the XML document has a document type declaration (DTD), which is not allowed');
  if (/<!ENTITY/i.test(text)) throw new XmlError('the XML document declares entities, which is not allowed');
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        throw new XmlError(`${level}: ${message}`);
      },
    }).parseFromString(text, 'text/xml');
  } catch (err) {
    throw new XmlError(`the XML is not well-formed (${(err as Error).message.split('\n')[0]})`);
  }
  const root = doc.documentElement;
  if (!root) throw new XmlError('the XML document has no root element');
  return doc;
}

export const serialize = (node: Node): string => new XMLSerializer().serializeToString(node);

const isElement = (n: Node | null): n is Element => n !== null && n.nodeType === 1;

/** Child elements of `el`, optionally only those with this namespace and local name. */
export function children(el: Element, ns?: string, local?: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (!isElement(n)) continue;
    if (ns !== undefined && n.namespaceURI !== ns) continue;
    if (local !== undefined && n.localName !== local) continue;
    out.push(n);
  }
  return out;
}

export const child = (el: Element, ns: string, local: string): Element | undefined => children(el, ns, local)[0];

/** Every descendant element with this namespace and local name, in document order. */
export function descendants(el: Element | Document, ns: string, local: string): Element[] {
  const list = el.getElementsByTagNameNS(ns, local);
  const out: Element[] = [];
  for (let i = 0; i < list.length; i++) out.push(list.item(i)!);
  return out;
}

/** The element's text, which must be plain text (no comments, processing instructions or child elements). */
export function textOf(el: Element): string {
  let s = '';
  for (let n = el.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) s += n.nodeValue ?? '';
    else throw new XmlError(`<${el.localName}> must hold plain text only`);
  }
  return s.trim();
}

export const attr = (el: Element, name: string): string | undefined => (el.hasAttribute(name) ? el.getAttribute(name)! : undefined);

export const isNamed = (el: Element, ns: string, local: string): boolean => el.namespaceURI === ns && el.localName === local;

/** A SAML ID: an NCName with 128 bits of randomness, like OpenSAML's `_` + 32 hex digits. */
export const newId = (): string => `_${randomBytes(16).toString('hex')}`;

/** xs:dateTime in UTC with millisecond precision, as SAML timestamps are written. */
export const instant = (ms: number): string => new Date(ms).toISOString();

/** Parses an xs:dateTime that carries a time zone (SAML requires UTC); undefined when it is not one. */
export function parseInstant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** An XML ID value must be an NCName. */
export const isNcName = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9._-]*$/.test(s);

/** Every value of an `ID`/`Id`/`id` attribute in the document, to detect duplicates. */
export function allIds(doc: Document): string[] {
  const out: string[] = [];
  const walk = (el: Element) => {
    for (const name of ['ID', 'Id', 'id']) {
      const v = attr(el, name);
      if (v !== undefined) out.push(v);
    }
    for (const c of children(el)) walk(c);
  };
  walk(doc.documentElement!);
  return out;
}

export type { Document, Element, Node };
