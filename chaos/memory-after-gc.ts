import { readFile } from 'node:fs/promises';
import type { RunningProcess } from '../load/runner/system.ts';
import { waitUntil } from './traffic.ts';

/** A process's memory right after a full garbage collection: what it really holds. */
export interface MemoryAfterGc {
  heapUsedBytes: number;
  rssBytes: number;
  /** How long the collection took (the process was paused for it), ms. */
  gcMs: number;
}

const LISTENING = /Debugger listening on (ws:\/\/\S+)/g;

/**
 * The inspector of a running Node process of the system: SIGUSR1 opens it (the chaos run starts every
 * service with `--inspect-port=0`, so each listens on a port of its own, on loopback), and the process
 * prints its URL to its log. Open it early: the inspector itself costs a few MB.
 */
export async function openInspector(proc: RunningProcess): Promise<string> {
  const listening = async () => {
    const log = await readFile(proc.logPath, 'utf8').catch(() => '');
    return [...log.matchAll(LISTENING)].at(-1)?.[1] ?? null;
  };
  const open = await listening();
  if (open) return open;
  if (proc.child.pid === undefined) throw new Error(`${proc.spec.name} has no pid`);
  process.kill(proc.child.pid, 'SIGUSR1');
  const url = await waitUntil(listening, 10_000, 100);
  if (!url) throw new Error(`${proc.spec.name}: no inspector URL in ${proc.logPath} after SIGUSR1`);
  return url;
}

/**
 * Collects all garbage in the process (the DevTools protocol's `HeapProfiler.collectGarbage`), then reads
 * `process.memoryUsage()` in it. Sampled memory saws up and down with the GC cycle; this does not.
 *
 * @example
 * const { heapUsedBytes } = await memoryAfterGc(await openInspector(proc));
 */
export async function memoryAfterGc(inspectorUrl: string, timeoutMs = 30_000): Promise<MemoryAfterGc> {
  const ws = new WebSocket(inspectorUrl);
  const pending = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  let nextId = 0;
  const timer = setTimeout(() => ws.close(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`inspector ${inspectorUrl} refused`)), {
        once: true,
      });
    });
    ws.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id !== undefined) pending.get(message.id)?.(message);
    });
    const call = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<unknown>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, (message) =>
          message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result),
        );
        ws.addEventListener('close', () => reject(new Error(`inspector closed during ${method}`)), {
          once: true,
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    const started = performance.now();
    await call('HeapProfiler.collectGarbage');
    const gcMs = performance.now() - started;
    const evaluated = (await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(evaluated.result.value) as { heapUsed: number; rss: number };
    return { heapUsedBytes: usage.heapUsed, rssBytes: usage.rss, gcMs: Math.round(gcMs) };
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}
