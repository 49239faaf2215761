/**
 * SAML metadata both ways: the IdP's (from a file or an https URL, its signature verified against the
 * pinned federation certificates, read from the signed bytes only, refreshed periodically) and this
 * SP's own (built from config for the hub to serve).
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { Element } from '@xmldom/xmldom';
import { HubError } from '../../src/contracts/errors.ts';
import type { Localized } from '../../src/contracts/identity.ts';
import { SUPPORTED_ENCRYPTION_METHODS } from './decrypt.ts';
import {
  NS,
  XmlProblem,
  attr,
  children,
  escapeAttr,
  escapeText,
  fail,
  inspectAll,
  instant,
  is,
  iso,
  optional,
  parseStrict,
  shorten,
  textOf,
} from './xml.ts';
import { inspectSignature, trustedKeyFromCertificate, verifyEnveloped, type TrustedKey } from './xmldsig.ts';

export const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const ENTITY_CATEGORY = 'http://macedir.org/entity-category';
export const ASSURANCE_CERTIFICATION = 'urn:oasis:names:tc:SAML:attribute:assurance-certification';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const URI_FORMAT = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

/** What the adapter takes from the IdP's metadata; nothing else about the IdP is trusted. */
export interface IdpMetadata {
  entityId: string;
  /** The IdP's signing keys (several during a rollover). Responses verify with these and nothing else. */
  signingKeys: TrustedKey[];
  sso: { redirect?: string; post?: string };
  wantAuthnRequestsSigned: boolean;
  /** `urn:oasis:names:tc:SAML:attribute:assurance-certification` values: the LoA URIs the IdP is certified for. */
  assuranceCertifications: string[];
  entityCategories: string[];
  /** Epoch milliseconds after which the metadata must not be used (the earliest validUntil on the way to the entity). */
  validUntil?: number;
  /** The federation certificate that signed the metadata, or `unsigned`. */
  signedBy: string;
}

export interface MetadataReadOptions {
  entityId: string;
  signingKeys: readonly TrustedKey[];
  allowUnsigned: boolean;
  now: number;
  maxBytes: number;
}

const MD = 'IdP metadata';

/** Parses and checks metadata text; throws XmlProblem naming what is wrong. */
export function readIdpMetadata(xml: string, o: MetadataReadOptions): IdpMetadata {
  if (Buffer.byteLength(xml, 'utf8') > o.maxBytes) fail(`${MD} is larger than ${o.maxBytes} bytes`);
  const text = xml.replace(/\r\n?/g, '\n');
  const doc = parseStrict(text, MD);
  // Aggregates carry comments; they are outside what the signature covers and never read.
  inspectAll(doc, { maxDepth: 40, comments: 'allow' }, MD);
  const root = doc.documentElement!;
  if (!is(root, NS.md, 'EntitiesDescriptor') && !is(root, NS.md, 'EntityDescriptor')) {
    fail(`${MD}: the root element is ${root.localName}, not md:EntitiesDescriptor or md:EntityDescriptor`);
  }
  for (const s of children(root)) {
    if (s.localName === 'Signature' && s.namespaceURI !== NS.ds) fail(`${MD}: a Signature element outside the XML signature namespace`);
  }
  const signature = optional(root, NS.ds, 'Signature', MD);
  let view = root;
  let signedBy = 'unsigned';
  if (signature) {
    const verified = verifyEnveloped(text, inspectSignature(signature, MD, { allowEmptyUri: true }), o.signingKeys, `${MD} signature`);
    const signedDoc = parseStrict(verified.signedXml, `signed ${MD}`);
    inspectAll(signedDoc, { maxDepth: 40, comments: 'refuse' }, `signed ${MD}`);
    view = signedDoc.documentElement!;
    signedBy = verified.key.label;
  } else if (!o.allowUnsigned) {
    fail(`${MD} is not signed (only a local file may be unsigned, with idp.insecureUnsignedMetadata)`);
  }

  let validUntil = instant(view, 'validUntil', MD);
  const entity = findEntity(view, o.entityId, (v) => {
    if (v !== undefined) validUntil = validUntil === undefined ? v : Math.min(validUntil, v);
  });
  if (validUntil !== undefined && validUntil <= o.now) fail(`${MD} expired at ${iso(validUntil)} (validUntil)`);

  const idps = children(entity, NS.md, 'IDPSSODescriptor').filter((d) => (attr(d, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (idps.length !== 1) fail(`${MD}: ${o.entityId} has ${idps.length} SAML 2.0 IDPSSODescriptor elements (exactly one is required)`);
  const idp = idps[0]!;
  const signingKeys: TrustedKey[] = [];
  for (const kd of children(idp, NS.md, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== undefined && use !== 'signing') continue;
    const keyInfo = optional(kd, NS.ds, 'KeyInfo', MD);
    for (const data of keyInfo ? children(keyInfo, NS.ds, 'X509Data') : []) {
      for (const c of children(data, NS.ds, 'X509Certificate')) {
        try {
          const key = trustedKeyFromCertificate(textOf(c, MD));
          if (!signingKeys.some((k) => k.certificate === key.certificate)) signingKeys.push(key);
        } catch (err) {
          fail(`${MD}: a signing certificate of ${o.entityId} cannot be read (${shorten((err as Error).message, 120)})`);
        }
      }
    }
  }
  if (!signingKeys.length) fail(`${MD}: ${o.entityId} publishes no signing certificate`);
  const sso: IdpMetadata['sso'] = {};
  for (const s of children(idp, NS.md, 'SingleSignOnService')) {
    const binding = attr(s, 'Binding');
    const location = attr(s, 'Location');
    if (!location) continue;
    if (binding === BINDING.redirect) sso.redirect ??= location;
    if (binding === BINDING.post) sso.post ??= location;
  }
  if (!sso.redirect && !sso.post) fail(`${MD}: ${o.entityId} has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding`);
  for (const url of [sso.redirect, sso.post]) {
    if (url !== undefined && !/^https?:\/\//.test(url)) fail(`${MD}: the SingleSignOnService location ${shorten(url, 120)} is not an http(s) URL`);
  }
  const entityAttributes = entityAttributeValues(entity);
  return {
    entityId: o.entityId,
    signingKeys,
    sso,
    wantAuthnRequestsSigned: attr(idp, 'WantAuthnRequestsSigned') === 'true' || attr(idp, 'WantAuthnRequestsSigned') === '1',
    assuranceCertifications: entityAttributes.get(ASSURANCE_CERTIFICATION) ?? [],
    entityCategories: entityAttributes.get(ENTITY_CATEGORY) ?? [],
    ...(validUntil !== undefined ? { validUntil } : {}),
    signedBy,
  };
}

/** The one EntityDescriptor with this entityID, in an aggregate (nested EntitiesDescriptor allowed) or alone. */
function findEntity(root: Element, entityId: string, onValidUntil: (ms: number | undefined) => void): Element {
  const found: Array<{ el: Element; path: Element[] }> = [];
  const walk = (el: Element, path: Element[]): void => {
    if (is(el, NS.md, 'EntityDescriptor')) {
      if (attr(el, 'entityID') === entityId) found.push({ el, path: [...path, el] });
      return;
    }
    if (is(el, NS.md, 'EntitiesDescriptor')) for (const c of children(el)) walk(c, [...path, el]);
  };
  walk(root, []);
  if (found.length === 0) fail(`${MD}: no EntityDescriptor with entityID ${entityId}`);
  if (found.length > 1) fail(`${MD}: ${found.length} EntityDescriptor elements with entityID ${entityId}`);
  for (const el of found[0]!.path) if (el !== root) onValidUntil(instant(el, 'validUntil', MD));
  return found[0]!.el;
}

function entityAttributeValues(entity: Element): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const extensions = optional(entity, NS.md, 'Extensions', MD);
  for (const ea of extensions ? children(extensions, NS.mdattr, 'EntityAttributes') : []) {
    for (const a of children(ea, NS.saml, 'Attribute')) {
      const name = attr(a, 'Name');
      if (!name) continue;
      const values = children(a, NS.saml, 'AttributeValue').map((v) => textOf(v, MD).trim());
      out.set(name, [...(out.get(name) ?? []), ...values]);
    }
  }
  return out;
}

export interface MetadataSourceConfig {
  entityId: string;
  file?: string;
  url?: string;
  signingKeys: readonly TrustedKey[];
  allowUnsigned: boolean;
  refreshMs: number;
  timeoutMs: number;
  maxBytes: number;
}

export interface MetadataSourceDeps {
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/**
 * The IdP's metadata, kept current: a file is read at start, a URL on first use; both are refreshed
 * every `refreshMs` by a timer (unref'd, cleared by `close`). A refresh that fails keeps the last good
 * metadata (logged); metadata past its validUntil is never used.
 */
export class IdpMetadataSource {
  readonly #c: MetadataSourceConfig;
  readonly #d: MetadataSourceDeps;
  #current: IdpMetadata | undefined;
  #loading: Promise<IdpMetadata> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #etag: string | undefined;
  #lastError: string | undefined;
  #text: string | undefined;
  #closed = false;

  constructor(config: MetadataSourceConfig, deps: MetadataSourceDeps) {
    this.#c = config;
    this.#d = deps;
  }

  /** Reads a metadata file now (at create); throws CONFIG_INVALID when it cannot be used. */
  loadFileNow(): IdpMetadata {
    try {
      const text = readFileSync(this.#c.file!, 'utf8');
      this.#current = this.#read(text);
      this.#text = text;
      this.#lastError = undefined;
      this.#d.log.info({ idp: this.#current.entityId, signingKeys: this.#current.signingKeys.map((k) => k.label), signedBy: this.#current.signedBy }, 'SAML IdP metadata loaded');
      return this.#current;
    } catch (err) {
      throw new HubError('CONFIG_INVALID', { detail: `idp.metadataFile ${this.#c.file}: ${describe(err)}`, cause: err });
    }
  }

  /** Starts the periodic refresh. */
  start(): void {
    this.#schedule(this.#c.refreshMs);
  }

  /** Usable metadata, loading it when there is none (or only expired metadata). */
  async get(): Promise<IdpMetadata> {
    const current = this.#current;
    if (current && (current.validUntil === undefined || current.validUntil > this.#d.now())) return current;
    try {
      return await this.#load();
    } catch (err) {
      throw new HubError('EID_UPSTREAM_UNAVAILABLE', {
        detail: `no usable metadata for ${this.#c.entityId} from ${this.#c.url ?? this.#c.file}: ${describe(err)}`,
        cause: err,
      });
    }
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Loads again now; keeps the last good metadata when this fails. */
  async refresh(): Promise<void> {
    try {
      await this.#load();
    } catch (err) {
      this.#d.log.warn({ idp: this.#c.entityId, source: this.#c.url ?? this.#c.file, err: describe(err) }, 'SAML IdP metadata refresh failed; keeping the last good metadata');
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      void this.refresh().then(() => this.#schedule(this.#lastError ? Math.min(this.#c.refreshMs, 300_000) : this.#c.refreshMs));
    }, ms);
    this.#timer.unref();
  }

  #load(): Promise<IdpMetadata> {
    this.#loading ??= (async () => {
      try {
        const text = this.#c.url ? await this.#fetch() : await readFile(this.#c.file!, 'utf8');
        const metadata = text === undefined ? this.#current! : this.#read(text);
        const changed = text !== undefined && text !== this.#text;
        if (text !== undefined) this.#text = text;
        if (changed) {
          this.#d.log.info(
            { idp: metadata.entityId, signingKeys: metadata.signingKeys.map((k) => k.label), signedBy: metadata.signedBy, validUntil: metadata.validUntil ? iso(metadata.validUntil) : undefined },
            'SAML IdP metadata loaded',
          );
        }
        this.#current = metadata;
        this.#lastError = undefined;
        return metadata;
      } catch (err) {
        this.#lastError = describe(err);
        throw err;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  #read(text: string): IdpMetadata {
    return readIdpMetadata(text, {
      entityId: this.#c.entityId,
      signingKeys: this.#c.signingKeys,
      allowUnsigned: this.#c.allowUnsigned,
      now: this.#d.now(),
      maxBytes: this.#c.maxBytes,
    });
  }

  /** The metadata text, or undefined when the server says it has not changed (304). */
  async #fetch(): Promise<string | undefined> {
    const headers: Record<string, string> = { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8' };
    if (this.#etag && this.#current) headers['if-none-match'] = this.#etag;
    const res = await fetch(this.#c.url!, { headers, signal: AbortSignal.timeout(this.#c.timeoutMs), redirect: 'follow' });
    if (res.status === 304 && this.#current) return undefined;
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from ${this.#c.url}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.#c.maxBytes) {
      await res.body?.cancel();
      throw new Error(`metadata of ${declared} bytes is larger than ${this.#c.maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done || !value) break;
      size += value.byteLength;
      if (size > this.#c.maxBytes) {
        await reader.cancel();
        throw new Error(`metadata is larger than ${this.#c.maxBytes} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
    const etag = res.headers.get('etag');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    this.#etag = etag ?? undefined;
    return text;
  }
}

function describe(err: unknown): string {
  if (err instanceof XmlProblem) return err.message;
  if (err instanceof HubError) return err.detail ?? err.code;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.code ? `${e.code}: ${e.message}` : (e?.message ?? String(err));
}

// ---- The SP's own metadata ----

export interface SpMetadataInput {
  entityId: string;
  acsUrl: string;
  signingCertificate: string;
  /** Published encryption certificate (base64 DER), if the SP takes encrypted assertions. */
  encryptionCertificate?: string;
  wantAssertionsSigned: boolean;
  entityCategories: readonly string[];
  nameIdFormat?: string;
  displayName: Localized;
  description?: Localized;
  logo?: { url: string; width: number; height: number };
  organization?: { name: Localized; displayName: Localized; url: Localized };
  contacts: ReadonlyArray<{ type: string; company?: string; givenName?: string; email: string }>;
}

/** `<md:EntityDescriptor>` for this SP: unsigned (the federation operator signs what it publishes). */
export function buildSpMetadata(m: SpMetadataInput): string {
  const lines: string[] = [];
  const push = (indent: number, s: string) => lines.push(`${'  '.repeat(indent)}${s}`);
  const langs = (indent: number, tag: string, value: Localized) => {
    for (const lang of ['sv', 'en'] as const) push(indent, `<${tag} xml:lang="${lang}">${escapeText(value[lang])}</${tag}>`);
  };
  push(0, '<?xml version="1.0" encoding="UTF-8"?>');
  push(
    0,
    `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" xmlns:saml="${NS.saml}" xmlns:mdattr="${NS.mdattr}" xmlns:mdui="${NS.mdui}" entityID="${escapeAttr(m.entityId)}">`,
  );
  if (m.entityCategories.length) {
    push(1, '<md:Extensions>');
    push(2, '<mdattr:EntityAttributes>');
    push(3, `<saml:Attribute Name="${ENTITY_CATEGORY}" NameFormat="${URI_FORMAT}">`);
    for (const c of m.entityCategories) push(4, `<saml:AttributeValue>${escapeText(c)}</saml:AttributeValue>`);
    push(3, '</saml:Attribute>');
    push(2, '</mdattr:EntityAttributes>');
    push(1, '</md:Extensions>');
  }
  push(1, `<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="${m.wantAssertionsSigned}" protocolSupportEnumeration="${SAML2_PROTOCOL}">`);
  push(2, '<md:Extensions>');
  push(3, '<mdui:UIInfo>');
  langs(4, 'mdui:DisplayName', m.displayName);
  if (m.description) langs(4, 'mdui:Description', m.description);
  if (m.logo) push(4, `<mdui:Logo height="${m.logo.height}" width="${m.logo.width}">${escapeText(m.logo.url)}</mdui:Logo>`);
  push(3, '</mdui:UIInfo>');
  push(2, '</md:Extensions>');
  push(2, '<md:KeyDescriptor use="signing">');
  push(3, `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${m.signingCertificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`);
  push(2, '</md:KeyDescriptor>');
  if (m.encryptionCertificate) {
    push(2, '<md:KeyDescriptor use="encryption">');
    push(3, `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${m.encryptionCertificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`);
    for (const alg of SUPPORTED_ENCRYPTION_METHODS) push(3, `<md:EncryptionMethod Algorithm="${alg}"/>`);
    push(2, '</md:KeyDescriptor>');
  }
  if (m.nameIdFormat) push(2, `<md:NameIDFormat>${escapeText(m.nameIdFormat)}</md:NameIDFormat>`);
  push(2, `<md:AssertionConsumerService Binding="${BINDING.post}" Location="${escapeAttr(m.acsUrl)}" index="0" isDefault="true"/>`);
  push(1, '</md:SPSSODescriptor>');
  if (m.organization) {
    push(1, '<md:Organization>');
    langs(2, 'md:OrganizationName', m.organization.name);
    langs(2, 'md:OrganizationDisplayName', m.organization.displayName);
    langs(2, 'md:OrganizationURL', m.organization.url);
    push(1, '</md:Organization>');
  }
  for (const c of m.contacts) {
    push(1, `<md:ContactPerson contactType="${escapeAttr(c.type)}">`);
    if (c.company) push(2, `<md:Company>${escapeText(c.company)}</md:Company>`);
    if (c.givenName) push(2, `<md:GivenName>${escapeText(c.givenName)}</md:GivenName>`);
    push(2, `<md:EmailAddress>mailto:${escapeText(c.email)}</md:EmailAddress>`);
    push(1, '</md:ContactPerson>');
  }
  push(0, '</md:EntityDescriptor>');
  return lines.join('\n') + '\n';
}
