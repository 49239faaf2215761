/**
 * SAML 2.0 IdP simulator: one plain-HTTP server on loopback serving one or more IdP personas, each under
 * its own path — the Swedish eIDAS connector, a Sweden Connect IdP, a municipality's staff IdP (AD FS).
 * The hub's SAML adapter sends AuthnRequests to it and receives Responses from it exactly as from the real
 * services. Used by the dev launcher and the tests; the hub itself never imports it.
 *
 *   GET  /                        overview of the personas (dev page)
 *   GET  /<persona>/              the persona's endpoints, test persons and pending sign-ins (dev page)
 *   GET  /<persona>/metadata      signed IdP metadata
 *   GET  /<persona>/sso           AuthnRequest, HTTP-Redirect binding → login page
 *   POST /<persona>/sso           AuthnRequest, HTTP-POST binding → login page
 *   POST /<persona>/login         the login page's form, or JSON {sessionKey|requestId, personId, action} for scripts
 *   GET  /<persona>/persons       the persona's test persons (JSON)
 *   /control/...                  control API (JSON), see README
 */
import { createHmac, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkAuthnRequest, type AcceptedAuthnRequest, type Binding, type RawAuthnRequest } from './authn-request.ts';
import { fingerprint, generateTestKeyPair, signingKey, type KeyPairPem, type SignatureAlg, type SigningKey } from './crypto.ts';
import { EC_ACCEPTS_COORDINATION_NUMBER, parseSpMetadata, signedIdpMetadata, type SpInfo } from './metadata.ts';
import {
  AUTOPOST_CSP,
  AUTOPOST_JS,
  autoPostPage,
  errorPage,
  indexPage,
  LOGIN_CSP,
  loginPage,
  LOGO_SVG,
  personaPage,
  SIM_CSS,
  type PersonaSummary,
  type Texts,
} from './pages.ts';
import {
  loadForeignPersons,
  loadStaff,
  loadSwedishPersons,
  personMatches,
  type ForeignPerson,
  type SamlTestPerson,
  type StaffPerson,
  type SwedishPerson,
} from './persons.ts';
import { attributesFor, authenticatingAuthorities, personSelection, PROFILE_DEFAULTS, subjectKey, type SamlProfile } from './profiles.ts';
import {
  buildResponse,
  canEncryptFor,
  chooseDataEncryption,
  isResponseFault,
  STATUS,
  type DataEncryptionAlgorithm,
  type ResponseFault,
  type StatusSpec,
} from './response.ts';
import { NAMEID_FORMAT, newId, XmlError } from './xml.ts';

export type { AcceptedAuthnRequest, Binding } from './authn-request.ts';
export { ALG, EcdsaSignatureAlgorithm, generateTestKeyPair, selfSignedCertificate, withEcdsa } from './crypto.ts';
export type { KeyPairPem, SignatureAlg } from './crypto.ts';
export { EC_ACCEPTS_COORDINATION_NUMBER, parseSpMetadata } from './metadata.ts';
export type { SpInfo } from './metadata.ts';
export { readAutoPostForm, readSessionKey } from './pages.ts';
export {
  BINDING_POPULATION_REGISTER,
  BINDING_SWEDISH_EID,
  computePrid,
  foreignPerson,
  loadForeignPersons,
  loadStaff,
  loadSwedishPersons,
  swedishPerson,
} from './persons.ts';
export type { ForeignPerson, PridAlgorithm, PridPersistence, SamlTestPerson, StaffPerson, SwedishPerson } from './persons.ts';
export { ATTR, LOA } from './profiles.ts';
export type { SamlProfile } from './profiles.ts';
export { DATA_ENCRYPTION, RESPONSE_FAULTS, STATUS } from './response.ts';
export type { DataEncryptionAlgorithm, ResponseFault, StatusSpec } from './response.ts';

/** The SP metadata: the XML (an EntityDescriptor or an EntitiesDescriptor), or a function giving it (called for every AuthnRequest). */
export type SpMetadataSource = string | (() => string | Promise<string>);

interface PersonaOptionsBase {
  /** Default `<url>/<persona>`. */
  entityId?: string;
  /** Responses (and assertions) are signed with this key. Without key and cert a test key of `alg` (default rsa-sha256) is generated. */
  signing?: Partial<KeyPairPem> & { alg?: SignatureAlg };
  /** The metadata is signed with this key (the SP pins its certificate). Default: a generated RSA key. */
  metadataSigning?: KeyPairPem;
  /** The SP(s) this persona serves; default the simulator's `spMetadata`. */
  spMetadata?: SpMetadataSource;
  /** Encrypt the assertion for the SP. Default true. */
  encryptAssertions?: boolean;
  /** Sign the assertion (besides the Response, which is always signed). Assertions are also signed when the SP's metadata has WantAssertionsSigned="true". Default: false, staff true. */
  signAssertion?: boolean;
  /** The AuthnContextClassRef issued when the request asks for none. Defaults: loa3, eidas-nf-sub, loa2 (staff). */
  loa?: string;
  /** The LoA URIs the persona can issue (assurance-certification in its metadata). Default [loa], eIDAS: all six eidas URIs. */
  supportedLoas?: string[];
  /** http://macedir.org/entity-category values in the metadata. */
  entityCategories?: string[];
  displayName?: Texts;
  description?: Texts;
  /** Content encryption; default the SP's first declared supported algorithm, else AES-256-CBC. */
  dataEncryption?: DataEncryptionAlgorithm;
  /** Secret for the persistent NameID (HMAC over IdP, SP and person). Default derived from the entityID, stable across restarts. */
  nameIdSecret?: string;
}

export interface SwedenConnectPersonaOptions extends PersonaOptionsBase {
  profile: 'sweden-connect';
  /** Default: fixtures/test-persons.json. */
  persons?: SwedishPerson[];
}

export interface EidasPersonaOptions extends PersonaOptionsBase {
  profile: 'eidas';
  /** Default: fixtures/saml/simulator/eidas-persons.json. */
  persons?: ForeignPerson[];
}

export interface StaffPersonaOptions extends PersonaOptionsBase {
  profile: 'staff';
  /** Default: fixtures/saml/simulator/karlstad-staff.json. */
  persons?: StaffPerson[];
  /** shibmd:Scope values in the metadata; default the domains of the persons' eduPersonPrincipalName. */
  scopes?: string[];
}

export type PersonaOptions = SwedenConnectPersonaOptions | EidasPersonaOptions | StaffPersonaOptions;

export const DEFAULT_PERSONAS: Readonly<Record<string, PersonaOptions>> = {
  eidas: { profile: 'eidas' },
  'sweden-connect': { profile: 'sweden-connect' },
  'karlstad-adfs': { profile: 'staff' },
};

export interface SamlIdpSimulatorOptions {
  /** Persona name (its path segment) → options. Default {@link DEFAULT_PERSONAS}. */
  personas?: Record<string, PersonaOptions>;
  /** The SP metadata every persona uses unless it has its own. */
  spMetadata?: SpMetadataSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** The URL browsers and SPs use, when not http://host:port (e.g. behind a proxy). No trailing slash. */
  baseUrl?: string;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** A login page can be answered this long. Default 15 minutes. */
  sessionLifetimeMs?: number;
  /** An AuthnRequest older than this is refused. Default 5 minutes. */
  requestMaxAgeMs?: number;
  /** An AuthnRequest issued further ahead than this is refused (clock skew). Default 60 s. */
  requestMaxFutureMs?: number;
  /** Lifetime of assertions (Conditions, SubjectConfirmationData NotOnOrAfter). Default 5 minutes. */
  assertionLifetimeMs?: number;
}

export interface IdpEndpoints {
  profile: SamlProfile;
  entityId: string;
  ssoUrl: string;
  metadataUrl: string;
  /** The scripted-login endpoint (POST JSON). */
  loginUrl: string;
  /** PEM of the metadata signing certificate (what the SP pins). */
  metadataSigningCert: string;
  /** PEM of the response signing certificate at start (see control.signingCerts for the current ones). */
  signingCert: string;
}

export interface PersonaStats {
  metadata: number;
  /** AuthnRequests received, and how they ended. */
  requests: number;
  accepted: number;
  refused: number;
  /** Responses sent, by outcome. */
  responses: number;
  logins: number;
  cancels: number;
  statusResponses: number;
}

export interface ReceivedRequest {
  persona: string;
  binding: Binding;
  receivedAt: number;
  /** The decoded AuthnRequest XML as received (absent when it could not be decoded). */
  xml?: string;
  id?: string;
  issuer?: string;
  relayState?: string;
  sigAlg?: string;
  outcome: 'accepted' | 'refused' | 'status';
  /** Why it was refused, or the status it got. */
  error?: string;
  status?: StatusSpec;
}

export interface IssuedResponse {
  persona: string;
  issuedAt: number;
  acsUrl: string;
  relayState?: string;
  inResponseTo: string;
  status: StatusSpec;
  /** The Response XML as sent. */
  xml: string;
  /** The Assertion before encryption. */
  assertionXml?: string;
  personId?: string;
  fault?: ResponseFault;
}

export interface SessionSummary {
  persona: string;
  sessionKey: string;
  requestId: string;
  sp: string;
  acsUrl: string;
  loa: string;
  createdAt: number;
}

export type LoginAction = 'login' | 'cancel';

export interface LoginRequest {
  persona?: string;
  sessionKey?: string;
  /** The AuthnRequest ID, instead of the session key. */
  requestId?: string;
  /** A person's id (or personnummer, prid, employee number, mail). Required for login. */
  personId?: string;
  action?: LoginAction;
  /** The user agent's address for SubjectConfirmationData/@Address. */
  address?: string;
}

/** What goes back to the SP: post `SAMLResponse` (and `RelayState`) to `acsUrl`. */
export interface LoginOutcome {
  acsUrl: string;
  SAMLResponse: string;
  RelayState?: string;
  inResponseTo: string;
  status: string;
  subStatus?: string;
}

export type LoginError = { error: 'sessionNotFound' | 'personNotFound' | 'personNotAllowed' | 'coordinationNumberNotAccepted' | 'invalidRequest'; httpStatus: number; message: Texts };

export interface SamlIdpSimulatorControl {
  personas(): string[];
  persons(persona: string): SamlTestPerson[];
  /** The next `count` (default 1) responses (of `persona`, or of any persona) are bent by `fault`. */
  failNext(fault: ResponseFault, o?: { persona?: string; count?: number }): void;
  /** Fixes the clock at `epochMs`; `null` goes back to the options' clock. */
  setClock(epochMs: number | null): void;
  /** Moves the clock forward (or back, when negative). */
  advanceClock(ms: number): void;
  now(): number;
  /** Signs from now on with a new key (given, or generated with the same algorithm); the metadata lists it first and keeps the old ones. Returns its PEM certificate. */
  rotateSigningKey(persona: string, next?: KeyPairPem & { alg?: SignatureAlg }): string;
  /** Drops every signing key but the current one from the metadata (the end of a rollover). */
  retireOldSigningKeys(persona: string): void;
  /** PEM certificates in the persona's metadata, the current signing key first. */
  signingCerts(persona: string): string[];
  setSpMetadata(source: SpMetadataSource, persona?: string): void;
  stats(): Record<string, PersonaStats>;
  lastRequest(persona?: string): ReceivedRequest | undefined;
  lastResponse(persona?: string): IssuedResponse | undefined;
  sessions(persona?: string): SessionSummary[];
  /** The scripted login: answers a pending login page. Throws a {@link LoginFailure} when it cannot. */
  login(req: LoginRequest): Promise<LoginOutcome>;
  /** Clears faults, sessions, statistics, last request/response, replay memory and clock; restores the first signing keys and the SP metadata. */
  reset(): void;
}

export class LoginFailure extends Error {
  readonly detail: LoginError;
  constructor(detail: LoginError) {
    super(detail.message.en);
    this.detail = detail;
  }
}

export interface SamlIdpSimulator {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  idps: Record<string, IdpEndpoints>;
  control: SamlIdpSimulatorControl;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------

interface Persona {
  name: string;
  profile: SamlProfile;
  entityId: string;
  url: string;
  ssoUrl: string;
  metadataUrl: string;
  loginUrl: string;
  firstSigning: SigningKey;
  /** Current first, then older ones still published (rollover). */
  signingKeys: SigningKey[];
  metadataKey: SigningKey;
  initialSpSource: SpMetadataSource | undefined;
  spSource: SpMetadataSource | undefined;
  persons: SamlTestPerson[];
  loa: string;
  supportedLoas: string[];
  entityCategories: string[];
  displayName: Texts;
  description: Texts;
  encryptAssertions: boolean;
  encryptionRequired: boolean;
  signAssertion: boolean;
  dataEncryption?: DataEncryptionAlgorithm;
  nameIdSecret: string;
  scopes: string[];
  principalSelection: string[];
  stats: PersonaStats;
}

interface Session {
  key: string;
  persona: string;
  request: AcceptedAuthnRequest;
  loa: string;
  createdAt: number;
  encryptFor?: { cert: string; algorithm: DataEncryptionAlgorithm };
  signAssertion: boolean;
}

const PERSONA_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RESERVED = new Set(['control', 'sim.css', 'autopost.js', 'logo.svg']);
const MAX_FORM_BYTES = 1024 * 1024;
const MAX_JSON_BYTES = 64 * 1024;

const zeroStats = (): PersonaStats => ({ metadata: 0, requests: 0, accepted: 0, refused: 0, responses: 0, logins: 0, cancels: 0, statusResponses: 0 });

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

const sendHtml = (res: ServerResponse, status: number, html: string, csp: string, extra: Record<string, string> = {}): void =>
  send(res, status, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': csp, 'X-Frame-Options': 'DENY', ...extra });

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'body must be a JSON object');
  return value as Record<string, unknown>;
}

const contentType = (req: IncomingMessage): string => String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

const clientAddress = (req: IncomingMessage): string | undefined => {
  const a = req.socket.remoteAddress;
  return a?.startsWith('::ffff:') ? a.slice(7) : a;
};

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function defaultPersons(profile: SamlProfile): SamlTestPerson[] {
  if (profile === 'sweden-connect') return loadSwedishPersons();
  if (profile === 'eidas') return loadForeignPersons();
  return loadStaff();
}

const COORDINATION_REFUSED: Texts = {
  sv: 'Tjänsten du försöker logga in på kräver ett svenskt personnummer. Den tar inte emot samordningsnummer.',
  en: 'The service you are trying to log in to requires a Swedish personal identity number. It does not accept coordination numbers.',
};

export async function startSamlIdpSimulator(o: SamlIdpSimulatorOptions = {}): Promise<SamlIdpSimulator> {
  const host = o.host ?? '127.0.0.1';
  const sessionLifetimeMs = o.sessionLifetimeMs ?? 15 * 60_000;
  const requestMaxAgeMs = o.requestMaxAgeMs ?? 5 * 60_000;
  const requestMaxFutureMs = o.requestMaxFutureMs ?? 60_000;
  const assertionLifetimeMs = o.assertionLifetimeMs ?? 5 * 60_000;
  const baseNow = o.now ?? Date.now;
  let fixedNow: number | undefined;
  let offset = 0;
  const now = (): number => (fixedNow ?? baseNow()) + offset;

  const personaOptions = o.personas ?? DEFAULT_PERSONAS;
  for (const name of Object.keys(personaOptions)) {
    if (!PERSONA_NAME.test(name) || RESERVED.has(name)) throw new Error(`invalid persona name "${name}" (lower-case letters, digits and -)`);
  }
  if (Object.keys(personaOptions).length === 0) throw new Error('at least one persona is needed');

  // Keys first (generation takes a moment), then the server, then the URLs the personas live at.
  const prepared = Object.entries(personaOptions).map(([name, p]) => {
    const signing = p.signing?.key && p.signing.cert ? signingKey({ key: p.signing.key, cert: p.signing.cert, ...(p.signing.alg ? { alg: p.signing.alg } : {}) }) : signingKey(generateTestKeyPair(p.signing?.alg ?? 'rsa-sha256', `${name} signing (idnav SAML IdP simulator)`));
    const metadataKey = signingKey(p.metadataSigning ?? generateTestKeyPair('rsa-sha256', `${name} metadata (idnav SAML IdP simulator)`));
    return { name, p, signing, metadataKey };
  });

  const server = http.createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await listen(server, o.port ?? 0, host);
  const baseUrl = (o.baseUrl ?? `http://${urlHost(host)}:${port}`).replace(/\/+$/, '');

  const personas = new Map<string, Persona>();
  for (const { name, p, signing, metadataKey } of prepared) {
    const d = PROFILE_DEFAULTS[p.profile];
    const url = `${baseUrl}/${name}`;
    const entityId = p.entityId ?? url;
    const loa = p.loa ?? d.loa;
    const supportedLoas = p.supportedLoas ?? (p.loa !== undefined && p.profile !== 'eidas' ? [p.loa] : d.supportedLoas);
    if (!supportedLoas.includes(loa)) supportedLoas.unshift(loa);
    const persons = (p.persons ?? defaultPersons(p.profile)).map((x) => ({ ...x, tags: [...x.tags] }) as SamlTestPerson);
    const scopes =
      p.profile === 'staff'
        ? (p.scopes ?? [...new Set((persons as StaffPerson[]).map((s) => s.eduPersonPrincipalName.slice(s.eduPersonPrincipalName.lastIndexOf('@') + 1)))])
        : [];
    const persona: Persona = {
      name,
      profile: p.profile,
      entityId,
      url,
      ssoUrl: `${url}/sso`,
      metadataUrl: `${url}/metadata`,
      loginUrl: `${url}/login`,
      firstSigning: signing,
      signingKeys: [signing],
      metadataKey,
      initialSpSource: p.spMetadata ?? o.spMetadata,
      spSource: p.spMetadata ?? o.spMetadata,
      persons,
      loa,
      supportedLoas,
      entityCategories: p.entityCategories ?? d.entityCategories(supportedLoas),
      displayName: p.displayName ?? d.displayName,
      description: p.description ?? d.description,
      encryptAssertions: p.encryptAssertions ?? true,
      encryptionRequired: d.encryptionRequired,
      signAssertion: p.signAssertion ?? d.signAssertion,
      nameIdSecret: p.nameIdSecret ?? `idnav-saml-idp-simulator|${entityId}`,
      scopes,
      principalSelection: d.principalSelection,
      stats: zeroStats(),
    };
    if (p.dataEncryption !== undefined) persona.dataEncryption = p.dataEncryption;
    personas.set(name, persona);
  }

  const sessions = new Map<string, Session>();
  const seen = new Map<string, number>();
  let faults: Array<{ fault: ResponseFault; persona?: string; remaining: number }> = [];
  let lastRequests: ReceivedRequest[] = [];
  let lastResponses: IssuedResponse[] = [];
  const spCache = new Map<string, Map<string, SpInfo>>();

  const personaOf = (name: string | undefined): Persona => {
    const p = name === undefined ? undefined : personas.get(name);
    if (!p) throw new Error(`no such persona: ${String(name)}`);
    return p;
  };

  async function spsFor(p: Persona): Promise<Map<string, SpInfo>> {
    const src = p.spSource;
    if (src === undefined) return new Map();
    const text = typeof src === 'function' ? await src() : src;
    let parsed = spCache.get(text);
    if (!parsed) {
      parsed = parseSpMetadata(text);
      if (spCache.size > 20) spCache.clear();
      spCache.set(text, parsed);
    }
    return parsed;
  }

  function remember(persona: string, sp: string, id: string): boolean {
    const t = now();
    if (seen.size > 10_000) for (const [k, exp] of seen) if (exp < t) seen.delete(k);
    const key = `${persona}\n${sp}\n${id}`;
    const exp = seen.get(key);
    if (exp !== undefined && exp >= t) return false;
    seen.set(key, t + requestMaxAgeMs + requestMaxFutureMs + 60_000);
    return true;
  }

  function sweepSessions(): void {
    const t = now();
    for (const [k, s] of sessions) if (s.createdAt + sessionLifetimeMs < t) sessions.delete(k);
  }

  function takeFault(persona: string): ResponseFault | undefined {
    const i = faults.findIndex((f) => f.persona === undefined || f.persona === persona);
    if (i === -1) return undefined;
    const f = faults[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) faults.splice(i, 1);
    return f.fault;
  }

  const recordRequest = (r: ReceivedRequest): void => {
    lastRequests = [r, ...lastRequests.filter((x) => x.persona !== r.persona)];
  };
  const recordResponse = (r: IssuedResponse): void => {
    lastResponses = [r, ...lastResponses.filter((x) => x.persona !== r.persona)];
  };

  function nameIdFor(p: Persona, request: AcceptedAuthnRequest, person: SamlTestPerson): { value: string; format: string } {
    if (request.nameIdFormat === 'transient') return { value: newId(), format: NAMEID_FORMAT.transient };
    const value = createHmac('sha256', p.nameIdSecret).update(`${p.entityId}\n${request.issuer}\n${subjectKey(person)}`).digest('hex');
    return { value, format: NAMEID_FORMAT.persistent };
  }

  /** Builds, records and base64-encodes one Response for a request. */
  async function respond(
    p: Persona,
    r: { request: AcceptedAuthnRequest; status: StatusSpec; person?: SamlTestPerson; loa?: string; session?: Session; address?: string },
  ): Promise<LoginOutcome> {
    const fault = takeFault(p.name);
    const t = now();
    const input: Parameters<typeof buildResponse>[0] = {
      idpEntityId: p.entityId,
      acsUrl: r.request.acsUrl,
      inResponseTo: r.request.id,
      now: t,
      status: r.status,
      signing: p.signingKeys[0]!,
      signAssertion: r.session?.signAssertion ?? p.signAssertion,
      lifetimeMs: assertionLifetimeMs,
    };
    if (fault !== undefined) input.fault = fault;
    if (r.session?.encryptFor) input.encryption = r.session.encryptFor;
    if (r.person && r.status.code === STATUS.success) {
      input.assertion = {
        spEntityId: r.request.issuer,
        nameId: nameIdFor(p, r.request, r.person),
        authnInstant: t,
        loa: r.loa ?? p.loa,
        authenticatingAuthorities: authenticatingAuthorities(r.person),
        attributes: attributesFor(r.person),
        sessionIndex: newId(),
      };
      if (r.address !== undefined) input.assertion.address = r.address;
    }
    const built = await buildResponse(input);
    p.stats.responses += 1;
    const issued: IssuedResponse = {
      persona: p.name,
      issuedAt: t,
      acsUrl: r.request.acsUrl,
      inResponseTo: r.request.id,
      status: built.status,
      xml: built.xml,
    };
    if (r.request.relayState !== undefined) issued.relayState = r.request.relayState;
    if (built.assertionXml !== undefined) issued.assertionXml = built.assertionXml;
    if (r.person) issued.personId = r.person.id;
    if (fault !== undefined) issued.fault = fault;
    recordResponse(issued);
    const out: LoginOutcome = {
      acsUrl: r.request.acsUrl,
      SAMLResponse: Buffer.from(built.xml, 'utf8').toString('base64'),
      inResponseTo: r.request.id,
      status: built.status.code,
    };
    if (built.status.subCode !== undefined) out.subStatus = built.status.subCode;
    if (r.request.relayState !== undefined) out.RelayState = r.request.relayState;
    return out;
  }

  const autoPost = (p: Persona, outcome: LoginOutcome): string => {
    const fields: Record<string, string> = { SAMLResponse: outcome.SAMLResponse };
    if (outcome.RelayState !== undefined) fields.RelayState = outcome.RelayState;
    return autoPostPage({ acsUrl: outcome.acsUrl, fields, displayName: p.displayName });
  };

  const fail = (error: LoginError['error'], httpStatus: number, message: Texts): never => {
    throw new LoginFailure({ error, httpStatus, message });
  };

  function findSession(p: Persona, req: LoginRequest): Session {
    sweepSessions();
    let s: Session | undefined;
    if (req.sessionKey !== undefined) s = sessions.get(req.sessionKey);
    else if (req.requestId !== undefined) s = [...sessions.values()].find((x) => x.persona === p.name && x.request.id === req.requestId);
    if (!s || s.persona !== p.name) {
      return fail('sessionNotFound', 404, {
        sv: 'Inloggningen finns inte, är redan avslutad eller har gått ut. Börja om från tjänsten.',
        en: 'No such sign-in: it has ended or expired. Start again from the service.',
      });
    }
    return s;
  }

  async function login(p: Persona, req: LoginRequest): Promise<LoginOutcome> {
    const action = req.action ?? 'login';
    if (action !== 'login' && action !== 'cancel') return fail('invalidRequest', 400, { sv: 'Okänd åtgärd.', en: 'action must be login or cancel.' });
    if (req.sessionKey === undefined && req.requestId === undefined) {
      return fail('invalidRequest', 400, { sv: 'sessionKey eller requestId saknas.', en: 'sessionKey or requestId is required.' });
    }
    const s = findSession(p, req);
    if (action === 'cancel') {
      sessions.delete(s.key);
      p.stats.cancels += 1;
      return respond(p, { request: s.request, status: { code: STATUS.responder, subCode: STATUS.cancel, message: 'The user cancelled the authentication' }, session: s });
    }
    if (req.personId === undefined || req.personId === '') return fail('invalidRequest', 400, { sv: 'Välj en testperson.', en: 'personId is required.' });
    const person = p.persons.find((x) => personMatches(x, req.personId!));
    if (!person) return fail('personNotFound', 404, { sv: 'Det finns ingen sådan testperson.', en: `No test person ${req.personId} at this IdP.` });
    const selection = personSelection(p.profile, s.request);
    if (!selection.allows(person)) {
      if (!selection.fromPrincipalSelection) {
        return fail('personNotAllowed', 409, { sv: 'Förfrågan gäller ett annat land.', en: `The request is scoped to ${selection.description ?? 'other persons'}.` });
      }
      sessions.delete(s.key);
      return respond(p, {
        request: s.request,
        status: { code: STATUS.responder, subCode: STATUS.unknownPrincipal, message: 'The authenticated user is not the one the request selected' },
        session: s,
      });
    }
    if ('coordinationNumber' in person && person.coordinationNumber && !s.request.sp.entityCategories.includes(EC_ACCEPTS_COORDINATION_NUMBER)) {
      return fail('coordinationNumberNotAccepted', 403, COORDINATION_REFUSED);
    }
    sessions.delete(s.key);
    p.stats.logins += 1;
    const r: Parameters<typeof respond>[1] = { request: s.request, status: { code: STATUS.success }, person, loa: s.loa, session: s };
    if (req.address !== undefined) r.address = req.address;
    return respond(p, r);
  }

  // -------------------------------------------------------------------------------------------------
  // HTTP

  const summary = (p: Persona): PersonaSummary => ({
    name: p.name,
    profile: p.profile,
    displayName: p.displayName,
    entityId: p.entityId,
    ssoUrl: p.ssoUrl,
    metadataUrl: p.metadataUrl,
    loa: p.loa,
    supportedLoas: p.supportedLoas,
  });

  function metadataOf(p: Persona): string {
    return signedIdpMetadata(
      {
        entityId: p.entityId,
        ssoUrl: p.ssoUrl,
        signingCerts: p.signingKeys.map((k) => k.certBase64),
        assuranceCertifications: p.supportedLoas,
        entityCategories: p.entityCategories,
        displayName: p.displayName,
        description: p.description,
        logoUrl: `${p.url}/logo.svg`,
        organizationUrl: `${baseUrl}/`,
        scopes: p.scopes,
        principalSelection: p.principalSelection,
        id: newId(),
        validUntilMs: now() + 7 * 24 * 3600 * 1000,
      },
      p.metadataKey,
    );
  }

  const refusePage = (res: ServerResponse, p: Persona, status: number, message: string, xml?: string): void => {
    const o: Parameters<typeof errorPage>[0] = {
      title: { sv: 'Felaktig inloggningsförfrågan', en: 'Invalid authentication request' },
      message,
      displayName: p.displayName,
    };
    if (xml !== undefined) o.xml = xml;
    sendHtml(res, status, errorPage(o), LOGIN_CSP);
  };

  async function sso(p: Persona, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let raw: RawAuthnRequest;
    if (req.method === 'GET') {
      const samlRequest = url.searchParams.get('SAMLRequest');
      if (samlRequest === null) return refusePage(res, p, 400, 'SAMLRequest is missing.');
      raw = { binding: 'redirect', samlRequest, rawQuery: url.search.slice(1) };
      const relay = url.searchParams.get('RelayState');
      const sigAlg = url.searchParams.get('SigAlg');
      const signature = url.searchParams.get('Signature');
      if (relay !== null) raw.relayState = relay;
      if (sigAlg !== null) raw.sigAlg = sigAlg;
      if (signature !== null) raw.signature = signature;
    } else {
      if (contentType(req) !== 'application/x-www-form-urlencoded') return refusePage(res, p, 415, 'The HTTP-POST binding sends a form (application/x-www-form-urlencoded).');
      const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
      const samlRequest = form.get('SAMLRequest');
      if (samlRequest === null) return refusePage(res, p, 400, 'SAMLRequest is missing.');
      raw = { binding: 'post', samlRequest };
      const relay = form.get('RelayState');
      if (relay !== null) raw.relayState = relay;
    }
    p.stats.requests += 1;
    let sps: Map<string, SpInfo>;
    try {
      sps = await spsFor(p);
    } catch (err) {
      p.stats.refused += 1;
      return refusePage(res, p, 500, `The SP metadata given to the simulator cannot be read: ${(err as Error).message}`);
    }
    const received: ReceivedRequest = { persona: p.name, binding: raw.binding, receivedAt: now(), outcome: 'refused' };
    if (raw.relayState !== undefined) received.relayState = raw.relayState;
    if (raw.sigAlg !== undefined) received.sigAlg = raw.sigAlg;
    const check = checkAuthnRequest(raw, {
      ssoUrl: p.ssoUrl,
      supportedLoas: p.supportedLoas,
      defaultLoa: p.loa,
      sps,
      now: now(),
      maxAgeMs: requestMaxAgeMs,
      maxFutureMs: requestMaxFutureMs,
      remember: (sp, id) => remember(p.name, sp, id),
    });
    if (check.xml !== undefined) received.xml = check.xml;
    if (check.kind === 'refused') {
      if (check.id !== undefined) received.id = check.id;
      if (check.issuer !== undefined) received.issuer = check.issuer;
      received.error = check.message;
      recordRequest(received);
      p.stats.refused += 1;
      return refusePage(res, p, 400, check.message, check.xml);
    }
    received.id = check.request.id;
    received.issuer = check.request.issuer;
    if (check.kind === 'status') {
      received.outcome = 'status';
      received.status = check.status;
      recordRequest(received);
      p.stats.statusResponses += 1;
      const outcome = await respond(p, { request: check.request, status: check.status });
      return sendHtml(res, 200, autoPost(p, outcome), AUTOPOST_CSP, { 'X-Simulator-Request-Id': check.request.id });
    }
    // Encryption: Sweden Connect IdPs must encrypt, so an SP without an RSA encryption key cannot be answered.
    const sp = check.request.sp;
    let encryptFor: Session['encryptFor'];
    if (p.encryptAssertions) {
      const cert = sp.encryptionCerts.find(canEncryptFor);
      if (cert) encryptFor = { cert, algorithm: chooseDataEncryption(sp.encryptionMethods, p.dataEncryption) };
      else if (p.encryptionRequired) {
        received.error = `the SP ${sp.entityId} has no RSA encryption certificate in its metadata, and this IdP encrypts assertions`;
        recordRequest(received);
        p.stats.refused += 1;
        return refusePage(res, p, 400, received.error, check.xml);
      }
    }
    received.outcome = 'accepted';
    recordRequest(received);
    p.stats.accepted += 1;
    sweepSessions();
    const session: Session = {
      key: randomBytes(24).toString('base64url'),
      persona: p.name,
      request: check.request,
      loa: check.loa,
      createdAt: now(),
      signAssertion: p.signAssertion || sp.wantAssertionsSigned,
    };
    if (encryptFor) session.encryptFor = encryptFor;
    sessions.set(session.key, session);
    return sendLoginPage(res, p, session, 200);
  }

  function sendLoginPage(res: ServerResponse, p: Persona, s: Session, status: number, error?: Texts, selectedPersonId?: string): void {
    const selection = personSelection(p.profile, s.request);
    const sp = s.request.sp;
    const o: Parameters<typeof loginPage>[0] = {
      persona: { displayName: p.displayName, entityId: p.entityId },
      spName: sp.displayName.sv ?? sp.displayName.en ?? sp.entityId,
      request: s.request,
      loa: s.loa,
      persons: p.persons.filter((x) => selection.allows(x)),
      sessionKey: s.key,
    };
    if (selection.description !== undefined) o.selection = selection.description;
    if (error) o.error = error;
    if (selectedPersonId !== undefined) o.selectedPersonId = selectedPersonId;
    sendHtml(res, status, loginPage(o), LOGIN_CSP, { 'X-Simulator-Session': s.key, 'X-Simulator-Request-Id': s.request.id });
  }

  async function loginEndpoint(p: Persona, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = contentType(req);
    if (type === 'application/x-www-form-urlencoded') {
      // The login page's form.
      const form = new URLSearchParams(await readBody(req, MAX_JSON_BYTES));
      const r: LoginRequest = { action: (form.get('action') ?? 'login') as LoginAction };
      const key = form.get('sessionKey');
      const personId = form.get('personId');
      const address = clientAddress(req);
      if (key !== null) r.sessionKey = key;
      if (personId !== null && personId !== '') r.personId = personId;
      if (address !== undefined) r.address = address;
      try {
        const outcome = await login(p, r);
        return sendHtml(res, 200, autoPost(p, outcome), AUTOPOST_CSP);
      } catch (err) {
        if (!(err instanceof LoginFailure)) throw err;
        const session = key !== null ? sessions.get(key) : undefined;
        if (session && session.persona === p.name && err.detail.error !== 'sessionNotFound') {
          return sendLoginPage(res, p, session, err.detail.httpStatus, err.detail.message, r.personId);
        }
        return sendHtml(
          res,
          err.detail.httpStatus,
          errorPage({ title: { sv: 'Det gick inte att logga in', en: 'Sign-in failed' }, message: `${err.detail.message.sv} / ${err.detail.message.en}`, displayName: p.displayName }),
          LOGIN_CSP,
        );
      }
    }
    if (type !== 'application/json') return sendJson(res, 415, { error: 'invalidRequest', message: 'Content-Type must be application/json (or the login page form).' });
    const body = parseJsonObject(await readBody(req, MAX_JSON_BYTES));
    const r: LoginRequest = {};
    for (const k of ['sessionKey', 'requestId', 'personId', 'action', 'address'] as const) {
      const v = body[k];
      if (v === undefined) continue;
      if (typeof v !== 'string') return sendJson(res, 400, { error: 'invalidRequest', message: `${k} must be a string` });
      (r as Record<string, string>)[k] = v;
    }
    if (r.address === undefined) {
      const a = clientAddress(req);
      if (a !== undefined) r.address = a;
    }
    try {
      const outcome = await login(p, r);
      if (body.respondWith === 'form') return sendHtml(res, 200, autoPost(p, outcome), AUTOPOST_CSP);
      return sendJson(res, 200, outcome);
    } catch (err) {
      if (!(err instanceof LoginFailure)) throw err;
      return sendJson(res, err.detail.httpStatus, { error: err.detail.error, message: err.detail.message.en, messageSv: err.detail.message.sv });
    }
  }

  async function controlEndpoint(path: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const q = (name: string) => url.searchParams.get(name) ?? undefined;
    const body = req.method === 'POST' ? parseJsonObject(await readBody(req, MAX_JSON_BYTES)) : {};
    switch (`${req.method} ${path}`) {
      case 'GET /control/stats':
        return sendJson(res, 200, control.stats());
      case 'GET /control/sessions':
        return sendJson(res, 200, control.sessions(q('persona')));
      case 'GET /control/last-request':
        return sendJson(res, 200, control.lastRequest(q('persona')) ?? null);
      case 'GET /control/last-response':
        return sendJson(res, 200, control.lastResponse(q('persona')) ?? null);
      case 'POST /control/fail-next': {
        if (!isResponseFault(body.fault)) return sendJson(res, 400, { error: 'invalidRequest', message: 'fault must be one of the documented response faults' });
        const opts: { persona?: string; count?: number } = {};
        if (typeof body.persona === 'string') opts.persona = body.persona;
        if (typeof body.count === 'number') opts.count = body.count;
        control.failNext(body.fault, opts);
        return sendJson(res, 200, { ok: true });
      }
      case 'POST /control/clock': {
        if (body.at === null) control.setClock(null);
        else if (typeof body.at === 'number') control.setClock(body.at);
        else if (typeof body.at === 'string' && !Number.isNaN(Date.parse(body.at))) control.setClock(Date.parse(body.at));
        if (typeof body.advanceMs === 'number') control.advanceClock(body.advanceMs);
        return sendJson(res, 200, { now: new Date(now()).toISOString() });
      }
      case 'POST /control/rotate-signing-key': {
        if (typeof body.persona !== 'string') return sendJson(res, 400, { error: 'invalidRequest', message: 'persona is required' });
        return sendJson(res, 200, { cert: control.rotateSigningKey(body.persona) });
      }
      case 'POST /control/reset':
        control.reset();
        return sendJson(res, 200, { ok: true });
    }
    return sendJson(res, 404, { error: 'notFound', message: 'Not found.' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const segments = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    const last = segments[segments.length - 1];
    if (method === 'GET' && segments.length <= 2 && last === 'sim.css') return send(res, 200, 'text/css; charset=utf-8', SIM_CSS);
    if (method === 'GET' && segments.length <= 2 && last === 'autopost.js') return send(res, 200, 'text/javascript; charset=utf-8', AUTOPOST_JS);
    if (method === 'GET' && segments.length <= 2 && last === 'logo.svg') return send(res, 200, 'image/svg+xml', LOGO_SVG);
    if (segments.length === 0) {
      if (method !== 'GET') return sendJson(res, 405, { error: 'methodNotAllowed', message: 'Method not allowed.' });
      return sendHtml(res, 200, indexPage([...personas.values()].map(summary)), LOGIN_CSP);
    }
    if (segments[0] === 'control') return controlEndpoint(url.pathname.replace(/\/+$/, ''), req, res, url);
    const p = personas.get(segments[0]!);
    if (!p) return sendJson(res, 404, { error: 'notFound', message: `No persona ${segments[0]}. Personas: ${[...personas.keys()].join(', ')}.` });
    if (segments.length === 1) {
      if (!url.pathname.endsWith('/')) {
        // The dev page's links are relative: serve it from the directory URL.
        res.writeHead(308, { ...COMMON_HEADERS, Location: `/${p.name}/${url.search}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (method !== 'GET') return sendJson(res, 405, { error: 'methodNotAllowed', message: 'Method not allowed.' });
      sweepSessions();
      const pending = [...sessions.values()].filter((s) => s.persona === p.name).map((s) => ({ sessionKey: s.key, requestId: s.request.id, sp: s.request.issuer }));
      return sendHtml(res, 200, personaPage(summary(p), p.persons, pending), LOGIN_CSP);
    }
    const action = segments.slice(1).join('/');
    switch (`${method} ${action}`) {
      case 'GET metadata':
        p.stats.metadata += 1;
        return send(res, 200, 'application/samlmetadata+xml; charset=utf-8', metadataOf(p), { 'Cache-Control': 'max-age=60' });
      case 'GET sso':
      case 'POST sso':
        return sso(p, req, res, url);
      case 'POST login':
        return loginEndpoint(p, req, res);
      case 'GET persons':
        return sendJson(res, 200, p.persons);
    }
    await readBody(req, MAX_FORM_BYTES).catch(() => '');
    const known = ['metadata', 'sso', 'login', 'persons'].includes(action);
    return sendJson(res, known ? 405 : 404, known ? { error: 'methodNotAllowed', message: 'Method not allowed.' } : { error: 'notFound', message: 'Not found.' });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: 'invalidRequest', message: err.message });
      if (err instanceof XmlError) return sendJson(res, 400, { error: 'invalidRequest', message: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internalError', message: (err as Error).message });
      else res.destroy();
    });
  });

  // -------------------------------------------------------------------------------------------------
  // Control

  const control: SamlIdpSimulatorControl = {
    personas: () => [...personas.keys()],
    persons: (name) => personaOf(name).persons,
    failNext(fault, opts = {}) {
      if (!isResponseFault(fault)) throw new Error(`unknown response fault ${String(fault)}`);
      if (opts.persona !== undefined) personaOf(opts.persona);
      const entry: (typeof faults)[number] = { fault, remaining: Math.max(1, Math.floor(opts.count ?? 1)) };
      if (opts.persona !== undefined) entry.persona = opts.persona;
      faults.push(entry);
    },
    setClock(epochMs) {
      fixedNow = epochMs ?? undefined;
      offset = 0;
    },
    advanceClock(ms) {
      offset += ms;
    },
    now,
    rotateSigningKey(name, next) {
      const p = personaOf(name);
      const key = next ? signingKey(next) : signingKey(generateTestKeyPair(p.signingKeys[0]!.alg, `${name} signing, rotated (idnav SAML IdP simulator)`));
      p.signingKeys = [key, ...p.signingKeys];
      return key.cert;
    },
    retireOldSigningKeys(name) {
      const p = personaOf(name);
      p.signingKeys = [p.signingKeys[0]!];
    },
    signingCerts: (name) => personaOf(name).signingKeys.map((k) => k.cert),
    setSpMetadata(source, name) {
      for (const p of name === undefined ? personas.values() : [personaOf(name)]) p.spSource = source;
    },
    stats: () => Object.fromEntries([...personas.values()].map((p) => [p.name, { ...p.stats }])),
    lastRequest: (name) => (name === undefined ? lastRequests[0] : lastRequests.find((r) => r.persona === name)),
    lastResponse: (name) => (name === undefined ? lastResponses[0] : lastResponses.find((r) => r.persona === name)),
    sessions(name) {
      sweepSessions();
      return [...sessions.values()]
        .filter((s) => name === undefined || s.persona === name)
        .map((s) => ({ persona: s.persona, sessionKey: s.key, requestId: s.request.id, sp: s.request.issuer, acsUrl: s.request.acsUrl, loa: s.loa, createdAt: s.createdAt }));
    },
    async login(req) {
      let name = req.persona;
      if (name === undefined && req.sessionKey !== undefined) name = sessions.get(req.sessionKey)?.persona;
      if (name === undefined && req.requestId !== undefined) name = [...sessions.values()].find((s) => s.request.id === req.requestId)?.persona;
      if (name === undefined || !personas.has(name)) {
        throw new LoginFailure({ error: 'sessionNotFound', httpStatus: 404, message: { sv: 'Inloggningen finns inte.', en: 'No such sign-in.' } });
      }
      return login(personas.get(name)!, req);
    },
    reset() {
      faults = [];
      sessions.clear();
      seen.clear();
      lastRequests = [];
      lastResponses = [];
      fixedNow = undefined;
      offset = 0;
      for (const p of personas.values()) {
        p.stats = zeroStats();
        p.signingKeys = [p.firstSigning];
        p.spSource = p.initialSpSource;
      }
    },
  };

  const idps: Record<string, IdpEndpoints> = {};
  for (const p of personas.values()) {
    idps[p.name] = {
      profile: p.profile,
      entityId: p.entityId,
      ssoUrl: p.ssoUrl,
      metadataUrl: p.metadataUrl,
      loginUrl: p.loginUrl,
      metadataSigningCert: p.metadataKey.cert,
      signingCert: p.firstSigning.cert,
    };
  }

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    idps,
    control,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/** SHA-256 fingerprints of a simulator's certificates, for the CLI and logs. */
export function describeCertificates(sim: SamlIdpSimulator): Record<string, { signing: string; metadata: string }> {
  return Object.fromEntries(Object.entries(sim.idps).map(([name, i]) => [name, { signing: fingerprint(i.signingCert), metadata: fingerprint(i.metadataSigningCert) }]));
}
