/**
 * The adapter's own reading of a `<samlp:Response>`: every check before a signature library sees the
 * document, signature verification with the IdP's metadata keys, decryption, and the SAML Web SSO
 * profile checks (Sweden Connect deployment profile §6.3), all against an injected clock. Everything
 * returned is read from the canonical bytes a signature covers, never from the document as received.
 */
import type { Element } from '@xmldom/xmldom';
import { HubError } from '../../src/contracts/errors.ts';
import { decryptAssertion, type DecryptionKey } from './decrypt.ts';
import {
  NS,
  XmlProblem,
  attr,
  children,
  descendantsByLocalName,
  fail,
  inspectAll,
  inspectTree,
  instant,
  is,
  iso,
  one,
  optional,
  parseStrict,
  pathOf,
  refuseDuplicateIds,
  shorten,
  textOf,
  type TreeLimits,
} from './xml.ts';
import { inspectSignature, verifyEnveloped, type TrustedKey } from './xmldsig.ts';

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  /** Sweden Connect: the user cancelled (deployment profile §6.4). */
  cancel: 'http://id.elegnamnden.se/status/1.0/cancel',
  fraud: 'http://id.elegnamnden.se/status/1.0/fraud',
  possibleFraud: 'http://id.elegnamnden.se/status/1.0/possibleFraud',
} as const;

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';

/** What a response must match: the request it answers, this SP, the IdP's keys, and the clock. */
export interface ResponseExpectations {
  /** Epoch milliseconds. */
  now: number;
  skewMs: number;
  /** How old a Response or Assertion IssueInstant may be. */
  maxResponseAgeMs: number;
  maxResponseBytes: number;
  maxDepth: number;
  idpEntityId: string;
  idpKeys: readonly TrustedKey[];
  spEntityId: string;
  /** The ACS URL the request named and the response arrived at. */
  acsUrl: string;
  requestId: string;
  requestedAt: number;
  forceAuthn: boolean;
  /** The AuthnContextClassRef values the request accepted. */
  requestedLoa: readonly string[];
  decryptionKeys: readonly DecryptionKey[];
  requireSignedResponse: boolean;
  wantAssertionsSigned: boolean;
  requireEncryptedAssertion: boolean;
  /**
   * The structural refusal of signature wrapping (on unless false). Only the corpus tests turn it off,
   * to show that the signature check and reading from the signed bytes hold on their own.
   */
  wrappingCheck?: boolean;
}

/** An attribute's values; `null` for a value that is not plain text (child elements, xsi:nil). */
export type AttributeValues = ReadonlyArray<string | null>;

export interface ValidatedAssertion {
  responseId: string;
  assertionId: string;
  issuer: string;
  nameId?: string;
  nameIdFormat?: string;
  authnInstant: number;
  authnContextClassRef: string;
  authenticatingAuthorities: string[];
  /** The earliest NotOnOrAfter of the assertion (the replay cache keeps its ID until then). */
  notOnOrAfter: number;
  attributes: ReadonlyMap<string, AttributeValues>;
  responseSigned: boolean;
  assertionSigned: boolean;
  encrypted: boolean;
  /** Which SP key opened the EncryptedAssertion (0 = the current one). */
  decryptionKeyIndex?: number;
  signatureMethods: string[];
}

/**
 * Checks a base64 `SAMLResponse` (HTTP-POST binding) against `x`. Throws a HubError:
 * `EID_RESPONSE_INVALID` with a detail naming the failed check, `EID_USER_CANCELLED` for the Sweden
 * Connect cancel status, `EID_FAILED` for any other non-success status.
 */
export async function validateResponse(samlResponse: string, x: ResponseExpectations): Promise<ValidatedAssertion> {
  try {
    return await readResponse(samlResponse, x);
  } catch (err) {
    if (err instanceof XmlProblem) throw new HubError('EID_RESPONSE_INVALID', { detail: err.message });
    throw err;
  }
}

const W = 'SAML Response';

async function readResponse(samlResponse: string, x: ResponseExpectations): Promise<ValidatedAssertion> {
  const xml = decodeResponse(samlResponse, x.maxResponseBytes);
  const limits: TreeLimits = { maxDepth: x.maxDepth, comments: 'refuse' };
  const doc = parseStrict(xml, W);
  const tree = inspectTree(doc, limits, W);
  const root = doc.documentElement!;
  if (!is(root, NS.samlp, 'Response')) fail(`${W}: the root element is {${root.namespaceURI ?? ''}}${root.localName}, not samlp:Response`);
  if (x.wrappingCheck !== false) refuseWrapping(root, 'Response', W);
  refuseDuplicateIds(tree, W);

  const methods: string[] = [];
  const responseSignature = optional(root, NS.ds, 'Signature', W);
  let responseView = root;
  if (responseSignature) {
    const verified = verifyEnveloped(xml, inspectSignature(responseSignature, W), x.idpKeys, `${W} signature`);
    responseView = parseSigned(verified.signedXml, 'signed Response', limits);
    if (!is(responseView, NS.samlp, 'Response')) fail(`${W}: the signed element is not the Response`);
    methods.push(verified.signatureMethod);
  }
  const responseSigned = !!responseSignature;
  const rawAssertion = optional(root, NS.saml, 'Assertion', W);
  const rawEncrypted = optional(root, NS.saml, 'EncryptedAssertion', W);
  if (!responseSigned && !rawEncrypted && !(rawAssertion && optional(rawAssertion, NS.ds, 'Signature', W))) {
    fail(`${W}: neither the Response nor the Assertion is signed`);
  }
  if (!responseSigned && x.requireSignedResponse) fail(`${W}: the Response is not signed (a signed Response is required)`);

  const responseId = checkResponseHeader(responseView, x, responseSigned, !!rawEncrypted);
  checkStatus(responseView);

  // The assertion: from the signed Response when there is one, otherwise from the document as received
  // (then it must carry its own signature, checked below).
  const holder = responseSigned ? responseView : root;
  const encryptedEl = optional(holder, NS.saml, 'EncryptedAssertion', W);
  const plainEl = optional(holder, NS.saml, 'Assertion', W);
  if (!encryptedEl && !plainEl) fail(`${W}: the status is Success but there is no assertion`);
  if (plainEl && x.requireEncryptedAssertion) fail(`${W}: the assertion is not encrypted (an EncryptedAssertion is required)`);

  let assertionEl: Element;
  let assertionXml: string;
  let decryptionKeyIndex: number | undefined;
  if (encryptedEl) {
    const decrypted = await decryptAssertion(encryptedEl, x.decryptionKeys, W);
    decryptionKeyIndex = decrypted.keyIndex;
    assertionXml = decrypted.xml.replace(/\r\n?/g, '\n');
    const assertionDoc = parseStrict(assertionXml, 'decrypted Assertion');
    const assertionTree = inspectTree(assertionDoc, limits, 'decrypted Assertion');
    assertionEl = assertionDoc.documentElement!;
    if (!is(assertionEl, NS.saml, 'Assertion')) fail(`${W}: the EncryptedAssertion holds {${assertionEl.namespaceURI ?? ''}}${assertionEl.localName}, not saml:Assertion`);
    if (x.wrappingCheck !== false) refuseWrapping(assertionEl, 'Assertion', 'decrypted Assertion');
    refuseDuplicateIds(assertionTree, 'decrypted Assertion');
  } else {
    // Its own signature is checked against the document as received; without one, the signed Response's copy is read.
    assertionEl = rawAssertion!;
    assertionXml = xml;
  }

  let assertionView: Element;
  const assertionSignature = optional(assertionEl, NS.ds, 'Signature', W);
  if (assertionSignature) {
    const verified = verifyEnveloped(assertionXml, inspectSignature(assertionSignature, W), x.idpKeys, 'Assertion signature');
    assertionView = parseSigned(verified.signedXml, 'signed Assertion', limits);
    if (!is(assertionView, NS.saml, 'Assertion')) fail(`${W}: the signed element is not the Assertion`);
    methods.push(verified.signatureMethod);
  } else if (x.wantAssertionsSigned) {
    fail(`${W}: the Assertion is not signed (this SP's metadata says WantAssertionsSigned)`);
  } else if (!responseSigned) {
    fail(`${W}: neither the Response nor the Assertion is signed`);
  } else {
    assertionView = encryptedEl ? assertionEl : plainEl!;
  }

  const assertion = checkAssertion(assertionView, x);
  return {
    ...assertion,
    responseId,
    responseSigned,
    assertionSigned: !!assertionSignature,
    encrypted: !!encryptedEl,
    ...(decryptionKeyIndex !== undefined ? { decryptionKeyIndex } : {}),
    signatureMethods: methods,
  };
}

function decodeResponse(value: string, maxBytes: number): string {
  const compact = value.replace(/\s+/g, '');
  if (compact.length > Math.ceil(maxBytes / 3) * 4 + 4) fail(`${W} is larger than ${maxBytes} bytes (${Math.floor((compact.length * 3) / 4)} bytes)`);
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) fail(`${W}: SAMLResponse is not base64`);
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > maxBytes) fail(`${W} is larger than ${maxBytes} bytes (${bytes.length} bytes)`);
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(`${W} is not UTF-8`);
  }
  return xml.replace(/\r\n?/g, '\n');
}

function parseSigned(signedXml: string, what: string, limits: TreeLimits): Element {
  const doc = parseStrict(signedXml, what);
  inspectAll(doc, limits, what);
  return doc.documentElement!;
}

/**
 * Signature wrapping (XSW1–8) moves, copies or hides a signed element so that the verifier and the
 * reader look at different ones. The shape that leaves no room for that: one Response (the root), at
 * most one Assertion or EncryptedAssertion and only as its child, and signatures only directly under
 * the Response or the Assertion.
 */
function refuseWrapping(root: Element, rootName: 'Response' | 'Assertion', what: string): void {
  const responses = descendantsByLocalName(root, 'Response');
  if (rootName === 'Response' && responses.length !== 1) {
    fail(`${what}: ${responses.length} Response elements (another at ${pathOf(responses.find((r) => r !== root)!)}); exactly one is allowed (signature wrapping)`);
  }
  if (rootName === 'Assertion' && responses.length) fail(`${what}: a Response element at ${pathOf(responses[0]!)} inside the assertion`);
  const assertions = [...descendantsByLocalName(root, 'Assertion'), ...descendantsByLocalName(root, 'EncryptedAssertion')];
  if (rootName === 'Response') {
    if (assertions.length > 1) {
      fail(`${what}: ${assertions.length} assertions (at ${assertions.map(pathOf).join(', ')}); at most one is allowed (signature wrapping)`);
    }
    if (assertions.length === 1 && assertions[0]!.parentNode !== root) {
      fail(`${what}: the assertion is at ${pathOf(assertions[0]!)}, not directly in the Response (signature wrapping)`);
    }
  } else if (assertions.length !== 1) {
    fail(`${what}: ${assertions.length} assertions (at ${assertions.map(pathOf).join(', ')}) where only the decrypted one is allowed`);
  }
  const assertion = rootName === 'Assertion' ? root : assertions[0];
  const signed = new Set<Element>();
  for (const signature of descendantsByLocalName(root, 'Signature')) {
    const parent = signature.parentNode as Element;
    const allowed = signature.namespaceURI === NS.ds && (parent === root || (assertion !== undefined && parent === assertion));
    if (!allowed) fail(`${what}: a Signature at ${pathOf(signature)}, where only the Response and the Assertion may be signed (signature wrapping)`);
    if (signed.has(parent)) fail(`${what}: ${pathOf(parent)} carries more than one Signature`);
    signed.add(parent);
  }
}

function checkResponseHeader(response: Element, x: ResponseExpectations, signed: boolean, encrypted: boolean): string {
  if (attr(response, 'Version') !== '2.0') fail(`${W}: Version ${attr(response, 'Version') ?? '(none)'} is not 2.0`);
  const id = attr(response, 'ID');
  if (!id) fail(`${W}: the Response has no ID`);
  checkIssueInstant(response, 'Response', x);
  // Web SSO profile §4.1.4.2: the Issuer may be left out only of an unsigned Response with a plain assertion.
  if (signed || encrypted || optional(response, NS.saml, 'Issuer', W)) checkIssuer(response, 'Response', x.idpEntityId);
  const inResponseTo = attr(response, 'InResponseTo');
  if (inResponseTo === undefined) fail(`${W}: unsolicited Response (no InResponseTo); only answers to this SP's own requests are accepted`);
  if (inResponseTo !== x.requestId) fail(`${W}: InResponseTo "${shorten(inResponseTo, 80)}" does not match the request "${x.requestId}"`);
  const destination = attr(response, 'Destination');
  if (destination === undefined && signed) fail(`${W}: a signed Response must name its Destination`);
  if (destination !== undefined && destination !== x.acsUrl) fail(`${W}: Destination "${shorten(destination, 200)}" is not this ACS (${x.acsUrl})`);
  return id;
}

function checkIssuer(el: Element, what: string, idpEntityId: string): void {
  const issuer = optional(el, NS.saml, 'Issuer', W);
  if (!issuer) fail(`${W}: the ${what} has no Issuer`);
  const format = attr(issuer, 'Format');
  if (format !== undefined && format !== ENTITY_FORMAT) fail(`${W}: the ${what} Issuer has Format ${format}, not entity`);
  const value = textOf(issuer, W).trim();
  if (value !== idpEntityId) fail(`${W}: the ${what} Issuer "${shorten(value, 200)}" is not the IdP ${idpEntityId}`);
}

function checkIssueInstant(el: Element, what: string, x: ResponseExpectations): void {
  const at = instant(el, 'IssueInstant', W);
  if (at === undefined) fail(`${W}: the ${what} has no IssueInstant`);
  if (at > x.now + x.skewMs) fail(`${W}: the ${what} IssueInstant ${iso(at)} is in the future (now ${iso(x.now)}, skew ${x.skewMs / 1000} s)`);
  if (x.now - at > x.maxResponseAgeMs + x.skewMs) {
    fail(`${W}: the ${what} IssueInstant ${iso(at)} is ${Math.round((x.now - at) / 1000)} s old (at most ${x.maxResponseAgeMs / 1000} s)`);
  }
  if (at < x.requestedAt - x.skewMs) fail(`${W}: the ${what} IssueInstant ${iso(at)} is before the request was sent (${iso(x.requestedAt)})`);
}

function statusName(uri: string): string {
  return uri.startsWith('urn:oasis:names:tc:SAML:2.0:status:') ? uri.slice('urn:oasis:names:tc:SAML:2.0:status:'.length) : uri;
}

function checkStatus(response: Element): void {
  const status = one(response, NS.samlp, 'Status', W);
  const code = one(status, NS.samlp, 'StatusCode', W);
  const top = attr(code, 'Value') ?? '';
  if (top === STATUS.success) return;
  const second = optional(code, NS.samlp, 'StatusCode', W);
  const sub = second ? (attr(second, 'Value') ?? '') : undefined;
  const messageEl = optional(status, NS.samlp, 'StatusMessage', W);
  const message = messageEl ? shorten(textOf(messageEl, W), 200) : undefined;
  const described = `${statusName(top)}${sub ? `/${statusName(sub)}` : ''}${message ? `: ${message}` : ''}`;
  if (sub === STATUS.cancel) throw new HubError('EID_USER_CANCELLED', { detail: `the IdP reports that the person cancelled (${described})` });
  throw new HubError('EID_FAILED', { detail: `the IdP answered with status ${described || '(none)'}` });
}

function checkAssertion(a: Element, x: ResponseExpectations): Omit<ValidatedAssertion, 'responseId' | 'responseSigned' | 'assertionSigned' | 'encrypted' | 'decryptionKeyIndex' | 'signatureMethods'> {
  if (attr(a, 'Version') !== '2.0') fail(`${W}: Assertion Version ${attr(a, 'Version') ?? '(none)'} is not 2.0`);
  const assertionId = attr(a, 'ID');
  if (!assertionId) fail(`${W}: the Assertion has no ID`);
  checkIssueInstant(a, 'Assertion', x);
  checkIssuer(a, 'Assertion', x.idpEntityId);
  for (const name of ['EncryptedID', 'EncryptedAttribute']) {
    const found = descendantsByLocalName(a, name);
    if (found.length) fail(`${W}: ${name} at ${pathOf(found[0]!)} is not supported (the profile encrypts the whole assertion)`);
  }

  // Conditions: validity window and audience.
  const conditions = one(a, NS.saml, 'Conditions', W);
  const notBefore = instant(conditions, 'NotBefore', W);
  const conditionsEnd = instant(conditions, 'NotOnOrAfter', W);
  if (notBefore !== undefined && x.now + x.skewMs < notBefore) fail(`${W}: the assertion is not yet valid (Conditions NotBefore ${iso(notBefore)}, now ${iso(x.now)})`);
  if (conditionsEnd !== undefined && x.now - x.skewMs >= conditionsEnd) fail(`${W}: the assertion has expired (Conditions NotOnOrAfter ${iso(conditionsEnd)}, now ${iso(x.now)})`);
  const restrictions: Element[] = [];
  for (const c of children(conditions)) {
    if (is(c, NS.saml, 'AudienceRestriction')) restrictions.push(c);
    else if (!is(c, NS.saml, 'OneTimeUse') && !is(c, NS.saml, 'ProxyRestriction')) fail(`${W}: unknown condition ${c.localName} in the assertion (it cannot be evaluated)`);
  }
  if (!restrictions.length) fail(`${W}: the assertion has no AudienceRestriction`);
  for (const r of restrictions) {
    const audiences = children(r, NS.saml, 'Audience').map((e) => textOf(e, W).trim());
    if (!audiences.includes(x.spEntityId)) fail(`${W}: Audience ${audiences.map((v) => `"${shorten(v, 120)}"`).join(', ') || '(none)'} is not this SP (${x.spEntityId})`);
  }

  // Subject: one bearer confirmation bound to this request and this ACS.
  const subject = one(a, NS.saml, 'Subject', W);
  const nameIdEl = optional(subject, NS.saml, 'NameID', W);
  const confirmations = children(subject, NS.saml, 'SubjectConfirmation');
  if (confirmations.length !== 1) fail(`${W}: ${confirmations.length} SubjectConfirmation elements (exactly one is required)`);
  const confirmation = confirmations[0]!;
  const method = attr(confirmation, 'Method') ?? '';
  if (method !== BEARER) fail(`${W}: SubjectConfirmation Method ${method || '(none)'} is not supported (bearer only)`);
  const data = one(confirmation, NS.saml, 'SubjectConfirmationData', W);
  const subjectInResponseTo = attr(data, 'InResponseTo');
  if (subjectInResponseTo === undefined) fail(`${W}: unsolicited assertion (SubjectConfirmationData has no InResponseTo)`);
  if (subjectInResponseTo !== x.requestId) fail(`${W}: SubjectConfirmationData InResponseTo "${shorten(subjectInResponseTo, 80)}" does not match the request "${x.requestId}"`);
  const recipient = attr(data, 'Recipient');
  if (recipient === undefined) fail(`${W}: SubjectConfirmationData has no Recipient`);
  if (recipient !== x.acsUrl) fail(`${W}: Recipient "${shorten(recipient, 200)}" is not this ACS (${x.acsUrl})`);
  const subjectEnd = instant(data, 'NotOnOrAfter', W);
  if (subjectEnd === undefined) fail(`${W}: SubjectConfirmationData has no NotOnOrAfter`);
  if (x.now - x.skewMs >= subjectEnd) fail(`${W}: the assertion has expired (SubjectConfirmationData NotOnOrAfter ${iso(subjectEnd)}, now ${iso(x.now)})`);
  const subjectStart = instant(data, 'NotBefore', W);
  if (subjectStart !== undefined && x.now + x.skewMs < subjectStart) fail(`${W}: the assertion is not yet valid (SubjectConfirmationData NotBefore ${iso(subjectStart)})`);

  // The authentication: when, how (one of the requested levels).
  const statements = children(a, NS.saml, 'AuthnStatement');
  if (statements.length !== 1) fail(`${W}: ${statements.length} AuthnStatement elements (exactly one is required)`);
  const statement = statements[0]!;
  const authnInstant = instant(statement, 'AuthnInstant', W);
  if (authnInstant === undefined) fail(`${W}: the AuthnStatement has no AuthnInstant`);
  if (authnInstant > x.now + x.skewMs) fail(`${W}: AuthnInstant ${iso(authnInstant)} is in the future`);
  if (x.forceAuthn && authnInstant < x.requestedAt - x.skewMs) {
    fail(`${W}: AuthnInstant ${iso(authnInstant)} is before the request (${iso(x.requestedAt)}), which asked for a new authentication (ForceAuthn)`);
  }
  const context = one(statement, NS.saml, 'AuthnContext', W);
  const classRef = textOf(one(context, NS.saml, 'AuthnContextClassRef', W), W).trim();
  if (!x.requestedLoa.includes(classRef)) fail(`${W}: AuthnContextClassRef ${shorten(classRef, 200)} was not requested (requested: ${x.requestedLoa.join(', ')})`);
  const authorities = children(context, NS.saml, 'AuthenticatingAuthority').map((e) => textOf(e, W).trim());

  // Attributes: each name at most once.
  const attributeStatements = children(a, NS.saml, 'AttributeStatement');
  if (attributeStatements.length > 1) fail(`${W}: ${attributeStatements.length} AttributeStatement elements (at most one is allowed)`);
  const attributes = new Map<string, AttributeValues>();
  for (const attribute of attributeStatements.length ? children(attributeStatements[0]!, NS.saml, 'Attribute') : []) {
    const name = attr(attribute, 'Name');
    if (!name) fail(`${W}: an Attribute without Name`);
    if (attributes.has(name)) fail(`${W}: the attribute ${shorten(name, 120)} appears more than once`);
    attributes.set(
      name,
      children(attribute, NS.saml, 'AttributeValue').map((v) =>
        attr(v, 'xsi:nil') === 'true' || v.getAttributeNS(NS.xsi, 'nil') === 'true' || children(v).length > 0 ? null : textOf(v, W),
      ),
    );
  }

  return {
    assertionId,
    issuer: x.idpEntityId,
    ...(nameIdEl ? { nameId: textOf(nameIdEl, W) } : {}),
    ...(nameIdEl && attr(nameIdEl, 'Format') ? { nameIdFormat: attr(nameIdEl, 'Format')! } : {}),
    authnInstant,
    authnContextClassRef: classRef,
    authenticatingAuthorities: authorities,
    notOnOrAfter: Math.min(subjectEnd, conditionsEnd ?? Infinity),
    attributes,
  };
}
