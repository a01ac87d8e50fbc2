// The one list of the system's processes: name, Node entry, default port, env prefix, render worker.
// Read by `npm start` (scripts/start-all.ts), `npm run db:migrate`, `npm run test:deno`, the load
// runner and k6 scripts (load/), and the tests. Plain ECMAScript data so k6 can import it too; it is
// data, not a service, so reading it keeps services and shared/ free of each other.

/**
 * The three HTTP services, in the order tables and charts list them. `envPrefix` names the service's
 * own variables: `<prefix>_PORT` (wins over PORT when several share one environment) and, for the
 * load, `BASE_<prefix>_URL`.
 *
 * @type {import('./manifest.d.ts').ServiceManifest}
 */
export const SERVICES = [
  {
    name: 'voice-bridge',
    entry: 'services/voice-bridge/main.ts',
    port: 3001,
    envPrefix: 'VOICE',
    worker: null,
  },
  {
    name: 'whatsapp-webhook',
    entry: 'services/whatsapp-webhook/main.ts',
    port: 8080,
    envPrefix: 'WHATSAPP',
    worker: null,
  },
  {
    name: 'video-orchestrator',
    entry: 'services/video-orchestrator/main.ts',
    port: 3002,
    envPrefix: 'VIDEO',
    // Runs inside the API process on an embedded database (PGlite is one process's), alone with a server.
    worker: { name: 'render-worker', entry: 'services/video-orchestrator/worker-main.ts' },
  },
];

/** The provider sandbox (Graph API, Twilio, AI agent stand-ins): started beside the services, not one of them. */
export const SANDBOX = { name: 'sandbox', entry: 'sandbox/main.ts', port: 4010, envPrefix: 'SANDBOX' };

/** The operator console: reads the services through their APIs (BASE_<prefix>_URL + their keys), no database. */
export const CONSOLE = { name: 'console', entry: 'console/main.ts', port: 3000, envPrefix: 'CONSOLE' };

/**
 * Node flags every process of the system starts with (npm start, the npm start:* scripts, the load runner
 * and the bench). Under load V8 otherwise grows the heap to ~2.5× the live set in garbage awaiting
 * collection (a heap snapshot of whatsapp-webhook after 8,000 deliveries held 36 MiB live in a 260 MiB
 * process). 8 MiB semi-spaces bound the young generation; a 20 % old-generation growing factor (V8 picks
 * 100–300 % on its own) starts the next full GC at 1.2× the live set instead: after the bench
 * whatsapp-webhook and voice-bridge hold 150–165 MiB instead of 215–255 MiB (50 %: 170–195 MiB), with
 * GC time no higher (more, smaller full GCs; cheaper scavenges) and the same ratio to bare Hono.
 */
export const NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=20'];

/** @type {import('./manifest.d.ts').ServiceName[]} */
export const SERVICE_NAMES = SERVICES.map((service) => service.name);

/**
 * @param {string} name
 * @returns {import('./manifest.d.ts').ServiceDefinition}
 */
export function serviceNamed(name) {
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new Error(`no service ${name} in services/manifest.js`);
  return service;
}

/** @param {{ envPrefix: string }} service */
export const portVariable = (service) => `${service.envPrefix}_PORT`;

/** @param {{ envPrefix: string }} service */
export const baseUrlVariable = (service) => `BASE_${service.envPrefix}_URL`;
