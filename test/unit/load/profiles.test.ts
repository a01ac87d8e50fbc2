import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../load/common/duration.js';
import {
  compileClosedProfile,
  compileOpenProfile,
  openProfileRates,
  SERVICES,
  stagePlan,
} from '../../../load/common/options.js';
import { loadClosedProfile, loadOpenProfile, PROFILES_DIR } from '../../../load/runner/profiles.ts';
import { toTimedStages, totalDurationMs } from '../../../load/runner/ramping.ts';

const SEED_THRESHOLDS = {
  http_req_duration: ['p(95)<500'],
  errors: ['rate<0.1'],
  http_req_failed: ['rate<0.05'],
};

describe('load profiles (the one source of truth for k6 and the Node runner)', () => {
  it('every profile file parses and validates', async () => {
    const files = (await readdir(PROFILES_DIR)).filter(
      (f) => f.endsWith('.json') && f !== 'easymo-seed-results.json',
    );
    expect(files.sort()).toEqual([
      'ci.json',
      'easymo-baseline.json',
      'open-model-ci.json',
      'open-model.json',
    ]);
    for (const file of files) {
      const name = file.replace(/\.json$/, '');
      if (name.startsWith('open-model'))
        await expect(loadOpenProfile(name)).resolves.toMatchObject({ model: 'open' });
      else await expect(loadClosedProfile(name)).resolves.toMatchObject({ model: 'closed' });
    }
  });

  it('easymo-baseline is the seed run: its stages, 21 minutes, its thresholds, sleep(1)', async () => {
    const profile = await loadClosedProfile('easymo-baseline');
    expect(profile.stages).toEqual([
      { duration: '2m', target: 10 },
      { duration: '5m', target: 10 },
      { duration: '2m', target: 50 },
      { duration: '5m', target: 50 },
      { duration: '2m', target: 100 },
      { duration: '3m', target: 100 },
      { duration: '2m', target: 0 },
    ]);
    expect(totalDurationMs(toTimedStages(profile.stages))).toBe(21 * 60_000);
    expect(profile.thresholds).toMatchObject(SEED_THRESHOLDS);
    expect(profile.iterationSleepSeconds).toBe(1);
  });

  it('ci has the seed’s shape compressed to about two minutes, with the same thresholds and mixes', async () => {
    const ci = await loadClosedProfile('ci');
    const seed = await loadClosedProfile('easymo-baseline');
    expect(ci.stages.map((s) => s.target)).toEqual(seed.stages.map((s) => s.target));
    const seconds = totalDurationMs(toTimedStages(ci.stages)) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(100);
    expect(seconds).toBeLessThanOrEqual(150);
    expect(ci.thresholds).toEqual(seed.thresholds);
    expect(ci.services).toEqual(seed.services);
  });

  it('compiles to k6 options: a ramping-vus scenario per service plus bounded extras', async () => {
    const compiled = compileClosedProfile(await loadClosedProfile('ci'));
    expect(compiled.services).toEqual(SERVICES);
    expect(compiled.options.scenarios['voice-bridge']).toMatchObject({
      executor: 'ramping-vus',
      startVUs: 0,
      exec: 'closedModel',
      tags: { service: 'voice-bridge' },
    });
    expect(compiled.options.scenarios['video-orchestrator'].stages?.map((s) => s.target)).toEqual([
      3, 3, 13, 13, 25, 25, 0,
    ]);
    for (const extra of ['renders', 'rate-limit']) {
      const scenario = compiled.options.scenarios[extra];
      expect(scenario.executor).toBe('shared-iterations');
      expect(parseDuration(scenario.maxDuration!)).toBeLessThanOrEqual(120_000);
    }
    expect(compiled.options.thresholds).toMatchObject(SEED_THRESHOLDS);
    // Report sub-metrics exist for every stage and service, always passing.
    expect(compiled.options.thresholds['http_reqs{service:voice-bridge,stage:4}']).toEqual(['count>=0']);
    expect(compiled.options.thresholds['http_req_duration{stage:6}']).toEqual(['max>=0']);
    expect(compiled.options.summaryTrendStats).toContain('p(99)');
    expect(compiled.plan).toEqual(stagePlan((await loadClosedProfile('ci')).stages));
  });

  it('drops scenarios and thresholds of services left out of a run', async () => {
    const compiled = compileClosedProfile(await loadClosedProfile('ci'), { services: ['whatsapp-webhook'] });
    expect(Object.keys(compiled.options.scenarios)).toEqual(['whatsapp-webhook']);
    expect(Object.keys(compiled.realThresholds).sort()).toEqual([
      'errors',
      'http_req_duration',
      'http_req_duration{service:whatsapp-webhook}',
      'http_req_failed',
    ]);
  });

  it('compiles the open model to a ramping-arrival-rate staircase climbing to its bound, a breakpoint per step', async () => {
    const open = await loadOpenProfile('open-model-ci');
    const compiled = compileOpenProfile(open, 'voice-bridge', { abortOnFail: true });
    const scenario = compiled.options.scenarios['voice-bridge'];
    expect(scenario.executor).toBe('ramping-arrival-rate');
    const rates = compiled.steps.map((s) => s.rate);
    expect(rates).toEqual(openProfileRates(open));
    expect(scenario.stages?.slice(0, 4)).toEqual([
      { duration: '0s', target: rates[0] },
      { duration: open.stepDuration, target: rates[0] },
      { duration: '0s', target: rates[1] },
      { duration: open.stepDuration, target: rates[1] },
    ]);
    expect(compiled.options.thresholds['http_req_duration{step:0}']).toEqual([
      { threshold: 'p(95)<500', abortOnFail: true, delayAbortEval: '2s' },
    ]);
    // Climbs far past what two cores serve, so each service breaks inside it...
    expect(rates.at(-1)).toBeGreaterThanOrEqual(6_000);
    // ...yet bounded for CI: one service's whole climb fits in under 40 seconds.
    expect(compiled.steps.at(-1)!.endMs).toBeLessThanOrEqual(40_000);
  });

  it('turns a climb into rising rates up to its bound, and wants rates or a climb', async () => {
    expect(openProfileRates({ climb: { startRate: 100, factor: 1.5, maxRate: 600 } })).toEqual([
      100, 150, 225, 338, 506,
    ]);
    expect(openProfileRates({ rates: [5, 10] })).toEqual([5, 10]);
    const { OpenProfileSchema } = await import('../../../load/runner/profiles.ts');
    const base = {
      name: 'x',
      model: 'open',
      stepDuration: '1s',
      breakpoint: { http_req_duration: 'p(95)<500', http_req_failed: 'rate<0.05' },
      services: {},
    };
    expect(OpenProfileSchema.safeParse(base).success).toBe(false);
    expect(
      OpenProfileSchema.safeParse({ ...base, rates: [1], climb: { startRate: 1, factor: 2, maxRate: 8 } })
        .success,
    ).toBe(false);
    expect(
      OpenProfileSchema.safeParse({ ...base, climb: { startRate: 1, factor: 1, maxRate: 8 } }).success,
    ).toBe(false);
    expect(
      OpenProfileSchema.safeParse({ ...base, climb: { startRate: 1, factor: 2, maxRate: 8 } }).success,
    ).toBe(true);
  });

  it('rejects a profile with an unknown flow or a malformed threshold', async () => {
    const { ClosedProfileSchema } = await import('../../../load/runner/profiles.ts');
    const bad = {
      name: 'x',
      model: 'closed',
      stages: [{ duration: '1s', target: 1 }],
      thresholds: { http_req_duration: ['p95<500'] },
      services: { 'voice-bridge': { mix: [{ flow: 'nope', weight: 1 }] } },
    };
    const result = ClosedProfileSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'services.voice-bridge.mix.0.flow',
      'thresholds.http_req_duration.0',
    ]);
  });
});
