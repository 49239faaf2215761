/**
 * Strict XML reading for SAML messages and metadata: the checks made before any signature library
 * sees a document, and small DOM helpers that never guess (a missing or repeated element is an
 * error the caller names).
 */
import { DOMParser, XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  mdattr: 'urn:oasis:names:tc:SAML:metadata:attribute',
  mdui: 'urn:oasis:names:tc:SAML:metadata:ui',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xenc11: 'http://www.w3.org/2009/xmlenc11#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xs: 'http://www.w3.org/2001/XMLSchema',
} as const;

/** A document refused by a check; `message` is the operator detail (never personal data). */
export class XmlProblem extends Error {
  override readonly name = 'XmlProblem';
}

export function fail(detail: string): never {
  throw new XmlProblem(detail);
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_TYPE_NODE = 10;

export interface TreeLimits {
  /** Deepest element nesting allowed (the root is depth 1). */
  maxDepth: number;
  /** Refuse XML comments (they vanish in canonicalisation, so signed text can hide behind them). */
  comments: 'refuse' | 'allow';
}

/**
 * Text-level checks, then a parse that stops at the first warning. A DTD (and with it every entity
 * declaration) is refused before the parser sees it: SAML forbids DTDs and they are the door to entity
 * expansion and external entities.
 */
export function parseStrict(xml: string, what: string): Document {
  if (/<!ENTITY/i.test(xml)) fail(`${what}: an entity declaration (<!ENTITY) is not allowed`);
  if (/<!DOCTYPE/i.test(xml)) fail(`${what}: a DOCTYPE is not allowed`);
  const declaration = /^\s*<\?xml\b([^?]*)\?>/.exec(xml);
  const encoding = declaration ? /\bencoding\s*=\s*["']([^"']+)["']/.exec(declaration[1] ?? '') : null;
  if (encoding && !/^utf-?8$/i.test(encoding[1] ?? '')) fail(`${what}: encoding ${encoding[1]} is not allowed (UTF-8 only)`);
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'text/xml');
  } catch (err) {
    fail(`${what} is not well-formed XML (${shorten((err as Error).message)})`);
  }
  if (!doc.documentElement) fail(`${what} has no root element`);
  return doc;
}

export interface TreeReport {
  /** ID values carried by more than one element (`ID`, `Id`, `id` in any namespace). */
  duplicates: Array<{ id: string; first: Element; second: Element }>;
}

/**
 * Walks the whole document once, iteratively: nesting depth, comments, processing instructions, a
 * doctype node; and collects duplicate ID attributes (`ID`, `Id`, `id` in any namespace, the names XML
 * signature libraries resolve references with) for {@link refuseDuplicateIds}.
 */
export function inspectTree(doc: Document, limits: TreeLimits, what: string): TreeReport {
  const ids = new Map<string, Element>();
  const duplicates: TreeReport['duplicates'] = [];
  const stack: Array<{ node: Node; depth: number }> = [];
  for (let n = doc.firstChild; n; n = n.nextSibling) stack.push({ node: n, depth: 0 });
  stack.reverse();
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    switch (node.nodeType) {
      case DOCUMENT_TYPE_NODE:
        fail(`${what}: a DOCTYPE is not allowed`);
      case PROCESSING_INSTRUCTION_NODE:
        if (depth === 0 && (node as unknown as { target: string }).target.toLowerCase() === 'xml') break;
        fail(`${what}: a processing instruction is not allowed (at ${pathOf(node.parentNode)})`);
      case COMMENT_NODE:
        if (limits.comments === 'refuse') fail(`${what}: an XML comment is not allowed (at ${pathOf(node.parentNode)})`);
        break;
      case ELEMENT_NODE: {
        const el = node as Element;
        const d = depth + 1;
        if (d > limits.maxDepth) fail(`${what}: elements nested deeper than ${limits.maxDepth} levels (at ${pathOf(el)})`);
        for (let i = 0; i < el.attributes.length; i++) {
          const a = el.attributes.item(i)!;
          const local = a.localName ?? a.name;
          if (local !== 'ID' && local !== 'Id' && local !== 'id') continue;
          const seen = ids.get(a.value);
          if (seen) duplicates.push({ id: a.value, first: seen, second: el });
          else ids.set(a.value, el);
        }
        const children: Array<{ node: Node; depth: number }> = [];
        for (let c = el.firstChild; c; c = c.nextSibling) children.push({ node: c, depth: d });
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
        break;
      }
      default:
        break;
    }
  }
  return { duplicates };
}

/** An ID used twice lets a signature reference resolve to a different element than the one read. */
export function refuseDuplicateIds(report: TreeReport, what: string): void {
  const d = report.duplicates[0];
  if (d) fail(`${what}: the ID "${shorten(d.id, 80)}" is used by more than one element (${pathOf(d.first)} and ${pathOf(d.second)})`);
}

/** {@link inspectTree} and {@link refuseDuplicateIds} together. */
export function inspectAll(doc: Document, limits: TreeLimits, what: string): void {
  refuseDuplicateIds(inspectTree(doc, limits, what), what);
}

/** `/Response/Assertion/Subject/NameID`: where an element is, by local names, for operator detail. */
export function pathOf(node: Node | null): string {
  const parts: string[] = [];
  for (let n: Node | null = node; n && n.nodeType === ELEMENT_NODE; n = n.parentNode) {
    parts.push((n as Element).localName ?? (n as Element).nodeName);
  }
  return '/' + parts.reverse().join('/');
}

export function isElement(node: Node | null | undefined): node is Element {
  return !!node && node.nodeType === ELEMENT_NODE;
}

export function is(el: Element, ns: string, local: string): boolean {
  return el.namespaceURI === ns && el.localName === local;
}

/** The element children of `el`, all or those with this name. */
export function children(el: Element, ns?: string, local?: string): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (isElement(c) && (ns === undefined || (c.namespaceURI === ns && c.localName === local))) out.push(c);
  }
  return out;
}

/** Exactly one child with this name, or a problem naming what is wrong. */
export function one(el: Element, ns: string, local: string, what: string): Element {
  const found = children(el, ns, local);
  if (found.length !== 1) fail(`${what}: ${found.length === 0 ? 'no' : found.length} ${local} element${found.length === 1 ? '' : 's'} in ${pathOf(el)} (exactly one is required)`);
  return found[0]!;
}

/** At most one child with this name. */
export function optional(el: Element, ns: string, local: string, what: string): Element | undefined {
  const found = children(el, ns, local);
  if (found.length > 1) fail(`${what}: ${found.length} ${local} elements in ${pathOf(el)} (at most one is allowed)`);
  return found[0];
}

/** Every element of the document (root included) with this local name, whatever its namespace. */
export function descendantsByLocalName(root: Element, local: string): Element[] {
  const out: Element[] = [];
  const stack: Element[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.localName === local) out.push(el);
    const kids = children(el);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/** The text of an element that holds only text (no child elements). */
export function textOf(el: Element, what: string): string {
  let text = '';
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === TEXT_NODE || c.nodeType === CDATA_SECTION_NODE) text += (c as unknown as { data: string }).data;
    else if (c.nodeType === ELEMENT_NODE) fail(`${what}: ${pathOf(el)} holds elements where text is expected`);
  }
  return text;
}

export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name)! : undefined;
}

/** An `xs:dateTime` as SAML uses it (UTC, `Z`), in epoch milliseconds. */
export function instant(el: Element, name: string, what: string): number | undefined {
  const value = attr(el, name);
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]00:00)$/.test(value)) {
    fail(`${what}: ${pathOf(el)}/@${name} "${shorten(value, 40)}" is not a UTC xs:dateTime`);
  }
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  if (!Number.isFinite(ms)) fail(`${what}: ${pathOf(el)}/@${name} "${shorten(value, 40)}" is not a valid time`);
  return ms;
}

export function serialize(node: Node): string {
  return new XMLSerializer().serializeToString(node);
}

export function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

export function shorten(value: string, max = 200): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
