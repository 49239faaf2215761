/**
 * What the `idnav` commands share: the I/O they write to, option parsing, usage errors, aligned tables,
 * dates, and loading the hub configuration. Kept free of heavy imports: `idnav --help` loads this file.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { HubConfig } from '../config/types.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A wrong command line: `main` prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parse(args: string[], options: OptionSpec): { values: Record<string, string | boolean | undefined> } {
  try {
    const { values } = parseArgs({ args, options, allowPositionals: false, strict: true });
    return { values: values as Record<string, string | boolean | undefined> };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The value of a string option (undefined when absent). */
export function stringOption(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A non-negative integer option (seconds, days); `fallback` when absent. */
export function integerOption(values: Record<string, string | boolean | undefined>, name: string, fallback: number): number;
export function integerOption(values: Record<string, string | boolean | undefined>, name: string): number | undefined;
export function integerOption(values: Record<string, string | boolean | undefined>, name: string, fallback?: number): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} must be a whole number ≥ 0, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** The config directory: `--config DIR`, else `$IDNAV_CONFIG`, else `./config`; relative to the working directory. */
export function configDirOf(values: Record<string, string | boolean | undefined>, io: CliIo): string {
  return path.resolve(io.cwd, stringOption(values, 'config') ?? io.env['IDNAV_CONFIG'] ?? 'config');
}

/**
 * Loads the configuration as the hub does, with every adapter's validation. On a configuration problem
 * prints the problems (as `idnav config check` does) and returns undefined: the caller exits 1.
 */
export async function loadHubConfig(configDir: string, io: CliIo): Promise<HubConfig | undefined> {
  const [{ ConfigError, loadConfig }, { adapterModules, registryModules }] = await Promise.all([
    import('../config/load.ts'),
    import('../../adapters/index.ts'),
  ]);
  try {
    return await loadConfig({ configDir, env: io.env, adapterModules, registryModules });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.format().split('\n')) io.err(line);
    const n = err.problems.length;
    io.err(`invalid configuration: ${n} problem${n === 1 ? '' : 's'} in ${configDir} (see idnav config check)`);
    return undefined;
  }
}

/**
 * Lines of an aligned table: a header row and one row per entry, columns separated by two spaces, the
 * last column not padded.
 */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `2025-06-01 14:03:07Z` for epoch seconds; `-` when absent. */
export function dateTime(epochSeconds: number | undefined): string {
  if (epochSeconds === undefined) return '-';
  return new Date(epochSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** `2 h 5 min`, `3 days 4 h`, `45 s`: a rough, readable duration. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) {
    const min = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${min ? ` ${min} min` : ''}`;
  }
  const days = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return `${days} day${days === 1 ? '' : 's'}${h ? ` ${h} h` : ''}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
