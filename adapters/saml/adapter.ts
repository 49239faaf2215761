/**
 * The SAML 2.0 SP adapter: one SP towards one IdP (a Sweden Connect IdP, the Swedish eIDAS connector,
 * a municipality's staff IdP). A redirect adapter: `begin` builds a signed AuthnRequest (node-saml),
 * `complete` checks the IdP's Response (the adapter's own checks in `response.ts`, then node-saml's as a
 * second opinion) and returns the Identity. Stateless: the request ID, its time, the ACS and the levels
 * asked for travel in `state`; assertion IDs go to the Store until they expire.
 */
import { randomBytes } from 'node:crypto';
import querystring from 'node:querystring';
import { SAML, type CacheProvider, type SamlConfig as NodeSamlConfig, type ValidateInResponseTo } from '@node-saml/node-saml';
import type { AdapterDeps, RedirectBegin, RedirectBeginRequest, RedirectCompleteRequest, RedirectEidAdapter } from '../../src/contracts/eid.ts';
import { HubError, isHubError } from '../../src/contracts/errors.ts';
import type { Identity } from '../../src/contracts/identity.ts';
import type { JsonValue, Store } from '../../src/contracts/store.ts';
import { PROFILE_DEFAULTS, type SamlConfig, type SamlMaterial } from './config.ts';
import { ATTR, defaultAmr, identityFrom, issuedAcr } from './identity.ts';
import { IdpMetadataSource, buildSpMetadata, type IdpMetadata } from './metadata.ts';
import { validateResponse, type ValidatedAssertion } from './response.ts';
import { XmlProblem, shorten } from './xml.ts';
import { enableXmlDsigEcdsa, toPem } from './xmldsig.ts';

export const SAML_METHOD_PREFIX = 'urn:idnav:method:saml:';
/** Store namespaces: assertion IDs seen (until their NotOnOrAfter) and requests already answered. */
export const REPLAY_NS = { assertion: 'saml-assertion', request: 'saml-request' } as const;

/** The name in this SP's URLs and method URI: the method id without a leading `saml:`. */
export function samlMethodName(id: string): string {
  return id.startsWith('saml:') ? id.slice('saml:'.length) : id;
}

/** What `begin` hands the hub to keep, and `complete` gets back. */
export interface SamlState {
  v: 1;
  /** The AuthnRequest ID (the Response's InResponseTo). */
  id: string;
  /** Epoch milliseconds the request was made. */
  at: number;
  /** The ACS URL the request named. */
  acs: string;
  /** The AuthnContextClassRef values asked for. */
  loa: string[];
  force: boolean;
  /** RelayState sent. */
  rs: string;
}

export function encodeState(state: SamlState): string {
  return JSON.stringify(state);
}

export function decodeState(text: string): SamlState {
  let s: Partial<SamlState>;
  try {
    s = JSON.parse(text) as Partial<SamlState>;
  } catch {
    throw new HubError('TRANSACTION_MISMATCH', { detail: 'the sign-in state is not a SAML request state' });
  }
  const ok =
    s &&
    s.v === 1 &&
    typeof s.id === 'string' &&
    typeof s.at === 'number' &&
    typeof s.acs === 'string' &&
    Array.isArray(s.loa) &&
    s.loa.every((l) => typeof l === 'string') &&
    typeof s.force === 'boolean' &&
    typeof s.rs === 'string';
  if (!ok) throw new HubError('TRANSACTION_MISMATCH', { detail: 'the sign-in state is not a SAML request state' });
  return s as SamlState;
}

/** When no Store is given (a single process in tests or tools): the same create-if-absent, in memory. */
function localOnce(now: () => number): Pick<Store, 'create'> {
  const seen = new Map<string, number>();
  return {
    async create(ns: string, id: string, _value: JsonValue, ttlSeconds: number): Promise<boolean> {
      const t = now();
      for (const [k, until] of seen) if (until <= t) seen.delete(k);
      const key = `${ns}\u0000${id}`;
      if (seen.has(key)) return false;
      seen.set(key, t + ttlSeconds * 1000);
      return true;
    },
  };
}

/**
 * node-saml signs `querystring.stringify({SAMLRequest, RelayState, SigAlg})` but writes the URL with
 * URLSearchParams, which encodes some characters differently (space, `'`, `~`, `!`, `(`, `)`). An IdP
 * verifies the signature over the query octets it receives (SAML bindings §3.4.4.1), so the URL is
 * rebuilt here from exactly the octets that were signed.
 */
export function redirectUrl(entryPoint: string, signedUrl: string): string {
  const p = new URL(signedUrl).searchParams;
  const signed: Record<string, string> = { SAMLRequest: p.get('SAMLRequest') ?? '' };
  const relayState = p.get('RelayState');
  if (relayState) signed['RelayState'] = relayState;
  signed['SigAlg'] = p.get('SigAlg') ?? '';
  const query = `${querystring.stringify(signed)}&Signature=${encodeURIComponent(p.get('Signature') ?? '')}`;
  return `${entryPoint}${entryPoint.includes('?') ? '&' : '?'}${query}`;
}

export function createSamlAdapter(id: string, config: SamlConfig, material: SamlMaterial, deps: AdapterDeps): RedirectEidAdapter {
  enableXmlDsigEcdsa();
  const issuer = deps.issuer?.replace(/\/+$/, '');
  if (!issuer) throw new HubError('CONFIG_INVALID', { detail: `methods.${id}: the SAML adapter needs the hub's issuer (its ACS and entityID are built from it)` });
  const defaults = PROFILE_DEFAULTS[config.profile];
  // Methods are named `saml:<name>` or just `<name>`; URLs and the method URI use the name.
  const name = samlMethodName(id);
  const spEntityId = config.entityId ?? `${issuer}/saml/${name}`;
  const acsUrl = `${issuer}/login/saml/${name}/acs`;
  const requestedLoa = config.requestedLoa ?? defaults.requestedLoa;
  const acrOf = (loa: string) => issuedAcr(loa, config.reviewed, config.acrMap);
  const acrValues = [...new Set(requestedLoa.map(acrOf))];
  const nameIdFormat = config.sp.nameIdFormat === undefined ? defaults.nameIdFormat : config.sp.nameIdFormat;
  const requireEncryptedAssertion = config.requireEncryptedAssertion ?? defaults.requireEncryptedAssertion;
  const displayName = config.displayName ?? defaults.displayName;
  const methodUri = `${SAML_METHOD_PREFIX}${name}`;
  const skewMs = config.clockSkewSeconds * 1000;
  const replay: Pick<Store, 'create'> = deps.store ?? localOnce(deps.now);
  if (!deps.store) deps.log.warn({ method: id }, 'SAML adapter without a Store: the assertion replay cache lives in this process only');
  const names = {
    givenName: config.attributeNames.givenName ?? ATTR.givenName,
    sn: config.attributeNames.sn ?? ATTR.sn,
    displayName: config.attributeNames.displayName ?? ATTR.displayName,
    mail: config.attributeNames.mail ?? ATTR.mail,
    eduPersonPrincipalName: config.attributeNames.eduPersonPrincipalName ?? ATTR.eduPersonPrincipalName,
    dateOfBirth: config.attributeNames.dateOfBirth ?? ATTR.dateOfBirth,
  };

  const source = new IdpMetadataSource(
    {
      entityId: config.idp.entityId,
      ...(material.metadataFile ? { file: material.metadataFile } : {}),
      ...(config.idp.metadataUrl ? { url: config.idp.metadataUrl } : {}),
      signingKeys: material.metadataSigningKeys,
      allowUnsigned: config.idp.insecureUnsignedMetadata,
      refreshMs: config.idp.refreshSeconds * 1000,
      timeoutMs: config.idp.timeoutMs,
      maxBytes: config.idp.maxMetadataBytes,
    },
    { now: deps.now, log: deps.log },
  );
  if (material.metadataFile) source.loadFileNow();
  if (config.idp.insecureUnsignedMetadata) deps.log.warn({ method: id, file: material.metadataFile }, 'insecureUnsignedMetadata: the IdP metadata file is used without a signature (dev only)');
  source.start();

  const spMetadata = buildSpMetadata({
    entityId: spEntityId,
    acsUrl,
    signingCertificate: material.signingCertificate,
    ...(material.encryptionCertificate ? { encryptionCertificate: material.encryptionCertificate } : {}),
    wantAssertionsSigned: config.sp.wantAssertionsSigned,
    entityCategories: config.sp.entityCategories,
    ...(nameIdFormat ? { nameIdFormat } : {}),
    displayName,
    ...(config.sp.description ? { description: config.sp.description } : {}),
    ...(config.sp.logo ? { logo: config.sp.logo } : {}),
    ...(config.sp.organization ? { organization: config.sp.organization } : {}),
    contacts: config.sp.contacts,
  });

  function chooseBinding(idp: IdpMetadata): { binding: 'redirect' | 'post'; url: string } {
    const wanted = config.binding ?? (idp.sso.redirect ? 'redirect' : 'post');
    const url = idp.sso[wanted];
    if (!url) {
      throw new HubError('CONFIG_INVALID', {
        detail: `methods.${id}: the IdP ${idp.entityId} has no SingleSignOnService with the HTTP-${wanted === 'post' ? 'POST' : 'Redirect'} binding (binding: ${wanted})`,
      });
    }
    return { binding: wanted, url };
  }

  function nodeSaml(options: Partial<NodeSamlConfig> & Pick<NodeSamlConfig, 'callbackUrl' | 'idpCert'>): SAML {
    return new SAML({
      issuer: spEntityId,
      audience: spEntityId,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      racComparison: 'exact',
      ...options,
    });
  }

  async function begin(request: RedirectBeginRequest): Promise<RedirectBegin> {
    let returnUrl: URL;
    try {
      returnUrl = new URL(request.returnUrl);
    } catch {
      throw new HubError('INTERNAL', { detail: `methods.${id}: returnUrl ${shorten(request.returnUrl, 200)} is not an absolute URL` });
    }
    if (returnUrl.protocol !== 'https:' && returnUrl.protocol !== 'http:') throw new HubError('INTERNAL', { detail: `methods.${id}: returnUrl must be http(s)` });
    if (Buffer.byteLength(request.relayState, 'utf8') > 80) {
      throw new HubError('INTERNAL', { detail: `methods.${id}: RelayState is longer than 80 bytes (SAML bindings §3.4.3, §3.5.3)` });
    }
    if (request.returnUrl !== acsUrl) deps.log.warn({ method: id, returnUrl: request.returnUrl, acsUrl }, 'SAML ACS differs from the one in the SP metadata; the IdP may refuse it');
    const acceptable = request.acceptableAcr;
    const loa = requestedLoa.filter((l) => !acceptable || acceptable.includes(acrOf(l)));
    if (!loa.length) {
      throw new HubError('EID_UNSUPPORTED', { detail: `methods.${id}: none of ${acrValues.join(', ')} is acceptable (${(acceptable ?? []).join(', ')})` });
    }
    const idp = await source.get();
    const { binding, url } = chooseBinding(idp);
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const at = deps.now();
    const saml = nodeSaml({
      callbackUrl: request.returnUrl,
      entryPoint: url,
      idpCert: idp.signingKeys.map((k) => toPem(k.certificate!)),
      privateKey: material.signingKeyPem,
      publicCert: material.signingCertificatePem,
      authnContext: loa,
      disableRequestedAuthnContext: !config.requestAuthnContext,
      forceAuthn: request.forceAuthn,
      identifierFormat: nameIdFormat,
      allowCreate: true,
      generateUniqueId: () => requestId,
      validateInResponseTo: 'never' as ValidateInResponseTo,
      skipRequestCompression: binding === 'post',
      authnRequestBinding: binding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect',
    });
    const state = encodeState({ v: 1, id: requestId, at, acs: request.returnUrl, loa, force: request.forceAuthn, rs: request.relayState });
    if (binding === 'redirect') {
      return { binding, url: redirectUrl(url, await saml.getAuthorizeUrlAsync(request.relayState, undefined, {})), state };
    }
    const message = await saml.getAuthorizeMessageAsync(request.relayState, undefined, {});
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(message)) if (typeof v === 'string') fields[k] = v;
    return { binding, url, fields, state };
  }

  async function complete(request: RedirectCompleteRequest): Promise<Identity> {
    try {
      return await completeChecked(request);
    } catch (err) {
      if (isHubError(err)) throw err;
      if (err instanceof XmlProblem) throw new HubError('EID_RESPONSE_INVALID', { detail: err.message });
      // Whatever else goes wrong with a response is still a refused response, never a server error.
      throw new HubError('EID_RESPONSE_INVALID', { detail: `unexpected failure while checking the response: ${shorten((err as Error)?.message ?? String(err))}`, cause: err });
    }
  }

  async function completeChecked(request: RedirectCompleteRequest): Promise<Identity> {
    const state = decodeState(request.state);
    let arrivedAt: URL;
    try {
      arrivedAt = new URL(request.url);
    } catch {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'the response URL is not an absolute URL' });
    }
    if (`${arrivedAt.origin}${arrivedAt.pathname}` !== state.acs) {
      throw new HubError('EID_RESPONSE_INVALID', { detail: `the response arrived at ${arrivedAt.origin}${arrivedAt.pathname}, not at the ACS the request named (${state.acs})` });
    }
    const samlResponse = request.fields['SAMLResponse'];
    if (typeof samlResponse !== 'string' || samlResponse === '') {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'no SAMLResponse field (the IdP must answer with the HTTP-POST binding)' });
    }
    const relayState = request.fields['RelayState'];
    if (relayState !== undefined && relayState !== state.rs) throw new HubError('EID_RESPONSE_INVALID', { detail: 'RelayState does not match the request' });
    const now = deps.now();
    if (now - state.at > config.maxRequestAgeSeconds * 1000) {
      throw new HubError('EID_EXPIRED', { detail: `the request ${state.id} is ${Math.round((now - state.at) / 1000)} s old (at most ${config.maxRequestAgeSeconds} s)` });
    }
    const idp = await source.get();

    const validated = await validateResponse(samlResponse, {
      now,
      skewMs,
      maxResponseAgeMs: config.maxResponseAgeSeconds * 1000,
      maxResponseBytes: config.maxResponseBytes,
      maxDepth: config.maxXmlDepth,
      idpEntityId: idp.entityId,
      idpKeys: idp.signingKeys,
      spEntityId,
      acsUrl: state.acs,
      requestId: state.id,
      requestedAt: state.at,
      forceAuthn: state.force,
      requestedLoa: state.loa,
      decryptionKeys: material.decryptionKeys,
      requireSignedResponse: config.requireSignedResponse,
      wantAssertionsSigned: config.sp.wantAssertionsSigned,
      requireEncryptedAssertion,
    });
    await secondOpinion(samlResponse, state, idp, validated);

    const identity = identityFrom(validated, {
      profile: config.profile,
      methodUri,
      ...(config.tenant ? { tenant: config.tenant } : {}),
      acr: acrOf(validated.authnContextClassRef),
      amr: config.amr ?? defaultAmr(validated.authnContextClassRef),
      staffIdAttribute: config.staffIdAttribute,
      names,
      warn: (msg) => deps.log.warn({ method: id, assertionId: validated.assertionId }, msg),
    });
    if (validated.decryptionKeyIndex) {
      deps.log.info({ method: id, key: material.decryptionKeys[validated.decryptionKeyIndex]?.label }, 'SAML assertion decrypted with a previous encryption key (rollover in progress)');
    }

    // Each assertion is accepted once until it expires, and each request is answered once.
    const ttl = Math.max(1, Math.ceil((validated.notOnOrAfter + skewMs - now) / 1000));
    if (!(await replay.create(REPLAY_NS.assertion, `${idp.entityId} ${validated.assertionId}`, { at: now }, ttl))) {
      throw new HubError('TRANSACTION_REPLAYED', { detail: `assertion ${shorten(validated.assertionId, 80)} from ${idp.entityId} has already been used` });
    }
    if (!(await replay.create(REPLAY_NS.request, `${name} ${state.id}`, { at: now }, config.maxRequestAgeSeconds))) {
      throw new HubError('TRANSACTION_REPLAYED', { detail: `request ${state.id} has already been answered` });
    }
    return identity;
  }

  /**
   * node-saml checks the same response again (signatures with the same metadata keys, decryption with the
   * key that worked, InResponseTo against this request only, audience) and must read the same subject and
   * attributes. Times are left to the adapter's own checks, which use the injected clock.
   */
  async function secondOpinion(samlResponse: string, state: SamlState, idp: IdpMetadata, v: ValidatedAssertion): Promise<void> {
    const cache: CacheProvider = {
      saveAsync: async () => null,
      // Only this request is known; node-saml's own expiry is satisfied here, the adapter checks the age.
      getAsync: async (key: string) => (key === state.id ? new Date().toISOString() : null),
      removeAsync: async () => null,
    };
    const decryptionKey = v.decryptionKeyIndex !== undefined ? material.decryptionKeys[v.decryptionKeyIndex]?.pem : undefined;
    const saml = nodeSaml({
      callbackUrl: state.acs,
      idpCert: idp.signingKeys.map((k) => toPem(k.certificate!)),
      ...(decryptionKey ? { decryptionPvk: decryptionKey } : {}),
      wantAuthnResponseSigned: v.responseSigned,
      wantAssertionsSigned: v.assertionSigned,
      acceptedClockSkewMs: -1,
      validateInResponseTo: 'always' as ValidateInResponseTo,
      cacheProvider: cache,
    });
    let profile: Record<string, unknown> | null;
    try {
      ({ profile } = (await saml.validatePostResponseAsync({ SAMLResponse: samlResponse })) as { profile: Record<string, unknown> | null });
    } catch (err) {
      deps.log.error({ method: id, err: (err as Error).message }, 'node-saml refused a SAML response the adapter accepted');
      throw new HubError('EID_RESPONSE_INVALID', { detail: `node-saml refused the response: ${shorten((err as Error).message)}` });
    }
    if (!profile) throw new HubError('EID_RESPONSE_INVALID', { detail: 'node-saml found no assertion' });
    if (v.nameId !== undefined && profile['nameID'] !== v.nameId) {
      throw new HubError('EID_RESPONSE_INVALID', { detail: 'node-saml read a different NameID than the adapter' });
    }
    const theirs = (profile['attributes'] ?? {}) as Record<string, unknown>;
    for (const [name, values] of v.attributes) {
      if (values.some((x) => x === null || x === '')) continue;
      const other = theirs[name];
      const list = Array.isArray(other) ? other : [other];
      if (list.length !== values.length || list.some((x, i) => x !== values[i])) {
        throw new HubError('EID_RESPONSE_INVALID', { detail: `node-saml read a different value of ${shorten(name, 120)} than the adapter` });
      }
    }
  }

  return {
    kind: 'redirect',
    id,
    methodUri,
    displayName,
    acrValues,
    ...(config.profile === 'staff' && config.tenant ? { tenant: config.tenant } : {}),
    begin,
    complete,
    metadata: () => spMetadata,
    async health() {
      await source.get();
    },
    async close() {
      source.close();
    },
  };
}
