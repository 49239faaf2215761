/**
 * Application logging with pino. Personal identity numbers, tokens, codes and secrets never reach the
 * application log: known keys are redacted by path, and every string is scrubbed for the shapes of
 * personal numbers and JWTs as a second line of defence.
 */
import pino, { type Logger } from 'pino';
import { currentRequestId } from './ops/context.ts';

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

function errorObject(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.name, message: scrubString(e.message), stack: scrubString(e.stack ?? '') };
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  return out;
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[truncated]';
  if (value instanceof Error) return errorObject(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

/**
 * Every argument of a log call is scrubbed before pino sees it: pino copies an error's message into
 * `msg` and formats printf arguments after the log formatter has run.
 */
function scrubArgs(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first instanceof Error) {
    const message = typeof rest[0] === 'string' ? rest.shift() : first.message;
    return [{ err: errorObject(first) }, scrubString(String(message)), ...rest.map((a) => scrub(a))];
  }
  if (first && typeof first === 'object') {
    const obj = scrub(first) as Record<string, unknown>;
    const err = (first as { err?: unknown }).err;
    if (err instanceof Error && typeof rest[0] !== 'string') rest.unshift(err.message);
    return [obj, ...rest.map((a) => scrub(a))];
  }
  return args.map((a) => scrub(a));
}

export interface LogOptions {
  level?: string;
  /** A destination stream (tests capture logs through it). */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'idnav' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        log: (obj) => scrub(obj) as Record<string, unknown>,
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          return method.apply(this, scrubArgs(args) as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => (e instanceof Error ? errorObject(e) : e) },
      // The request every line belongs to (the audit log carries the same id).
      mixin() {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
  // Child loggers skip the bindings formatter; scrub their bindings here (children inherit this).
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, scrub(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return logger;
}
