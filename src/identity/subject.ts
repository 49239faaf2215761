/**
 * Subject identifiers. `sub` is never a personal identity number: it is an HMAC of the normalised
 * subject key with a dedicated secret (never rotated; rotating it changes every user's `sub`).
 * Pairwise identifiers are an HMAC over the sector and the public subject.
 */
import { createHmac } from 'node:crypto';
import type { Identity } from '../contracts/identity.ts';

/** The key that identifies a person across e-IDs: the same personnummer gives the same key. */
export function subjectKey(identity: Pick<Identity, 'subjectType' | 'subject'>): string {
  switch (identity.subjectType) {
    case 'personnummer':
    case 'samordningsnummer':
      // Both are Swedish national identifiers from one number space; one person has one of them at a time.
      return `se:${identity.subject}`;
    case 'eidas':
      // prid is country-prefixed (`NO:...`) and unique per person across the eIDAS network.
      return `eidas:${identity.subject}`;
    case 'staff':
      // An employee id is unique within its municipality only; the tenant is part of `subject`.
      return `staff:${identity.subject}`;
  }
}

export function publicSubject(secret: string, key: string): string {
  return createHmac('sha256', secret).update(`public|${key}`).digest('base64url');
}

export function pairwiseSubject(secret: string, sector: string, publicSub: string): string {
  return createHmac('sha256', secret).update(`pairwise|${sector}|${publicSub}`).digest('base64url');
}
