/**
 * `npm start`: every service on its default port, the render worker and the provider sandbox, as one
 * process tree on embedded defaults. Each child runs on its own embedded database under .data/ (PGlite
 * is one connection per process), or on DATABASE_URL when it is set. Ctrl-C stops them all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONSOLE, NODE_FLAGS, SANDBOX, SERVICES } from '../services/manifest.js';

interface Child {
  name: string;
  entry: string;
  env?: Record<string, string>;
  /** Only when the database is a server: embedded mode runs the worker inside the API process. */
  onlyWithServerDatabase?: boolean;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const RESET = '\x1b[0m';

const CHILDREN: Child[] = [
  SANDBOX,
  ...SERVICES.flatMap((service) => [
    service,
    ...(service.worker ? [{ ...service.worker, onlyWithServerDatabase: true }] : []),
  ]),
  CONSOLE,
];

const serverDatabase = Boolean(process.env.DATABASE_URL);
const running = new Map<string, ChildProcess>();
let stopping = false;

function prefixLines(name: string, color: string, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) out.write(`${color}${name.padEnd(18)}${RESET} ${line}\n`);
  });
}

function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of running.values()) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of running.values()) child.kill('SIGKILL');
    process.exit(code);
  }, 15_000);
  deadline.unref();
  const check = setInterval(() => {
    if (running.size === 0) {
      clearInterval(check);
      process.exit(code);
    }
  }, 100);
}

CHILDREN.forEach((definition, index) => {
  if (definition.onlyWithServerDatabase && !serverDatabase) return;
  if (!existsSync(`${ROOT}/${definition.entry}`)) {
    process.stdout.write(`${definition.name.padEnd(18)} (not built yet: ${definition.entry} missing)\n`);
    return;
  }
  const child = spawn(process.execPath, [...NODE_FLAGS, definition.entry], {
    cwd: ROOT,
    env: { ...process.env, ...definition.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const color = COLORS[index % COLORS.length];
  prefixLines(definition.name, color, child.stdout!, process.stdout);
  prefixLines(definition.name, color, child.stderr!, process.stderr);
  running.set(definition.name, child);
  child.on('exit', (code, signal) => {
    running.delete(definition.name);
    if (!stopping) {
      process.stderr.write(`${definition.name} exited (${signal ?? code}); stopping the others\n`);
      stopAll(code === 0 ? 1 : (code ?? 1));
    }
  });
});

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
