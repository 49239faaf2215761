/**
 * The `idnav` command for operators.
 *
 *   idnav config check [--config DIR]   validate a config directory; every problem at once
 *   idnav keys generate --out FILE      write a new signing keys file (RS256 and ES256, active)
 *   idnav secret generate --out FILE    write a new random secret (the subject secret, a cookie key)
 *
 * Exit codes: 0 success, 1 the command found problems (or failed), 2 usage error.
 * Each command is one entry of {@link COMMANDS}; adding one (keys, certs, tenants, clients) is adding
 * an entry. Commands load what they need lazily, so `idnav --help` stays fast.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

interface Command {
  /** Words after `idnav`, e.g. ['config', 'check']. */
  words: string[];
  usage: string;
  summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
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
    run: keysGenerate,
  },
  {
    words: ['secret', 'generate'],
    usage: 'idnav secret generate --out FILE',
    summary: 'write 32 random bytes (base64url) for secrets.subjectSecretFile or cookieKeysFile; refuses to overwrite',
    run: secretGenerate,
  },
];

async function writeNew(file: string, content: string, io: CliIo): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  try {
    await writeFile(file, content, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    io.err(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return 1;
  }
  io.out(`wrote ${file}`);
  return 0;
}

async function keysGenerate(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { out: { type: 'string', short: 'o' } });
  if (!values.out) throw new UsageError('--out FILE is required');
  const { generateSigningKey } = await import('../provider/secrets.ts');
  const keys = [generateSigningKey('RS256', 'active'), generateSigningKey('ES256', 'active')];
  return writeNew(path.resolve(io.cwd, values.out), `${JSON.stringify({ keys }, null, 2)}\n`, io);
}

async function secretGenerate(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { out: { type: 'string', short: 'o' } });
  if (!values.out) throw new UsageError('--out FILE is required');
  const { randomBytes } = await import('node:crypto');
  return writeNew(path.resolve(io.cwd, values.out), `${randomBytes(32).toString('base64url')}\n`, io);
}

async function configCheck(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  const configDir = path.resolve(io.cwd, values.config ?? io.env['IDNAV_CONFIG'] ?? 'config');
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

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(args: string[], options: OptionSpec): { values: Record<string, string | undefined> } {
  try {
    const { values } = parseArgs({ args, options, allowPositionals: false, strict: true });
    return { values: values as Record<string, string | undefined> };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return ['usage:', ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

/** Runs one command line (without `node idnav.ts`); returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') {
    (argv.length === 0 ? io.err : io.out)(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
  if (!command) {
    io.err(`idnav: unknown command: ${argv.join(' ')}`);
    io.err(usage());
    return 2;
  }
  const rest = argv.slice(command.words.length);
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out(`usage: ${command.usage}\n  ${command.summary}`);
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
