/**
 * Loads `<configDir>/hub.yaml`, `<configDir>/tenants/*.yaml` and `<configDir>/clients/*.yaml` into a
 * frozen {@link HubConfig}.
 *
 * Per file: read YAML, expand `${VAR}` / `${VAR:-default}` in string values, replace `<name>File`
 * secrets with the file's content, validate against the schema (`schema.ts`). Then the checks that span
 * fields and files. Every problem of every file is collected before anything is thrown, each with its
 * file and dotted path, so one `idnav config check` run shows the whole list.
 *
 * `${...}` rules: `${VAR}` is an error when VAR is unset (an empty value is kept); `${VAR:-default}`
 * uses the default when VAR is unset or empty; `$${` writes a literal `${`. Defaults are not expanded
 * again. Only string values are expanded (keys are not), and secret files are read as they are.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import type { ClientConfig, HubConfig, HubMode, MethodConfig, TenantConfig } from './types.ts';
import {
  clientFileSchema,
  hubFileSchema,
  SECRET_FILE_KEYS,
  tenantFileSchema,
  type ClientFile,
  type HubFile,
  type TenantFile,
} from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Public API

export interface ConfigProblem {
  /** Absolute path of the file the problem is in (or of the directory, for a missing file). */
  file: string;
  /** Dotted path inside the file (`tokens.idTokenTtl`, `methods[0].config.baseUrl`); empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly configDir: string;
  readonly problems: ConfigProblem[];

  constructor(configDir: string, problems: ConfigProblem[]) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    super(`invalid configuration in ${configDir} (${count}):\n${formatProblems(configDir, problems)}`);
    this.configDir = configDir;
    this.problems = problems;
  }

  /** One line per problem: `<file relative to configDir>: <dotted.path>: <reason>`. */
  format(): string {
    return formatProblems(this.configDir, this.problems);
  }
}

function formatProblems(configDir: string, problems: ConfigProblem[]): string {
  return problems
    .map((p) => {
      const file = path.relative(configDir, p.file) || path.basename(p.file);
      return p.path ? `${file}: ${p.path}: ${p.message}` : `${file}: ${p.message}`;
    })
    .join('\n');
}

/** What the loader needs of an adapter module (`EidAdapterModule` fits). */
export interface AdapterConfigValidator {
  validate(config: unknown): { ok: true; config: unknown } | { ok: false; problems: Array<[string, string]> };
}

export interface LoadConfigOptions {
  configDir: string;
  /** Defaults to `process.env`; used for `${VAR}` expansion and the NODE_ENV rule. */
  env?: NodeJS.ProcessEnv;
  /**
   * Adapter type -> module; each `methods[].config` is validated by its type's module and an unknown type
   * is a problem. When omitted, method configs are not validated (only for tools that start no adapter).
   */
  adapterModules?: Record<string, AdapterConfigValidator>;
  /**
   * Registry type -> module; validates `registry.config` in hub.yaml and each tenant's `registry` block.
   * When omitted, registry blocks are not validated.
   */
  registryModules?: Record<string, RegistryConfigValidator>;
}

/** What the loader needs of a registry adapter module (`RegistryAdapterModule` fits). */
export interface RegistryConfigValidator extends AdapterConfigValidator {
  validateTenant(config: unknown): { ok: true; config: unknown } | { ok: false; problems: Array<[string, string]> };
}

export async function loadConfig(options: LoadConfigOptions): Promise<HubConfig> {
  const configDir = path.resolve(options.configDir);
  const env = options.env ?? process.env;
  const problems = new Problems();

  const hubFile = path.join(configDir, 'hub.yaml');
  const hubDoc = await readConfigFile(hubFile, configDir, env, 'hub', problems);
  const rawHub = hubDoc?.value;
  const hub = rawHub ? parseFile(hubFileSchema, rawHub, hubFile, problems) : undefined;
  const mode = hub?.mode ?? rawEnum(rawHub?.['mode'], ['dev', 'production']);

  if (mode === 'dev' && env['NODE_ENV'] === 'production') {
    problems.add(hubFile, 'mode', 'dev mode is refused when NODE_ENV=production');
  }
  if (rawHub && mode === 'production') refuseInsecure(rawHub, hubFile, problems);

  const methodIds = knownMethodIds(hub, rawHub);
  const methods = rawHub ? validateMethods(rawHub, hubFile, options.adapterModules, problems) : [];
  const registry = rawHub ? validateRegistry(rawHub, hubFile, options.registryModules, problems) : undefined;
  if (hub) await checkHub(hub, hubFile, configDir, problems);

  // Tenants
  const tenantsDir = path.join(configDir, 'tenants');
  const tenantFiles = await listYamlFiles(tenantsDir, problems);
  const tenants: TenantConfig[] = [];
  const tenantIds = new Set<string>();
  for (const file of tenantFiles ?? []) {
    const doc = await readConfigFile(file, configDir, env, 'tenant', problems);
    if (!doc) {
      // Clients naming this tenant should not also be reported: the file's own problem says enough.
      tenantIds.add(fileId(file));
      continue;
    }
    if (mode === 'production') refuseInsecure(doc.value, file, problems);
    const rawId = typeof doc.value['id'] === 'string' ? doc.value['id'] : fileId(file);
    tenantIds.add(rawId);
    const parsed = parseFile(tenantFileSchema, doc.value, file, problems);
    if (parsed) tenants.push(await resolveTenant(parsed, file, configDir, methodIds, problems, registry));
  }
  if (tenantFiles && tenantFiles.length === 0) {
    problems.add(tenantsDir, '', 'no tenant files: add tenants/<id>.yaml');
  }
  checkTenantsUnique(tenants, problems);

  // Clients
  const clients = await readClients(
    {
      configDir,
      env,
      mode,
      hubFile,
      tenantIds,
      sectors: hub?.sectors ?? rawSectors(rawHub),
    },
    problems,
  );

  if (!problems.empty || !hub) {
    throw new ConfigError(configDir, problems.sorted(configDir));
  }

  const config: HubConfig = {
    configDir,
    mode: hub.mode,
    port: hub.port,
    host: hub.host ?? (hub.mode === 'production' ? '0.0.0.0' : '127.0.0.1'),
    issuer: issuerOf(hub),
    stateDir: path.resolve(path.dirname(configDir), hub.stateDir),
    store: hub.store.type === 'redis' ? { type: 'redis', url: hub.store.url, keyPrefix: hub.store.keyPrefix } : { type: 'memory' },
    secrets: omitUndefined({ subjectSecret: hub.secrets.subjectSecret, cookieKeys: hub.secrets.cookieKeys }),
    ...(hub.signingKeysFile ? { signingKeysFile: path.resolve(configDir, hub.signingKeysFile) } : {}),
    tokens: hub.tokens,
    evidence: hub.evidence,
    trustedProxies: hub.trustedProxies,
    sso: hub.sso,
    sectors: hub.sectors,
    methods,
    ...(registry && hub.registry
      ? { registry: { type: hub.registry.type, config: registry.config, cache: hub.registry.cache, policy: hub.registry.policy } }
      : {}),
    rateLimits: hub.rateLimits,
    ops: hub.ops,
    audit: auditOf(hub, configDir),
    logging: hub.logging,
    dev: { forward: hub.dev.forward },
    tenants,
    clients,
  };
  return deepFreeze(config);
}

export interface LoadClientsOptions {
  /** The running hub's config: its config dir, mode, tenants and sectors are used. */
  hub: HubConfig;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Re-reads and validates `<configDir>/clients/*.yaml` against the loaded tenants and settings, for adding
 * or changing clients without a restart. Same rules and problem format as {@link loadConfig}; throws a
 * {@link ConfigError}. Returns a frozen list; the caller swaps it in.
 */
export async function loadClients(options: LoadClientsOptions): Promise<ClientConfig[]> {
  const { hub } = options;
  const problems = new Problems();
  const clients = await readClients(
    {
      configDir: hub.configDir,
      env: options.env ?? process.env,
      mode: hub.mode,
      hubFile: path.join(hub.configDir, 'hub.yaml'),
      tenantIds: new Set(hub.tenants.map((t) => t.id)),
      sectors: hub.sectors,
    },
    problems,
  );
  if (!problems.empty) throw new ConfigError(hub.configDir, problems.sorted(hub.configDir));
  return deepFreeze(clients);
}

// ---------------------------------------------------------------------------------------------
// Problems

class Problems {
  readonly list: ConfigProblem[] = [];
  /** file -> paths whose follow-up problems are not worth reporting (an env var or secret file already failed). */
  private readonly muted = new Map<string, string[]>();

  add(file: string, at: string, message: string): void {
    const muted = this.muted.get(file);
    if (muted?.some((m) => at === m || at.startsWith(`${m}.`) || at.startsWith(`${m}[`))) return;
    this.list.push({ file, path: at, message });
  }

  /** Reports a problem and mutes later problems at (or under) the same path. */
  addRoot(file: string, at: string, message: string, ...alsoMute: string[]): void {
    this.add(file, at, message);
    this.mute(file, at, ...alsoMute);
  }

  mute(file: string, ...paths: string[]): void {
    const list = this.muted.get(file) ?? [];
    list.push(...paths.filter((p) => p !== ''));
    this.muted.set(file, list);
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** hub.yaml first, then the others by file name; the order inside a file is kept. */
  sorted(configDir: string): ConfigProblem[] {
    const rank = (p: ConfigProblem) => (p.file === path.join(configDir, 'hub.yaml') ? 0 : 1);
    return [...this.list].sort((a, b) => rank(a) - rank(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }
}

type PathPart = string | number;

/** `tokens.idTokenTtl`, `methods[0].config`, `dev.forward["/dev/bankid-app"]`. */
export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading one file: YAML, ${ENV}, *File secrets

type Raw = Record<string, unknown>;

interface ConfigDoc {
  value: Raw;
}

async function readConfigFile(
  file: string,
  configDir: string,
  env: NodeJS.ProcessEnv,
  kind: keyof typeof SECRET_FILE_KEYS,
  problems: Problems,
): Promise<ConfigDoc | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    problems.add(file, '', errnoCode(err) === 'ENOENT' ? 'file not found' : `cannot read: ${errnoText(err)}`);
    return undefined;
  }
  const doc = YAML.parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = error.linePos?.[0];
      problems.add(file, pos ? `line ${pos.line}, column ${pos.col}` : '', yamlMessage(error.message));
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.add(file, '', `cannot read YAML: ${(err as Error).message}`);
    return undefined;
  }
  if (value === null || value === undefined) value = {};
  if (!isPlainObject(value)) {
    problems.add(file, '', 'expected a mapping of keys to values at the top level');
    return undefined;
  }
  const expanded = expandTree(value, [], env, (at, message) => problems.addRoot(file, formatPath(at), message)) as Raw;
  for (const spec of SECRET_FILE_KEYS[kind]) {
    await readSecretFile(expanded, spec, file, configDir, problems);
  }
  return { value: expanded };
}

/** Drops yaml's " at line X, column Y:" tail and code excerpt; the position goes into the path. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}

function expandTree(value: unknown, at: PathPart[], env: NodeJS.ProcessEnv, fail: (at: PathPart[], message: string) => void): unknown {
  if (typeof value === 'string') {
    const result = expandString(value, env);
    for (const error of result.errors) fail(at, error);
    return result.value;
  }
  if (Array.isArray(value)) return value.map((item, i) => expandTree(item, [...at, i], env, fail));
  if (isPlainObject(value)) {
    const out: Raw = {};
    for (const [key, item] of Object.entries(value)) out[key] = expandTree(item, [...at, key], env, fail);
    return out;
  }
  return value;
}

/** Expands `${VAR}` and `${VAR:-default}`; `$${` is a literal `${`. */
export function expandString(input: string, env: NodeJS.ProcessEnv): { value: string; errors: string[] } {
  const errors: string[] = [];
  let out = '';
  let i = 0;
  while (i < input.length) {
    if (input.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!input.startsWith('${', i)) {
      out += input[i];
      i += 1;
      continue;
    }
    const end = input.indexOf('}', i + 2);
    if (end < 0) {
      errors.push('unterminated "${" (write "$${" for a literal "${")');
      out += input.slice(i);
      break;
    }
    const inner = input.slice(i + 2, end);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/.exec(inner);
    if (!match) {
      errors.push(`invalid reference "\${${inner}}" (expected \${NAME} or \${NAME:-default})`);
    } else {
      const [, name, fallback] = match as unknown as [string, string, string | undefined];
      const current = env[name];
      if (fallback !== undefined) out += current === undefined || current === '' ? fallback : current;
      else if (current === undefined) errors.push(`environment variable ${name} is not set (or write \${${name}:-default})`);
      else out += current;
    }
    i = end + 1;
  }
  return { value: out, errors };
}

async function readSecretFile(
  raw: Raw,
  spec: { parent: readonly string[]; name: string; kind: 'text' | 'lines' },
  file: string,
  configDir: string,
  problems: Problems,
): Promise<void> {
  let parent: unknown = raw;
  for (const key of spec.parent) parent = isPlainObject(parent) ? parent[key] : undefined;
  if (!isPlainObject(parent)) return;
  const fileKey = `${spec.name}File`;
  const given = parent[fileKey];
  if (typeof given !== 'string' || given === '') return; // absent, or a type error the schema reports
  const at = formatPath([...spec.parent, fileKey]);
  const valueAt = formatPath([...spec.parent, spec.name]);
  if (parent[spec.name] !== undefined) {
    problems.addRoot(file, at, `give either ${spec.name} or ${fileKey}, not both`, valueAt);
    delete parent[fileKey];
    return;
  }
  const secretPath = path.resolve(configDir, given);
  let text: string;
  try {
    text = await readFile(secretPath, 'utf8');
  } catch (err) {
    problems.addRoot(file, at, `cannot read ${secretPath}: ${errnoText(err)}`, valueAt);
    delete parent[fileKey];
    return;
  }
  delete parent[fileKey];
  if (spec.kind === 'lines') {
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (lines.length === 0) problems.addRoot(file, at, `${secretPath} is empty`, valueAt);
    else parent[spec.name] = lines;
  } else {
    const value = text.trim();
    if (value === '') problems.addRoot(file, at, `${secretPath} is empty`, valueAt);
    else parent[spec.name] = value;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema validation

/**
 * Validates one file. On failure every issue becomes a problem. When the only issues are unknown keys,
 * the file is parsed again without them so that cross-file checks can still use it.
 */
function parseFile<S extends z.ZodType>(schema: S, raw: Raw, file: string, problems: Problems): z.output<S> | undefined {
  const first = schema.safeParse(raw, { error: issueMessage });
  if (first.success) return first.data;
  let onlyUnknownKeys = true;
  const stripped = structuredClone(raw);
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = suggestKey(key, knownKeysAt(schema, issue.path as PathPart[]));
        problems.add(file, formatPath([...(issue.path as PathPart[]), key]), `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
        // "redirect_uris: is required" after "did you mean redirect_uris" says nothing new.
        if (hint) problems.mute(file, formatPath([...(issue.path as PathPart[]), hint]));
        const parent = getAt(stripped, issue.path as PathPart[]);
        if (isPlainObject(parent)) delete parent[key];
      }
    } else {
      onlyUnknownKeys = false;
      problems.add(file, formatPath(issue.path as PathPart[]), issue.message);
    }
  }
  if (!onlyUnknownKeys) return undefined;
  const second = schema.safeParse(stripped);
  return second.success ? second.data : undefined;
}

/** Friendlier wording for the common type errors; everything else keeps zod's message. */
function issueMessage(issue: { code?: string; input?: unknown; expected?: unknown }): string | undefined {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'is required';
  const got = issue.input === null ? 'null (an empty value)' : Array.isArray(issue.input) ? 'a list' : typeof issue.input === 'object' ? 'a mapping' : `${typeof issue.input} ${JSON.stringify(issue.input)}`;
  const expected = String(issue.expected);
  const noun = expected === 'array' ? 'a list' : expected === 'object' ? 'a mapping' : `a ${expected}`;
  return `expected ${noun}, got ${got}`;
}

/** The minimal view of zod's schema definitions that {@link knownKeysAt} walks. */
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  out?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
  options?: Array<{ _zod: { def: SchemaDef } }>;
}

/** The keys an object schema allows at a path (for "did you mean" hints); empty when unknown. */
function knownKeysAt(schema: z.ZodType, at: readonly PathPart[]): string[] {
  const keys = new Set<string>();
  const walk = (def: SchemaDef | undefined, i: number, depth: number): void => {
    if (!def || depth > 40) return;
    const wrapped = def.innerType ?? def.out;
    if (wrapped) return walk(wrapped._zod.def, i, depth + 1);
    if (def.options) return def.options.forEach((o) => walk(o._zod.def, i, depth + 1));
    const part = at[i];
    if (part === undefined) {
      if (def.type === 'object' && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
      return;
    }
    if (def.type === 'object' && typeof part === 'string') return walk(def.shape?.[part]?._zod.def, i + 1, depth + 1);
    if (def.type === 'array' && typeof part === 'number') return walk(def.element?._zod.def, i + 1, depth + 1);
    if (def.type === 'record') return walk(def.valueType?._zod.def, i + 1, depth + 1);
  };
  walk((schema as unknown as { _zod: { def: SchemaDef } })._zod.def, 0, 0);
  return [...keys];
}

/** A known key close to the unknown one: same letters ignoring case and `_`/`-`, or within two edits. */
function suggestKey(key: string, known: string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const exact = known.find((k) => squash(k) === squash(key));
  if (exact) return exact;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function getAt(root: unknown, at: readonly PathPart[]): unknown {
  let node = root;
  for (const part of at) {
    if (Array.isArray(node) && typeof part === 'number') node = node[part];
    else if (isPlainObject(node) && typeof part === 'string') node = node[part];
    else return undefined;
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// hub.yaml checks

function rawEnum<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

function knownMethodIds(hub: HubFile | undefined, rawHub: Raw | undefined): Set<string> | undefined {
  if (hub) return new Set(hub.methods.map((m) => m.id));
  const list = rawHub?.['methods'];
  if (!Array.isArray(list)) return undefined;
  return new Set(list.flatMap((m) => (isPlainObject(m) && typeof m['id'] === 'string' ? [m['id']] : [])));
}

function rawSectors(rawHub: Raw | undefined): Record<string, string[]> | undefined {
  const sectors = rawHub?.['sectors'];
  if (!isPlainObject(sectors)) return undefined;
  const out: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(sectors)) {
    if (Array.isArray(list)) out[name] = list.filter((x): x is string => typeof x === 'string');
  }
  return out;
}

/**
 * Validates each method's adapter block with its module and returns the methods with `*File` paths in
 * their config resolved against the config dir. Works on the raw document, so it runs even when other
 * parts of hub.yaml are invalid.
 */
function validateMethods(
  rawHub: Raw,
  hubFile: string,
  adapterModules: Record<string, AdapterConfigValidator> | undefined,
  problems: Problems,
): MethodConfig[] {
  const list = rawHub['methods'];
  if (!Array.isArray(list)) return [];
  const configDir = path.dirname(hubFile);
  const seen = new Map<string, number>();
  const out: MethodConfig[] = [];
  list.forEach((entry, i) => {
    if (!isPlainObject(entry)) return;
    const { id, type } = entry;
    const config = entry['config'] === undefined ? {} : entry['config'];
    if (typeof id === 'string') {
      const first = seen.get(id);
      if (first !== undefined) problems.add(hubFile, `methods[${i}].id`, `method id "${id}" is also used by methods[${first}]`);
      else seen.set(id, i);
    }
    if (!isPlainObject(config)) return; // the schema reports the type
    const resolved = resolveFilePaths(config, configDir) as Record<string, unknown>;
    if (typeof type !== 'string' || type === '') return;
    // Redirect methods are served under their kind (`/saml/<name>/metadata`, `/login/saml/<name>/acs`).
    if (type === 'saml' && typeof id === 'string' && !/^saml:[a-z0-9][a-z0-9_-]*$/.test(id)) {
      problems.add(hubFile, `methods[${i}].id`, `a SAML method's id must be "saml:<name>" (e.g. "saml:${id.replace(/^.*:/, '') || 'eidas'}")`);
    }
    if (adapterModules) {
      const module = Object.hasOwn(adapterModules, type) ? adapterModules[type] : undefined;
      if (!module) {
        const known = Object.keys(adapterModules).sort().join(', ') || 'none';
        problems.add(hubFile, `methods[${i}].type`, `unknown method type "${type}" (known: ${known})`);
      } else {
        let verdict: ReturnType<AdapterConfigValidator['validate']>;
        try {
          verdict = module.validate(resolved);
        } catch (err) {
          verdict = { ok: false, problems: [['', `validation failed: ${(err as Error).message}`]] };
        }
        if (!verdict.ok) {
          for (const [at, message] of verdict.problems) {
            problems.add(hubFile, at ? `methods[${i}].config.${at}` : `methods[${i}].config`, message);
          }
        }
      }
    }
    if (typeof id === 'string') out.push({ id, type, config: resolved });
  });
  return out;
}

/** The registry block's adapter config, validated by its module, with `*File` paths resolved. */
function validateRegistry(
  rawHub: Raw,
  hubFile: string,
  modules: Record<string, RegistryConfigValidator> | undefined,
  problems: Problems,
): { type: string; config: Record<string, unknown>; module?: RegistryConfigValidator } | undefined {
  const block = rawHub['registry'];
  if (!isPlainObject(block)) return undefined; // absent, or the schema reports the type
  const { type } = block;
  const config = block['config'] === undefined ? {} : block['config'];
  if (typeof type !== 'string' || type === '' || !isPlainObject(config)) return undefined;
  const resolved = resolveFilePaths(config, path.dirname(hubFile)) as Record<string, unknown>;
  if (!modules) return { type, config: resolved };
  const module = Object.hasOwn(modules, type) ? modules[type] : undefined;
  if (!module) {
    const known = Object.keys(modules).sort().join(', ') || 'none';
    problems.add(hubFile, 'registry.type', `unknown registry type "${type}" (known: ${known})`);
    return { type, config: resolved };
  }
  reportVerdict(() => module.validate(resolved), hubFile, 'registry.config', problems);
  return { type, config: resolved, module };
}

function reportVerdict(validate: () => ReturnType<AdapterConfigValidator['validate']>, file: string, base: string, problems: Problems): void {
  let verdict: ReturnType<AdapterConfigValidator['validate']>;
  try {
    verdict = validate();
  } catch (err) {
    verdict = { ok: false, problems: [['', `validation failed: ${(err as Error).message}`]] };
  }
  if (!verdict.ok) {
    for (const [at, message] of verdict.problems) problems.add(file, at ? `${base}.${at}` : base, message);
  }
}

function auditOf(hub: HubFile, configDir: string): HubConfig['audit'] {
  const to = hub.audit.to ?? (hub.audit.file ? 'file' : hub.mode === 'dev' ? 'file' : 'stderr');
  if (to !== 'file') return { to };
  const file = hub.audit.file ? path.resolve(configDir, hub.audit.file) : path.join(path.resolve(path.dirname(configDir), hub.stateDir), 'audit.jsonl');
  return { to, file };
}

/** String values of keys ending in `File`, and string items of lists under keys ending in `Files` or `Certificates`, become absolute paths (relative ones against `baseDir`). */
function resolveFilePaths(value: unknown, baseDir: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveFilePaths(v, baseDir));
  if (!isPlainObject(value)) return value;
  const out: Raw = {};
  for (const [key, item] of Object.entries(value)) {
    if (/File$/.test(key) && typeof item === 'string' && item !== '') out[key] = path.resolve(baseDir, item);
    else if (/(Files|Certificates)$/.test(key) && Array.isArray(item)) {
      // Lists of files (`encryptionKeyFiles`, `signingCertificates`): each string item is a path.
      out[key] = item.map((v) => (typeof v === 'string' && v !== '' ? path.resolve(baseDir, v) : resolveFilePaths(v, baseDir)));
    } else out[key] = resolveFilePaths(item, baseDir);
  }
  return out;
}

async function checkHub(hub: HubFile, hubFile: string, configDir: string, problems: Problems): Promise<void> {
  const production = hub.mode === 'production';

  // Issuer
  if (hub.issuer) {
    const issue = issuerProblem(hub.issuer);
    if (issue) problems.add(hubFile, 'issuer', issue);
    else if (production && !hub.issuer.startsWith('https://')) problems.add(hubFile, 'issuer', 'must be an https URL in production');
  } else if (production) {
    problems.add(hubFile, 'issuer', 'is required in production (the public https URL of the hub)');
  }

  // Secrets and keys
  if (production) {
    const { subjectSecret, cookieKeys } = hub.secrets;
    if (subjectSecret === undefined) {
      problems.add(hubFile, 'secrets.subjectSecret', 'is required in production (give secrets.subjectSecretFile)');
    } else if (subjectSecret.length < 32) {
      problems.add(hubFile, 'secrets.subjectSecret', 'must be at least 32 characters in production');
    }
    if (cookieKeys === undefined) {
      problems.add(hubFile, 'secrets.cookieKeys', 'is required in production (give secrets.cookieKeysFile)');
    } else {
      cookieKeys.forEach((key, i) => {
        if (key.length < 32) problems.add(hubFile, `secrets.cookieKeys[${i}]`, 'must be at least 32 characters in production');
      });
    }
    if (!hub.signingKeysFile) problems.add(hubFile, 'signingKeysFile', 'is required in production');
    if (Object.keys(hub.dev.forward).length > 0) problems.add(hubFile, 'dev.forward', 'must be empty in production');
  }
  if (hub.signingKeysFile) {
    const file = path.resolve(configDir, hub.signingKeysFile);
    try {
      await access(file);
    } catch (err) {
      problems.add(hubFile, 'signingKeysFile', `cannot read ${file}: ${errnoText(err)}`);
    }
  }

  // Sectors: a client in two sectors would get two pairwise identities.
  const sectorOf = new Map<string, string>();
  for (const [sector, ids] of Object.entries(hub.sectors)) {
    ids.forEach((id, i) => {
      const other = sectorOf.get(id);
      if (other !== undefined) {
        problems.add(hubFile, `sectors.${sector}[${i}]`, `client "${id}" is already in sector "${other}"`);
      } else {
        sectorOf.set(id, sector);
      }
    });
  }
}

function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) return 'must not have a query or fragment';
  if (url.username || url.password) return 'must not hold credentials';
  // The hub serves discovery, the endpoints and its pages from the root of its origin.
  if (url.pathname !== '/' && url.pathname !== '') return 'must be an origin without a path (e.g. https://id.example.se)';
  return undefined;
}

function issuerOf(hub: HubFile): string {
  if (!hub.issuer) return `http://localhost:${hub.port}`;
  return hub.issuer.replace(/\/+$/, '');
}

/** Production refuses any `insecure*` setting that is on, wherever it is (adapter blocks included). */
function refuseInsecure(raw: unknown, file: string, problems: Problems, at: PathPart[] = []): void {
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => refuseInsecure(item, file, problems, [...at, i]));
    return;
  }
  if (!isPlainObject(raw)) return;
  for (const [key, value] of Object.entries(raw)) {
    if (/^insecure/i.test(key) && (value === true || value === 'true')) {
      problems.add(file, formatPath([...at, key]), 'insecure settings are refused in production');
    } else {
      refuseInsecure(value, file, problems, [...at, key]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tenants

async function resolveTenant(
  tenant: TenantFile,
  file: string,
  configDir: string,
  methodIds: Set<string> | undefined,
  problems: Problems,
  registry: { type: string; module?: RegistryConfigValidator } | undefined,
): Promise<TenantConfig> {
  const id = tenant.id ?? fileId(file);
  const { branding } = tenant;

  const primary = contrastWithWhite(branding.primaryColor);
  if (primary < 4.5) {
    problems.add(file, 'branding.primaryColor', `contrast with white text is ${primary.toFixed(2)}:1; at least 4.5:1 is needed`);
  }
  const accent = contrastWithWhite(branding.accentColor);
  if (accent < 3) {
    problems.add(file, 'branding.accentColor', `contrast with white is ${accent.toFixed(2)}:1; at least 3:1 is needed`);
  }
  if (normalizeColor(branding.primaryColor) === normalizeColor(branding.accentColor)) {
    problems.add(file, 'branding.accentColor', 'must differ from primaryColor');
  }

  let logoFile: string | undefined;
  if (branding.logoFile) {
    logoFile = path.resolve(configDir, branding.logoFile);
    try {
      if (!(await stat(logoFile)).isFile()) problems.add(file, 'branding.logoFile', `${logoFile} is not a file`);
    } catch (err) {
      problems.add(file, 'branding.logoFile', `cannot read ${logoFile}: ${errnoText(err)}`);
    }
    if (!/\.(svg|png)$/i.test(logoFile)) problems.add(file, 'branding.logoFile', 'must be an .svg or .png file');
  }

  const methods = tenant.methods ?? [...(methodIds ?? [])];
  if (tenant.methods) {
    const seen = new Set<string>();
    tenant.methods.forEach((m, i) => {
      if (seen.has(m)) problems.add(file, `methods[${i}]`, `method "${m}" is listed twice`);
      seen.add(m);
      if (methodIds && !methodIds.has(m)) {
        const known = [...methodIds].join(', ') || 'none';
        problems.add(file, `methods[${i}]`, `unknown method "${m}" (hub.yaml configures: ${known})`);
      }
    });
  }

  let tenantRegistry: Record<string, unknown> | undefined;
  if (tenant.registry) {
    tenantRegistry = resolveFilePaths(tenant.registry, configDir) as Record<string, unknown>;
    if (!registry) problems.add(file, 'registry', 'hub.yaml configures no registry');
    else if (registry.module) reportVerdict(() => registry.module!.validateTenant(tenantRegistry), file, 'registry', problems);
  }

  return {
    id,
    kommunkod: tenant.kommunkod,
    name: tenant.name,
    branding: {
      logoText: branding.logoText ?? tenant.name.sv,
      ...(logoFile ? { logoFile } : {}),
      primaryColor: branding.primaryColor,
      accentColor: branding.accentColor,
    },
    methods,
    ...(tenantRegistry ? { registry: tenantRegistry } : {}),
    file,
  };
}

function checkTenantsUnique(tenants: TenantConfig[], problems: Problems): void {
  const byId = new Map<string, TenantConfig>();
  const byCode = new Map<string, TenantConfig>();
  for (const tenant of tenants) {
    const sameId = byId.get(tenant.id);
    if (sameId) problems.add(tenant.file, 'id', `tenant id "${tenant.id}" is also used by ${path.basename(sameId.file)}`);
    else byId.set(tenant.id, tenant);
    const sameCode = byCode.get(tenant.kommunkod);
    if (sameCode) {
      problems.add(tenant.file, 'kommunkod', `kommunkod ${tenant.kommunkod} is also used by tenant "${sameCode.id}" (${path.basename(sameCode.file)})`);
    } else {
      byCode.set(tenant.kommunkod, tenant);
    }
  }
}

function normalizeColor(color: string): string {
  const hex = color.slice(1).toLowerCase();
  return hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
}

/** WCAG 2 contrast ratio of a `#rgb`/`#rrggbb` colour against white. */
export function contrastWithWhite(color: string): number {
  const hex = normalizeColor(color);
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  return 1.05 / (luminance + 0.05);
}

// ---------------------------------------------------------------------------------------------
// Clients

interface ClientContext {
  configDir: string;
  env: NodeJS.ProcessEnv;
  mode: HubMode | undefined;
  hubFile: string;
  /** Tenant ids known so far (including tenants whose file had other problems). */
  tenantIds: Set<string>;
  sectors: Record<string, string[]> | undefined;
}

async function readClients(ctx: ClientContext, problems: Problems): Promise<ClientConfig[]> {
  const files = (await listYamlFiles(path.join(ctx.configDir, 'clients'), problems, true)) ?? [];
  const clients: ClientConfig[] = [];
  const knownIds = new Set<string>();
  for (const file of files) {
    const doc = await readConfigFile(file, ctx.configDir, ctx.env, 'client', problems);
    if (!doc) {
      knownIds.add(fileId(file));
      continue;
    }
    if (ctx.mode === 'production') refuseInsecure(doc.value, file, problems);
    knownIds.add(typeof doc.value['client_id'] === 'string' ? doc.value['client_id'] : fileId(file));
    const parsed = parseFile(clientFileSchema, doc.value, file, problems);
    if (parsed) clients.push(resolveClient(parsed, file, ctx, problems));
  }

  // Unique client ids
  const byId = new Map<string, ClientConfig>();
  for (const client of clients) {
    const same = byId.get(client.client_id);
    if (same) problems.add(client.file, 'client_id', `client_id "${client.client_id}" is also used by ${path.basename(same.file)}`);
    else byId.set(client.client_id, client);
  }

  // Sectors (hub.yaml) <-> clients
  if (ctx.sectors) {
    const sectorOf = new Map<string, string>();
    for (const [sector, ids] of Object.entries(ctx.sectors)) {
      ids.forEach((id, i) => {
        if (!sectorOf.has(id)) sectorOf.set(id, sector);
        const client = byId.get(id);
        if (!client) {
          if (!knownIds.has(id)) problems.add(ctx.hubFile, `sectors.${sector}[${i}]`, `unknown client "${id}"`);
        } else if (client.subject_type !== 'pairwise') {
          problems.add(ctx.hubFile, `sectors.${sector}[${i}]`, `client "${id}" has subject_type public; sectors are for pairwise clients`);
        }
      });
    }
    for (const client of clients) {
      const listed = sectorOf.get(client.client_id);
      if (client.sector !== undefined) {
        if (!Object.hasOwn(ctx.sectors, client.sector)) {
          problems.add(client.file, 'sector', `unknown sector "${client.sector}" (hub.yaml sectors: ${Object.keys(ctx.sectors).join(', ') || 'none'})`);
        } else if (listed !== client.sector) {
          problems.add(client.file, 'sector', `hub.yaml sectors.${client.sector} does not list "${client.client_id}"`);
        }
      } else if (listed !== undefined && client.subject_type === 'pairwise') {
        client.sector = listed;
      }
    }
  }
  return clients;
}

function resolveClient(c: ClientFile, file: string, ctx: ClientContext, problems: Problems): ClientConfig {
  const clientId = c.client_id ?? fileId(file);
  const production = ctx.mode === 'production';
  const isPublic = c.token_endpoint_auth_method === 'none';
  const uriRules = { production, isPublic };

  // Tenant and redirect URIs
  let redirectUris: string[] = [];
  const shared = c.tenant === '*';
  if (!shared && !ctx.tenantIds.has(c.tenant)) {
    problems.add(file, 'tenant', `unknown tenant "${c.tenant}" (use a tenant id or "*" for a shared client)`);
  }
  if (shared) {
    if (!c.tenant_redirect_uris || Object.keys(c.tenant_redirect_uris).length === 0) {
      problems.add(file, 'tenant_redirect_uris', 'is required for a shared client (tenant "*"): tenant id -> redirect URIs');
    } else {
      const owner = new Map<string, string>();
      for (const [tenant, uris] of Object.entries(c.tenant_redirect_uris)) {
        if (!ctx.tenantIds.has(tenant)) problems.add(file, `tenant_redirect_uris.${tenant}`, `unknown tenant "${tenant}"`);
        uris.forEach((uri, i) => {
          const at = `tenant_redirect_uris.${tenant}[${i}]`;
          const issue = redirectUriProblem(uri, uriRules);
          if (issue) problems.add(file, at, issue);
          const other = owner.get(uri);
          if (other !== undefined && other !== tenant) {
            problems.add(file, at, `is also registered for tenant "${other}"; the redirect URI must pick one tenant`);
          }
          if (other === undefined) {
            owner.set(uri, tenant);
            redirectUris.push(uri);
          }
        });
      }
    }
    if (c.redirect_uris) {
      problems.add(file, 'redirect_uris', 'a shared client lists its redirect URIs per tenant in tenant_redirect_uris only');
    }
  } else {
    if (c.tenant_redirect_uris) {
      problems.add(file, 'tenant_redirect_uris', 'is only for shared clients (tenant "*"); use redirect_uris');
    }
    if (!c.redirect_uris) {
      problems.add(file, 'redirect_uris', 'is required');
    } else {
      c.redirect_uris.forEach((uri, i) => {
        const issue = redirectUriProblem(uri, uriRules);
        if (issue) problems.add(file, `redirect_uris[${i}]`, issue);
      });
      redirectUris = [...new Set(c.redirect_uris)];
    }
  }
  c.post_logout_redirect_uris?.forEach((uri, i) => {
    const issue = redirectUriProblem(uri, uriRules);
    if (issue) problems.add(file, `post_logout_redirect_uris[${i}]`, issue);
  });
  if (c.backchannel_logout_uri) {
    const issue = webUriProblem(c.backchannel_logout_uri, production);
    if (issue) problems.add(file, 'backchannel_logout_uri', issue);
  }
  if (c.backchannel_logout_session_required !== undefined && !c.backchannel_logout_uri) {
    problems.add(file, 'backchannel_logout_session_required', 'needs backchannel_logout_uri');
  }

  // Client authentication
  const method = c.token_endpoint_auth_method;
  if (method === 'client_secret_basic' || method === 'client_secret_post') {
    if (c.client_secret === undefined) {
      problems.add(file, 'client_secret', `is required with token_endpoint_auth_method ${method} (or give client_secretFile)`);
    } else if (production && c.client_secret.length < 32) {
      problems.add(file, 'client_secret', 'must be at least 32 characters in production');
    }
  } else if (c.client_secret !== undefined) {
    problems.add(
      file,
      'client_secret',
      method === 'none' ? 'a public client (token_endpoint_auth_method none) must not have a secret' : `is not used with ${method}; remove it`,
    );
  }
  if (method === 'private_key_jwt' && !c.jwks && !c.jwks_uri) {
    problems.add(file, 'jwks', 'private_key_jwt needs the client\'s public keys: give jwks or jwks_uri');
  }
  if (c.jwks && c.jwks_uri) problems.add(file, 'jwks_uri', 'give either jwks or jwks_uri, not both');
  if (c.jwks_uri) {
    const issue = webUriProblem(c.jwks_uri, production);
    if (issue) problems.add(file, 'jwks_uri', issue);
  }
  c.jwks?.keys.forEach((key, i) => {
    const issue = publicJwkProblem(key);
    if (issue) problems.add(file, `jwks.keys[${i}]`, issue);
  });
  if (!c.grant_types.includes('authorization_code')) {
    problems.add(
      file,
      'grant_types',
      isPublic ? 'a public client must use the authorization_code grant (with PKCE)' : 'must include authorization_code (response_types is code)',
    );
  }
  if (c.sector !== undefined && c.subject_type !== 'pairwise') {
    problems.add(file, 'sector', 'only applies to subject_type pairwise');
  }

  const client: ClientConfig = {
    client_id: clientId,
    tenant: c.tenant,
    redirect_uris: redirectUris,
    token_endpoint_auth_method: method,
    grant_types: [...new Set(c.grant_types)],
    response_types: [...new Set(c.response_types)],
    subject_type: c.subject_type,
    allowed_scopes: [...new Set(c.allowed_scopes)],
    eidas_accepted_identity_bindings: [...new Set(c.eidas_accepted_identity_bindings)],
    sso: c.sso,
    first_party: c.first_party,
    insecure_allow_private_network_requests: c.insecure_allow_private_network_requests,
    file,
  };
  const optional: Partial<ClientConfig> = {
    client_name: c.client_name,
    tenant_redirect_uris: c.tenant_redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    backchannel_logout_uri: c.backchannel_logout_uri,
    backchannel_logout_session_required: c.backchannel_logout_session_required,
    client_secret: c.client_secret,
    jwks: c.jwks,
    jwks_uri: c.jwks_uri,
    sector: c.sector,
    userinfo_signed_response_alg: c.userinfo_signed_response_alg,
    id_token_signed_response_alg: c.id_token_signed_response_alg,
    default_acr_values: c.default_acr_values,
    default_max_age: c.default_max_age,
  };
  return Object.assign(client, omitUndefined(optional));
}

/**
 * Redirect (and post-logout redirect) URIs: absolute, no fragment, http(s) with a host, or for public
 * (native) clients a reverse-domain private-use scheme (`se.kommun.app:/callback`, RFC 8252 section 7.1).
 * Production requires https for web URIs.
 */
function redirectUriProblem(uri: string, rules: { production: boolean; isPublic: boolean }): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (uri.includes('#')) return 'must not have a fragment';
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') {
    if (!url.hostname) return 'must have a host';
    if (url.username || url.password) return 'must not hold credentials';
    if (scheme === 'http' && rules.production) return 'must be https in production';
    return undefined;
  }
  if (!rules.isPublic) return `a confidential client must use http(s) redirect URIs, not "${scheme}:"`;
  if (!scheme.includes('.')) return `a private-use scheme must be a reverse domain name (e.g. "se.kommun.app:/callback"), not "${scheme}:"`;
  return undefined;
}

/** Back-channel endpoints the provider calls: absolute http(s), no fragment, https in production. */
function webUriProblem(uri: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.protocol === 'http:' && production) return 'must be https in production';
  return undefined;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function publicJwkProblem(key: Record<string, unknown>): string | undefined {
  if (typeof key['kty'] !== 'string') return 'is not a JWK (no kty)';
  const secret = PRIVATE_JWK_MEMBERS.filter((m) => m in key);
  if (secret.length > 0) return `holds private key material (${secret.join(', ')}); register the public key only`;
  try {
    createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return `is not a usable public key: ${(err as Error).message}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Utilities

/** `*.yaml` / `*.yml` files of a directory, sorted; dot files are skipped. Undefined when unreadable. */
async function listYamlFiles(dir: string, problems: Problems, optional = false): Promise<string[] | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (optional && errnoCode(err) === 'ENOENT') return [];
    problems.add(dir, '', errnoCode(err) === 'ENOENT' ? 'directory not found' : `cannot read: ${errnoText(err)}`);
    return undefined;
  }
  return names
    .filter((n) => !n.startsWith('.') && /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

function fileId(file: string): string {
  return path.basename(file).replace(/\.ya?ml$/, '');
}

function isPlainObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function errnoText(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (err as Error).message;
}

/** Freezes objects and arrays all the way down. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
