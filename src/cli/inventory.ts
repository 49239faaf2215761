/**
 * `idnav tenants` and `idnav clients`: what the configuration holds, as the hub loads it. Secrets are
 * never printed.
 */
import { configDirOf, loadHubConfig, parse, table, type CliIo } from './common.ts';

const OPTIONS = { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } } as const;

export async function tenants(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { ...OPTIONS });
  const config = await loadHubConfig(configDirOf(values, io), io);
  if (!config) return 1;
  const list = config.tenants.map((t) => ({
    id: t.id,
    kommunkod: t.kommunkod,
    name: t.name,
    methods: [...t.methods],
    ownRegistryCredentials: t.registry !== undefined && Object.keys(t.registry).length > 0,
  }));
  if (values['json']) {
    io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  const rows = list.map((t) => [t.id, t.kommunkod, t.name.sv, t.methods.join(', '), t.ownRegistryCredentials ? 'own' : '-']);
  for (const line of table(['ID', 'KOMMUNKOD', 'NAME', 'METHODS', 'REGISTRY'], rows)) io.out(line);
  io.out('');
  const own = list.filter((t) => t.ownRegistryCredentials).length;
  io.out(
    `${list.length} tenant${list.length === 1 ? '' : 's'}` +
      (config.registry ? `; ${own} with registry credentials of their own, the others use hub.yaml's` : '; no registry configured'),
  );
  return 0;
}

export async function clients(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { ...OPTIONS });
  const config = await loadHubConfig(configDirOf(values, io), io);
  if (!config) return 1;
  const list = config.clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_name !== undefined ? { client_name: c.client_name } : {}),
    tenant: c.tenant,
    ...(c.tenant_redirect_uris ? { tenants: Object.keys(c.tenant_redirect_uris) } : {}),
    token_endpoint_auth_method: c.token_endpoint_auth_method,
    allowed_scopes: [...c.allowed_scopes],
    redirect_uris: c.redirect_uris.length,
    first_party: c.first_party,
  }));
  if (values['json']) {
    io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  const rows = list.map((c) => [
    c.client_id,
    c.tenant === '*' ? `* (${c.tenants?.length ?? 0} tenants)` : c.tenant,
    c.token_endpoint_auth_method,
    String(c.redirect_uris),
    c.first_party ? 'yes' : 'no',
    c.allowed_scopes.join(' ') || '-',
  ]);
  for (const line of table(['CLIENT_ID', 'TENANT', 'AUTH', 'REDIRECT_URIS', 'FIRST_PARTY', 'ALLOWED_SCOPES'], rows)) io.out(line);
  io.out('');
  io.out(`${list.length} client${list.length === 1 ? '' : 's'}; ALLOWED_SCOPES are the scopes granted beyond openid`);
  return 0;
}
