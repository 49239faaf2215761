/**
 * Navet ePersondata V2, Personpost (XML answer): SOAP 1.1 over HTTPS with mutual TLS. One lookup is one
 * POST; the answer is read with a hardened XML parser and mapped to the hub's Person. Transport failures
 * and remote answers are translated into hub errors here, once. No error detail holds a personal number.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { HubError } from '../../src/contracts/errors.ts';
import type { Person, RegistryAdapter, RegistryField, RegistryLookupContext } from '../../src/contracts/registry.ts';
import type { NavetConfig, NavetCredentialSet, ResolvedCredentials } from './config.ts';
import { personOf, postPersonId, type RequestedPerson } from './person.ts';
import { InvalidXml, PERSONPOST_XML_PATH, personpostRequest, readFault, readPersonpostAnswer, type SoapFault } from './soap.ts';

/**
 * What `health()` looks up: the public test number 194106279161 moved to 1841, which nobody holds. Any
 * answer (normally an empty one) proves TLS, the client certificate and the OrgNr/BestallningsId pair.
 */
export const NAVET_HEALTH_PERSON_ID = '184106279161';

const XML_MEDIA_TYPES = new Set(['text/xml', 'application/soap+xml', 'application/xml']);

/** Checks the shape of a 12-digit number (century, a real date, day + 60 for a samordningsnummer). */
export function requestedPersonOf(value: unknown): RequestedPerson | undefined {
  if (typeof value !== 'string' || !/^(18|19|20)\d{10}$/.test(value)) return undefined;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(4, 6));
  let day = Number(value.slice(6, 8));
  const subjectType = day > 60 ? 'samordningsnummer' : 'personnummer';
  if (day > 60) day -= 60;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || day < 1 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return { personalNumber: value, subjectType, birthdate: `${value.slice(0, 4)}-${value.slice(4, 6)}-${String(day).padStart(2, '0')}` };
}

/** Registry-provided text for the operator's log: numbers that look like personal numbers are masked. */
function safeText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value
    .replace(/\d{6}(?:\d{2})?[-+ ]?\d{4}/g, '<nummer>')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .slice(0, 200);
}

function faultDetail(status: number, fault: SoapFault): string {
  const parts = [`Navet SOAP fault (HTTP ${status})`];
  if (fault.faultcode) parts.push(`faultcode ${safeText(fault.faultcode)}`);
  if (fault.faultstring) parts.push(`faultstring "${safeText(fault.faultstring)}"`);
  if (fault.felkod) parts.push(`Felkod ${safeText(fault.felkod)}`);
  if (fault.beskrivning) parts.push(`Beskrivning "${safeText(fault.beskrivning)}"`);
  return parts.join(', ');
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) && at > Date.now() ? at - Date.now() : undefined;
}

function headerValue(header: string | string[] | undefined): string {
  return (Array.isArray(header) ? header[0] : header) ?? '';
}

/**
 * The body as text by its charset (UTF-8 when none is given). `strict`: undecodable bytes or an unknown
 * charset make the answer invalid; otherwise (error pages) they are replaced.
 */
function decode(body: Buffer, contentType: string, strict: boolean): string {
  const charset = /;\s*charset="?([^";\s]+)"?/i.exec(contentType)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset, { fatal: strict }).decode(body);
  } catch (err) {
    if (strict) throw new InvalidXml(`the answer is not valid ${safeText(charset)}`, { cause: err });
    return new TextDecoder('utf-8').decode(body);
  }
}

class NavetAdapter implements RegistryAdapter {
  readonly id: string;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #defaults: NavetCredentialSet | undefined;
  readonly #tenants: Map<string, NavetCredentialSet>;
  readonly #agents = new Map<string, Agent>();

  constructor(id: string, config: NavetConfig, ca: string, credentials: ResolvedCredentials) {
    this.id = id;
    this.#url = `${config.baseUrl.replace(/\/+$/, '')}${PERSONPOST_XML_PATH}`;
    this.#timeoutMs = config.timeoutMs;
    this.#maxBytes = config.maxResponseBytes;
    this.#defaults = credentials.defaults;
    this.#tenants = credentials.tenants;
    const sets = [...(credentials.defaults ? [credentials.defaults] : []), ...credentials.tenants.values()];
    for (const set of sets) {
      if (this.#agents.has(set.tlsKey)) continue;
      this.#agents.set(
        set.tlsKey,
        new Agent({
          connect: {
            ca,
            ...('pfx' in set.tls ? { pfx: set.tls.pfx, passphrase: set.tls.passphrase } : { cert: set.tls.cert, key: set.tls.key }),
            rejectUnauthorized: true,
            timeout: config.timeoutMs,
          },
          headersTimeout: config.timeoutMs,
          bodyTimeout: config.timeoutMs,
          keepAliveTimeout: 30_000,
          connections: 32,
        }),
      );
    }
  }

  /** The tenant's own set; an unknown tenant or none uses the hub-level set. */
  #credentialsFor(tenant: string | undefined): NavetCredentialSet {
    const set = (tenant !== undefined ? this.#tenants.get(tenant) : undefined) ?? this.#defaults;
    if (!set) {
      throw new HubError('CONFIG_INVALID', {
        detail: `Navet: no credentials for ${tenant === undefined ? 'lookups without a tenant' : `tenant ${tenant}`} (registry.config has no complete clientCert, orgNr and bestallningsId)`,
      });
    }
    return set;
  }

  async lookup(personalNumber: string, fields: readonly RegistryField[], context: RegistryLookupContext = {}): Promise<Person | null> {
    const requested = requestedPersonOf(personalNumber);
    if (!requested) {
      throw new HubError('REGISTRY_REJECTED', { detail: 'Navet: not sent, the personal number is not 12 digits with a valid date' });
    }
    const set = this.#credentialsFor(context.tenant);
    const posts = await this.#personpost(set, requested.personalNumber, context.signal);
    if (posts.length === 0) return null;
    if (posts.length > 1) throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: `Navet: ${posts.length} posts for one number` });
    const post = posts[0]!;
    try {
      if (postPersonId(post) !== requested.personalNumber) {
        throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: 'Navet: the post is about another number than the one asked for' });
      }
      return personOf(post, requested, fields);
    } catch (err) {
      if (err instanceof InvalidXml) throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: `Navet: ${err.message}` });
      throw err;
    }
  }

  async health(context: RegistryLookupContext = {}): Promise<void> {
    await this.lookup(NAVET_HEALTH_PERSON_ID, [], context);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close()));
  }

  /** One Personpost call; resolves with the posts of a well-formed answer, throws HubError otherwise. */
  async #personpost(set: NavetCredentialSet, personId: string, callerSignal: AbortSignal | undefined) {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    const unavailable = (err: unknown, during: string) => this.#transportError(err, during, timeout, callerSignal);

    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#url, {
        method: 'POST',
        dispatcher: this.#agents.get(set.tlsKey)!,
        headers: { 'content-type': 'text/xml;charset=UTF-8', soapaction: '""', accept: 'text/xml' },
        body: personpostRequest(set.orgNr, set.bestallningsId, personId),
        signal,
      });
    } catch (err) {
      throw unavailable(err, 'request');
    }

    const status = res.statusCode;
    const contentType = headerValue(res.headers['content-type']);
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    let body: Buffer | 'too-large';
    try {
      body = await this.#readBody(res);
    } catch (err) {
      throw unavailable(err, 'answer');
    }

    if (status === 429 || status >= 500) {
      const fault = XML_MEDIA_TYPES.has(mediaType) && body !== 'too-large' ? readFault(decode(body, contentType, false)) : undefined;
      if (fault) throw new HubError('REGISTRY_REJECTED', { detail: faultDetail(status, fault) });
      const wait = retryAfterMs(res.headers['retry-after']);
      throw new HubError('REGISTRY_UNAVAILABLE', {
        detail: `Navet: HTTP ${status} without a SOAP fault`,
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
      });
    }
    if (status >= 400) {
      const fault = XML_MEDIA_TYPES.has(mediaType) && body !== 'too-large' ? readFault(decode(body, contentType, false)) : undefined;
      throw new HubError('REGISTRY_REJECTED', { detail: fault ? faultDetail(status, fault) : `Navet: HTTP ${status}` });
    }
    if (status !== 200) throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: `Navet: unexpected HTTP ${status}` });
    if (body === 'too-large') throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: 'Navet: answer larger than maxResponseBytes' });
    if (!XML_MEDIA_TYPES.has(mediaType)) {
      throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: `Navet: HTTP 200 with content type ${safeText(mediaType) || '(none)'}, expected text/xml` });
    }
    let answer;
    try {
      answer = readPersonpostAnswer(decode(body, contentType, true));
    } catch (err) {
      if (err instanceof InvalidXml) throw new HubError('REGISTRY_RESPONSE_INVALID', { detail: `Navet: ${err.message}` });
      throw err;
    }
    if (answer.kind === 'fault') throw new HubError('REGISTRY_REJECTED', { detail: faultDetail(status, answer.fault) });
    return answer.posts;
  }

  /** The body, or 'too-large' (the rest is not read) when it exceeds maxResponseBytes. */
  async #readBody(res: Dispatcher.ResponseData): Promise<Buffer | 'too-large'> {
    const declared = Number(headerValue(res.headers['content-length']) || NaN);
    if (declared > this.#maxBytes) {
      res.body.destroy();
      return 'too-large';
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > this.#maxBytes) {
        res.body.destroy();
        return 'too-large';
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  #transportError(err: unknown, during: string, timeout: AbortSignal, callerSignal: AbortSignal | undefined): HubError {
    if (err instanceof HubError) return err;
    const e = err as NodeJS.ErrnoException;
    let reason: string;
    if (timeout.aborted || /TIMEOUT/i.test(e?.code ?? '')) reason = `timed out after ${this.#timeoutMs} ms`;
    else if (callerSignal?.aborted) reason = 'aborted by the caller';
    else {
      const code = typeof e?.code === 'string' ? e.code : (e?.name ?? 'Error');
      const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|ERR_SSL/i.test(code) || /certificate|handshake|alert/i.test(e?.message ?? '');
      reason = `${tls ? 'TLS failure: ' : ''}${code}: ${safeText(e?.message ?? String(err))}`;
    }
    return new HubError('REGISTRY_UNAVAILABLE', { detail: `Navet ${during}: ${reason}`, cause: err });
  }
}

export function createNavetAdapter(id: string, config: NavetConfig, ca: string, credentials: ResolvedCredentials): RegistryAdapter {
  return new NavetAdapter(id, config, ca, credentials);
}
