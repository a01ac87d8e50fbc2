import { type ExecutorHooks, type Iterate, pause, runIteration, type VuInfo } from './executor.ts';
import { arrivalsBy, type TimedStage, totalDurationMs } from './ramping.ts';

export interface ArrivalRateOptions {
  scenario: string;
  stages: readonly TimedStage[];
  startRate: number;
  /** Iterations running at once never exceed this: an arrival finding no free VU is dropped. */
  maxVUs: number;
  gracefulStopMs: number;
  iterate: Iterate;
  hooks?: ExecutorHooks & {
    /** An arrival with no free VU (k6's `dropped_iterations`). */
    onDropped?: (elapsedMs: number) => void;
    /** Every started arrival, with the time it was due. */
    onStarted?: (elapsedMs: number) => void;
  };
  signal?: AbortSignal;
  tickMs?: number;
}

/**
 * k6's `ramping-arrival-rate` (open model): iterations start on schedule whatever the system's
 * latency, the rate interpolated linearly inside each stage; with every VU busy an arrival is
 * dropped rather than queued, so a saturated service shows up as drops and latency, not as a
 * silently lower rate.
 */
export async function runRampingArrivalRate(options: ArrivalRateOptions): Promise<void> {
  const hooks = options.hooks ?? {};
  const totalMs = totalDurationMs(options.stages);
  const tickMs = options.tickMs ?? 5;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const started = performance.now();
  const running = new Set<Promise<void>>();
  const idle: VuInfo[] = [];
  let allocated = 0;
  let launched = 0;

  const launch = (vu: VuInfo) => {
    const run = runIteration(options.iterate, vu, controller.signal, hooks).then((completed) => {
      if (completed) vu.iterationInScenario++;
      running.delete(run);
      idle.push(vu);
      hooks.onActiveVus?.(running.size);
    });
    running.add(run);
    hooks.onActiveVus?.(running.size);
  };

  try {
    while (!controller.signal.aborted) {
      const elapsed = performance.now() - started;
      const due = Math.floor(arrivalsBy(options.stages, options.startRate, Math.min(elapsed, totalMs)));
      for (; launched < due; launched++) {
        let vu = idle.pop();
        if (!vu && allocated < options.maxVUs) {
          allocated++;
          vu = { scenario: options.scenario, id: allocated, iterationInScenario: 0 };
        }
        if (vu) {
          hooks.onStarted?.(elapsed);
          launch(vu);
        } else {
          hooks.onDropped?.(elapsed);
        }
      }
      if (elapsed >= totalMs) break;
      await pause(Math.min(tickMs, totalMs - elapsed), controller.signal);
    }
    const stopTimer = new AbortController();
    const gracefulStop = pause(options.gracefulStopMs, stopTimer.signal).then(() => {
      if (!stopTimer.signal.aborted) controller.abort();
    });
    await Promise.all(running);
    stopTimer.abort();
    await gracefulStop;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
