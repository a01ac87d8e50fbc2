import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenProfile } from '../../../load/common/options.js';
import { runOpenModel } from '../../../load/runner/run-open.ts';
import { STUB_SECRETS, type StubEdge, startStubEdge } from './stub-edge.ts';

// Generous where a step should hold: the stub answers at once, and only a starved machine (other suites
// running beside this one) could make it miss; the breaking test sets its own tight bound.
const profile = (rates: number[], breakpoint = 'p(95)<2000'): OpenProfile => ({
  name: 'tiny-open',
  model: 'open',
  rates,
  stepDuration: '1s',
  preAllocatedVUs: 5,
  maxVUs: 50,
  requestTimeout: '2s',
  breakpoint: { http_req_duration: breakpoint, http_req_failed: 'rate<0.05', maxDroppedRatio: 0.2 },
  services: {
    'whatsapp-webhook': {
      mix: [
        { flow: 'health', weight: 1 },
        { flow: 'whatsappWebhook', weight: 3 },
      ],
    },
  },
});

describe('Node runner: open model (arrival-rate staircase)', () => {
  let stub: StubEdge;
  beforeAll(async () => {
    stub = await startStubEdge();
  });
  afterAll(async () => {
    await stub.close();
  });

  it('holds every step it can and reports the achieved rate of the last one', async () => {
    const results = await runOpenModel({
      profile: profile([20, 40]),
      baseUrls: stub.baseUrls,
      config: { ...STUB_SECRETS, voicePublicUrl: stub.baseUrls['voice-bridge'] },
    });
    const wa = results['whatsapp-webhook'];
    expect(wa.steps.map((s) => s.ok)).toEqual([true, true]);
    expect(wa.maxSustainableRate).toBe(40);
    // Arrivals are scheduled, not paced by responses: about 40 requests in the 1 s step.
    expect(wa.maxSustainableRps).toBeGreaterThan(34);
    expect(wa.maxSustainableRps).toBeLessThan(46);
    expect(wa.brokeAtRate).toBeNull();
    expect(Object.keys(results)).toEqual(['whatsapp-webhook']);
  }, 20_000);

  it('stops at the first step that breaks the breakpoint', async () => {
    stub.setDelayMs(30);
    try {
      const started = Date.now();
      const results = await runOpenModel({
        profile: profile([10, 20, 30, 40, 50], 'p(95)<20'),
        baseUrls: stub.baseUrls,
        config: { ...STUB_SECRETS, voicePublicUrl: stub.baseUrls['voice-bridge'] },
      });
      const wa = results['whatsapp-webhook'];
      expect(wa.brokeAtRate).toBe(10);
      expect(wa.maxSustainableRps).toBeNull();
      expect(wa.steps).toHaveLength(1);
      expect(wa.reason).toMatch(/^broke at 10\/s: p95/);
      // Did not climb the remaining four steps.
      expect(Date.now() - started).toBeLessThan(4500);
    } finally {
      stub.setDelayMs(0);
    }
  }, 20_000);
});
