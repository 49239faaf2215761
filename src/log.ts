/**
 * Application logging with pino. Personal identity numbers, tokens, codes and secrets never reach the
 * application log: known keys are redacted by path, and every string is scrubbed for the shapes of
 * personal numbers and JWTs as a second line of defence.
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACT_KEYS = [
  'personalNumber', 'personnummer', 'subject', 'ssn', 'password', 'passphrase', 'secret', 'client_secret',
  'code_verifier', 'access_token', 'refresh_token', 'id_token', 'token', 'authorization', 'cookie',
  'set-cookie', 'qrStartSecret', 'qr', 'autoStartToken', 'signature', 'ocspResponse', 'handle',
];

const REDACT_PATHS = [
  ...REDACT_KEYS.map((k) => `*.${k}`),
  ...REDACT_KEYS,
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

// 10 or 12 digit personal numbers, with or without separator; JWT-like strings.
const PNR_RE = /\b(?:18|19|20)?\d{6}[-+]?\d{4}\b/g;
const JWT_RE = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;

export function scrubString(value: string): string {
  return value.replace(PNR_RE, '[pnr]').replace(JWT_RE, '[jwt]');
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrubString(value.message) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export interface LogOptions {
  level?: string;
  /** A destination stream (tests capture logs through it). */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'idnav' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => scrub(pino.stdSerializers.err(e as Error)) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
