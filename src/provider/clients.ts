/**
 * Clients come from files and reach oidc-provider through its `Client` adapter model, so a changed or
 * added file takes effect without a restart (oidc-provider re-builds a client whenever its metadata
 * changes). The registry keeps the last valid set when a reload finds errors.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { ClientConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';

export type ClientLoader = () => Promise<readonly ClientConfig[]>;

/** oidc-provider metadata for one client (standard names; the hub's own fields stay out). */
export function toProviderMetadata(c: ClientConfig, issuer: string): Record<string, unknown> {
  const m: Record<string, unknown> = {
    client_id: c.client_id,
    redirect_uris: [...c.redirect_uris],
    grant_types: [...c.grant_types],
    response_types: [...c.response_types],
    token_endpoint_auth_method: c.token_endpoint_auth_method,
    subject_type: c.subject_type,
    scope: ['openid', ...c.allowed_scopes].join(' '),
    // The Swedish OIDC profile requires auth_time in every ID token.
    require_auth_time: true,
  };
  const optional: Array<keyof ClientConfig> = [
    'client_name', 'post_logout_redirect_uris', 'backchannel_logout_uri', 'backchannel_logout_session_required',
    'client_secret', 'jwks', 'jwks_uri', 'userinfo_signed_response_alg', 'id_token_signed_response_alg', 'default_acr_values',
    'default_max_age',
  ];
  for (const key of optional) {
    const v = c[key];
    if (v !== undefined) m[key] = structuredClone(v);
  }
  // An app with a private-use URI scheme is a native client (RFC 8252): custom schemes and loopback.
  if (c.redirect_uris.some((u) => !/^https?:/.test(u))) m.application_type = 'native';
  if (c.subject_type === 'pairwise') {
    // The hub derives pairwise identifiers from the configured sector, not from redirect URI hosts; the
    // sector URI (served by the hub) tells oidc-provider the client has one, whatever its hosts.
    // oidc-provider accepts only https here; a dev issuer on http still gets an https identifier (never fetched).
    m.sector_identifier_uri = `${issuer.replace(/^http:/, 'https:')}/sectors/${encodeURIComponent(sectorOf(c))}`;
  }
  return m;
}

export function sectorOf(c: ClientConfig): string {
  return c.sector ?? c.client_id;
}

export class ClientRegistry {
  #byId = new Map<string, ClientConfig>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #load: ClientLoader;
  readonly #log: Logger;
  #listeners: Array<() => void> = [];

  readonly #issuer: string;

  constructor(initial: readonly ClientConfig[], load: ClientLoader, log: Logger, issuer: string) {
    this.#set(initial);
    this.#load = load;
    this.#log = log;
    this.#issuer = issuer;
  }

  /** Redirect URIs of every client in a pairwise sector (what its sector_identifier_uri lists). */
  sectorRedirectUris(sector: string): string[] | undefined {
    const members = this.all().filter((c) => c.subject_type === 'pairwise' && sectorOf(c) === sector);
    return members.length ? [...new Set(members.flatMap((c) => c.redirect_uris))] : undefined;
  }

  #set(clients: readonly ClientConfig[]): void {
    this.#byId = new Map(clients.map((c) => [c.client_id, c]));
    // Built once per (re)load: oidc-provider looks a client up on every request and re-uses its built
    // client while the metadata object hashes the same.
    this.#metadata = new Map();
    for (const l of this.#listeners) l();
  }

  #metadata = new Map<string, Record<string, unknown>>();

  #providerMetadata(clientId: string): Record<string, unknown> | undefined {
    let m = this.#metadata.get(clientId);
    if (!m) {
      const c = this.#byId.get(clientId);
      if (!c) return undefined;
      m = toProviderMetadata(c, this.#issuer);
      this.#metadata.set(clientId, m);
    }
    return m;
  }

  get(clientId: string): ClientConfig | undefined {
    return this.#byId.get(clientId);
  }

  all(): ClientConfig[] {
    return [...this.#byId.values()];
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async reload(): Promise<boolean> {
    try {
      const clients = await this.#load();
      this.#set(clients);
      this.#log.info({ clients: clients.length }, 'clients reloaded');
      return true;
    } catch (err) {
      const problems = (err as { problems?: Array<{ file: string; path: string; message: string }> }).problems;
      this.#log.error({ problems: problems ?? String(err) }, 'client files have errors; keeping the previous clients');
      return false;
    }
  }

  /** Reloads when a file in `dir` changes (debounced). */
  watch(dir: string): void {
    try {
      this.#watcher = watch(dir, () => {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.reload(), 150);
        this.#timer.unref();
      });
      this.#watcher.unref();
    } catch (err) {
      this.#log.warn({ dir, err }, 'cannot watch the clients directory; changes need a restart');
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }

  /** The oidc-provider adapter for the `Client` model (read-only). */
  providerAdapter() {
    return {
      find: async (id: string) => this.#providerMetadata(id),
      upsert: async () => {
        throw new Error('clients are configured as files');
      },
      findByUid: async () => undefined,
      findByUserCode: async () => undefined,
      consume: async () => undefined,
      destroy: async () => undefined,
      revokeByGrantId: async () => undefined,
    };
  }
}
