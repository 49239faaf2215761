/**
 * The registry's scopes and claims: the standard `address` claim, the municipality of registration and
 * guardianship (the person's minor children). Each sits behind its own scope that a client must be
 * allowed; the `claims` parameter can ask for them too, under the same rule.
 */

export const SCOPE_ADDRESS = 'address';
export const SCOPE_MUNICIPALITY = 'urn:idnav:scope:municipality';
export const SCOPE_GUARDIANSHIP = 'urn:idnav:scope:guardianship';

export const CLAIM_ADDRESS = 'address';
export const CLAIM_MUNICIPALITY = 'urn:idnav:claim:municipality';
export const CLAIM_CHILDREN = 'urn:idnav:claim:children';

export type RegistryClaim = typeof CLAIM_ADDRESS | typeof CLAIM_MUNICIPALITY | typeof CLAIM_CHILDREN;

/** Registry claim -> the scope a client must be allowed to receive it. */
export const REGISTRY_CLAIM_SCOPES: Readonly<Record<RegistryClaim, string>> = {
  [CLAIM_ADDRESS]: SCOPE_ADDRESS,
  [CLAIM_MUNICIPALITY]: SCOPE_MUNICIPALITY,
  [CLAIM_CHILDREN]: SCOPE_GUARDIANSHIP,
};

export const REGISTRY_CLAIMS = Object.keys(REGISTRY_CLAIM_SCOPES) as RegistryClaim[];

/** OIDC `address` claim (OpenID Connect Core 5.1.1). */
export interface AddressClaim {
  formatted: string;
  street_address?: string;
  postal_code?: string;
  locality?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface MunicipalityClaim {
  /** Four digits (SCB kommunkod). */
  code: string;
  name?: string;
  county_code: string;
  county?: string;
}

export interface ChildClaim {
  /** 12 digits; exactly one of the two numbers is present. */
  personal_identity_number?: string;
  coordination_number?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  birthdate?: string;
  municipality?: MunicipalityClaim;
}

export interface RegistryClaimValues {
  [CLAIM_ADDRESS]?: AddressClaim;
  [CLAIM_MUNICIPALITY]?: MunicipalityClaim;
  [CLAIM_CHILDREN]?: ChildClaim[];
}

export interface ClaimsParameter {
  id_token?: Record<string, unknown> | null;
  userinfo?: Record<string, unknown> | null;
}

/**
 * Which registry claims a request may receive for one destination: the client must be allowed the
 * claim's scope, and the request must ask for it (granted scope for UserInfo; the `claims` parameter
 * for either destination).
 */
export function registryClaimsWanted(
  use: 'id_token' | 'userinfo',
  grantedScopes: ReadonlySet<string>,
  claimsParameter: ClaimsParameter | undefined,
  allowedScopes: readonly string[],
): Set<RegistryClaim> {
  const out = new Set<RegistryClaim>();
  const named = claimsParameter?.[use] ?? {};
  const namedElsewhere = claimsParameter?.[use === 'id_token' ? 'userinfo' : 'id_token'] ?? {};
  for (const claim of REGISTRY_CLAIMS) {
    if (!allowedScopes.includes(REGISTRY_CLAIM_SCOPES[claim])) continue;
    if (claim in named) out.add(claim);
    else if (use === 'userinfo' && !(claim in namedElsewhere) && grantedScopes.has(REGISTRY_CLAIM_SCOPES[claim])) out.add(claim);
  }
  return out;
}

/** Registry claims the request asks for anywhere, and which of them it marks essential. */
export function registryClaimsRequested(
  requestedScopes: ReadonlySet<string>,
  claimsParameter: ClaimsParameter | undefined,
  allowedScopes: readonly string[],
): { wanted: Set<RegistryClaim>; essential: Set<RegistryClaim> } {
  const wanted = new Set<RegistryClaim>();
  const essential = new Set<RegistryClaim>();
  for (const claim of REGISTRY_CLAIMS) {
    if (!allowedScopes.includes(REGISTRY_CLAIM_SCOPES[claim])) continue;
    for (const use of ['id_token', 'userinfo'] as const) {
      const entry = claimsParameter?.[use]?.[claim];
      if (entry === undefined) continue;
      wanted.add(claim);
      if (entry !== null && typeof entry === 'object' && (entry as { essential?: unknown }).essential === true) essential.add(claim);
    }
    if (requestedScopes.has(REGISTRY_CLAIM_SCOPES[claim])) wanted.add(claim);
  }
  return { wanted, essential };
}
