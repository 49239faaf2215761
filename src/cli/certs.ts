/**
 * `idnav certs`: every certificate the hub uses or trusts, with its expiry. Which files hold them is
 * decided in `src/ops/certificates.ts` (shared with `/readyz` and `/metrics`).
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { certificateSources, readCertificates, type CertSource } from '../ops/certificates.ts';
import { configDirOf, integerOption, loadHubConfig, parse, table, type CliIo } from './common.ts';

export const DEFAULT_WARN_DAYS = 30;

const DAY_MS = 86_400_000;

export interface CertificateReport {
  configFile: string;
  at: string;
  file: string;
  /** Position in the file (1-based) and how many certificates it holds. */
  index: number;
  count: number;
  subject: { CN?: string; O?: string };
  issuer: { CN?: string; O?: string };
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter, truncated; negative once expired. */
  daysLeft: number;
  status: 'ok' | 'expiring' | 'expired' | 'not yet valid';
}

interface Problem {
  configFile: string;
  at: string;
  message: string;
}

export async function certs(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string', short: 'c' },
    'warn-days': { type: 'string' },
    json: { type: 'boolean' },
  });
  const warnDays = integerOption(values, 'warn-days', DEFAULT_WARN_DAYS);
  const configDir = configDirOf(values, io);
  const config = await loadHubConfig(configDir, io);
  if (!config) return 1;

  const now = Date.now();
  const reports: CertificateReport[] = [];
  const problems: Problem[] = [];
  for (const source of certificateSources(config)) {
    const found = await readCertificates(source);
    if ('problem' in found) {
      if (found.problem) problems.push({ configFile: source.configFile, at: source.at, message: found.problem });
      continue;
    }
    found.certificates.forEach((cert, i) => reports.push(report(source, cert, i, found.certificates.length, now, warnDays)));
  }

  const due = reports.filter((r) => r.status === 'expiring' || r.status === 'expired');
  if (values['json']) {
    io.out(JSON.stringify({ warnDays, certificates: reports, problems }, null, 2));
  } else {
    const rows = reports.map((r) => [
      `${r.configFile}: ${r.at}`,
      shortFile(r.file, configDir) + (r.count > 1 ? ` #${r.index}` : ''),
      dn(r.subject),
      dn(r.issuer.CN !== undefined ? { CN: r.issuer.CN } : { O: r.issuer.O }),
      r.notAfter.slice(0, 10),
      String(r.daysLeft),
      r.status,
    ]);
    for (const line of table(['USED AT', 'FILE', 'SUBJECT', 'ISSUER', 'NOT AFTER', 'DAYS', 'STATUS'], rows)) io.out(line);
    const files = new Set(reports.map((r) => r.file)).size;
    io.out('');
    io.out(
      `${reports.length} certificate${reports.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; ` +
        (due.length === 0 ? `none expires within ${warnDays} days` : `${due.length} expire${due.length === 1 ? 's' : ''} within ${warnDays} days`),
    );
  }
  for (const r of due) {
    const when = r.status === 'expired' ? `expired ${r.notAfter} (${ago(-r.daysLeft)})` : `expires ${r.notAfter} (${inDays(r.daysLeft)})`;
    io.err(`${r.configFile}: ${r.at}: certificate ${dn(r.subject)} in ${r.file}${r.count > 1 ? ` #${r.index}` : ''} ${when}`);
  }
  for (const p of problems) io.err(`${p.configFile}: ${p.at}: ${p.message}`);
  return due.length > 0 || problems.length > 0 ? 1 : 0;
}

function report(source: CertSource, cert: X509Certificate, i: number, count: number, now: number, warnDays: number): CertificateReport {
  const notAfter = cert.validToDate.getTime();
  const notBefore = cert.validFromDate.getTime();
  const left = notAfter - now;
  const status: CertificateReport['status'] =
    left <= 0 ? 'expired' : left < warnDays * DAY_MS ? 'expiring' : notBefore > now ? 'not yet valid' : 'ok';
  return {
    configFile: source.configFile,
    at: source.at,
    file: source.file,
    index: i + 1,
    count,
    subject: names(cert.subject),
    issuer: names(cert.issuer),
    serialNumber: cert.serialNumber,
    notBefore: new Date(notBefore).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    daysLeft: Math.trunc(left / DAY_MS),
    status,
  };
}

/** CN and O of a distinguished name as Node prints it (`CN=...\nO=...`, one attribute per line). */
function names(dnText: string): { CN?: string; O?: string } {
  const out: { CN?: string; O?: string } = {};
  for (const line of dnText.split('\n')) {
    const eq = line.indexOf('=');
    const name = line.slice(0, eq);
    if ((name === 'CN' || name === 'O') && out[name] === undefined) out[name] = line.slice(eq + 1);
  }
  return out;
}

function dn(parts: { CN?: string | undefined; O?: string | undefined }): string {
  return [parts.CN !== undefined ? `CN=${parts.CN}` : '', parts.O !== undefined ? `O=${parts.O}` : ''].filter(Boolean).join(', ') || '-';
}

function ago(days: number): string {
  return days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'} ago`;
}

function inDays(days: number): string {
  return days === 0 ? 'within a day' : `in ${days} day${days === 1 ? '' : 's'}`;
}

function shortFile(file: string, configDir: string): string {
  const rel = path.relative(configDir, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
