/**
 * A minimal browser for tests: a cookie jar (host-only cookies, path matching), manual redirects, and
 * helpers to follow them. Requests go over real HTTP with Node's fetch.
 */
export interface Cookie {
  name: string;
  value: string;
  path: string;
}

export class Browser {
  readonly cookies: Cookie[] = [];
  /** Rewrites a URL before it is requested (lets one browser talk to several hub processes). */
  rewrite: (url: URL) => URL = (u) => u;
  userAgent = 'Mozilla/5.0 (X11; Linux x86_64) idnav-test';

  #cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  #store(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v] = a.split('=').map((s) => s.trim());
        if (k!.toLowerCase() === 'path' && v) path = v;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k!.toLowerCase() === 'expires' && v && new Date(v).getTime() < Date.now()) expired = true;
      }
      const idx = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (idx >= 0) this.cookies.splice(idx, 1);
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  async request(input: string | URL, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = this.rewrite(new URL(input));
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    const cookie = this.#cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(url, { method: init.method ?? 'GET', body: init.body, headers, redirect: 'manual' });
    this.#store(url, res);
    return res;
  }

  get(url: string | URL, headers: Record<string, string> = {}) {
    return this.request(url, { headers });
  }

  postForm(url: string | URL, fields: Record<string, string>) {
    return this.request(url, { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  async json<T = Record<string, unknown>>(url: string | URL): Promise<T> {
    const res = await this.get(url, { accept: 'application/json' });
    return (await res.json()) as T;
  }

  /**
   * Follows redirects from `url` until a response is not a redirect or its Location satisfies `stop`.
   * Resolves with the last response and the URL it came from (or the stopping Location).
   */
  async follow(url: string | URL, stop: (location: URL) => boolean = () => false, max = 20): Promise<{ res: Response; url: URL; stoppedAt?: URL }> {
    let current = new URL(url);
    let res = await this.get(current);
    for (let i = 0; i < max; i++) {
      if (res.status < 300 || res.status >= 400) return { res, url: current };
      const location = new URL(res.headers.get('location')!, current);
      await res.body?.cancel();
      if (stop(location)) return { res, url: current, stoppedAt: location };
      current = location;
      res = await this.get(current);
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/** Reads an attribute of the first element with the given id or attribute from HTML (test pages only). */
export function attr(html: string, attribute: string, near?: string): string | undefined {
  const scope = near ? html.slice(Math.max(0, html.indexOf(near))) : html;
  const m = new RegExp(`${attribute}="([^"]*)"`).exec(scope);
  return m ? m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'") : undefined;
}
