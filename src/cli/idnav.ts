/**
 * The `idnav` command for operators.
 *
 *   idnav config check [--config DIR]          validate a config directory; every problem at once
 *   idnav keys generate --out FILE             write a new signing keys file (RS256 and ES256, active)
 *   idnav keys list --file FILE [--json]       the keys of a signing keys file, with status and dates
 *   idnav keys rotate --file FILE [--min-publish SECONDS] [--force]
 *                                              add next keys; on the next run make them active and
 *                                              retire the current ones
 *   idnav keys retire --file FILE [--config DIR | --older-than SECONDS]
 *                                              remove retired keys no valid token can need
 *   idnav certs [--config DIR] [--warn-days N] [--json]
 *                                              every certificate the config names, with its expiry;
 *                                              exit 1 when one expires within N days (default 30)
 *   idnav tenants [--config DIR] [--json]      the configured tenants
 *   idnav clients [--config DIR] [--json]      the configured relying parties
 *   idnav secret generate --out FILE           write a new random secret (the subject secret, a cookie key)
 *
 * DIR defaults to $IDNAV_CONFIG, else ./config. Exit codes: 0 success, 1 the command found problems
 * (or failed), 2 usage error. Each command is one entry of {@link COMMANDS}; commands load what they
 * need lazily, so `idnav --help` stays fast.
 */
import path from 'node:path';
import { parse, stringOption, UsageError, type CliIo } from './common.ts';

export type { CliIo } from './common.ts';

interface Command {
  /** Words after `idnav`, e.g. ['config', 'check']. */
  words: string[];
  usage: string;
  summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

const COMMANDS: Command[] = [
  {
    words: ['config', 'check'],
    usage: 'idnav config check [--config DIR]',
    summary: 'validate hub.yaml, tenants/*.yaml and clients/*.yaml (DIR defaults to $IDNAV_CONFIG or ./config)',
    run: configCheck,
  },
  {
    words: ['keys', 'generate'],
    usage: 'idnav keys generate --out FILE',
    summary: 'write a new signing keys file (one RS256 and one ES256 key, active); refuses to overwrite',
    run: async (args, io) => (await import('./keys.ts')).keysGenerate(args, io),
  },
  {
    words: ['keys', 'list'],
    usage: 'idnav keys list --file FILE [--json]',
    summary: 'list the keys of a signing keys file: kid, alg, status and when each was published, activated, retired',
    run: async (args, io) => (await import('./keys.ts')).keysList(args, io),
  },
  {
    words: ['keys', 'rotate'],
    usage: 'idnav keys rotate --file FILE [--min-publish SECONDS] [--force]',
    summary:
      'per algorithm: add a next key (published, not signing); run again after --min-publish (default 3600) ' +
      'to make it active and retire the old one; rewrites FILE atomically, the hub reads it on restart',
    run: async (args, io) => (await import('./keys.ts')).keysRotate(args, io),
  },
  {
    words: ['keys', 'retire'],
    usage: 'idnav keys retire --file FILE [--config DIR | --older-than SECONDS]',
    summary:
      'remove retired keys retired longer ago than the longest signed-token lifetime in the config plus 3600 s ' +
      '(or --older-than); rewrites FILE atomically',
    run: async (args, io) => (await import('./keys.ts')).keysRetire(args, io),
  },
  {
    words: ['certs'],
    usage: 'idnav certs [--config DIR] [--warn-days N] [--json]',
    summary:
      'list every certificate the config names (methods, registry, tenants) with its expiry; ' +
      'exit 1 when one expires within N days (default 30) or has expired',
    run: async (args, io) => (await import('./certs.ts')).certs(args, io),
  },
  {
    words: ['tenants'],
    usage: 'idnav tenants [--config DIR] [--json]',
    summary: 'list the tenants: id, kommunkod, name, methods, own registry credentials',
    run: async (args, io) => (await import('./inventory.ts')).tenants(args, io),
  },
  {
    words: ['clients'],
    usage: 'idnav clients [--config DIR] [--json]',
    summary: 'list the relying parties: client_id, tenant, auth method, redirect URIs, first party, allowed scopes',
    run: async (args, io) => (await import('./inventory.ts')).clients(args, io),
  },
  {
    words: ['secret', 'generate'],
    usage: 'idnav secret generate --out FILE',
    summary: 'write 32 random bytes (base64url) for secrets.subjectSecretFile or cookieKeysFile; refuses to overwrite',
    run: secretGenerate,
  },
];

async function secretGenerate(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { out: { type: 'string', short: 'o' } });
  const out = stringOption(values, 'out');
  if (!out) throw new UsageError('--out FILE is required');
  const [{ randomBytes }, { writeFile }] = await Promise.all([import('node:crypto'), import('node:fs/promises')]);
  const file = path.resolve(io.cwd, out);
  try {
    await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    io.err(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return 1;
  }
  io.out(`wrote ${file}`);
  return 0;
}

async function configCheck(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  const configDir = path.resolve(io.cwd, stringOption(values, 'config') ?? io.env['IDNAV_CONFIG'] ?? 'config');
  const [{ ConfigError, loadConfig }, { adapterModules, registryModules }] = await Promise.all([
    import('../config/load.ts'),
    import('../../adapters/index.ts'),
  ]);
  try {
    const config = await loadConfig({ configDir, env: io.env, adapterModules, registryModules });
    if (config.signingKeysFile) {
      const [{ readFile }, { parseSigningKeys }] = await Promise.all([import('node:fs/promises'), import('../provider/secrets.ts')]);
      try {
        parseSigningKeys(await readFile(config.signingKeysFile, 'utf8'), config.signingKeysFile);
      } catch (err) {
        io.err(`hub.yaml: signingKeysFile: ${(err as { detail?: string }).detail ?? (err as Error).message}`);
        io.err(`config check failed: 1 problem in ${configDir}`);
        return 1;
      }
    }
    io.out(
      `config OK: ${config.tenants.length} tenants, ${config.clients.length} clients, ${config.methods.length} methods (mode ${config.mode})`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.format().split('\n')) io.err(line);
    const n = err.problems.length;
    io.err(`config check failed: ${n} problem${n === 1 ? '' : 's'} in ${configDir}`);
    return 1;
  }
}

/** Words of `text` in lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

function usage(): string {
  return [
    'usage:',
    ...COMMANDS.flatMap((c) => [`  ${c.usage}`, ...wrap(c.summary, '      ')]),
    '',
    'DIR defaults to $IDNAV_CONFIG, else ./config.',
    'Exit codes: 0 success, 1 problems found (or a failure), 2 usage error.',
    '`idnav COMMAND --help` shows one command.',
  ].join('\n');
}

/** Runs one command line (without `node idnav.ts`); returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') {
    (argv.length === 0 ? io.err : io.out)(usage());
    return argv.length === 0 ? 2 : 0;
  }
  // The longest match: `keys rotate` before a bare `keys`, should one ever exist.
  const command = COMMANDS.filter((c) => c.words.every((w, i) => argv[i] === w)).sort((a, b) => b.words.length - a.words.length)[0];
  if (!command) {
    io.err(`idnav: unknown command: ${argv.join(' ')}`);
    io.err(usage());
    return 2;
  }
  const rest = argv.slice(command.words.length);
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out([`usage: ${command.usage}`, ...wrap(command.summary, '  ')].join('\n'));
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`idnav: ${err.message}`);
      io.err(`usage: ${command.usage}`);
      return 2;
    }
    io.err(`idnav: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
  });
}
