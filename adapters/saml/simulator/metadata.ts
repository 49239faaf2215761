/**
 * SAML metadata for the simulator: reading the SP's metadata (its entityID, ACS URLs, signing and
 * encryption certificates, entity categories), and writing each persona's signed IdP metadata.
 */
import { X509Certificate } from 'node:crypto';
import { base64ToPem, signXml, type SigningKey } from './crypto.ts';
import { attr, BINDING, child, children, descendants, escapeXml, instant, NAMEID_FORMAT, NS, parseXml, textOf, type Element } from './xml.ts';

export const ENTITY_CATEGORY_ATTRIBUTE = 'http://macedir.org/entity-category';
export const ASSURANCE_CERTIFICATION_ATTRIBUTE = 'urn:oasis:names:tc:SAML:attribute:assurance-certification';
export const EC_ACCEPTS_COORDINATION_NUMBER = 'http://id.swedenconnect.se/general-ec/1.0/accepts-coordination-number';

export interface AssertionConsumerService {
  location: string;
  binding: string;
  index?: number;
  isDefault: boolean;
}

/** What the simulator learns about an SP from its metadata. */
export interface SpInfo {
  entityId: string;
  /** HTTP-POST ACS endpoints only (the only binding the simulator answers with). */
  acs: AssertionConsumerService[];
  /** PEM certificates from KeyDescriptors with use="signing" or without use. */
  signingCerts: string[];
  /** PEM certificates from KeyDescriptors with use="encryption" or without use. */
  encryptionCerts: string[];
  /** md:EncryptionMethod algorithms declared with the encryption keys, in order. */
  encryptionMethods: string[];
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  /** Values of the http://macedir.org/entity-category entity attribute. */
  entityCategories: string[];
  /** mdui:DisplayName by language. */
  displayName: Record<string, string>;
}

const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

function certsOf(descriptor: Element, use: 'signing' | 'encryption'): { certs: string[]; methods: string[] } {
  const certs: string[] = [];
  const methods: string[] = [];
  for (const kd of children(descriptor, NS.md, 'KeyDescriptor')) {
    const u = attr(kd, 'use');
    if (u !== undefined && u !== use) continue;
    for (const c of descendants(kd, NS.ds, 'X509Certificate')) {
      const pem = base64ToPem(textOf(c));
      try {
        new X509Certificate(pem);
        certs.push(pem);
      } catch {
        // not a certificate: ignored, as a metadata consumer would skip an unusable key
      }
    }
    if (use === 'encryption') for (const m of children(kd, NS.md, 'EncryptionMethod')) methods.push(attr(m, 'Algorithm') ?? '');
  }
  return { certs, methods: methods.filter(Boolean) };
}

function entityAttribute(entity: Element, name: string): string[] {
  const ext = child(entity, NS.md, 'Extensions');
  if (!ext) return [];
  const out: string[] = [];
  for (const ea of children(ext, NS.mdattr, 'EntityAttributes')) {
    for (const a of children(ea, NS.saml, 'Attribute')) {
      if (attr(a, 'Name') !== name) continue;
      for (const v of children(a, NS.saml, 'AttributeValue')) out.push(textOf(v));
    }
  }
  return out;
}

function spOf(entity: Element): SpInfo | undefined {
  const entityId = attr(entity, 'entityID');
  const sp = children(entity, NS.md, 'SPSSODescriptor').find((d) => (attr(d, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (!entityId || !sp) return undefined;
  const acs = children(sp, NS.md, 'AssertionConsumerService')
    .filter((a) => attr(a, 'Binding') === BINDING.post && attr(a, 'Location'))
    .map((a) => {
      const entry: AssertionConsumerService = { location: attr(a, 'Location')!, binding: BINDING.post, isDefault: attr(a, 'isDefault') === 'true' };
      const index = attr(a, 'index');
      if (index !== undefined && /^\d+$/.test(index)) entry.index = Number(index);
      return entry;
    });
  const signing = certsOf(sp, 'signing');
  const encryption = certsOf(sp, 'encryption');
  const displayName: Record<string, string> = {};
  const uiInfo = child(sp, NS.md, 'Extensions') && child(child(sp, NS.md, 'Extensions')!, NS.mdui, 'UIInfo');
  for (const d of uiInfo ? children(uiInfo, NS.mdui, 'DisplayName') : []) {
    displayName[d.getAttributeNS(NS.xml, 'lang') || 'en'] = textOf(d);
  }
  return {
    entityId,
    acs,
    signingCerts: signing.certs,
    encryptionCerts: encryption.certs,
    encryptionMethods: encryption.methods,
    authnRequestsSigned: attr(sp, 'AuthnRequestsSigned') === 'true',
    wantAssertionsSigned: attr(sp, 'WantAssertionsSigned') === 'true',
    entityCategories: entityAttribute(entity, ENTITY_CATEGORY_ATTRIBUTE),
    displayName,
  };
}

/**
 * Every SP in a metadata document (an EntityDescriptor or an EntitiesDescriptor aggregate), by entityID.
 * The document is trusted as given: the simulator is handed its SPs' metadata directly, where a real
 * IdP would first verify the federation's signature on it.
 */
export function parseSpMetadata(xml: string): Map<string, SpInfo> {
  const doc = parseXml(xml);
  const out = new Map<string, SpInfo>();
  const root = doc.documentElement!;
  const entities = root.namespaceURI === NS.md && root.localName === 'EntityDescriptor' ? [root] : descendants(root, NS.md, 'EntityDescriptor');
  for (const e of entities) {
    const sp = spOf(e);
    if (sp) out.set(sp.entityId, sp);
  }
  return out;
}

/** The ACS an AuthnRequest without URL or index gets: the one marked default, else the lowest index, else the first. */
export function defaultAcs(sp: SpInfo): AssertionConsumerService | undefined {
  return (
    sp.acs.find((a) => a.isDefault) ??
    [...sp.acs].filter((a) => a.index !== undefined).sort((a, b) => a.index! - b.index!)[0] ??
    sp.acs[0]
  );
}

// ---------------------------------------------------------------------------------------------------
// IdP metadata

export interface IdpMetadataInput {
  entityId: string;
  ssoUrl: string;
  /** Signing certificates as base64 DER, current first (several during a key rollover). */
  signingCerts: string[];
  /** LoA URIs for the assurance-certification entity attribute. */
  assuranceCertifications: string[];
  entityCategories: string[];
  displayName: { sv: string; en: string };
  description: { sv: string; en: string };
  logoUrl: string;
  organizationUrl: string;
  /** md:Extensions/shibmd:Scope values (e.g. the domain of eduPersonPrincipalName). */
  scopes: string[];
  /** Attribute names for psc:RequestedPrincipalSelection. */
  principalSelection: string[];
  /** EntityDescriptor ID (the signature's reference). */
  id: string;
  validUntilMs: number;
}

const lang = (tag: string, ns: string, sv: string, en: string, indent: string): string =>
  `${indent}<${ns}:${tag} xml:lang="sv">${escapeXml(sv)}</${ns}:${tag}>\n${indent}<${ns}:${tag} xml:lang="en">${escapeXml(en)}</${ns}:${tag}>\n`;

function entityAttributesXml(m: IdpMetadataInput): string {
  const attribute = (name: string, values: string[]) =>
    values.length === 0
      ? ''
      : `      <saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">\n` +
        values.map((v) => `        <saml:AttributeValue>${escapeXml(v)}</saml:AttributeValue>\n`).join('') +
        `      </saml:Attribute>\n`;
  const body = attribute(ASSURANCE_CERTIFICATION_ATTRIBUTE, m.assuranceCertifications) + attribute(ENTITY_CATEGORY_ATTRIBUTE, m.entityCategories);
  if (body === '') return '';
  return `  <md:Extensions>\n    <mdattr:EntityAttributes xmlns:mdattr="${NS.mdattr}" xmlns:saml="${NS.saml}">\n${body}    </mdattr:EntityAttributes>\n  </md:Extensions>\n`;
}

/** The persona's EntityDescriptor, not yet signed. */
export function idpMetadataXml(m: IdpMetadataInput): string {
  const keys = m.signingCerts
    .map(
      (c) =>
        `    <md:KeyDescriptor use="signing">\n      <ds:KeyInfo xmlns:ds="${NS.ds}">\n        <ds:X509Data>\n          <ds:X509Certificate>${c}</ds:X509Certificate>\n        </ds:X509Data>\n      </ds:KeyInfo>\n    </md:KeyDescriptor>\n`,
    )
    .join('');
  const scopes = m.scopes.map((s) => `      <shibmd:Scope xmlns:shibmd="${NS.shibmd}" regexp="false">${escapeXml(s)}</shibmd:Scope>\n`).join('');
  const psc =
    m.principalSelection.length === 0
      ? ''
      : `      <psc:RequestedPrincipalSelection xmlns:psc="${NS.psc}">\n` +
        m.principalSelection.map((n) => `        <psc:MatchValue Name="${escapeXml(n)}"/>\n`).join('') +
        `      </psc:RequestedPrincipalSelection>\n`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${escapeXml(m.entityId)}" ID="${m.id}" validUntil="${instant(m.validUntilMs)}" cacheDuration="PT1H">\n` +
    entityAttributesXml(m) +
    `  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="${SAML2_PROTOCOL}">\n` +
    `    <md:Extensions>\n` +
    scopes +
    `      <mdui:UIInfo xmlns:mdui="${NS.mdui}">\n` +
    lang('DisplayName', 'mdui', m.displayName.sv, m.displayName.en, '        ') +
    lang('Description', 'mdui', m.description.sv, m.description.en, '        ') +
    `        <mdui:Logo height="64" width="64">${escapeXml(m.logoUrl)}</mdui:Logo>\n` +
    `      </mdui:UIInfo>\n` +
    psc +
    `    </md:Extensions>\n` +
    keys +
    `    <md:NameIDFormat>${NAMEID_FORMAT.persistent}</md:NameIDFormat>\n` +
    `    <md:NameIDFormat>${NAMEID_FORMAT.transient}</md:NameIDFormat>\n` +
    `    <md:SingleSignOnService Binding="${BINDING.redirect}" Location="${escapeXml(m.ssoUrl)}"/>\n` +
    `    <md:SingleSignOnService Binding="${BINDING.post}" Location="${escapeXml(m.ssoUrl)}"/>\n` +
    `  </md:IDPSSODescriptor>\n` +
    `  <md:Organization>\n` +
    lang('OrganizationName', 'md', m.displayName.sv, m.displayName.en, '    ') +
    lang('OrganizationDisplayName', 'md', m.displayName.sv, m.displayName.en, '    ') +
    lang('OrganizationURL', 'md', m.organizationUrl, m.organizationUrl, '    ') +
    `  </md:Organization>\n` +
    `  <md:ContactPerson contactType="technical">\n    <md:Company>idnav</md:Company>\n    <md:EmailAddress>mailto:saml-simulator@idnav.test</md:EmailAddress>\n  </md:ContactPerson>\n` +
    `</md:EntityDescriptor>\n`
  );
}

/** The persona's metadata, signed (enveloped, RSA-SHA256 or ECDSA-SHA256 by key type, exc-c14n, SHA-256). */
export function signedIdpMetadata(m: IdpMetadataInput, metadataKey: SigningKey): string {
  return signXml(idpMetadataXml(m), metadataKey, { xpath: "/*[local-name(.)='EntityDescriptor']" });
}
