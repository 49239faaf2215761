/**
 * Levels of assurance. The Swedish frameworks name them with URIs (DIGG's certified levels and Sweden
 * Connect's uncertified ones); a sign-in at a higher level meets a request for a lower one, and a
 * certified level meets an uncertified requirement, never the other way round.
 */

const CERTIFIED = /^http:\/\/id\.elegnamnden\.se\/loa\/1\.0\/loa([1-4])$/;
const UNCERTIFIED = /^http:\/\/id\.swedenconnect\.se\/loa\/1\.0\/uncertified-loa([1-4])$/;

function levelOf(acr: string): { level: number; certified: boolean } | undefined {
  const c = CERTIFIED.exec(acr);
  if (c) return { level: Number(c[1]), certified: true };
  const u = UNCERTIFIED.exec(acr);
  if (u) return { level: Number(u[1]), certified: false };
  return undefined;
}

/** Whether a sign-in carrying `offered` meets a request for `required`. Unknown URIs meet only themselves. */
export function meets(offered: string, required: string): boolean {
  if (offered === required) return true;
  const o = levelOf(offered);
  const r = levelOf(required);
  if (!o || !r) return false;
  // A certified requirement is met only by a certified level.
  return (!r.certified || o.certified) && o.level >= r.level;
}

/** The values of `offered` that meet at least one of `required` (all of them when nothing is required). */
export function meetingAny(offered: readonly string[], required: readonly string[]): string[] {
  if (!required.length) return [...offered];
  return offered.filter((o) => required.some((r) => meets(o, r)));
}
