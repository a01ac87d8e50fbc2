import { type ExecutorHooks, type Iterate, pause, runIteration, type VuInfo } from './executor.ts';

export interface SharedIterationsOptions {
  scenario: string;
  vus: number;
  iterations: number;
  startTimeMs: number;
  maxDurationMs: number;
  gracefulStopMs: number;
  iterate: Iterate;
  hooks?: ExecutorHooks;
  signal?: AbortSignal;
}

/**
 * k6's `shared-iterations`: `vus` VUs take iterations from one shared pool until it is empty or
 * `maxDuration` has passed (then running iterations get `gracefulStop`).
 */
export async function runSharedIterations(options: SharedIterationsOptions): Promise<void> {
  const hooks = options.hooks ?? {};
  await pause(options.startTimeMs, options.signal);
  if (options.signal?.aborted) return;
  const started = performance.now();
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let remaining = options.iterations;
  let active = 0;

  const loop = async (info: VuInfo) => {
    active++;
    hooks.onActiveVus?.(active);
    try {
      while (
        remaining > 0 &&
        performance.now() - started < options.maxDurationMs &&
        !controller.signal.aborted
      ) {
        remaining--;
        const completed = await runIteration(options.iterate, info, controller.signal, hooks);
        if (completed) info.iterationInScenario++;
      }
    } finally {
      active--;
      hooks.onActiveVus?.(active);
    }
  };

  const loops = Array.from({ length: Math.max(1, options.vus) }, (_, i) =>
    loop({ scenario: options.scenario, id: i + 1, iterationInScenario: 0 }),
  );
  const deadline = new AbortController();
  const hardStop = pause(options.maxDurationMs + options.gracefulStopMs, deadline.signal).then(() => {
    if (!deadline.signal.aborted) controller.abort();
  });
  try {
    await Promise.all(loops);
  } finally {
    deadline.abort();
    await hardStop;
    options.signal?.removeEventListener('abort', onAbort);
  }
}
