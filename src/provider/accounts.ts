/**
 * Account data: what a sign-in established about a person, kept in the Store for as long as the
 * session or grant can live, so any process answers userinfo and refresh. Evidence (signatures, OCSP)
 * is stored apart with its own retention.
 */
import { randomUUID } from 'node:crypto';
import type { EidasAttributes, Identity, StaffAttributes } from '../contracts/identity.ts';
import type { JsonObject, Store } from '../contracts/store.ts';
import { pairwiseSubject, publicSubject, subjectKey } from '../identity/subject.ts';
import {
  CLAIM_AUTHN_PROVIDER,
  CLAIM_COORDINATION_NUMBER,
  CLAIM_EIDAS_COUNTRY,
  CLAIM_EIDAS_PERSON_IDENTIFIER,
  CLAIM_EIDAS_PRID,
  CLAIM_EIDAS_PRID_PERSISTENCE,
  CLAIM_PERSONAL_IDENTITY_NUMBER,
  CLAIM_STAFF,
} from './claims.ts';

export const ACCOUNT_NS = 'account';
export const EVIDENCE_NS = 'evidence';

export interface AccountRecord extends JsonObject {
  subjectType: Identity['subjectType'];
  subject: string;
  method: string;
  updatedAt: number;
}

export class Accounts {
  readonly #store: Store;
  readonly #secret: string;
  readonly #ttl: number;
  readonly #evidenceTtl: number;

  constructor(store: Store, subjectSecret: string, ttlSeconds: number, evidenceRetentionDays: number) {
    this.#store = store;
    this.#secret = subjectSecret;
    this.#ttl = ttlSeconds;
    this.#evidenceTtl = evidenceRetentionDays * 86_400;
  }

  accountIdFor(identity: Pick<Identity, 'subjectType' | 'subject'>): string {
    return publicSubject(this.#secret, subjectKey(identity));
  }

  pairwise(sector: string, accountId: string): string {
    return pairwiseSubject(this.#secret, sector, accountId);
  }

  /** Records a completed sign-in; returns the account id (the public `sub`). */
  async record(identity: Identity, context: { clientId: string; tenant: string | undefined }): Promise<string> {
    const accountId = this.accountIdFor(identity);
    const record: AccountRecord = { subjectType: identity.subjectType, subject: identity.subject, method: identity.method, updatedAt: Date.now() };
    for (const key of ['givenName', 'familyName', 'name', 'birthdate'] as const) {
      const v = identity[key];
      if (v) record[key] = v;
    }
    if (identity.eidas) record.eidas = { ...identity.eidas } as unknown as JsonObject;
    if (identity.staff) record.staff = { ...identity.staff } as unknown as JsonObject;
    await this.#store.put(ACCOUNT_NS, accountId, record, this.#ttl);
    if (identity.evidence && Object.keys(identity.evidence).length) {
      await this.#store.put(
        EVIDENCE_NS,
        randomUUID(),
        { accountId, method: identity.method, acr: identity.acr, authTime: identity.authTime, clientId: context.clientId, tenant: context.tenant ?? null, evidence: identity.evidence },
        this.#evidenceTtl,
      );
    }
    return accountId;
  }

  async find(accountId: string): Promise<AccountRecord | undefined> {
    return this.#store.get<AccountRecord>(ACCOUNT_NS, accountId);
  }

  /** The staff attributes of an account made by a municipality's staff IdP. */
  static staffOf(a: AccountRecord): StaffAttributes | undefined {
    return a.subjectType === 'staff' && a.staff && typeof a.staff === 'object' ? (a.staff as unknown as StaffAttributes) : undefined;
  }

  static eidasOf(a: AccountRecord): EidasAttributes | undefined {
    return a.subjectType === 'eidas' && a.eidas && typeof a.eidas === 'object' ? (a.eidas as unknown as EidasAttributes) : undefined;
  }

  /** The person's claims under their OIDC names (before destination and scope rules). */
  static personClaims(a: AccountRecord): Record<string, unknown> {
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const eidas = Accounts.eidasOf(a);
    const staff = Accounts.staffOf(a);
    return {
      ...(eidas
        ? {
            [CLAIM_EIDAS_PRID]: eidas.prid,
            [CLAIM_EIDAS_PRID_PERSISTENCE]: eidas.pridPersistence,
            [CLAIM_EIDAS_PERSON_IDENTIFIER]: eidas.personIdentifier,
            [CLAIM_EIDAS_COUNTRY]: eidas.country,
          }
        : {}),
      ...(staff
        ? {
            email: staff.mail,
            [CLAIM_STAFF]: { tenant: staff.tenant, employee_id: staff.employeeId, ...(staff.eduPersonPrincipalName ? { eduPersonPrincipalName: staff.eduPersonPrincipalName } : {}) },
          }
        : {}),
      given_name: str(a.givenName),
      family_name: str(a.familyName),
      name: str(a.name) ?? ([str(a.givenName), str(a.familyName)].filter(Boolean).join(' ') || undefined),
      birthdate: str(a.birthdate),
      [CLAIM_PERSONAL_IDENTITY_NUMBER]: a.subjectType === 'personnummer' ? a.subject : undefined,
      [CLAIM_COORDINATION_NUMBER]: a.subjectType === 'samordningsnummer' ? a.subject : undefined,
      [CLAIM_AUTHN_PROVIDER]: a.method,
    };
  }
}
