import { type ExecutorHooks, type Iterate, pause, runIteration, type VuInfo } from './executor.ts';
import { plannedVus, type TimedStage, totalDurationMs } from './ramping.ts';

export interface RampingVusOptions {
  scenario: string;
  stages: readonly TimedStage[];
  startVUs?: number;
  /** How long a VU above the target may finish its iteration before it is interrupted. */
  gracefulRampDownMs: number;
  /** How long iterations running when the stages end may finish before they are interrupted. */
  gracefulStopMs: number;
  iterate: Iterate;
  hooks?: ExecutorHooks;
  /** Stops the whole scenario early (Ctrl-C, a test's budget). */
  signal?: AbortSignal;
  /** How often the planned VU count is recomputed. */
  tickMs?: number;
}

interface Vu {
  info: VuInfo;
  loop: Promise<void> | undefined;
  controller: AbortController;
  /** When the VU fell above the target while an iteration was still running. */
  descheduledAt: number | undefined;
}

/**
 * k6's `ramping-vus`: each VU is an independent loop of iterations; the planned VU count follows
 * the stages (see `plannedVus`). A VU above the target finishes its current iteration and stops,
 * interrupted only after `gracefulRampDown`; when the stages end, running iterations get
 * `gracefulStop` to finish.
 */
export async function runRampingVus(options: RampingVusOptions): Promise<void> {
  const { stages, iterate, signal } = options;
  const hooks = options.hooks ?? {};
  const startVUs = options.startVUs ?? 0;
  const totalMs = totalDurationMs(stages);
  const tickMs = options.tickMs ?? 20;
  const started = performance.now();
  const vus: Vu[] = [];
  let planned = plannedVus(stages, startVUs, 0);
  let ended = false;
  let active = 0;

  const setActive = (delta: number) => {
    active += delta;
    hooks.onActiveVus?.(active);
  };

  const loop = async (vu: Vu) => {
    setActive(1);
    try {
      while (!ended && vu.info.id <= planned && !signal?.aborted) {
        const completed = await runIteration(iterate, vu.info, vu.controller.signal, hooks);
        if (completed) vu.info.iterationInScenario++;
        if (vu.controller.signal.aborted) break;
      }
    } finally {
      setActive(-1);
      vu.descheduledAt = undefined;
      // An interrupted VU gets a fresh controller in case the target climbs back to it.
      if (vu.controller.signal.aborted) vu.controller = new AbortController();
    }
  };

  const start = (vu: Vu) => {
    const running = loop(vu);
    vu.loop = running;
    void running.finally(() => {
      if (vu.loop === running) vu.loop = undefined;
    });
  };

  const schedule = () => {
    const now = performance.now();
    for (let i = 0; i < planned; i++) {
      vus[i] ??= {
        info: { scenario: options.scenario, id: i + 1, iterationInScenario: 0 },
        loop: undefined,
        controller: new AbortController(),
        descheduledAt: undefined,
      };
      vus[i].descheduledAt = undefined;
      if (!vus[i].loop) start(vus[i]);
    }
    for (let i = planned; i < vus.length; i++) {
      const vu = vus[i];
      if (!vu.loop) continue;
      vu.descheduledAt ??= now;
      if (now - vu.descheduledAt >= options.gracefulRampDownMs) vu.controller.abort();
    }
  };

  const onAbort = () => {
    for (const vu of vus) vu.controller.abort();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    schedule();
    while (!signal?.aborted) {
      const elapsed = performance.now() - started;
      if (elapsed >= totalMs) break;
      planned = plannedVus(stages, startVUs, elapsed);
      schedule();
      await pause(Math.min(tickMs, totalMs - elapsed), signal);
    }
    ended = true;
    const running = vus.map((vu) => vu.loop).filter((p): p is Promise<void> => p !== undefined);
    const stopTimer = new AbortController();
    const gracefulStop = pause(options.gracefulStopMs, stopTimer.signal).then(() => {
      if (!stopTimer.signal.aborted) onAbort();
    });
    await Promise.all(running);
    stopTimer.abort();
    await gracefulStop;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
