import { describe, expect, it } from 'vitest';
import { scaleStages, stageIndexAt, stagePlan } from '../../../load/common/options.js';
import { arrivalRateAt, arrivalsBy, plannedVus, toTimedStages } from '../../../load/runner/ramping.ts';

describe('plannedVus (k6 ramping-vus)', () => {
  const stages = toTimedStages([
    { duration: '10s', target: 10 },
    { duration: '5s', target: 10 },
    { duration: '10s', target: 0 },
  ]);

  it('ramps up by whole VUs: VU n starts when the line reaches n (floor)', () => {
    expect(plannedVus(stages, 0, 0)).toBe(0);
    expect(plannedVus(stages, 0, 999)).toBe(0);
    expect(plannedVus(stages, 0, 1000)).toBe(1);
    expect(plannedVus(stages, 0, 5500)).toBe(5);
    expect(plannedVus(stages, 0, 9999)).toBe(9);
  });

  it('holds the target through a flat stage', () => {
    expect(plannedVus(stages, 0, 10_000)).toBe(10);
    expect(plannedVus(stages, 0, 14_999)).toBe(10);
  });

  it('ramps down by whole VUs: VU n stops when the line falls to n - 1 (ceil)', () => {
    expect(plannedVus(stages, 0, 15_000)).toBe(10);
    expect(plannedVus(stages, 0, 15_001)).toBe(10);
    expect(plannedVus(stages, 0, 16_000)).toBe(9);
    expect(plannedVus(stages, 0, 24_999)).toBe(1);
    expect(plannedVus(stages, 0, 25_000)).toBe(0);
  });

  it('interpolates from startVUs and jumps on zero-length stages', () => {
    const jump = toTimedStages([
      { duration: '0s', target: 20 },
      { duration: '10s', target: 40 },
    ]);
    expect(plannedVus(jump, 5, 0)).toBe(20);
    expect(plannedVus(jump, 5, 5000)).toBe(30);
    expect(plannedVus(toTimedStages([{ duration: '10s', target: 10 }]), 4, 5000)).toBe(7);
  });

  it('follows the seed shape compressed for CI without rounding drift', () => {
    const ci = toTimedStages([
      { duration: '10s', target: 10 },
      { duration: '25s', target: 10 },
      { duration: '10s', target: 50 },
      { duration: '25s', target: 50 },
      { duration: '10s', target: 100 },
      { duration: '20s', target: 100 },
      { duration: '10s', target: 0 },
    ]);
    for (const [t, vus] of [
      [10_000, 10],
      [40_000, 30],
      [45_000, 50],
      [75_000, 75],
      [80_000, 100],
      [105_000, 50],
      [110_000, 0],
    ]) {
      expect(plannedVus(ci, 0, t)).toBe(vus);
    }
  });
});

describe('ramping-arrival-rate', () => {
  const stages = toTimedStages([
    { duration: '0s', target: 10 },
    { duration: '2s', target: 10 },
    { duration: '2s', target: 30 },
  ]);

  it('interpolates the rate linearly', () => {
    expect(arrivalRateAt(stages, 0, 1000)).toBe(10);
    expect(arrivalRateAt(stages, 0, 3000)).toBe(20);
  });

  it('starts as many iterations as the integral of the rate', () => {
    expect(arrivalsBy(stages, 0, 1000)).toBeCloseTo(10);
    expect(arrivalsBy(stages, 0, 2000)).toBeCloseTo(20);
    // 2 s ramp 10 → 30/s: 40 more iterations.
    expect(arrivalsBy(stages, 0, 4000)).toBeCloseTo(60);
    expect(arrivalsBy(stages, 0, 60_000)).toBeCloseTo(60);
  });
});

describe('stage plan', () => {
  const plan = stagePlan([
    { duration: '2m', target: 10 },
    { duration: '5m', target: 10 },
    { duration: '2m', target: 0 },
  ]);

  it('labels ramps and holds and places each stage in time', () => {
    expect(plan.map((s) => s.label)).toEqual(['1: 0→10 (2m)', '2: hold 10 (5m)', '3: 10→0 (2m)']);
    expect(plan[1]).toMatchObject({ startMs: 120_000, endMs: 420_000, from: 10, target: 10 });
  });

  it('finds the stage of a moment; graceful-stop time counts toward the last stage', () => {
    expect(stageIndexAt(plan, 0)).toBe(0);
    expect(stageIndexAt(plan, 120_000)).toBe(1);
    expect(stageIndexAt(plan, 10 * 60_000)).toBe(2);
  });

  it('scales targets and keeps at least one VU where the stage had VUs', () => {
    expect(
      scaleStages(
        [
          { duration: '1s', target: 10 },
          { duration: '1s', target: 0 },
        ],
        0.05,
      ),
    ).toEqual([
      { duration: '1s', target: 1 },
      { duration: '1s', target: 0 },
    ]);
    expect(scaleStages([{ duration: '1s', target: 100 }], 0.25)).toEqual([{ duration: '1s', target: 25 }]);
  });
});
