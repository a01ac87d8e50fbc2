import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../services/manifest.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One process of the system under load. */
export interface ProcessSpec {
  name: string;
  /** Entry file relative to the repository root (`node <entry>`). */
  entry: string;
  env: Record<string, string>;
  /** GET this URL until it answers 200; omitted for processes without HTTP (the render worker). */
  healthUrl?: string;
  /** The load targets this process (a service name), if any. */
  service?: string;
}

export interface RunningProcess {
  spec: ProcessSpec;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
}

/** A TCP port nobody listens on right now, from the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether a process's entry file exists yet (services are built in parallel with the load kit). */
export function entryExists(spec: Pick<ProcessSpec, 'entry'>): boolean {
  return existsSync(join(ROOT, spec.entry));
}

/**
 * Starts a process with Node (the running one, so Node 24 runs the .ts entries), its output going to
 * `<logDir>/<name>.log` so a CI log shows the load, not five services' access logs.
 */
export async function startProcess(spec: ProcessSpec, logDir: string): Promise<RunningProcess> {
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, `${spec.name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [...NODE_FLAGS, spec.entry], {
    cwd: ROOT,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? (signal ? 128 : null));
    });
  });
  return { spec, child, logPath, exited };
}

/** The last lines of a process's log, for the message when it fails to start. */
export async function logTail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Waits until `url` answers 200, failing early when the process exits and after `timeoutMs`.
 */
export async function waitForHealth(proc: RunningProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => {
    exitCode = code;
  });
  let lastError = '';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(
        `${proc.spec.name} exited (${exitCode}) before it was healthy:\n${await logTail(proc.logPath)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return;
      lastError = `HTTP ${res.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await delay(250);
  }
  throw new Error(
    `${proc.spec.name} not healthy at ${url} after ${timeoutMs} ms (${lastError}):\n${await logTail(proc.logPath)}`,
  );
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(proc: RunningProcess, graceMs = 15_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const killed = await Promise.race([proc.exited.then(() => false), delay(graceMs).then(() => true)]);
  if (killed) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}
