import { describe, expect, it } from 'vitest';
import { runRampingArrivalRate } from '../../../load/runner/arrival-rate-executor.ts';
import { pause } from '../../../load/runner/executor.ts';
import { toTimedStages } from '../../../load/runner/ramping.ts';
import { runRampingVus } from '../../../load/runner/ramping-vus-executor.ts';
import { runSharedIterations } from '../../../load/runner/shared-iterations-executor.ts';

describe('ramping-vus executor', () => {
  it('runs independent VU loops whose count follows the stages', async () => {
    const samples: { t: number; active: number }[] = [];
    const started = performance.now();
    let active = 0;
    const perVu = new Map<number, number>();
    await runRampingVus({
      scenario: 's',
      stages: toTimedStages([
        { duration: '400ms', target: 4 },
        { duration: '400ms', target: 4 },
        { duration: '400ms', target: 0 },
      ]),
      gracefulRampDownMs: 1000,
      gracefulStopMs: 1000,
      iterate: async (vu) => {
        perVu.set(vu.id, (perVu.get(vu.id) ?? 0) + 1);
        await pause(20);
      },
      hooks: {
        onActiveVus: (n) => {
          active = n;
          samples.push({ t: performance.now() - started, active });
        },
      },
    });
    const at = (t: number) => [...samples].reverse().find((s) => s.t <= t)?.active ?? 0;
    expect(Math.max(...samples.map((s) => s.active))).toBe(4);
    // Timer delays on a busy machine only make VUs start later, never earlier.
    expect(at(150)).toBeLessThanOrEqual(1);
    expect(samples.some((sample) => sample.active === 4 && sample.t < 1000)).toBe(true);
    expect(active).toBe(0);
    // Every VU looped many times, VU 1 (started first, stopped last) the most.
    expect([...perVu.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(perVu.get(1)!).toBeGreaterThan(perVu.get(4)!);
  });

  it('lets a VU above the target finish its iteration, interrupting it after gracefulRampDown', async () => {
    const outcomes: string[] = [];
    await runRampingVus({
      scenario: 's',
      stages: toTimedStages([
        { duration: '0s', target: 1 },
        { duration: '100ms', target: 1 },
        { duration: '0s', target: 0 },
        { duration: '600ms', target: 0 },
      ]),
      gracefulRampDownMs: 200,
      gracefulStopMs: 50,
      iterate: async (_vu, signal) => {
        await pause(1000, signal);
        outcomes.push(signal.aborted ? 'interrupted' : 'done');
      },
    });
    expect(outcomes).toEqual(['interrupted']);
  });

  it('gives running iterations gracefulStop at the end, then interrupts them', async () => {
    const done: number[] = [];
    const started = performance.now();
    await runRampingVus({
      scenario: 's',
      stages: toTimedStages([
        { duration: '0s', target: 2 },
        { duration: '100ms', target: 2 },
      ]),
      gracefulRampDownMs: 1000,
      gracefulStopMs: 150,
      iterate: async (vu, signal) => {
        await pause(vu.id === 1 ? 50 : 5000, signal);
        if (!signal.aborted) done.push(vu.id);
      },
    });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(done.every((id) => id === 1)).toBe(true);
    expect(done.length).toBeGreaterThan(0);
  });

  it('stops promptly when the outer signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    await runRampingVus({
      scenario: 's',
      stages: toTimedStages([{ duration: '10s', target: 5 }]),
      gracefulRampDownMs: 1000,
      gracefulStopMs: 1000,
      iterate: (_vu, signal) => pause(50, signal),
      signal: controller.signal,
    });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('shared-iterations executor', () => {
  it('shares the iterations among its VUs and honours startTime', async () => {
    const seen: number[] = [];
    const started = performance.now();
    let firstAt = 0;
    await runSharedIterations({
      scenario: 's',
      vus: 2,
      iterations: 5,
      startTimeMs: 100,
      maxDurationMs: 5000,
      gracefulStopMs: 100,
      iterate: async (vu) => {
        firstAt ||= performance.now() - started;
        seen.push(vu.id);
        await pause(10);
      },
    });
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set([1, 2]));
    expect(firstAt).toBeGreaterThanOrEqual(95);
  });

  it('stops at maxDuration', async () => {
    let count = 0;
    const started = performance.now();
    await runSharedIterations({
      scenario: 's',
      vus: 1,
      iterations: 1_000_000,
      startTimeMs: 0,
      maxDurationMs: 200,
      gracefulStopMs: 100,
      iterate: async () => {
        count++;
        await pause(10);
      },
    });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(count).toBeGreaterThan(3);
  });
});

describe('ramping-arrival-rate executor', () => {
  it('starts iterations on schedule whatever their duration', async () => {
    let started = 0;
    await runRampingArrivalRate({
      scenario: 's',
      stages: toTimedStages([
        { duration: '0s', target: 50 },
        { duration: '500ms', target: 50 },
      ]),
      startRate: 0,
      maxVUs: 100,
      gracefulStopMs: 1000,
      iterate: async (_vu, signal) => {
        started++;
        await pause(200, signal);
      },
    });
    expect(started).toBeGreaterThanOrEqual(24);
    expect(started).toBeLessThanOrEqual(26);
  });

  it('drops arrivals when every VU is busy instead of queueing them', async () => {
    let started = 0;
    let dropped = 0;
    await runRampingArrivalRate({
      scenario: 's',
      stages: toTimedStages([
        { duration: '0s', target: 100 },
        { duration: '300ms', target: 100 },
      ]),
      startRate: 0,
      maxVUs: 3,
      gracefulStopMs: 50,
      iterate: (_vu, signal) => pause(1000, signal),
      hooks: {
        onStarted: () => started++,
        onDropped: () => dropped++,
      },
    });
    expect(started).toBe(3);
    expect(dropped).toBeGreaterThanOrEqual(26);
  });
});
