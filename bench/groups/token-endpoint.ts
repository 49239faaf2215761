/**
 * token_endpoint: authorization-code exchanges per second against idnav and against a bare
 * oidc-provider with the same client, keys, TTLs, Store and findAccount shape (bench/bare-provider.ts),
 * interleaved rounds in one run.
 */
import { profiled, type HubChild, type RunContext, type Shared } from '../env.ts';
import { SCOPE, basicAuth, pkce, tokenBody } from '../flow.ts';
import { Http, latency, median, note, round } from '../lib.ts';
import type { MintRequest } from '../mint.ts';

const CONCURRENCY = 16;

interface Side {
  name: 'idnav' | 'bare';
  server: HubChild;
}

async function exchangeRound(http: Http, side: Side, codes: string[], verifier: string, samples: number[]): Promise<{ perS: number; errors: number; cpuMs: number }> {
  const { rp, url } = side.server.ready;
  const auth = basicAuth(rp);
  const pool = http.pool(url);
  let next = 0;
  let errors = 0;
  await side.server.call('stats', { reset: true });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= codes.length) return;
        const t = performance.now();
        const res = await pool.request({
          path: '/token',
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
          body: tokenBody(rp, codes[i]!, verifier),
        });
        const body = await res.body.text();
        samples.push(performance.now() - t);
        if (res.statusCode !== 200 || !body.includes('"id_token"')) {
          if (errors++ === 0) note(`token ${side.name}: ${res.statusCode} ${body.slice(0, 200)}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const stats = await side.server.call<{ cpu_ms: number }>('stats');
  return { perS: codes.length / elapsed, errors, cpuMs: stats.cpu_ms };
}

export async function tokenEndpoint(ctx: RunContext, shared: Shared) {
  const rounds = ctx.quick ? 6 : 20;
  const perRound = ctx.quick ? 800 : 1200;
  // Both servers need a few thousand requests before V8 has optimised their hot paths.
  const warmup = ctx.quick ? 1500 : 3000;
  const [idnav, bare] = await Promise.all([shared.memoryHub(), shared.bare()]);
  const sides: Side[] = [
    { name: 'idnav', server: idnav.hubs[0]! },
    { name: 'bare', server: bare.hubs[0]! },
  ];
  const http = new Http(CONCURRENCY);
  const p = pkce();
  const mint = (side: Side, n: number) =>
    side.server.call<string[]>('mintCodes', {
      n,
      clientId: side.server.ready.rp.clientId,
      redirectUri: side.server.ready.rp.redirectUri,
      scope: SCOPE,
      codeChallenge: p.challenge,
      accounts: 100,
      accountTtlSeconds: 2_592_000,
    } satisfies MintRequest);
  try {
    // Warm-up (JIT, connection pools, key import), not counted.
    for (let done = 0; done < warmup; done += 500) {
      for (const side of sides) await exchangeRound(http, side, await mint(side, 500), p.verifier, []);
    }
    const results: Array<{ idnav_per_s: number; bare_per_s: number; ratio: number }> = [];
    const samples: Record<Side['name'], number[]> = { idnav: [], bare: [] };
    const cpu: Record<Side['name'], number[]> = { idnav: [], bare: [] };
    let errors = 0;
    for (let r = 0; r < rounds; r++) {
      const perS: Record<string, number> = {};
      // A, B then B, A: a trend in the machine's load does not favour the side that always goes first.
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        // Codes live 60 s: minted right before their round, each exchanged once.
        const codes = await mint(side, perRound);
        const out = await profiled(ctx, `token-${side.name}-round${r + 1}`, [side.server], () => exchangeRound(http, side, codes, p.verifier, samples[side.name]));
        perS[side.name] = out.perS;
        errors += out.errors;
        cpu[side.name].push(out.cpuMs / perRound);
      }
      results.push({ idnav_per_s: round(perS.idnav!, 1), bare_per_s: round(perS.bare!, 1), ratio: round(perS.idnav! / perS.bare!, 3) });
      note(`token round ${r + 1}/${rounds}: idnav ${round(perS.idnav!, 1)}/s, bare ${round(perS.bare!, 1)}/s`);
    }
    const idnavPerS = median(results.map((r) => r.idnav_per_s));
    const barePerS = median(results.map((r) => r.bare_per_s));
    return {
      idnav_per_s: round(idnavPerS, 1),
      bare_per_s: round(barePerS, 1),
      ratio: round(idnavPerS / barePerS, 3),
      ratio_median_of_rounds: round(median(results.map((r) => r.ratio)), 3),
      target: 'ratio >= 0.9',
      met: idnavPerS / barePerS >= 0.9,
      latency: { idnav: latency(samples.idnav), bare: latency(samples.bare) },
      server_cpu_ms_per_exchange: { idnav: round(median(cpu.idnav), 3), bare: round(median(cpu.bare), 3) },
      /** bare CPU / idnav CPU per exchange: the throughput ratio a server-bound run would show, less disturbed by the load generator. */
      cpu_ratio: round(median(cpu.bare) / median(cpu.idnav), 3),
      errors,
      method:
        `POST /token (authorization_code, client_secret_basic, PKCE S256 verifier) from an undici Pool in the parent process, ` +
        `${CONCURRENCY} requests in flight, against idnav (bench/hub-process.ts, memory store) and a bare oidc-provider ` +
        `(bench/bare-provider.ts: same e-tjanst client metadata, same RS256 key, same TTLs, scopes and claims config, same memory Store ` +
        `through store.model(name), same findAccount shape), each in its own child process. Codes are minted in the server process ` +
        `(a saved Grant, then AuthorizationCode.save() with accountId, grantId, scope, redirect_uri, code_challenge S256, clientId; ` +
        `100 accounts in the hub's account record format) just before each round and exchanged once each. ` +
        `${rounds} rounds of ${perRound} exchanges per side, interleaved (idnav, bare, bare, idnav, idnav, bare, ...); per-round rate = codes / wall time; ` +
        `figures are medians over rounds, ratio = median idnav / median bare. Warm-up (${warmup} exchanges per side, interleaved) not counted. ` +
        `Server CPU per exchange from process.cpuUsage() in the server process.`,
      rounds: results,
    };
  } finally {
    await http.close();
  }
}
