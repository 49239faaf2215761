/** Small HTTP helpers for the hub's own routes (the provider's routes are oidc-provider's Koa app). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';

export const MAX_FORM_BYTES = 64 * 1024;

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_FORM_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(`body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a urlencoded or JSON body into string fields; anything else yields no fields. */
export async function readFields(req: IncomingMessage): Promise<Record<string, string>> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const raw = await readBody(req);
  if (!raw) return {};
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
  if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      }
    } catch {
      // not JSON: no fields
    }
  }
  return {};
}

export function parseCookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const header = req.headers.cookie;
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (!(k in out)) {
      try {
        out[k] = decodeURIComponent(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

export interface CookieOptions {
  path?: string;
  maxAge?: number;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
}

export function appendCookie(res: ServerResponse, name: string, value: string, o: CookieOptions = {}): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path ?? '/'}`, `SameSite=${o.sameSite ?? 'Lax'}`];
  if (o.maxAge !== undefined) parts.push(`Max-Age=${o.maxAge}`);
  if (o.httpOnly !== false) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  const prev = res.getHeader('set-cookie');
  const list = Array.isArray(prev) ? prev : prev ? [String(prev)] : [];
  res.setHeader('set-cookie', [...list, parts.join('; ')]);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string, status = 303): void {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

/** Decides which peers' X-Forwarded-For may be believed. */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly enabled: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, bits] = entry.split('/');
      const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (bits !== undefined) this.#list.addSubnet(addr!, Number(bits), family);
      else this.#list.addAddress(addr!, family);
    }
    this.enabled = entries.length > 0;
  }

  trusts(address: string): boolean {
    if (!this.enabled || !address) return false;
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    return this.#list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: the socket peer, or, when the peer is a trusted proxy, the right-most address
   * in X-Forwarded-For that is not itself a trusted proxy.
   */
  clientIp(req: IncomingMessage): string {
    let addr = req.socket.remoteAddress ?? '';
    if (this.trusts(addr)) {
      const forwarded = String(req.headers['x-forwarded-for'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => isIP(s));
      while (forwarded.length) {
        const candidate = forwarded.pop()!;
        addr = candidate;
        if (!this.trusts(candidate)) break;
      }
    }
    return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  }
}
