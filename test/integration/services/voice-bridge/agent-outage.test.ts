import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentFault } from '../../../../sandbox/echo-agent/echo-agent.ts';
import type { CallerStep } from '../../../../sandbox/twilio/media-stream-client.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';

// The voice agent failing while calls come in (the echo agent's fault switch): refusing the upgrade with a
// 500, holding it, opening a socket and never speaking, dropping mid-call with no way back. Each caller
// hears the fallback and the call hangs up; nothing is left open on either side; the breaker opens on
// repeated failures (callers then get <Say> at once, without a stream) and closes once the agent is back.

const FALLBACK = 'Sorry, the assistant is unavailable.';

let base: Database;
beforeAll(async () => {
  base = await createTestDatabase();
});
afterAll(() => base.close());

let harness: VoiceHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let counter = 0;
const freshNumber = () => `+1415558${String(1000 + counter++).padStart(4, '0')}`;

interface CallDetail {
  id: string;
  status: string;
  failureReason: string | null;
  aiLegEndedBy: string | null;
  events: Array<{ type: string }>;
}

/** One call through the sandbox, waited to its end; what the caller heard and what we stored. */
async function call(h: VoiceHarness) {
  const res = await h.placeCall({ to: freshNumber() });
  expect(res.status).toBe(201);
  const created = (await res.json()) as { id: string; providerCallSid: string };
  const sandboxCall = await h.twilio.waitForCall(created.providerCallSid);
  expect(sandboxCall.errors).toEqual([]);
  expect(await h.streamsClosed()).toBe(true);
  const detail = (await (await h.request(`/calls/${created.id}`)).json()) as CallDetail;
  return { sandboxCall, detail };
}

/** Waits until the agent has no session open (we closed ours), bounded. */
async function agentIdle(h: VoiceHarness, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (h.echo.liveSessions > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return h.echo.liveSessions === 0;
}

describe('calls while the voice agent fails', () => {
  const faults: Array<[string, AgentFault, RegExp]> = [
    [
      'refusing the upgrade with a 500',
      { mode: 'server-error' },
      /^agent unavailable: agent connection failed/,
    ],
    ['holding the upgrade past our timeout', { mode: 'timeout' }, /^agent unavailable: agent did not answer/],
    ['opening a socket and never speaking', { mode: 'silent' }, /^agent unavailable: agent did not answer/],
  ];
  for (const [name, fault, reason] of faults) {
    it(`agent ${name}: the caller hears the fallback, the call hangs up, nothing stays open`, async () => {
      harness = await startWithEchoUrl();
      harness.echo.setFault(fault);
      const { sandboxCall, detail } = await call(harness);
      expect(sandboxCall.said).toEqual([FALLBACK]);
      expect(sandboxCall.twiml.at(-1)?.map((v) => v.verb)).toEqual(['Say', 'Hangup']);
      expect(detail).toMatchObject({ status: 'completed', aiLegEndedBy: 'agent_unavailable' });
      expect(detail.failureReason).toMatch(reason);
      expect(detail.events.map((e) => e.type)).toContain('agent_unavailable');
      harness.echo.releaseHolds();
      expect(await agentIdle(harness)).toBe(true);
    });
  }

  it('agent failing repeatedly: the breaker opens (callers get <Say> at once), then closes once the agent is back', async () => {
    harness = await startWithEchoUrl({ breakers: { agent: { resetTimeout: 800, volumeThreshold: 2 } } });
    const h = harness;
    h.echo.setFault({ mode: 'server-error' });
    for (let i = 0; i < 2; i++) expect((await call(h)).sandboxCall.said).toEqual([FALLBACK]);
    expect(h.breakers.states()['voice-agent']).toBe('open');

    // Open: the answer webhook speaks the fallback itself; no stream, no attempt on the agent.
    const attempts = h.echo.stats.sessions;
    const open = await call(h);
    expect(open.sandboxCall.stream).toBeUndefined();
    expect(open.sandboxCall.said).toEqual([FALLBACK]);
    expect(open.detail.failureReason).toBe('agent unavailable: breaker open');
    expect(h.echo.stats.sessions).toBe(attempts);

    h.echo.setFault({ mode: 'none' });
    const until = Date.now() + 5000;
    while (h.breakers.states()['voice-agent'] !== 'halfOpen' && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const back = await call(h);
    expect(back.sandboxCall.stream?.receivedBytes).toBeGreaterThan(0);
    expect(back.detail.aiLegEndedBy).toBeNull();
    expect(back.detail.events.map((e) => e.type)).toContain('agent_connected');
    expect(h.breakers.states()['voice-agent']).toBe('closed');
  });

  it('agent dropping mid-call and refusing to come back: rollover fails, the caller hears the fallback', async () => {
    let h: VoiceHarness | undefined;
    const script: CallerStep[] = [
      { silenceMs: 200 },
      {
        run: () => {
          h!.echo.setFault({ mode: 'server-error' });
          h!.echo.closeAll(1011, 'agent crashed');
        },
      },
      { silenceMs: 2000 },
    ];
    harness = await startWithEchoUrl({}, { script, listenMs: 100 });
    h = harness;
    const { sandboxCall, detail } = await call(h);
    expect(sandboxCall.stream?.endedBy).toBe('server');
    expect(sandboxCall.said).toEqual([FALLBACK]);
    expect(detail.aiLegEndedBy).toBe('agent_unavailable');
    const types = detail.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['agent_connected', 'agent_rollover', 'agent_unavailable']));
    expect(detail.status).toBe('completed');
    expect(await agentIdle(h)).toBe(true);
  });
});

/** The harness with the echo agent's own URL (known once it listens) and a short connect timeout. */
async function startWithEchoUrl(
  config: { breakers?: { agent?: Record<string, number> } } = {},
  sandbox: Record<string, unknown> = {},
) {
  return startVoiceHarness({
    db: base,
    echo: { hangMs: 5000 },
    sandbox,
    agentConnectTimeoutMs: 300,
    config: {
      breakers: { agent: { resetTimeout: 60_000, volumeThreshold: 2, ...config.breakers?.agent } },
    },
  });
}
