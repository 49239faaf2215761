/**
 * The BankID simulator in its own process, as `node dev/simulators.ts` runs it, with BankID simulator
 * options for load (`IDNAV_BENCH_SIM`: JSON of BankIdSimulatorOptions, e.g. a longer `startWindowMs`).
 * Tells the parent (IPC) the environment variables that point a hub at it.
 */
import type { BankIdSimulatorOptions } from '../adapters/bankid/simulator/server.ts';
import { startSimulators } from '../dev/simulators.ts';
import { BENCH_PKI_DIR, serveIpc } from './lib.ts';

const options = JSON.parse(process.env.IDNAV_BENCH_SIM ?? '{}') as Partial<BankIdSimulatorOptions>;
const sims = await startSimulators({ pkiDir: process.env.IDNAV_DEV_PKI ?? BENCH_PKI_DIR, bankid: options });

serveIpc(
  {
    cpu: () => ({ ...process.cpuUsage(), rss: process.memoryUsage().rss }),
  },
  { env: sims.env },
);
