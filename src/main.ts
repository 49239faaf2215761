/**
 * Process entry: load and check the config, build the hub, listen, shut down gracefully.
 * Config directory: IDNAV_CONFIG or ./config.
 */
import { resolve } from 'node:path';
import { adapterModules, registryModules } from '../adapters/index.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { HubError } from './errors.ts';
import { createHub, type HubOptions } from './hub.ts';

/** How long requests in progress may take to finish on SIGTERM (a BankID status call takes well under this). */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long /readyz says 503 before the listener closes, so the load balancer stops sending requests (IDNAV_SHUTDOWN_DRAIN_MS). */
const SHUTDOWN_DRAIN_MS = 5000;

export async function startHub(options: HubOptions & { configDir?: string } = {}) {
  const configDir = resolve(options.configDir ?? process.env.IDNAV_CONFIG ?? 'config');
  let config;
  try {
    config = await loadConfig({ configDir, adapterModules, registryModules });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`idnav: the configuration in ${configDir} has errors:\n${err.format()}\n`);
      process.exit(1);
    }
    throw err;
  }
  try {
    const hub = await createHub(config, options);
    const { url } = await hub.listen();
    hub.log.info({ url: config.issuer, listening: url, mode: config.mode, store: config.store.type }, 'idnav is listening');
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      hub.log.info({ signal }, 'shutting down: finishing requests in progress');
      const drainMs = Number(process.env.IDNAV_SHUTDOWN_DRAIN_MS ?? SHUTDOWN_DRAIN_MS);
      const force = setTimeout(() => process.exit(1), drainMs + SHUTDOWN_GRACE_MS + 5000);
      force.unref();
      void hub.close(SHUTDOWN_GRACE_MS, drainMs).then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      hub.log.info('SIGHUP: reloading client configuration');
      void hub.reload();
    });
    return hub;
  } catch (err) {
    if (err instanceof HubError) {
      process.stderr.write(`idnav: cannot start: ${err.code}: ${err.detail ?? ''}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (import.meta.main) {
  await startHub();
}
