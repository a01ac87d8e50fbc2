import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';

/** `<host>--<pid>--<boot>`: who holds a render attempt, readable enough to tell if it is still alive. */
export interface WorkerIdentity {
  host: string;
  pid: number;
  id: string;
}

export function sanitizeHost(hostname: string): string {
  return hostname.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100) || 'host';
}

export function createWorkerIdentity(options: { hostname?: string; pid?: number } = {}): WorkerIdentity {
  const host = sanitizeHost(options.hostname ?? osHostname());
  const pid = options.pid ?? process.pid;
  return { host, pid, id: `${host}--${pid}--${randomBytes(4).toString('hex')}` };
}

export function parseWorkerId(id: string | null): { host: string; pid: number } | null {
  const match = id ? /^(.+)--(\d+)--[0-9a-f]+$/.exec(id) : null;
  return match ? { host: match[1], pid: Number(match[2]) } : null;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
