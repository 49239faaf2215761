/**
 * Back-channel logout that does not give up after one try. oidc-provider sends each logout token once,
 * with a short timeout; a relying party that is down at that moment would keep a session the person
 * ended. Failed deliveries go into a queue in the Store (so any process retries them, and a restart
 * loses nothing) and are sent again with growing delays; after the last try an audit record says which
 * client was not told.
 */
import { randomUUID } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { JsonObject, Store } from '../contracts/store.ts';
import type { Logger } from '../log.ts';
import type { Audit } from '../ops/audit.ts';

const NS = 'backchannel-retry';
const QUEUE = 'queue';
/** Oldest entries are dropped (and audited) beyond this. */
const MAX_QUEUE = 1000;

interface Entry {
  id: string;
  clientId: string;
  accountId: string;
  sid: string | null;
  attempts: number;
  nextAt: number;
}

interface Queue extends JsonObject {
  items: Entry[] & JsonObject[];
}

export interface BackchannelRetryOptions {
  /** How often a process looks for due deliveries (default 15 s). */
  intervalMs?: number;
  /** Delays before the 2nd, 3rd, ... try (default 30 s, 2 min, 10 min, 30 min). */
  delaysMs?: number[];
  now?: () => number;
}

export class BackchannelRetry {
  readonly #store: Store;
  readonly #provider: Provider;
  readonly #audit: Audit;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #delaysMs: number[];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: { store: Store; provider: Provider; audit: Audit; log: Logger }, options: BackchannelRetryOptions = {}) {
    this.#store = deps.store;
    this.#provider = deps.provider;
    this.#audit = deps.audit;
    this.#log = deps.log;
    this.#intervalMs = options.intervalMs ?? 15_000;
    this.#delaysMs = options.delaysMs ?? [30_000, 120_000, 600_000, 1_800_000];
    this.#now = options.now ?? Date.now;
  }

  /** The time-to-live of the queue record: longer than the whole retry schedule. */
  get #ttlSeconds(): number {
    return Math.ceil((this.#delaysMs.reduce((a, b) => a + b, 0) + 3_600_000) / 1000);
  }

  /** Records a failed delivery (called from oidc-provider's `backchannel.error` event). */
  async enqueue(clientId: string, accountId: string, sid: string | undefined): Promise<void> {
    const entry: Entry = { id: randomUUID(), clientId, accountId, sid: sid ?? null, attempts: 1, nextAt: this.#now() + (this.#delaysMs[0] ?? 0) };
    let dropped: Entry[] = [];
    const add = (cur: Queue): Queue => {
      const items = [...cur.items, entry];
      dropped = items.length > MAX_QUEUE ? items.slice(0, items.length - MAX_QUEUE) : [];
      return { items: items.slice(-MAX_QUEUE) as Queue['items'] };
    };
    const created = await this.#store.create(NS, QUEUE, { items: [entry] as Queue['items'] }, this.#ttlSeconds);
    if (!created) await this.#store.update<Queue>(NS, QUEUE, add, this.#ttlSeconds);
    for (const d of dropped) this.#audit.record({ event: 'logout.backchannel.failed', client: d.clientId, account: d.accountId, attempts: d.attempts, reason: 'retry queue full' });
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce().catch((err) => this.#log.warn({ err }, 'back-channel logout retry failed')), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends the due deliveries once; one process at a time (a lease in the Store). */
  async runOnce(): Promise<void> {
    if (!(await this.#store.acquireLease(`${NS}:worker`, this.#intervalMs))) return;
    const queue = await this.#store.get<Queue>(NS, QUEUE);
    const now = this.#now();
    const due = (queue?.items ?? []).filter((e) => e.nextAt <= now);
    if (due.length === 0) return;
    const done = new Set<string>();
    const later = new Map<string, Entry>();
    for (const entry of due) {
      try {
        const client = (await this.#provider.Client.find(entry.clientId)) as
          | { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid?: string): Promise<void> }
          | undefined;
        if (!client?.backchannelLogoutUri) {
          done.add(entry.id); // the client was removed or no longer wants logout tokens
          continue;
        }
        await client.backchannelLogout(entry.accountId, entry.sid ?? undefined);
        done.add(entry.id);
        this.#log.info({ client: entry.clientId, attempts: entry.attempts + 1 }, 'back-channel logout delivered on a retry');
        this.#audit.record({ event: 'logout.backchannel.delivered', client: entry.clientId, account: entry.accountId, attempts: entry.attempts + 1 });
      } catch (err) {
        const attempts = entry.attempts + 1;
        const delay = this.#delaysMs[attempts - 1];
        if (delay === undefined) {
          done.add(entry.id);
          this.#log.warn({ client: entry.clientId, attempts, err: (err as Error).message }, 'back-channel logout given up');
          this.#audit.record({ event: 'logout.backchannel.failed', client: entry.clientId, account: entry.accountId, attempts, reason: (err as Error).message });
        } else {
          later.set(entry.id, { ...entry, attempts, nextAt: now + delay });
        }
      }
    }
    // Entries added by other processes meanwhile stay; only the ones handled here change.
    await this.#store.update<Queue>(
      NS,
      QUEUE,
      (cur) => ({ items: cur.items.filter((e) => !done.has(e.id)).map((e) => later.get(e.id) ?? e) as Queue['items'] }),
      this.#ttlSeconds,
    );
  }
}
