import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../../load/report/render-report.js';
import { histogramQuantile, turnLatencyFromMetrics } from '../../../load/runner/turn-latency.ts';

describe('voice turn latency in the load report', () => {
  it('reads p50/p95 from the service’s own histogram text, interpolated inside buckets', async () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: 'voice_turn_latency_seconds',
      help: 'turns',
      buckets: [0.1, 0.2, 0.3, 0.5, 1],
      registers: [registry],
    });
    // 10 turns: 4 in (0.1, 0.2], 5 in (0.2, 0.3], 1 in (0.5, 1].
    for (const seconds of [0.15, 0.15, 0.15, 0.15, 0.25, 0.25, 0.25, 0.25, 0.25, 0.9])
      histogram.observe(seconds);
    const latency = turnLatencyFromMetrics(await registry.metrics());
    expect(latency.turns).toBe(10);
    expect(latency.p50Ms).toBe(220); // rank 5: first of the five in (0.2, 0.3]
    expect(latency.p95Ms).toBe(750); // rank 9.5: half-way through (0.5, 1]
  });

  it('says nothing was measured when no turn happened', () => {
    expect(turnLatencyFromMetrics('')).toEqual({ turns: 0, p50Ms: null, p95Ms: null });
    expect(histogramQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 0 }])).toBeNull();
  });

  it('renders a section in the report when the run measured turns', () => {
    const easymo = {
      tool: 'node',
      profile: 'ci',
      passed: true,
      testRunDurationMs: 1000,
      services: ['voice-bridge'],
      overall: { requests: 1 },
      stages: [],
      perService: {},
      health: { p95Ms: null },
      renders: { completed: 0, perSecond: null, processingP95Ms: null },
      openModel: null,
      seed: {},
      comparison: [],
      thresholds: [],
      checks: [],
      voiceTurnLatency: { turns: 12, p50Ms: 310, p95Ms: 620 },
    };
    const html = renderReportHtml({ easymo }, { chartJs: '' });
    expect(html).toMatch(/Voice turn latency/);
    expect(html).toMatch(/<b>12<\/b> turns, p50 <b>310 ms<\/b>, p95 <b>620 ms<\/b>/);
  });
});
