/** The SAML adapter's config block (`methods[].config` for `type: saml`) and the key material it names. */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { trustedKeyFromCertificate, type TrustedKey } from './xmldsig.ts';

export const PROFILES = ['sweden-connect', 'eidas', 'staff'] as const;
export type SamlProfile = (typeof PROFILES)[number];

export const LOA = {
  loa3: 'http://id.elegnamnden.se/loa/1.0/loa3',
  eidasNfSub: 'http://id.elegnamnden.se/loa/1.0/eidas-nf-sub',
  eidasNfHigh: 'http://id.elegnamnden.se/loa/1.0/eidas-nf-high',
  passwordProtectedTransport: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
} as const;

export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
/** eduPersonPrincipalName. */
export const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';

/** What each profile means when the config does not say otherwise. */
export const PROFILE_DEFAULTS: Readonly<
  Record<SamlProfile, { displayName: { sv: string; en: string }; requestedLoa: string[]; nameIdFormat: string | null; requireEncryptedAssertion: boolean }>
> = {
  'sweden-connect': {
    displayName: { sv: 'Svensk e-legitimation', en: 'Swedish e-ID' },
    requestedLoa: [LOA.loa3],
    nameIdFormat: NAMEID_PERSISTENT,
    requireEncryptedAssertion: true,
  },
  eidas: {
    displayName: { sv: 'Utländsk e-legitimation (eIDAS)', en: 'Foreign e-ID (eIDAS)' },
    requestedLoa: [LOA.eidasNfSub, LOA.eidasNfHigh],
    nameIdFormat: NAMEID_PERSISTENT,
    requireEncryptedAssertion: true,
  },
  staff: {
    displayName: { sv: 'Inloggning för anställda', en: 'Staff sign-in' },
    requestedLoa: [LOA.passwordProtectedTransport],
    nameIdFormat: null,
    requireEncryptedAssertion: false,
  },
};

const localized = z.strictObject({ sv: z.string().min(1), en: z.string().min(1) });
const uri = z.string().min(1).max(1024).regex(/^\S+$/, 'must be a URI (no spaces)');
const file = z.string().min(1);
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

export const samlConfigSchema = z
  .strictObject({
    /** How attributes become an Identity: `sweden-connect` (personnummer), `eidas` (prid), `staff` (a tenant's employees). */
    profile: z.enum(PROFILES),
    /** Staff IdPs only: the tenant whose staff sign in here; its identities are that tenant's. */
    tenant: z.string().min(1).optional(),
    /** Names on the chooser page (and in the SP metadata's mdui:DisplayName). Default per profile. */
    displayName: localized.optional(),
    /** This SP's entityID. Default `${issuer}/saml/${id}`. */
    entityId: uri.optional(),
    idp: z.strictObject({
      /** The IdP's entityID (picked out of an aggregate such as Sweden Connect's). */
      entityId: uri,
      /** Metadata from a local file (re-read every refreshSeconds)... */
      metadataFile: file.optional(),
      /** ...or from a URL (https; http only on loopback). */
      metadataUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** PEM certificates the metadata signature must verify with (a file may hold several: rollover). */
      metadataSigningCertFiles: z.array(file).default([]),
      refreshSeconds: z.coerce.number().int().min(60).max(7 * 86_400).default(3600),
      /** Timeout of one metadata download, milliseconds. */
      timeoutMs: z.coerce.number().int().min(500).max(120_000).default(10_000),
      maxMetadataBytes: z.coerce.number().int().min(4096).max(256 * 1024 * 1024).default(64 * 1024 * 1024),
      /** Dev only (refused in production): accept an unsigned metadata file. Never a URL. */
      insecureUnsignedMetadata: z.boolean().default(false),
    }),
    sp: z.strictObject({
      /** PEM RSA key (≥2048 bits) that signs AuthnRequests, and its certificate (published in the SP metadata). */
      signingKeyFile: file,
      signingCertFile: file,
      /** PEM RSA keys that decrypt assertions: the first is the current one, the rest are tried during a rollover. */
      encryptionKeyFiles: z.array(file).default([]),
      /** The certificate of the first encryption key, published in the SP metadata. */
      encryptionCertFile: file.optional(),
      /** Values of `http://macedir.org/entity-category` in the SP metadata. */
      entityCategories: z.array(uri).default([]),
      /** Published as WantAssertionsSigned; when true an assertion without its own signature is refused. */
      wantAssertionsSigned: z.boolean().default(true),
      /** NameIDPolicy Format in AuthnRequests and NameIDFormat in the metadata; null leaves it out. Default per profile. */
      nameIdFormat: uri.nullable().optional(),
      /** mdui:Description. */
      description: localized.optional(),
      logo: z.strictObject({ url: z.url({ protocol: /^https$/ }), width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
      organization: z.strictObject({ name: localized, displayName: localized, url: localized }).optional(),
      contacts: z
        .array(
          z.strictObject({
            type: z.enum(['technical', 'support', 'administrative', 'billing', 'other']),
            company: z.string().min(1).optional(),
            givenName: z.string().min(1).optional(),
            email: z.email(),
          }),
        )
        .default([]),
    }),
    /** AuthnContextClassRef values asked for (RequestedAuthnContext, Comparison exact) and accepted. Default per profile. */
    requestedLoa: z.array(uri).min(1).optional(),
    /** Send RequestedAuthnContext (some AD FS set-ups refuse it); the received class is checked against requestedLoa either way. */
    requestAuthnContext: z.boolean().default(true),
    /** The issued `acr` per received AuthnContextClassRef, overriding the registry's rule for proxies. */
    acrMap: z.record(uri, uri).default({}),
    /** The hub has been reviewed by Digg: official LoA URIs pass through unchanged. */
    reviewed: z.boolean().default(false),
    /** The `amr` of every sign-in, overriding the default derived from the level. */
    amr: z.array(z.string().min(1)).optional(),
    /** How the AuthnRequest travels. Default: HTTP-Redirect when the IdP offers it, else HTTP-POST. */
    binding: z.enum(['redirect', 'post']).optional(),
    /** Clock skew tolerated in every time check (the Swedish profile: at most one minute). */
    clockSkewSeconds: z.coerce.number().int().min(0).max(60).default(60),
    /** How old a Response or Assertion IssueInstant may be. */
    maxResponseAgeSeconds: z.coerce.number().int().min(10).max(600).default(180),
    /** How long a request may wait for its response. */
    maxRequestAgeSeconds: z.coerce.number().int().min(60).max(86_400).default(1800),
    /** Refuse a Response without its own signature (Sweden Connect signs every Response; AD FS by default signs only the assertion). */
    requireSignedResponse: z.boolean().default(true),
    /** Refuse an assertion that is not encrypted. Default per profile. */
    requireEncryptedAssertion: z.boolean().optional(),
    /** Size limit of a decoded SAMLResponse. */
    maxResponseBytes: z.coerce.number().int().min(16_384).max(4 * 1024 * 1024).default(256 * 1024),
    /** Deepest element nesting in a response. */
    maxXmlDepth: z.coerce.number().int().min(12).max(64).default(24),
    /** Staff: the attribute (Name) holding the employee id, or `NameID` for the subject's NameID. */
    staffIdAttribute: z.string().min(1).default(EPPN),
    /** Attribute names, when an IdP (such as AD FS) uses its own (claim URIs) instead of the OIDs. */
    attributeNames: z
      .strictObject({
        givenName: z.string().min(1).optional(),
        sn: z.string().min(1).optional(),
        displayName: z.string().min(1).optional(),
        mail: z.string().min(1).optional(),
        eduPersonPrincipalName: z.string().min(1).optional(),
        dateOfBirth: z.string().min(1).optional(),
      })
      .default({}),
  })
  .superRefine((c, ctx) => {
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (c.profile === 'staff' && !c.tenant) issue(['tenant'], 'is required for profile staff (the tenant whose staff sign in here)');
    if (c.profile !== 'staff' && c.tenant !== undefined) issue(['tenant'], 'is only for profile staff');
    if (!c.idp.metadataFile === !c.idp.metadataUrl) issue(['idp'], 'give exactly one of metadataFile and metadataUrl');
    if (c.idp.metadataUrl) {
      const u = new URL(c.idp.metadataUrl);
      if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname)) issue(['idp', 'metadataUrl'], 'must be https (http only on loopback)');
      if (c.idp.insecureUnsignedMetadata) issue(['idp', 'insecureUnsignedMetadata'], 'is only allowed with metadataFile (metadata from a URL must be signed)');
    }
    if (!c.idp.insecureUnsignedMetadata && c.idp.metadataSigningCertFiles.length === 0) {
      issue(['idp', 'metadataSigningCertFiles'], 'list at least one certificate the metadata signature must verify with');
    }
    if (!c.requireSignedResponse && !c.sp.wantAssertionsSigned) {
      issue(['requireSignedResponse'], 'and sp.wantAssertionsSigned cannot both be false: something must be signed');
    }
    const requireEncrypted = c.requireEncryptedAssertion ?? PROFILE_DEFAULTS[c.profile].requireEncryptedAssertion;
    if (requireEncrypted && c.sp.encryptionKeyFiles.length === 0) {
      issue(['sp', 'encryptionKeyFiles'], `list at least one key: profile ${c.profile} requires encrypted assertions`);
    }
    if (c.sp.encryptionKeyFiles.length > 0 && !c.sp.encryptionCertFile) issue(['sp', 'encryptionCertFile'], 'is required with encryptionKeyFiles (it is published in the SP metadata)');
    if (c.sp.encryptionCertFile && c.sp.encryptionKeyFiles.length === 0) issue(['sp', 'encryptionKeyFiles'], 'is required with encryptionCertFile');
    const requested = c.requestedLoa ?? PROFILE_DEFAULTS[c.profile].requestedLoa;
    if (new Set(requested).size !== requested.length) issue(['requestedLoa'], 'lists a URI twice');
    for (const key of Object.keys(c.acrMap)) {
      if (!requested.includes(key)) issue(['acrMap', key], 'is not one of requestedLoa');
    }
    if (!c.reviewed) {
      for (const [i, loa] of requested.entries()) {
        if (/^http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa[14]$/.test(loa) && !c.acrMap[loa]) {
          issue(['requestedLoa', i], `no uncertified URI is registered for ${loa}: give its issued acr in acrMap`);
        }
      }
    }
    if (c.staffIdAttribute !== EPPN && c.profile !== 'staff') issue(['staffIdAttribute'], 'is only for profile staff');
  });

export type SamlConfig = z.infer<typeof samlConfigSchema>;

/** The key material a config names, read and checked. */
export interface SamlMaterial {
  signingKey: KeyObject;
  signingKeyPem: string;
  /** base64 DER. */
  signingCertificate: string;
  signingCertificatePem: string;
  decryptionKeys: Array<{ pem: string; label: string }>;
  /** base64 DER of the published encryption certificate. */
  encryptionCertificate?: string;
  metadataSigningKeys: TrustedKey[];
  /** Absolute path of the IdP metadata file, if any. */
  metadataFile?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function path(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function readError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return `cannot read ${file}: ${code === 'ENOENT' ? 'no such file (ENOENT)' : (code ?? String(err))}`;
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/** Reads every file the config names; returns all problems at once as [dotted path, reason]. */
export function readSamlMaterial(config: SamlConfig, baseDir: string): { material?: SamlMaterial; problems: Array<[string, string]> } {
  const problems: Array<[string, string]> = [];
  const read = (at: string, file: string): string | undefined => {
    try {
      return readFileSync(path(baseDir, file), 'utf8');
    } catch (err) {
      problems.push([at, readError(file, err)]);
      return undefined;
    }
  };
  const privateKey = (at: string, file: string): { key: KeyObject; pem: string } | undefined => {
    const text = read(at, file);
    if (text === undefined) return undefined;
    try {
      const key = createPrivateKey(text);
      if (key.asymmetricKeyType !== 'rsa') problems.push([at, `${file} is a ${key.asymmetricKeyType} key; an RSA key is required`]);
      else if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) problems.push([at, `${file} is an RSA key of ${key.asymmetricKeyDetails?.modulusLength} bits (at least 2048)`]);
      return { key, pem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
    } catch (err) {
      problems.push([at, `${file} is not a readable unencrypted PEM private key (${(err as Error).message})`]);
      return undefined;
    }
  };
  const certificate = (at: string, file: string): X509Certificate | undefined => {
    const text = read(at, file);
    if (text === undefined) return undefined;
    const block = text.match(PEM_CERTIFICATE)?.[0];
    if (!block) {
      problems.push([at, `${file} holds no PEM certificate`]);
      return undefined;
    }
    try {
      return new X509Certificate(block);
    } catch (err) {
      problems.push([at, `${file} holds a certificate that cannot be parsed: ${(err as Error).message}`]);
      return undefined;
    }
  };

  const signing = privateKey('sp.signingKeyFile', config.sp.signingKeyFile);
  const signingCert = certificate('sp.signingCertFile', config.sp.signingCertFile);
  if (signing && signingCert && !sameKey(createPublicKey(signing.key), signingCert.publicKey)) {
    problems.push(['sp.signingCertFile', `${config.sp.signingCertFile} does not belong to sp.signingKeyFile`]);
  }
  const decryptionKeys: SamlMaterial['decryptionKeys'] = [];
  const decryptionKeyObjects: KeyObject[] = [];
  config.sp.encryptionKeyFiles.forEach((f, i) => {
    const k = privateKey(`sp.encryptionKeyFiles.${i}`, f);
    if (k) {
      decryptionKeys.push({ pem: k.pem, label: f });
      decryptionKeyObjects.push(k.key);
    }
  });
  let encryptionCertificate: string | undefined;
  if (config.sp.encryptionCertFile) {
    const cert = certificate('sp.encryptionCertFile', config.sp.encryptionCertFile);
    if (cert) {
      encryptionCertificate = cert.raw.toString('base64');
      const first = decryptionKeyObjects[0];
      if (first && config.sp.encryptionKeyFiles.length && !sameKey(createPublicKey(first), cert.publicKey)) {
        problems.push(['sp.encryptionCertFile', `${config.sp.encryptionCertFile} does not belong to sp.encryptionKeyFiles[0] (the current key)`]);
      }
    }
  }
  const metadataSigningKeys: TrustedKey[] = [];
  config.idp.metadataSigningCertFiles.forEach((f, i) => {
    const at = `idp.metadataSigningCertFiles.${i}`;
    const text = read(at, f);
    if (text === undefined) return;
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    if (!blocks.length) problems.push([at, `${f} holds no PEM certificate`]);
    for (const block of blocks) {
      try {
        metadataSigningKeys.push(trustedKeyFromCertificate(block));
      } catch (err) {
        problems.push([at, `${f} holds a certificate that cannot be parsed: ${(err as Error).message}`]);
      }
    }
  });
  let metadataFile: string | undefined;
  if (config.idp.metadataFile) {
    metadataFile = path(baseDir, config.idp.metadataFile);
    read('idp.metadataFile', config.idp.metadataFile);
  }

  if (problems.length || !signing || !signingCert) return { problems };
  return {
    problems,
    material: {
      signingKey: signing.key,
      signingKeyPem: signing.pem,
      signingCertificate: signingCert.raw.toString('base64'),
      signingCertificatePem: signingCert.toString(),
      decryptionKeys,
      ...(encryptionCertificate ? { encryptionCertificate } : {}),
      metadataSigningKeys,
      ...(metadataFile ? { metadataFile } : {}),
    },
  };
}
