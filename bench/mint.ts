/**
 * What the token benchmark hands to the load generator: authorization codes minted in the server
 * process the way the authorization endpoint mints them (a saved Grant, then an AuthorizationCode for
 * it), for accounts stored in the hub's account record format.
 */
import type Provider from 'oidc-provider';
import { BANKID_METHOD_URI } from '../adapters/bankid/index.ts';
import type { Store } from '../src/contracts/store.ts';
import { ACCOUNT_NS, type AccountRecord } from '../src/provider/accounts.ts';
import { personalNumber } from './lib.ts';

export interface MintRequest {
  n: number;
  clientId: string;
  redirectUri: string;
  scope: string;
  codeChallenge: string;
  /** How many distinct accounts the codes rotate through. */
  accounts: number;
  accountTtlSeconds: number;
}

const ACR = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';

/** Stores `count` account records as Accounts.record() would (without evidence); returns their ids. */
export async function ensureAccounts(store: Store, count: number, ttlSeconds: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-account-${i}`;
    const pnr = personalNumber(i);
    const record: AccountRecord = {
      subjectType: 'personnummer',
      subject: pnr,
      method: BANKID_METHOD_URI,
      updatedAt: Date.now(),
      givenName: 'Test',
      familyName: `Person ${i}`,
      name: `Test Person ${i}`,
      birthdate: `${pnr.slice(0, 4)}-${pnr.slice(4, 6)}-${pnr.slice(6, 8)}`,
    };
    await store.put(ACCOUNT_NS, id, record, ttlSeconds);
    ids.push(id);
  }
  return ids;
}

export async function mintCodes(provider: Provider, store: Store, req: MintRequest): Promise<string[]> {
  const accountIds = await ensureAccounts(store, req.accounts, req.accountTtlSeconds);
  const client = await provider.Client.find(req.clientId);
  if (!client) throw new Error(`no client ${req.clientId}`);
  const codes: string[] = [];
  const authTime = Math.floor(Date.now() / 1000);
  for (let i = 0; i < req.n; i++) {
    const accountId = accountIds[i % accountIds.length]!;
    const grant = new provider.Grant({ accountId, clientId: req.clientId });
    grant.addOIDCScope(req.scope);
    const grantId = await grant.save();
    const code = new provider.AuthorizationCode({
      client,
      accountId,
      grantId,
      gty: 'authorization_code',
      scope: req.scope,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      codeChallengeMethod: 'S256',
      acr: ACR,
      amr: ['mfa', 'swk'],
      authTime,
      nonce: `n-${i}`,
    });
    codes.push(await code.save());
  }
  return codes;
}
