/**
 * The audit log: a sink of its own (JSON lines), apart from the application log. Audit records may name
 * the person (that is what they are for); the application log never does.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import type { HubConfig } from '../config/types.ts';
import { currentRequestId } from './context.ts';

export interface AuditRecord {
  /** What happened, e.g. `registry.deregistered`. */
  event: string;
  tenant?: string | undefined;
  client?: string | undefined;
  [field: string]: unknown;
}

export interface Audit {
  record(record: AuditRecord): void;
  close(): Promise<void>;
}

export const NO_AUDIT: Audit = { record() {}, async close() {} };

/** An audit sink writing to a stream (tests capture records through it). */
export function auditTo(destination: pino.DestinationStream): Audit {
  const logger = pino({ base: { log: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'event' }, destination);
  return {
    record(record) {
      const { event, ...fields } = record;
      const requestId = currentRequestId();
      logger.info(requestId ? { requestId, ...fields } : fields, event);
    },
    async close() {
      const stream = destination as { flushSync?: () => void };
      try {
        stream.flushSync?.();
      } catch {
        // not yet open, or not flushable
      }
    },
  };
}

export function createAudit(config: HubConfig['audit']): Audit {
  switch (config.to) {
    case 'off':
      return NO_AUDIT;
    case 'stdout':
      return auditTo(pino.destination({ fd: 1, sync: false }));
    case 'stderr':
      return auditTo(pino.destination({ fd: 2, sync: false }));
    case 'file': {
      const file = config.file!;
      mkdirSync(dirname(file), { recursive: true });
      return auditTo(pino.destination({ dest: file, sync: false, mkdir: true }));
    }
  }
}
