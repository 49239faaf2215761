/**
 * Receiving an AuthnRequest on the HTTP-Redirect or HTTP-POST binding and checking it the way a Sweden
 * Connect IdP does (deployment profile §5): signed by a known SP, no DTD, Destination equal to this SSO
 * URL, the ACS one of the SP's POST endpoints, fresh, not replayed, exact RequestedAuthnContext.
 *
 * A request that cannot be trusted (or answered safely) is refused with an error page; a request from a
 * known SP that the IdP cannot fulfil (no supported LoA, passive, an unsupported NameID format) is
 * answered with a SAML status response to the SP.
 */
import { inflateRawSync } from 'node:zlib';
import { SignatureError, verifyEnvelopedSignature, verifyRedirectSignature } from './crypto.ts';
import { defaultAcs, type SpInfo } from './metadata.ts';
import { STATUS, type StatusSpec } from './response.ts';
import {
  allIds,
  attr,
  BINDING,
  child,
  children,
  isNamed,
  isNcName,
  MAX_XML_BYTES,
  NAMEID_FORMAT,
  NS,
  parseInstant,
  parseXml,
  textOf,
  XmlError,
  type Element,
} from './xml.ts';

export type Binding = 'redirect' | 'post';

export interface RawAuthnRequest {
  binding: Binding;
  /** The SAMLRequest parameter, decoded from the URL/form (still base64). */
  samlRequest: string;
  relayState?: string;
  /** Redirect binding: SigAlg and Signature parameters, and the raw (still URL-encoded) query string. */
  sigAlg?: string;
  signature?: string;
  rawQuery?: string;
}

export interface CheckContext {
  ssoUrl: string;
  /** LoA URIs this persona can issue, and the one it issues when the request names none. */
  supportedLoas: readonly string[];
  defaultLoa: string;
  /** The SPs the IdP knows (from their metadata). */
  sps: ReadonlyMap<string, SpInfo>;
  now: number;
  /** How old IssueInstant may be, and how far ahead (clock skew). */
  maxAgeMs: number;
  maxFutureMs: number;
  /** Records the request ID for the SP; returns false when it was seen before (replay). */
  remember(spEntityId: string, requestId: string): boolean;
}

/** An AuthnRequest the IdP answers (with a login page, or with a status response). */
export interface AcceptedAuthnRequest {
  id: string;
  issuer: string;
  sp: SpInfo;
  acsUrl: string;
  relayState?: string;
  issueInstant: number;
  forceAuthn: boolean;
  isPassive: boolean;
  nameIdFormat: 'persistent' | 'transient';
  requestedLoas: string[];
  /** PrincipalSelection MatchValues (Name → value). */
  principalSelection: Array<{ name: string; value: string }>;
  /** Scoping/IDPList/IDPEntry ProviderIDs. */
  idpList: string[];
}

export type RequestCheck =
  | { kind: 'refused'; message: string; xml?: string; id?: string; issuer?: string }
  | { kind: 'status'; request: AcceptedAuthnRequest; status: StatusSpec; xml: string }
  | { kind: 'accepted'; request: AcceptedAuthnRequest; loa: string; xml: string };

class Refusal extends Error {}

const refuse = (message: string): never => {
  throw new Refusal(message);
};

function decodeBase64(value: string): Buffer {
  const clean = value.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) refuse('SAMLRequest is not base64');
  return Buffer.from(clean, 'base64');
}

/** Decodes SAMLRequest: base64 of DEFLATE (redirect) or base64 of the XML (POST). */
export function decodeSamlRequest(binding: Binding, samlRequest: string): string {
  const bytes = decodeBase64(samlRequest);
  if (binding === 'post') {
    const text = bytes.toString('utf8');
    if (!/^\uFEFF?\s*</.test(text)) refuse('SAMLRequest is not base64-encoded XML (the HTTP-POST binding sends the XML without DEFLATE)');
    return text;
  }
  try {
    return inflateRawSync(bytes, { maxOutputLength: MAX_XML_BYTES }).toString('utf8');
  } catch {
    return refuse('SAMLRequest is not DEFLATE-compressed XML (the HTTP-Redirect binding requires DEFLATE)');
  }
}

/** The raw `name=value` of a query parameter, still URL-encoded (what the redirect signature covers). */
function rawParam(rawQuery: string, name: string): string | undefined {
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    if ((eq === -1 ? part : part.slice(0, eq)) === name) return part;
  }
  return undefined;
}

function bool(el: Element, name: string): boolean {
  const v = attr(el, name);
  if (v === undefined) return false;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return refuse(`${name} must be true or false`);
}

export function checkAuthnRequest(raw: RawAuthnRequest, ctx: CheckContext): RequestCheck {
  let xml: string | undefined;
  let id: string | undefined;
  let issuer: string | undefined;
  try {
    xml = decodeSamlRequest(raw.binding, raw.samlRequest);
    const doc = parseXml(xml);
    let root = doc.documentElement!;
    if (!isNamed(root, NS.samlp, 'AuthnRequest')) refuse(`the message is a ${root.localName}, not a SAML 2.0 AuthnRequest`);
    id = attr(root, 'ID');
    if (!id || !isNcName(id)) refuse('the AuthnRequest has no valid ID');
    if (attr(root, 'Version') !== '2.0') refuse('the AuthnRequest Version is not 2.0');
    const ids = allIds(doc);
    if (new Set(ids).size !== ids.length) refuse('the AuthnRequest has duplicate ID attributes');
    const issuerEl = child(root, NS.saml, 'Issuer');
    if (!issuerEl) refuse('the AuthnRequest has no Issuer');
    issuer = textOf(issuerEl!);
    const issuerFormat = attr(issuerEl!, 'Format');
    if (issuerFormat !== undefined && issuerFormat !== NAMEID_FORMAT.entity) refuse('the Issuer Format must be the entity format');
    const sp = ctx.sps.get(issuer);
    if (!sp) refuse(`the SP ${issuer} is unknown (not in the SP metadata this IdP has)`);
    if (sp!.signingCerts.length === 0) refuse(`the SP ${issuer} has no signing certificate in its metadata, so its requests cannot be verified`);

    // WantAuthnRequestsSigned="true": every request must be signed, and verify with the SP's metadata keys.
    try {
      if (raw.binding === 'redirect') {
        if (raw.signature === undefined || raw.sigAlg === undefined) refuse('the AuthnRequest is not signed (this IdP has WantAuthnRequestsSigned="true")');
        const q = raw.rawQuery ?? '';
        const parts = [rawParam(q, 'SAMLRequest'), rawParam(q, 'RelayState'), rawParam(q, 'SigAlg')].filter((p): p is string => p !== undefined);
        verifyRedirectSignature(parts.join('&'), raw.sigAlg!, raw.signature!, sp!.signingCerts);
      } else {
        if (doc.getElementsByTagNameNS(NS.ds, 'Signature').length === 0) {
          refuse('the AuthnRequest is not signed (this IdP has WantAuthnRequestsSigned="true")');
        }
        const signed = verifyEnvelopedSignature(xml, doc, sp!.signingCerts);
        // Read the request from what the signature covers, nothing else.
        root = parseXml(signed).documentElement!;
      }
    } catch (err) {
      if (err instanceof SignatureError) refuse(`the AuthnRequest signature is not valid: ${err.message}`);
      throw err;
    }

    const destination = attr(root, 'Destination');
    if (destination === undefined) refuse('the AuthnRequest has no Destination');
    if (destination !== ctx.ssoUrl) refuse(`Destination ${destination} is not this IdP's SSO endpoint ${ctx.ssoUrl}`);

    const acsUrl = attr(root, 'AssertionConsumerServiceURL');
    const acsIndex = attr(root, 'AssertionConsumerServiceIndex');
    if (acsUrl !== undefined && acsIndex !== undefined) refuse('AssertionConsumerServiceURL and AssertionConsumerServiceIndex must not both be given');
    let acs: string;
    if (acsUrl !== undefined) {
      if (!sp!.acs.some((a) => a.location === acsUrl)) refuse(`AssertionConsumerServiceURL ${acsUrl} is not an HTTP-POST ACS in the metadata of ${issuer}`);
      acs = acsUrl;
    } else if (acsIndex !== undefined) {
      const found = sp!.acs.find((a) => a.index !== undefined && String(a.index) === acsIndex);
      if (!found) refuse(`AssertionConsumerServiceIndex ${acsIndex} is not an HTTP-POST ACS in the metadata of ${issuer}`);
      acs = found!.location;
    } else {
      const d = defaultAcs(sp!);
      if (!d) refuse(`the metadata of ${issuer} has no HTTP-POST ACS`);
      acs = d!.location;
    }
    const protocolBinding = attr(root, 'ProtocolBinding');
    if (protocolBinding !== undefined && protocolBinding !== BINDING.post) refuse(`ProtocolBinding ${protocolBinding} is not supported (only HTTP-POST)`);

    const issueInstant = parseInstant(attr(root, 'IssueInstant'));
    if (issueInstant === undefined) refuse('the AuthnRequest has no valid IssueInstant');
    if (issueInstant! < ctx.now - ctx.maxAgeMs) refuse(`the AuthnRequest is too old (IssueInstant ${attr(root, 'IssueInstant')})`);
    if (issueInstant! > ctx.now + ctx.maxFutureMs) refuse(`the AuthnRequest is issued in the future (IssueInstant ${attr(root, 'IssueInstant')}); check the clocks`);
    if (!ctx.remember(issuer!, id!)) refuse(`the AuthnRequest ${id} from ${issuer} has been received before (replay)`);

    const ext = child(root, NS.samlp, 'Extensions');
    const principalSelection: AcceptedAuthnRequest['principalSelection'] = [];
    for (const ps of ext ? children(ext, NS.psc, 'PrincipalSelection') : []) {
      for (const mv of children(ps, NS.psc, 'MatchValue')) {
        const name = attr(mv, 'Name');
        if (name) principalSelection.push({ name, value: textOf(mv) });
      }
    }
    const idpList: string[] = [];
    const scoping = child(root, NS.samlp, 'Scoping');
    const list = scoping && child(scoping, NS.samlp, 'IDPList');
    for (const entry of list ? children(list, NS.samlp, 'IDPEntry') : []) {
      const p = attr(entry, 'ProviderID');
      if (p) idpList.push(p);
    }

    const request: AcceptedAuthnRequest = {
      id: id!,
      issuer: issuer!,
      sp: sp!,
      acsUrl: acs,
      issueInstant: issueInstant!,
      forceAuthn: bool(root, 'ForceAuthn'),
      isPassive: bool(root, 'IsPassive'),
      nameIdFormat: 'persistent',
      requestedLoas: [],
      principalSelection,
      idpList,
    };
    if (raw.relayState !== undefined) request.relayState = raw.relayState;

    // From here on the request is trusted: problems are answered with a SAML status to the SP.
    const answer = (status: StatusSpec): RequestCheck => ({ kind: 'status', request, status, xml: xml! });

    const policy = child(root, NS.samlp, 'NameIDPolicy');
    const format = policy ? attr(policy, 'Format') : undefined;
    if (format === NAMEID_FORMAT.transient) request.nameIdFormat = 'transient';
    else if (format !== undefined && format !== NAMEID_FORMAT.persistent && format !== NAMEID_FORMAT.unspecified) {
      return answer({ code: STATUS.requester, subCode: STATUS.invalidNameIdPolicy, message: `NameID format ${format} is not supported` });
    }

    const rac = child(root, NS.samlp, 'RequestedAuthnContext');
    if (rac) {
      const comparison = attr(rac, 'Comparison');
      if (comparison !== undefined && comparison !== 'exact') {
        return answer({ code: STATUS.requester, subCode: STATUS.requestUnsupported, message: `RequestedAuthnContext Comparison="${comparison}" is not supported; use exact` });
      }
      if (children(rac, NS.saml, 'AuthnContextDeclRef').length > 0) {
        return answer({ code: STATUS.requester, subCode: STATUS.requestUnsupported, message: 'AuthnContextDeclRef is not supported' });
      }
      request.requestedLoas = children(rac, NS.saml, 'AuthnContextClassRef').map(textOf);
    }
    let loa = ctx.defaultLoa;
    if (request.requestedLoas.length > 0) {
      const match = request.requestedLoas.find((l) => ctx.supportedLoas.includes(l));
      if (match === undefined) {
        return answer({
          code: STATUS.requester,
          subCode: STATUS.noAuthnContext,
          message: `None of the requested authentication contexts is supported (${request.requestedLoas.join(', ')})`,
        });
      }
      loa = match;
    }
    if (request.isPassive) {
      // The simulator keeps no SSO session, so it can never authenticate without showing its page.
      return answer({ code: STATUS.responder, subCode: STATUS.noPassive, message: 'Passive authentication is not possible: no session' });
    }
    return { kind: 'accepted', request, loa, xml };
  } catch (err) {
    if (err instanceof Refusal || err instanceof XmlError) {
      const r: RequestCheck = { kind: 'refused', message: err.message };
      if (xml !== undefined) r.xml = xml;
      if (id !== undefined) r.id = id;
      if (issuer !== undefined) r.issuer = issuer;
      return r;
    }
    throw err;
  }
}
