/**
 * Starts the whole system with the load configuration and keeps it up until Ctrl-C / SIGTERM, for k6
 * (the GitHub Actions k6 job, or a user) to load:
 *   node load/start-system.ts                 # seed ports: voice 3001, whatsapp 8080, video 3002, sandbox 4010
 *   node load/start-system.ts --free-ports    # ports from the OS, printed as BASE_* for k6 -e
 * It prints the k6 variables that match (secrets are load/common/config.js's defaults, which the k6
 * scripts also use when unset). Service logs go to load/results/logs/.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { baseUrlVariable, SERVICES } from '../services/manifest.js';
import { startSystem } from './runner/start-system.ts';
import { ROOT } from './runner/system.ts';

const { values } = parseArgs({ options: { 'free-ports': { type: 'boolean', default: false } } });
const log = (line: string) => process.stdout.write(`[system] ${line}\n`);

const system = await startSystem({
  ports: values['free-ports'] ? 'free' : 'standard',
  logDir: join(process.env.LOAD_RESULTS_DIR || join(ROOT, 'load/results'), 'logs'),
  log,
  rateLimitStore: process.env.LOAD_RATE_LIMIT_STORE || 'memory',
  logLevel: process.env.LOAD_LOG_LEVEL || 'warn',
});
const { ports } = system;
log(`up: ${system.services.join(', ')}`);
const targets = SERVICES.map(
  (service) => `-e ${baseUrlVariable(service)}=http://127.0.0.1:${ports[service.name]}`,
);
log(`k6 ${targets.join(' ')} -e SERVICES=${system.services.join(',')}`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  log('stopping');
  await system.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
// A process of the system dying takes the rest down: k6 would only measure a broken system.
for (const proc of system.processes) {
  void proc.exited.then(async (code) => {
    if (stopping) return;
    log(`${proc.spec.name} exited (${code}); stopping the system`);
    stopping = true;
    await system.stop();
    process.exit(1);
  });
}
