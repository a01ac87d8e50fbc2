import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedProfile } from '../../../load/common/options.js';
import { renderReportHtml } from '../../../load/report/render-report.js';
import { loadSeedResults } from '../../../load/runner/profiles.ts';
import { toSummaryFile } from '../../../load/runner/results.ts';
import { runClosedProfile } from '../../../load/runner/run-closed.ts';
import { EXIT_THRESHOLDS_FAILED } from '../../../load/runner/thresholds.ts';
import { STUB_SECRETS, type StubEdge, startStubEdge } from './stub-edge.ts';

/** The CI profile's shape and checks in three seconds, against the stub. */
function tinyProfile(overrides: Partial<ClosedProfile> = {}): ClosedProfile {
  return {
    name: 'tiny',
    model: 'closed',
    stages: [
      { duration: '1s', target: 4 },
      { duration: '1s', target: 4 },
      { duration: '1s', target: 0 },
    ],
    gracefulRampDown: '1s',
    gracefulStop: '2s',
    iterationSleepSeconds: 0.1,
    requestTimeout: '2s',
    thresholds: {
      http_req_duration: ['p(95)<500'],
      errors: ['rate<0.1'],
      http_req_failed: ['rate<0.05'],
      'http_req_duration{service:voice-bridge}': ['p(95)<500'],
      'checks{flow:outboundRateLimitProbe}': ['rate==1'],
      'checks{flow:renderLifecycle}': ['rate==1'],
    },
    services: {
      'voice-bridge': {
        vuScale: 1,
        steps: ['health'],
        mix: [
          { flow: 'outboundCallValidation', weight: 40 },
          { flow: 'voiceStatusCallback', weight: 50 },
          { flow: 'outboundCall', weight: 10 },
        ],
      },
      'whatsapp-webhook': {
        vuScale: 1,
        steps: ['health'],
        mix: [
          { flow: 'whatsappWebhook', weight: 85 },
          { flow: 'whatsappSend', weight: 15 },
        ],
      },
      'video-orchestrator': { vuScale: 0.5, steps: ['health'], mix: [{ flow: 'renderStatus', weight: 1 }] },
    },
    extraScenarios: {
      renders: {
        executor: 'shared-iterations',
        service: 'video-orchestrator',
        flow: 'renderLifecycle',
        iterations: 2,
        maxDuration: '3s',
        params: { pollIntervalSeconds: 0.1, timeoutSeconds: 2 },
      },
      'rate-limit': {
        executor: 'shared-iterations',
        service: 'voice-bridge',
        flow: 'outboundRateLimitProbe',
        startTime: '500ms',
        maxDuration: '3s',
        params: { attempts: 6 },
      },
    },
    ...overrides,
  };
}

describe('Node runner: closed model against a stub of the edge', () => {
  let stub: StubEdge;
  let seed: unknown;
  beforeAll(async () => {
    stub = await startStubEdge({ destinationLimit: 3 });
    seed = await loadSeedResults();
  });
  afterAll(async () => {
    await stub.close();
  });
  const config = () => ({ ...STUB_SECRETS, voicePublicUrl: stub.baseUrls['voice-bridge'] });

  it('runs every scenario, passes the seed thresholds and exits 0', async () => {
    const started = Date.now();
    const result = await runClosedProfile({
      profile: tinyProfile(),
      seed,
      baseUrls: stub.baseUrls,
      config: config(),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const failedChecks = result.checks.filter((c) => c.fails > 0);
    expect(failedChecks).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.easymo.passed).toBe(true);
    expect(stub.seen.badSignatures).toBe(0);
    expect(stub.seen.webhooks).toBeGreaterThan(0);
    expect(stub.seen.statusCallbacks).toBeGreaterThan(0);

    // Same metric names as k6.
    for (const name of [
      'http_reqs',
      'http_req_duration',
      'http_req_failed',
      'checks',
      'errors',
      'iterations',
      'vus',
      'vus_max',
    ]) {
      expect(result.metrics[name], name).toBeDefined();
    }
    expect(Object.keys(result.metrics.http_req_duration.values)).toEqual(
      expect.arrayContaining(['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)']),
    );
    expect(result.metrics.vus_max.values.max).toBeGreaterThanOrEqual(8);
    expect(result.metrics.vus_max.values.max).toBeLessThanOrEqual(12);

    // The limiter probe saw 201s, then 429s with Retry-After.
    const probe = result.checks.filter((c) => c.name.startsWith('limiter') || c.name.startsWith('429'));
    expect(probe.map((c) => c.name).sort()).toEqual([
      '429 carries Retry-After',
      'limiter accepts calls until the policy is spent',
      'limiter keeps rejecting once over the policy',
      'limiter rejects with 429 past the policy',
    ]);
    // Renders completed and were timed.
    expect(result.easymo.renders.completed).toBe(2);
    expect(result.easymo.renders.processingP95Ms).toBeGreaterThan(250);

    // Per stage and per service, with the seed comparison.
    expect(result.easymo.stages).toHaveLength(3);
    for (const stage of result.easymo.stages) expect(stage.requests).toBeGreaterThan(0);
    expect(result.easymo.perService['voice-bridge'].peakVus).toBe(4);
    expect(result.easymo.perService['video-orchestrator'].peakVus).toBe(2);
    const voiceP95 = result.easymo.comparison.find(
      (r) => r.service === 'voice-bridge' && r.measure === 'p95',
    );
    expect(voiceP95).toMatchObject({ seed: 287, better: true });

    // The summary file and the report read it.
    const summary = toSummaryFile(result, null, seed);
    expect(summary.root_group.checks.length).toBeGreaterThan(5);
    expect(Object.keys(summary.metrics).some((k) => k.includes('stage:'))).toBe(false);
    const html = renderReportHtml(summary, { chartJs: '/* chart.js */' });
    expect(html).toContain('id="chart-throughput"');
    expect(html).toContain('PASSED');
  }, 30_000);

  it('exits 99 when a threshold fails, as k6 does', async () => {
    stub.setDelayMs(40);
    try {
      const result = await runClosedProfile({
        profile: tinyProfile({
          stages: [{ duration: '1s', target: 2 }],
          thresholds: { http_req_duration: ['p(95)<20'], errors: ['rate<0.1'] },
          extraScenarios: {},
        }),
        seed,
        baseUrls: stub.baseUrls,
        config: config(),
      });
      expect(result.exitCode).toBe(EXIT_THRESHOLDS_FAILED);
      expect(result.easymo.passed).toBe(false);
      expect(result.easymo.thresholds).toEqual([
        { metric: 'http_req_duration', expression: 'p(95)<20', ok: false },
        { metric: 'errors', expression: 'rate<0.1', ok: true },
      ]);
    } finally {
      stub.setDelayMs(0);
    }
  }, 30_000);

  it('counts refused connections as failed requests and errors', async () => {
    const result = await runClosedProfile({
      // A ramp 0 → 1 over the whole run would start its VU only at the end (k6 semantics): jump instead.
      profile: tinyProfile({
        stages: [
          { duration: '0s', target: 1 },
          { duration: '500ms', target: 1 },
        ],
        extraScenarios: {},
      }),
      seed,
      baseUrls: { ...stub.baseUrls, 'voice-bridge': 'http://127.0.0.1:9' },
      config: config(),
      services: ['voice-bridge'],
    });
    expect(result.exitCode).toBe(EXIT_THRESHOLDS_FAILED);
    expect(result.metrics.http_req_failed.values.rate).toBe(1);
    expect(result.metrics.errors.values.rate).toBe(1);
  }, 30_000);
});
