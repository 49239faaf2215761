import type { Localized } from './identity.ts';

/**
 * The closed set of hub error codes. Adapters translate library and remote errors into these once,
 * at their edge; everything above an adapter sees only a {@link HubError}.
 */
export const HUB_ERROR_CODES = [
  'EID_USER_CANCELLED',
  'EID_EXPIRED',
  'EID_START_FAILED',
  'EID_ALREADY_IN_PROGRESS',
  'EID_CERTIFICATE_INVALID',
  'EID_UNSUPPORTED',
  'EID_RISK_BLOCKED',
  'EID_UPSTREAM_UNAVAILABLE',
  'EID_UPSTREAM_RATE_LIMITED',
  'EID_RESPONSE_INVALID',
  'EID_FAILED',
  'TRANSACTION_NOT_FOUND',
  'TRANSACTION_MISMATCH',
  'TRANSACTION_LINK_INVALID',
  'TRANSACTION_REPLAYED',
  'TENANT_MISMATCH',
  'REGISTRY_UNAVAILABLE',
  'REGISTRY_REJECTED',
  'REGISTRY_RESPONSE_INVALID',
  'REGISTRY_PERSON_DEREGISTERED',
  'CONFIG_INVALID',
  'STORE_UNAVAILABLE',
  'RATE_LIMITED',
  'INTERNAL',
] as const;

export type HubErrorCode = (typeof HUB_ERROR_CODES)[number];

export interface HubErrorOptions {
  /** Internal detail for the operator's log. Never shown to users; must not hold personal numbers. */
  detail?: string;
  /** A user-facing message that overrides the code's default (e.g. an RFA text from the BankID adapter). */
  userMessage?: Localized;
  /** Milliseconds after which a retry makes sense (e.g. from a 429 or 503). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;
  readonly detail: string | undefined;
  readonly userMessage: Localized | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: HubErrorCode, options: HubErrorOptions = {}) {
    super(options.detail ? `${code}: ${options.detail}` : code, { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
    this.userMessage = options.userMessage;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isHubError(err: unknown): err is HubError {
  return err instanceof HubError;
}
