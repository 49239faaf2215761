/** Tenants (municipalities) and the clients that belong to them. */
import type { ClientConfig, TenantConfig } from '../config/types.ts';

export class TenantRegistry {
  readonly #byId: Map<string, TenantConfig>;

  constructor(tenants: readonly TenantConfig[]) {
    this.#byId = new Map(tenants.map((t) => [t.id, t]));
  }

  get(id: string): TenantConfig | undefined {
    return this.#byId.get(id);
  }

  all(): TenantConfig[] {
    return [...this.#byId.values()];
  }

  /**
   * The tenant a sign-in belongs to: the client's own, or for a client shared by all tenants the one
   * whose registered redirect_uri the RP used.
   */
  forClient(client: ClientConfig, redirectUri: string | undefined): TenantConfig | undefined {
    if (client.tenant !== '*') return this.#byId.get(client.tenant);
    if (!redirectUri || !client.tenant_redirect_uris) return undefined;
    for (const [tenantId, uris] of Object.entries(client.tenant_redirect_uris)) {
      if (uris.includes(redirectUri)) return this.#byId.get(tenantId);
    }
    return undefined;
  }
}
