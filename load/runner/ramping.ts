import { parseDuration } from '../common/duration.js';

export interface TimedStage {
  durationMs: number;
  target: number;
}

export function toTimedStages(stages: readonly { duration: string; target: number }[]): TimedStage[] {
  return stages.map((s) => ({ durationMs: parseDuration(s.duration), target: s.target }));
}

export function totalDurationMs(stages: readonly TimedStage[]): number {
  return stages.reduce((sum, s) => sum + s.durationMs, 0);
}

// Float noise must not hold a VU back: 9.999999 VUs planned at the exact instant the line reaches 10.
const EPSILON = 1e-9;

/**
 * How many VUs k6's `ramping-vus` runs `elapsedMs` into the scenario. Inside a stage the target is
 * interpolated linearly from the previous stage's target; VU n starts when the line reaches n on the
 * way up (floor) and stops when it falls to n - 1 on the way down (ceil), as k6's execution steps do.
 * A zero-length stage jumps. After the last stage the count stays at its target; the executor ends.
 */
export function plannedVus(stages: readonly TimedStage[], startVUs: number, elapsedMs: number): number {
  let from = startVUs;
  let stageStart = 0;
  for (const stage of stages) {
    const stageEnd = stageStart + stage.durationMs;
    if (elapsedMs < stageEnd) {
      const line = from + ((stage.target - from) * (elapsedMs - stageStart)) / stage.durationMs;
      return stage.target >= from ? Math.floor(line + EPSILON) : Math.ceil(line - EPSILON);
    }
    from = stage.target;
    stageStart = stageEnd;
  }
  return from;
}

/** The arrival rate (iterations/s) `ramping-arrival-rate` aims for `elapsedMs` into the scenario. */
export function arrivalRateAt(stages: readonly TimedStage[], startRate: number, elapsedMs: number): number {
  let from = startRate;
  let stageStart = 0;
  for (const stage of stages) {
    const stageEnd = stageStart + stage.durationMs;
    if (elapsedMs < stageEnd) {
      return from + ((stage.target - from) * (elapsedMs - stageStart)) / stage.durationMs;
    }
    from = stage.target;
    stageStart = stageEnd;
  }
  return from;
}

/**
 * How many iterations `ramping-arrival-rate` has started by `elapsedMs`: the integral of the linearly
 * interpolated rate. Iteration n starts when this reaches n, which spreads starts evenly instead of
 * bursting once a second.
 */
export function arrivalsBy(stages: readonly TimedStage[], startRate: number, elapsedMs: number): number {
  let from = startRate;
  let stageStart = 0;
  let total = 0;
  for (const stage of stages) {
    if (stage.durationMs === 0) {
      from = stage.target;
      continue;
    }
    const stageEnd = stageStart + stage.durationMs;
    const span = Math.min(elapsedMs, stageEnd) - stageStart;
    if (span <= 0) break;
    const slope = (stage.target - from) / stage.durationMs;
    total += (from * span + (slope * span * span) / 2) / 1000;
    if (elapsedMs < stageEnd) return total;
    from = stage.target;
    stageStart = stageEnd;
  }
  return total;
}
