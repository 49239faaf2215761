/**
 * Test support for the SAML IdP simulator: a test SP (keys and metadata) and an independent SP
 * implementation (@node-saml/node-saml) configured against a persona, plus the scripted sign-in with plain
 * fetch. Used by the simulator's tests; integration tests of the hub can use `signInWithFetch` too.
 */
import { SAML, type SamlConfig } from '@node-saml/node-saml';
import { generateTestKeyPair, type KeyPairPem } from './crypto.ts';
import { readAutoPostForm } from './pages.ts';
import type { IdpEndpoints, LoginAction, LoginOutcome, SamlIdpSimulator } from './server.ts';
import { BINDING, escapeXml, NS } from './xml.ts';

export interface TestSp {
  entityId: string;
  acsUrl: string;
  signing: KeyPairPem;
  encryption: KeyPairPem;
}

let cachedKeys: { signing: KeyPairPem; encryption: KeyPairPem } | undefined;

/** A test SP (keys generated once per process). */
export function testSp(o: { entityId?: string; acsUrl?: string } = {}): TestSp {
  cachedKeys ??= {
    signing: generateTestKeyPair('rsa-sha256', 'test SP signing'),
    encryption: generateTestKeyPair('rsa-sha256', 'test SP encryption'),
  };
  return {
    entityId: o.entityId ?? 'https://sp.idnav.test/saml/sp',
    acsUrl: o.acsUrl ?? 'https://sp.idnav.test/saml/acs',
    signing: cachedKeys.signing,
    encryption: cachedKeys.encryption,
  };
}

const certBody = (pem: string): string => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

/** SP metadata as a Sweden Connect SP publishes it. */
export function spMetadata(
  sp: TestSp,
  o: {
    entityCategories?: string[];
    wantAssertionsSigned?: boolean;
    authnRequestsSigned?: boolean;
    extraAcsUrls?: string[];
    encryptionMethods?: string[];
    withEncryptionKey?: boolean;
    withSigningKey?: boolean;
    displayName?: string;
  } = {},
): string {
  const categories = o.entityCategories ?? [];
  const ext =
    categories.length === 0
      ? ''
      : `<md:Extensions><mdattr:EntityAttributes xmlns:mdattr="${NS.mdattr}"><saml:Attribute xmlns:saml="${NS.saml}" Name="http://macedir.org/entity-category" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${categories
          .map((c) => `<saml:AttributeValue>${escapeXml(c)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute></mdattr:EntityAttributes></md:Extensions>`;
  const key = (use: string, pem: string, methods: string[] = []) =>
    `<md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${certBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${methods
      .map((m) => `<md:EncryptionMethod Algorithm="${m}"/>`)
      .join('')}</md:KeyDescriptor>`;
  const acs = [sp.acsUrl, ...(o.extraAcsUrls ?? [])]
    .map((u, i) => `<md:AssertionConsumerService Binding="${BINDING.post}" Location="${escapeXml(u)}" index="${i}"${i === 0 ? ' isDefault="true"' : ''}/>`)
    .join('');
  const ui = o.displayName
    ? `<md:Extensions><mdui:UIInfo xmlns:mdui="${NS.mdui}"><mdui:DisplayName xml:lang="sv">${escapeXml(o.displayName)}</mdui:DisplayName></mdui:UIInfo></md:Extensions>`
    : '';
  return (
    `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${escapeXml(sp.entityId)}">${ext}` +
    `<md:SPSSODescriptor AuthnRequestsSigned="${o.authnRequestsSigned ?? true}" WantAssertionsSigned="${o.wantAssertionsSigned ?? true}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    ui +
    (o.withSigningKey === false ? '' : key('signing', sp.signing.cert)) +
    (o.withEncryptionKey === false ? '' : key('encryption', sp.encryption.cert, o.encryptionMethods)) +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>` +
    acs +
    `</md:SPSSODescriptor></md:EntityDescriptor>`
  );
}

/** node-saml as an independent SP towards a persona (requests signed with RSA-SHA256, responses verified with the persona's certificates). */
export function nodeSamlSp(idp: IdpEndpoints, sp: TestSp, o: { idpCerts?: string[]; authnContext?: string[]; binding?: 'redirect' | 'post'; extra?: Partial<SamlConfig> } = {}): SAML {
  return new SAML({
    entryPoint: idp.ssoUrl,
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    idpIssuer: idp.entityId,
    idpCert: o.idpCerts ?? [idp.signingCert],
    privateKey: sp.signing.key,
    publicCert: sp.signing.cert,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    decryptionPvk: sp.encryption.key,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    authnContext: o.authnContext ?? [],
    disableRequestedAuthnContext: (o.authnContext ?? []).length === 0,
    racComparison: 'exact',
    validateInResponseTo: 'always' as SamlConfig['validateInResponseTo'],
    // The HTTP-POST binding carries the XML without DEFLATE (node-saml compresses unless told not to).
    ...(o.binding === 'post' ? { authnRequestBinding: 'HTTP-POST', skipRequestCompression: true } : {}),
    ...o.extra,
  });
}

/** Sends the SP's AuthnRequest to the simulator on either binding; returns the answer page. */
export async function sendAuthnRequest(saml: SAML, binding: 'redirect' | 'post', relayState = 'rs-1'): Promise<Response> {
  if (binding === 'redirect') {
    const url = await saml.getAuthorizeUrlAsync(relayState, undefined, {});
    return fetch(url, { redirect: 'manual' });
  }
  const html = await saml.getAuthorizeFormAsync(relayState, undefined, {});
  const form = readAutoPostForm(html);
  return fetch(form.action, { method: 'POST', body: new URLSearchParams(form.fields), redirect: 'manual' });
}

/**
 * A whole scripted sign-in with plain fetch: the AuthnRequest (redirect binding URL, as the hub's redirect
 * gives it), the login page's session key (X-Simulator-Session), the choice through the JSON login API.
 * Returns what is to be posted to the ACS.
 */
export async function signInWithFetch(ssoRequestUrl: string, sim: SamlIdpSimulator, persona: string, personId: string, action: LoginAction = 'login'): Promise<LoginOutcome> {
  const page = await fetch(ssoRequestUrl, { redirect: 'manual' });
  const sessionKey = page.headers.get('x-simulator-session');
  if (page.status !== 200 || !sessionKey) throw new Error(`the simulator did not show a login page (${page.status}): ${await page.text()}`);
  await page.text();
  const res = await fetch(sim.idps[persona]!.loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionKey, personId, action }),
  });
  const body = (await res.json()) as LoginOutcome & { error?: string; message?: string };
  if (res.status !== 200) throw new Error(`login refused (${res.status}): ${body.error}: ${body.message}`);
  return body;
}
