import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { uid, waitUntil } from '../traffic.ts';
import { freshNumbers, type PlaceAnswer, voiceClient } from '../voice-calls.ts';

const BREAKER = 'twilio-calls';
/** Past the breaker's timeout (chaos: 1.5 s), within our request's own (10 s): a late answer. */
const HANG_MS = 3000;

/**
 * Twilio's REST API answering 500s, then hanging past our timeout (creating nothing, then creating the call
 * but answering late) while outbound calls are placed with Idempotency-Keys. What must hold: every answer
 * is honest (503 + Retry-After when nothing was placed, 202 when Twilio may have the call; never another
 * 5xx), the breaker opens, no key ever has two real calls, and once Twilio is back a client retrying as
 * told ends with each key's call placed exactly once, stored with its CallSid; the breaker closes.
 */
export const twilioOutage: Scenario = {
  name: 'twilio-outage',
  async run(ctx: ChaosContext) {
    const voice = voiceClient(ctx);
    const numbers = freshNumbers(8, '415');
    const keys = numbers.map(() => `chaos-${uid()}`);
    const during: PlaceAnswer[] = [];
    const place = async (i: number) => {
      const answer = await voice.place(numbers[i], keys[i]);
      during.push(answer);
      return answer;
    };

    // 1. 500s: the first failures reach Twilio, then the breaker opens and answers at once.
    await voice.twilioFault({ mode: 'server-error' });
    for (const i of [0, 1, 2, 3]) await place(i);
    const opened = await voice.breakerReaches(BREAKER, 'open', 5000);
    ctx.log(`breaker ${BREAKER} ${opened ? 'open' : 'never opened'}; Twilio now hangs, creating nothing`);

    // 2. Hanging, nothing created: the half-open trial times out (202: Twilio may have it), the next is
    //    refused by the reopened breaker; Twilio's late 503 then fails the first and frees its key.
    await voice.twilioFault({ mode: 'timeout', hangMs: HANG_MS });
    const halfOpenA = await voice.breakerReaches(BREAKER, 'halfOpen');
    await place(4);
    await place(5);

    // 3. Creating the call but answering late: 202 again, and this time Twilio really has the call.
    await voice.twilioFault({ mode: 'accept-late', hangMs: HANG_MS });
    const halfOpenB = await voice.breakerReaches(BREAKER, 'halfOpen');
    await place(6);
    await place(7);
    await voice.twilioFault({ mode: 'none' });
    const recoveredAt = Date.now();
    ctx.log('Twilio answers again; retrying every key as told');

    // A client doing what the answers say: after a 503 wait Retry-After and retry with the same key;
    // after a 202 follow the call until it is decided, and retry with the key if it failed.
    const outcomes = await Promise.all(numbers.map((to, i) => settle(voice, to, keys[i], during[i])));
    const settledAfterMs = Date.now() - recoveredAt;

    const sandboxCalls = await voice.sandboxCalls();
    const perNumber = numbers.map((to) => sandboxCalls.filter((c) => c.to === to));
    const sql = postgres(ctx.system.databaseUrl, { max: 1, onnotice: () => {} });
    let stored: Array<{ key: string; sid: string | null; status: string }>;
    try {
      stored = (await sql`select idempotency_key as key, provider_call_sid as sid, status
                           from voice_calls where idempotency_key = any(${keys})`) as never;
    } finally {
      await sql.end({ timeout: 5 });
    }
    const closed = await voice.breakerReaches(BREAKER, 'closed', 30_000);
    const honest = (a: PlaceAnswer) =>
      a.status === 202 || (a.status === 503 && a.retryAfter !== null && a.retryAfter > 0);
    return {
      checks: {
        'every answer during the outage was 503 + Retry-After or 202': during.every(honest),
        'breaker opened': opened,
        'half-open trials reached Twilio': halfOpenA && halfOpenB,
        'Twilio maybe-placed calls answered 202': during[4]?.status === 202 && during[6]?.status === 202,
        'never two calls for one Idempotency-Key': perNumber.every((calls) => calls.length <= 1),
        'each key placed exactly once after recovery': perNumber.every((calls) => calls.length === 1),
        'each key stored with its Twilio CallSid': numbers.every((_, i) => {
          const row = stored.find((r) => r.key === keys[i]);
          return row?.sid !== null && row?.sid === perNumber[i][0]?.sid;
        }),
        'breaker closed again': closed,
      },
      figures: {
        calls: numbers.length,
        duringOutage: during.map((a) => `${a.status} ${String(a.body.detail ?? a.body.status ?? '')}`),
        retriesPerKey: outcomes.map((o) => o.attempts),
        finalStatuses: outcomes.map((o) => o.status),
        settledAfterMs,
        callsPerKey: perNumber.map((calls) => calls.length),
      },
    };
  },
};

/** Retries one key the way its answers say until it is decided; returns what it took. */
async function settle(
  voice: ReturnType<typeof voiceClient>,
  to: string,
  key: string,
  first: PlaceAnswer,
): Promise<{ attempts: number; status: string }> {
  let answer = first;
  let attempts = 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (answer.status === 503) {
      await delay(Math.min(answer.retryAfter ?? 1, 5) * 1000);
    } else if (answer.status === 202) {
      const id = String(answer.body.id);
      const decided = await waitUntil(
        async () => {
          const call = await voice.call(id);
          return call.providerCallSid !== null || call.status !== 'queued' ? call : null;
        },
        30_000,
        200,
      );
      if (decided?.providerCallSid) return { attempts, status: decided.status };
    } else {
      return { attempts, status: String(answer.body.status ?? answer.status) };
    }
    attempts++;
    answer = await voice.place(to, key);
  }
  return { attempts, status: 'undecided' };
}
