import { setTimeout as delay } from 'node:timers/promises';

/** What a VU knows about itself while it runs one iteration (k6's `exec.vu` and `exec.scenario`). */
export interface VuInfo {
  scenario: string;
  /** 1-based, unique within the scenario. */
  id: number;
  /** 0-based count of this VU's iterations in the scenario. */
  iterationInScenario: number;
}

/**
 * Runs one iteration. `signal` aborts when the executor stops waiting for it (graceful ramp-down or
 * graceful stop ran out); the iteration then counts as interrupted.
 */
export type Iterate = (vu: VuInfo, signal: AbortSignal) => Promise<void>;

export interface ExecutorHooks {
  /** Called whenever the number of running VUs changes. */
  onActiveVus?: (active: number) => void;
  /** Called once per finished (not interrupted) iteration. */
  onIterationDone?: (vu: VuInfo, durationMs: number) => void;
  /** Called when an iteration throws (anything but an abort): k6 logs it and carries on. */
  onIterationError?: (vu: VuInfo, error: unknown) => void;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Waits `ms`, resolving early (not rejecting) when `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (!isAbort(error)) throw error;
  }
}

/**
 * Runs one iteration with its bookkeeping: duration on success, interruption on abort, the error
 * hook on failure. Returns false when the iteration was interrupted.
 */
export async function runIteration(
  iterate: Iterate,
  vu: VuInfo,
  signal: AbortSignal,
  hooks: ExecutorHooks,
): Promise<boolean> {
  const started = performance.now();
  try {
    await iterate(vu, signal);
    if (signal.aborted) return false;
    hooks.onIterationDone?.(vu, performance.now() - started);
    return true;
  } catch (error) {
    if (signal.aborted || isAbort(error)) return false;
    hooks.onIterationError?.(vu, error);
    return true;
  }
}
