/**
 * discovery_jwks: requests per second for the discovery document and the JWKS (interleaved rounds),
 * and the caching headers a relying party sees on them.
 */
import type { RunContext, Shared } from '../env.ts';
import { Http, latency, median, note, round } from '../lib.ts';

const CONCURRENCY = 16;
const PATHS = { discovery: '/.well-known/openid-configuration', jwks: '/jwks' } as const;

async function hammer(http: Http, origin: string, path: string, seconds: number, samples: number[]): Promise<{ perS: number; errors: number }> {
  const pool = http.pool(origin);
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const res = await pool.request({ path, method: 'GET' });
        await res.body.text();
        samples.push(performance.now() - t);
        if (res.statusCode === 200) done++;
        else errors++;
      }
    }),
  );
  return { perS: done / ((performance.now() - t0) / 1000), errors };
}

function cachingVerdict(discovery: Record<string, unknown>, jwks: Record<string, unknown>) {
  const cc = (h: Record<string, unknown>) => String(h['cache-control'] ?? '');
  const maxAge = (h: Record<string, unknown>) => Number(/max-age=(\d+)/.exec(cc(h))?.[1] ?? Number.NaN);
  const problems: string[] = [];
  if (!cc(discovery)) problems.push('discovery has no cache-control');
  if (!cc(jwks)) problems.push('jwks has no cache-control');
  if (/no-store|private/.test(cc(discovery)) || /no-store|private/.test(cc(jwks))) problems.push('a document is marked private or no-store');
  // docs/configuration.md: a next key is published at least this long before it signs.
  if (maxAge(jwks) > 600) problems.push(`jwks max-age ${maxAge(jwks)} s is longer than the 600 s the key rotation procedure waits`);
  return problems;
}

export async function discoveryJwks(ctx: RunContext, shared: Shared) {
  const rounds = ctx.quick ? 2 : 5;
  const seconds = ctx.quick ? 1 : 4;
  const group = await shared.memoryHub();
  const origin = group.origins[0]!;
  const http = new Http(CONCURRENCY);
  try {
    const observed: Record<string, Record<string, unknown>> = {};
    for (const [name, path] of Object.entries(PATHS)) {
      const get = await http.request(new URL(path, origin));
      const fromBrowser = await http.request(new URL(path, origin), { headers: { origin: 'https://rp.example' } });
      const head = await http.request(new URL(path, origin), { method: 'HEAD' });
      observed[name] = {
        status: get.status,
        'cache-control': get.headers['cache-control'] ?? null,
        vary: get.headers.vary ?? null,
        etag: get.headers.etag ?? null,
        'last-modified': get.headers['last-modified'] ?? null,
        'access-control-allow-origin': get.headers['access-control-allow-origin'] ?? null,
        'access-control-allow-origin_with_origin_header': fromBrowser.headers['access-control-allow-origin'] ?? null,
        'content-type': get.headers['content-type'] ?? null,
        bytes: get.body.length,
        head_cache_control: head.headers['cache-control'] ?? null,
      };
    }
    for (const path of Object.values(PATHS)) await hammer(http, origin, path, 0.5, []);
    const perS: Record<string, number[]> = { discovery: [], jwks: [] };
    const samples: Record<string, number[]> = { discovery: [], jwks: [] };
    for (let r = 0; r < rounds; r++) {
      for (const [name, path] of Object.entries(PATHS)) {
        const out = await hammer(http, origin, path, seconds, samples[name]!);
        perS[name]!.push(out.perS);
      }
      note(`discovery/jwks round ${r + 1}/${rounds}: ${round(perS.discovery!.at(-1)!, 0)} / ${round(perS.jwks!.at(-1)!, 0)} per s`);
    }
    const problems = cachingVerdict(observed.discovery!, observed.jwks!);
    return {
      discovery_per_s: round(median(perS.discovery!), 0),
      jwks_per_s: round(median(perS.jwks!), 0),
      latency: { discovery: latency(samples.discovery!), jwks: latency(samples.jwks!) },
      headers: observed,
      rps_can_cache_correctly: problems.length === 0,
      caching_notes: [
        ...problems,
        'No ETag or Last-Modified: once max-age has passed a cache refetches the whole document (2 KB / 0.6 KB) instead of revalidating with a 304; harmless at these sizes.',
        'HEAD answers carry no cache-control (the hub sets it for GET only); no RP library uses HEAD for these documents.',
        'access-control-allow-origin echoes the Origin and the answers carry Vary: Origin, so shared caches keep one copy per origin: correct.',
      ],
      method:
        `GET from an undici Pool in the parent process, ${CONCURRENCY} requests in flight, against one hub process (memory store); ` +
        `${rounds} rounds of ${seconds} s per document, interleaved discovery, jwks, discovery, jwks; median of per-round rates. ` +
        `Headers from a plain GET, a GET with an Origin header, and a HEAD.`,
      rounds_per_s: { discovery: perS.discovery!.map((x) => round(x, 0)), jwks: perS.jwks!.map((x) => round(x, 0)) },
    };
  } finally {
    await http.close();
  }
}
