/**
 * The request a piece of work belongs to: one id per HTTP request, carried through async calls, so the
 * application log and the audit log can be joined on it (`requestId`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** A request id: the proxy's `X-Request-Id` when it is a plain token, else a new one. */
export function newRequestId(fromProxy: string | undefined): string {
  return fromProxy && /^[A-Za-z0-9._-]{8,128}$/.test(fromProxy) ? fromProxy : randomUUID();
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
