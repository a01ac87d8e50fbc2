import { LOAD_DEFAULTS } from '../load/common/config.js';
import type { ChaosContext } from './chaos-context.ts';
import { waitUntil } from './traffic.ts';

/** What the Twilio sandbox saw of one call (`GET /sandbox/twilio/calls`). */
export interface SandboxCallView {
  sid: string;
  to: string;
  status: string;
  said: string[];
  errors: string[];
  stream?: { endedBy: string; receivedBytes: number; connected: boolean };
}

/** Our view of one call (`GET /calls/:id`). */
export interface CallView {
  id: string;
  status: string;
  providerCallSid: string | null;
  failureReason: string | null;
  aiLegEndedBy: string | null;
  events?: Array<{ type: string }>;
}

export interface PlaceAnswer {
  status: number;
  retryAfter: number | null;
  body: Record<string, unknown>;
}

/** Helpers over the voice bridge and the sandbox's Twilio and agent, for the voice scenarios. */
export function voiceClient(ctx: ChaosContext) {
  const voice = ctx.urls['voice-bridge'];
  const sandbox = ctx.urls.sandbox;
  const auth = { authorization: `Bearer ${LOAD_DEFAULTS.VOICE_API_KEY}` };
  const json = async <T>(res: Response) => (await res.json()) as T;
  const post = (url: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(json<Record<string, unknown>>);

  const client = {
    /** POST /calls/outbound, with an Idempotency-Key when given. */
    async place(to: string, idempotencyKey?: string): Promise<PlaceAnswer> {
      const res = await fetch(`${voice}/calls/outbound`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: JSON.stringify({ to }),
        signal: AbortSignal.timeout(30_000),
      });
      const retryAfter = res.headers.get('retry-after');
      return {
        status: res.status,
        retryAfter: retryAfter === null ? null : Number(retryAfter),
        body: await json<Record<string, unknown>>(res),
      };
    },
    async call(id: string): Promise<CallView> {
      return json<CallView>(await fetch(`${voice}/calls/${id}`, { headers: auth }));
    },
    async sandboxCalls(): Promise<SandboxCallView[]> {
      return json<SandboxCallView[]>(await fetch(`${sandbox}/sandbox/twilio/calls`));
    },
    twilioFault: (fault: { mode: string; hangMs?: number; count?: number }) =>
      post(`${sandbox}/sandbox/twilio/faults`, fault),
    agentFault: (fault: { mode: string; hangMs?: number; dropLive?: boolean }) =>
      post(`${sandbox}/sandbox/agent/faults`, fault),
    async agentState(): Promise<{ liveSessions: number; sessions: number; taken: Record<string, number> }> {
      return json(await fetch(`${sandbox}/sandbox/agent/faults`));
    },
    async breaker(name: string): Promise<string | undefined> {
      const res = await fetch(`${voice}/health`);
      return (await json<{ breakers: Record<string, string> }>(res)).breakers[name];
    },
    /** Waits for the breaker to reach `state` (bounded); true when it did. */
    async breakerReaches(name: string, state: string, timeoutMs = 20_000): Promise<boolean> {
      return Boolean(await waitUntil(async () => (await client.breaker(name)) === state, timeoutMs, 50));
    },
    /** Waits until the sandbox call to `to` has ended (bounded), and returns it. */
    async endedCallTo(to: string, timeoutMs = 40_000): Promise<SandboxCallView | null> {
      return waitUntil(
        async () => {
          const call = (await client.sandboxCalls()).find((c) => c.to === to);
          return call && ['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(call.status)
            ? call
            : null;
        },
        timeoutMs,
        200,
      );
    },
  };
  return client;
}

/** A destination of its own for each call of a run (E.164, unlikely to repeat across runs). */
export function freshNumbers(count: number, prefix: string): string[] {
  const stamp = Date.now() % 1_000_000;
  return Array.from({ length: count }, (_, i) => `+1${prefix}${String(stamp * 100 + i).padStart(8, '0')}`);
}
