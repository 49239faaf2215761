import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import type { JsonObject, ModelStore, Store } from '../contracts/store.ts';
import { createMemoryStore } from './memory.ts';
import { createRedisStore } from './redis.ts';

export { StoreRecordMissing } from '../contracts/store.ts';
export type { JsonObject, JsonValue, ModelStore, Store } from '../contracts/store.ts';
export { createMemoryStore } from './memory.ts';
export { createRedisStore } from './redis.ts';
export type { RedisStoreOptions } from './redis.ts';

export type StoreConfig = { type: 'memory' } | { type: 'redis'; url: string; keyPrefix?: string };

/** Builds the configured backend. Contacts nothing: call `ping()` to check reachability. */
export function createStore(config: StoreConfig): Store {
  switch (config.type) {
    case 'memory':
      return createMemoryStore();
    case 'redis':
      return createRedisStore(
        config.keyPrefix === undefined ? { url: config.url } : { url: config.url, keyPrefix: config.keyPrefix },
      );
  }
}

/** oidc-provider's `adapter` option: `new Adapter(modelName)` delegates to `store.model(modelName)`. */
export function providerAdapterFactory(store: Store): AdapterConstructor {
  return class StoreAdapter implements Adapter {
    readonly #model: ModelStore;

    constructor(name: string) {
      this.#model = store.model(name);
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      // ModelStore treats a missing expiresIn as "never expires" (dynamically registered clients).
      await this.#model.upsert(id, payload as unknown as JsonObject, expiresIn as number);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return (await this.#model.find(id)) as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await this.#model.findByUid(uid)) as AdapterPayload | undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await this.#model.findByUserCode(userCode)) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      await this.#model.consume(id);
    }

    async destroy(id: string): Promise<void> {
      await this.#model.destroy(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await this.#model.revokeByGrantId(grantId);
    }
  };
}
