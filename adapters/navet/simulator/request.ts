/**
 * Reads a Personpost request as the service would: a SOAP 1.1 Envelope whose Body holds
 * `PersonpostRequest` in the ePersondata namespace, with Bestallning/OrgNr, Bestallning/BestallningsId
 * and PersonId. Namespaces are resolved (prefixes are free), not guessed from the prefix.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { EPERSONDATA_NS, SOAP_ENV_NS, decodeXmlText, hasDtd } from '../soap.ts';

export type PersonpostRequestFields = { orgNr: string; bestallningsId: string; personId: string };
export type ReadRequest = { ok: true; fields: PersonpostRequestFields } | { ok: false; reason: string; partial: Partial<PersonpostRequestFields> };

type Node = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  parseTagValue: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scopeOf(value: unknown, parent: Scope): Scope {
  if (!isNode(value)) return parent;
  let scope: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k === '@_xmlns' || k.startsWith('@_xmlns:')) {
      scope ??= new Map(parent);
      scope.set(k === '@_xmlns' ? '' : k.slice('@_xmlns:'.length), String(v));
    }
  }
  return scope ?? parent;
}

/** The one child element {ns}local of `node`; undefined when absent or repeated. */
function only(node: unknown, scope: Scope, ns: string, local: string): { value: unknown; scope: Scope } | undefined {
  if (!isNode(node)) return undefined;
  let found: { value: unknown; scope: Scope } | undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue;
    const [prefix, name] = key.includes(':') ? [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)] : ['', key];
    if (name !== local) continue;
    if (Array.isArray(value)) return undefined;
    const childScope = scopeOf(value, scope);
    if (childScope.get(prefix) !== ns) continue;
    if (found) return undefined;
    found = { value, scope: childScope };
  }
  return found;
}

function textOf(v: { value: unknown } | undefined): string | undefined {
  if (!v) return undefined;
  const raw = isNode(v.value) ? v.value['#text'] : v.value;
  if (raw === undefined || raw === '') return undefined;
  return typeof raw === 'string' ? decodeXmlText(raw).trim() : undefined;
}

export function readPersonpostRequest(body: string): ReadRequest {
  const partial: Partial<PersonpostRequestFields> = {};
  const fail = (reason: string): ReadRequest => ({ ok: false, reason, partial });
  if (hasDtd(body)) return fail('DTD in the request');
  if (XMLValidator.validate(body) !== true) return fail('the request is not well-formed XML');
  let doc: unknown;
  try {
    doc = parser.parse(body);
  } catch {
    return fail('the request is not well-formed XML');
  }
  const envelope = only(doc, new Map(), SOAP_ENV_NS, 'Envelope');
  const soapBody = envelope && only(envelope.value, envelope.scope, SOAP_ENV_NS, 'Body');
  const request = soapBody && only(soapBody.value, soapBody.scope, EPERSONDATA_NS, 'PersonpostRequest');
  if (!request) return fail('no SOAP 1.1 Envelope/Body/PersonpostRequest in the ePersondata namespace');
  const bestallning = only(request.value, request.scope, EPERSONDATA_NS, 'Bestallning');
  const orgNr = textOf(bestallning && only(bestallning.value, bestallning.scope, EPERSONDATA_NS, 'OrgNr'));
  const bestallningsId = textOf(bestallning && only(bestallning.value, bestallning.scope, EPERSONDATA_NS, 'BestallningsId'));
  const personId = textOf(only(request.value, request.scope, EPERSONDATA_NS, 'PersonId'));
  if (orgNr !== undefined) partial.orgNr = orgNr;
  if (bestallningsId !== undefined) partial.bestallningsId = bestallningsId;
  if (personId !== undefined) partial.personId = personId;
  if (orgNr === undefined || bestallningsId === undefined) return fail('Bestallning lacks OrgNr or BestallningsId');
  if (personId === undefined) return fail('PersonpostRequest lacks PersonId');
  return { ok: true, fields: { orgNr, bestallningsId, personId } };
}
