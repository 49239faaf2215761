/**
 * `idnav keys ...`: the signing keys file (`signingKeysFile`), a private JWKS whose keys carry a
 * `status` (see src/provider/secrets.ts).
 *
 * Rotation is a two-step state machine per algorithm, driven by `keys rotate`:
 *
 *   no next key  ->  a new key is added as `next`: published at /jwks, not signing
 *   next key old enough  ->  next becomes `active` (signs), the old active key becomes `retired`
 *                            (still published, so tokens it signed keep verifying)
 *
 * and `keys retire` removes retired keys once no token they signed can still be valid. Each key records
 * when these steps happened, as epoch seconds: `published_at` (added as next), `activated_at` and
 * `retired_at`. The hub ignores these members; it reads the file at startup only, so every change takes
 * effect when the hub restarts.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SigningKey } from '../provider/secrets.ts';
import {
  configDirOf,
  dateTime,
  duration,
  integerOption,
  nowSeconds,
  parse,
  stringOption,
  table,
  UsageError,
  type CliIo,
} from './common.ts';

/** `Cache-Control: max-age` of /jwks (src/hub.ts): how long a relying party may keep an old JWKS. */
export const JWKS_MAX_AGE = 600;
/** Default wait between adding a next key and making it active: longer than the discovery and JWKS cache times. */
export const DEFAULT_MIN_PUBLISH = 3600;
/** Added to the longest signed-token lifetime before a retired key is removed: restart delays, clock skew. */
export const RETIRE_MARGIN = 3600;
/** oidc-provider's fixed lifetime of a back-channel logout token, seconds. */
const LOGOUT_TOKEN_TTL = 120;

const STATUS_ORDER = ['next', 'active', 'retired'];

interface KeysFile {
  /** Absolute path (symbolic links resolved: the file itself is rewritten). */
  file: string;
  text: string;
  /** The whole document; members beside `keys` are kept. */
  doc: Record<string, unknown>;
  keys: SigningKey[];
}

// ---------------------------------------------------------------------------------------------
// keys generate

export async function keysGenerate(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { out: { type: 'string', short: 'o' } });
  const out = stringOption(values, 'out');
  if (!out) throw new UsageError('--out FILE is required');
  const { generateSigningKey } = await import('../provider/secrets.ts');
  const keys = [generateSigningKey('RS256', 'active'), generateSigningKey('ES256', 'active')];
  const { writeFile } = await import('node:fs/promises');
  const file = path.resolve(io.cwd, out);
  try {
    await writeFile(file, `${JSON.stringify({ keys }, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    io.err(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return 1;
  }
  io.out(`wrote ${file}`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// keys list

export async function keysList(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { file: { type: 'string', short: 'f' }, json: { type: 'boolean' } });
  const given = requireFile(values);
  const keysFile = await readKeysFile(path.resolve(io.cwd, given), io);
  if (!keysFile) return 1;
  if (values['json']) {
    io.out(JSON.stringify(sortKeys(keysFile.keys).map(publicSummary), null, 2));
    return 0;
  }
  for (const line of keyTable(keysFile.keys)) io.out(line);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// keys rotate

export async function keysRotate(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    file: { type: 'string', short: 'f' },
    'min-publish': { type: 'string' },
    force: { type: 'boolean' },
  });
  const given = requireFile(values);
  const minPublish = integerOption(values, 'min-publish', DEFAULT_MIN_PUBLISH);
  const force = values['force'] === true;
  const keysFile = await readKeysFile(path.resolve(io.cwd, given), io);
  if (!keysFile) return 1;
  if (minPublish < JWKS_MAX_AGE) {
    io.err(`warning: --min-publish ${minPublish} is shorter than the JWKS cache time (${JWKS_MAX_AGE} s): relying parties may not have the next key yet`);
  }

  const now = nowSeconds();
  const { keys } = keysFile;
  const refusals: string[] = [];
  const toAdd: string[] = [];
  const toPromote: SigningKey[] = [];
  for (const alg of algorithms(keys)) {
    const next = keys.filter((k) => k.alg === alg && k.status === 'next');
    if (next.length > 1) {
      refusals.push(`${alg}: ${next.length} next keys (${next.map((k) => k.kid).join(', ')}); keep one and run again`);
      continue;
    }
    const candidate = next[0];
    if (!candidate) {
      toAdd.push(alg);
      continue;
    }
    const published = epoch(candidate['published_at']);
    if (force) {
      toPromote.push(candidate);
    } else if (published === undefined) {
      refusals.push(
        `${alg}: next key ${candidate.kid} has no published_at, so how long relying parties have had it is unknown; ` +
          `once it has been published at /jwks for at least ${minPublish} s, run again with --force`,
      );
    } else if (now - published < minPublish) {
      refusals.push(
        `${alg}: next key ${candidate.kid} was added ${dateTime(published)} (${duration(now - published)} ago); ` +
          `it can become active from ${dateTime(published + minPublish)} (in ${duration(published + minPublish - now)}), or now with --force`,
      );
    } else {
      toPromote.push(candidate);
    }
  }
  if (refusals.length > 0) {
    for (const line of refusals) io.err(line);
    io.err(`keys file unchanged: ${keysFile.file}`);
    return 1;
  }

  const { generateSigningKey } = await import('../provider/secrets.ts');
  const messages: string[] = [];
  const updated = keys.map((k) => ({ ...k }) as SigningKey);
  for (const next of toPromote) {
    const old = updated.filter((k) => k.alg === next.alg && k.status === 'active');
    for (const k of old) {
      k.status = 'retired';
      k['retired_at'] = now;
    }
    const promoted = updated.find((k) => k.kid === next.kid)!;
    promoted.status = 'active';
    promoted['activated_at'] = now;
    messages.push(
      `${next.alg}: ${promoted.kid} next -> active (signs once the hub restarts); ` +
        `${old.map((k) => k.kid).join(', ')} active -> retired (still published, so tokens it signed verify)`,
    );
  }
  for (const alg of toAdd) {
    const key = newKey(alg, generateSigningKey);
    key['published_at'] = now;
    updated.push(key);
    messages.push(`${alg}: added ${key.kid} as next (published at /jwks once the hub restarts; does not sign yet)`);
  }

  const written = await writeKeysFile(keysFile, updated, io);
  if (!written) return 1;
  for (const line of messages) io.out(line);
  io.out(`wrote ${keysFile.file}`);
  io.out('');
  for (const line of keyTable(updated)) io.out(line);
  io.out('');
  io.out('Next:');
  let step = 1;
  const say = (text: string) => io.out(`  ${step++}. ${text}`);
  say(`Restart every hub instance now: the hub reads ${path.basename(keysFile.file)} at startup only.`);
  if (toAdd.length > 0) {
    say(`Relying parties see the new next keys once their cached JWKS expires (/jwks is served with max-age=${JWKS_MAX_AGE}, ${duration(JWKS_MAX_AGE)}).`);
    say(
      `From ${dateTime(now + minPublish)} (in ${duration(minPublish)}) run \`idnav keys rotate --file ${given}\` again: ` +
        'it makes the next keys active and retires the current ones.',
    );
  }
  if (toPromote.length > 0) {
    say(
      `Once no token signed by a retired key can still be valid, remove the retired keys with ` +
        `\`idnav keys retire --file ${given}\` (it keeps them for the longest signed-token lifetime plus ${duration(RETIRE_MARGIN)}).`,
    );
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// keys retire

export async function keysRetire(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    file: { type: 'string', short: 'f' },
    config: { type: 'string', short: 'c' },
    'older-than': { type: 'string' },
  });
  const given = requireFile(values);
  const olderThan = integerOption(values, 'older-than');
  const keysFile = await readKeysFile(path.resolve(io.cwd, given), io);
  if (!keysFile) return 1;

  let window: number;
  if (olderThan !== undefined) {
    window = olderThan;
    io.out(`retired keys are kept ${window} s after retired_at (--older-than)`);
  } else {
    const configDir = configDirOf(values, io);
    const tokens = await readTokenLifetimes(configDir, io);
    if (!tokens) {
      io.err('give --older-than SECONDS to retire keys without the configuration');
      return 1;
    }
    const { idTokenTtl, accessTokenTtl } = tokens;
    // A signed UserInfo answer expires with the access token it answered; a logout token after 120 s.
    const longest = Math.max(idTokenTtl, accessTokenTtl, LOGOUT_TOKEN_TTL);
    window = longest + RETIRE_MARGIN;
    io.out(
      `retired keys are kept ${window} s after retired_at: the longest signed-token lifetime in ${path.join(configDir, 'hub.yaml')}, ` +
        `${longest} s (ID tokens ${idTokenTtl}, signed UserInfo ${accessTokenTtl} (accessTokenTtl), logout tokens ${LOGOUT_TOKEN_TTL}), ` +
        `plus a margin of ${RETIRE_MARGIN} s`,
    );
  }

  const now = nowSeconds();
  const removed: SigningKey[] = [];
  const kept: SigningKey[] = [];
  const messages: string[] = [];
  for (const key of keysFile.keys) {
    if (key.status !== 'retired') {
      kept.push(key);
      continue;
    }
    const retiredAt = epoch(key['retired_at']);
    if (retiredAt === undefined) {
      kept.push(key);
      messages.push(`kept ${key.kid} (${key.alg}): it has no retired_at, so its age is unknown; remove it from the file by hand when no token it signed can be valid`);
    } else if (now - retiredAt >= window) {
      removed.push(key);
      messages.push(`removed ${key.kid} (${key.alg}, retired ${dateTime(retiredAt)}, ${duration(now - retiredAt)} ago)`);
    } else {
      kept.push(key);
      messages.push(
        `kept ${key.kid} (${key.alg}, retired ${dateTime(retiredAt)}): can be removed from ${dateTime(retiredAt + window)} (in ${duration(retiredAt + window - now)})`,
      );
    }
  }
  if (messages.length === 0) messages.push('no retired keys');

  if (removed.length === 0) {
    for (const line of messages) io.out(line);
    io.out(`nothing removed; ${keysFile.file} unchanged`);
    return 0;
  }
  if (!(await writeKeysFile(keysFile, kept, io))) return 1;
  for (const line of messages) io.out(line);
  io.out(`wrote ${keysFile.file}`);
  io.out('');
  for (const line of keyTable(kept)) io.out(line);
  io.out('');
  io.out('Next:');
  io.out(`  1. Restart every hub instance: /jwks stops publishing the removed key${removed.length === 1 ? '' : 's'} after the restart.`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * `tokens` of `<configDir>/hub.yaml`, with the hub's defaults and checks. Only this block is read (and
 * only its `${VAR}` references expanded), so the environment of the whole configuration is not needed.
 */
async function readTokenLifetimes(configDir: string, io: CliIo): Promise<{ idTokenTtl: number; accessTokenTtl: number } | undefined> {
  const [{ readFile }, { default: YAML }, { expandString }, { tokensSchema }] = await Promise.all([
    import('node:fs/promises'),
    import('yaml'),
    import('../config/load.ts'),
    import('../config/schema.ts'),
  ]);
  const hubFile = path.join(configDir, 'hub.yaml');
  let raw: unknown;
  try {
    raw = YAML.parse(await readFile(hubFile, 'utf8'));
  } catch (err) {
    io.err(`cannot read ${hubFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
  const block = raw !== null && typeof raw === 'object' ? ((raw as Record<string, unknown>)['tokens'] ?? {}) : {};
  const problems: string[] = [];
  const expand = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const result = expandString(value, io.env);
      problems.push(...result.errors);
      return result.value;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]));
    }
    return value;
  };
  const parsed = tokensSchema.safeParse(expand(block));
  if (problems.length > 0 || !parsed.success) {
    for (const p of problems) io.err(`hub.yaml: tokens: ${p}`);
    for (const issue of parsed.error?.issues ?? []) io.err(`hub.yaml: tokens.${issue.path.join('.')}: ${issue.message}`);
    return undefined;
  }
  return parsed.data;
}

function requireFile(values: Record<string, string | boolean | undefined>): string {
  const file = stringOption(values, 'file');
  if (!file) throw new UsageError('--file FILE is required (the signing keys file, signingKeysFile in hub.yaml)');
  return file;
}

async function readKeysFile(given: string, io: CliIo): Promise<KeysFile | undefined> {
  const [{ readFile, realpath }, { parseSigningKeys }] = await Promise.all([import('node:fs/promises'), import('../provider/secrets.ts')]);
  let file: string;
  let text: string;
  try {
    file = await realpath(given);
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    io.err(`cannot read ${given}: ${code}${code === 'ENOENT' ? ' (create it with idnav keys generate --out FILE)' : ''}`);
    return undefined;
  }
  let keys: SigningKey[];
  try {
    keys = parseSigningKeys(text, file);
  } catch (err) {
    io.err((err as { detail?: string }).detail ?? (err as Error).message);
    return undefined;
  }
  return { file, text, doc: JSON.parse(text) as Record<string, unknown>, keys };
}

/**
 * Checks the new key list as the hub will (`parseSigningKeys`) and replaces the file atomically: a
 * temporary file in the same directory (mode 0600, and the old file's owner when run as root), flushed
 * to disk, renamed over the old one. Refuses when the file changed since it was read.
 */
async function writeKeysFile(keysFile: KeysFile, keys: SigningKey[], io: CliIo): Promise<boolean> {
  const { parseSigningKeys } = await import('../provider/secrets.ts');
  const text = `${JSON.stringify({ ...keysFile.doc, keys }, null, 2)}\n`;
  parseSigningKeys(text, keysFile.file); // a bug here must never reach the hub
  try {
    await writeAtomic(keysFile.file, text, keysFile.text);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    io.err(`cannot write ${keysFile.file}: ${e.code ?? e.message}; the file is unchanged`);
    return false;
  }
}

export async function writeAtomic(file: string, content: string, expected: string): Promise<void> {
  const { open, readFile, rename, stat, unlink } = await import('node:fs/promises');
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const before = await stat(file);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(0o600);
      if (process.getuid?.() === 0) await handle.chown(before.uid, before.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if ((await readFile(file, 'utf8')) !== expected) {
      throw new Error('changed by someone else while this command ran; run it again');
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename itself is durable only once the directory is flushed.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems do not flush directories; the rename has happened all the same.
  }
}

function newKey(alg: string, generate: typeof import('../provider/secrets.ts').generateSigningKey): SigningKey {
  if (alg === 'ES256') return generate('ES256', 'next');
  const key = generate('RS256', 'next');
  if (alg === 'PS256') {
    key.alg = 'PS256';
    key.kid = key.kid.replace(/^rs256-/, 'ps256-');
  }
  return key;
}

/** The algorithms of the file, in order of first appearance. */
function algorithms(keys: SigningKey[]): string[] {
  return [...new Set(keys.map((k) => k.alg))];
}

function epoch(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function sortKeys(keys: SigningKey[]): SigningKey[] {
  const algs = algorithms(keys);
  return [...keys].sort((a, b) => algs.indexOf(a.alg) - algs.indexOf(b.alg) || STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status));
}

/** What `keys list --json` shows of a key: never a private member. */
function publicSummary(key: SigningKey): Record<string, unknown> {
  return {
    kid: key.kid,
    alg: key.alg,
    kty: key.kty,
    status: key.status,
    published_at: epoch(key['published_at']) ?? null,
    activated_at: epoch(key['activated_at']) ?? null,
    retired_at: epoch(key['retired_at']) ?? null,
  };
}

function keyTable(keys: SigningKey[]): string[] {
  return table(
    ['KID', 'ALG', 'STATUS', 'PUBLISHED', 'ACTIVATED', 'RETIRED'],
    sortKeys(keys).map((k) => [
      k.kid,
      k.alg,
      k.status,
      dateTime(epoch(k['published_at'])),
      dateTime(epoch(k['activated_at'])),
      dateTime(epoch(k['retired_at'])),
    ]),
  );
}
