/**
 * Dev-only reverse proxy: the hub serves a simulator's pages (the simulated BankID app) under its own
 * origin, so a tester needs one URL. Never enabled in production (config refuses `dev.forward` there).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { readBody } from './util.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'cookie', 'authorization']);

export async function forward(req: IncomingMessage, res: ServerResponse, url: URL, prefix: string, target: string): Promise<void> {
  if (url.pathname === prefix) {
    res.writeHead(308, { location: `${prefix}/${url.search}` });
    res.end();
    return;
  }
  const rest = url.pathname.slice(prefix.length) || '/';
  const dest = new URL(rest + url.search, target.endsWith('/') ? target : `${target}/`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(k) && typeof v === 'string') headers[k] = v;
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, 256 * 1024);
  try {
    const answer = await request(dest, { method: (req.method ?? 'GET') as 'GET', headers, body, headersTimeout: 15_000, bodyTimeout: 15_000 });
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(answer.headers)) {
      if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v as string | string[];
    }
    res.writeHead(answer.statusCode, out);
    for await (const chunk of answer.body) res.write(chunk);
    res.end();
  } catch (err) {
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`dev forward to ${dest.origin} failed: ${(err as Error).message}`);
  }
}
