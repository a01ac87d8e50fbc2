import postgres from 'postgres';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { waitUntil } from '../traffic.ts';
import { type CallView, freshNumbers, type SandboxCallView, voiceClient } from '../voice-calls.ts';

const BREAKER = 'voice-agent';
/** The voice bridge's VOICE_FALLBACK_MESSAGE default: what a caller hears when the agent is not there. */
const FALLBACK = 'Sorry, our assistant is not available right now. Please call again later.';

interface Observed {
  phase: string;
  call: SandboxCallView | null;
  stored: CallView;
}

/**
 * The realtime voice agent failing while calls come in (the echo agent's fault switch): refusing the
 * WebSocket upgrade with a 500, holding it past our connect timeout, opening a socket and never speaking,
 * and crashing mid-call with every reconnect refused. What must hold: each caller hears the fallback and
 * the call hangs up (ended, `agent_unavailable` on record); the breaker opens, and while open the answer
 * webhook speaks the fallback without a stream; once the agent is back a call is bridged to it and the
 * breaker closes; no media stream is left open, no process exits.
 */
export const agentOutage: Scenario = {
  name: 'agent-outage',
  async run(ctx: ChaosContext) {
    const voice = voiceClient(ctx);
    const numbers = freshNumbers(14, '416');
    const observed: Observed[] = [];
    let next = 0;
    const callThrough = async (phase: string, during?: () => Promise<void>) => {
      const to = numbers[next++];
      const placed = await voice.place(to);
      if (placed.status !== 201) throw new Error(`${phase}: placing a call answered ${placed.status}`);
      await during?.();
      const call = await voice.endedCallTo(to);
      const id = String(placed.body.id);
      // Our record settles once the sandbox's last callback is in.
      const stored =
        (await waitUntil(async () => {
          const c = await voice.call(id);
          return c.status === 'completed' ? c : null;
        }, 10_000)) ?? (await voice.call(id));
      observed.push({ phase, call, stored });
      ctx.log(`  ${phase}: heard ${JSON.stringify(call?.said ?? null)}, ${stored.failureReason ?? 'agent'}`);
      return { call, stored };
    };

    // 1. The upgrade answered with a 500: callers hear the fallback until the failures outweigh the
    //    successes in the breaker's rolling window (earlier scenarios' calls count too) and it opens.
    //    Failing calls go in pairs (the breaker's volume threshold here), so their failures share one
    //    window however long a call takes; the breaker is watched while they are up, and the next call
    //    placed the moment it opens (by the time a call has ended it may be half-open again).
    await voice.agentFault({ mode: 'server-error' });
    let opened = false;
    let attemptsBefore = 0;
    let openCall: ReturnType<typeof callThrough> | undefined;
    const failingCall = () =>
      callThrough('agent 500', async () => {
        if (!(await voice.breakerReaches(BREAKER, 'open', 15_000)) || opened) return;
        opened = true;
        attemptsBefore = (await voice.agentState()).sessions;
        openCall = callThrough('breaker open');
      });
    for (let pair = 0; pair < 3 && !opened; pair++) await Promise.all([failingCall(), failingCall()]);
    const whileOpen = openCall ? await openCall : null;
    const noAttemptWhileOpen = (await voice.agentState()).sessions === attemptsBefore;

    // 2. Half-open trials meet an agent that holds the upgrade, then one that opens and never speaks.
    await voice.agentFault({ mode: 'timeout', hangMs: 5000 });
    const halfOpenA = await voice.breakerReaches(BREAKER, 'halfOpen');
    await callThrough('agent hangs');
    await voice.agentFault({ mode: 'silent' });
    const halfOpenB = await voice.breakerReaches(BREAKER, 'halfOpen');
    await callThrough('agent silent');

    // 3. The agent is back for a call, then crashes under it and refuses every reconnect.
    await voice.agentFault({ mode: 'none' });
    const halfOpenC = await voice.breakerReaches(BREAKER, 'halfOpen');
    const dropped = await callThrough('agent drops mid-call', async () => {
      await waitUntil(async () => (await voice.agentState()).liveSessions > 0, 20_000, 50);
      await voice.agentFault({ mode: 'server-error', dropLive: true });
    });

    // 4. Recovery: the next call is bridged to the agent and the breaker closes.
    await voice.agentFault({ mode: 'none' });
    const halfOpenD =
      (await voice.breaker(BREAKER)) === 'closed' || (await voice.breakerReaches(BREAKER, 'halfOpen'));
    const recovered = await callThrough('agent back');
    const closed = await voice.breakerReaches(BREAKER, 'closed', 10_000);

    const failing = observed.filter((o) => o.phase !== 'agent back');
    const sql = postgres(ctx.system.databaseUrl, { max: 1, onnotice: () => {} });
    let openStreams: number;
    try {
      const ids = observed.map((o) => o.stored.id);
      const [row] = await sql`select count(*)::int as n from voice_media_streams
                               where call_id = any(${ids}) and closed_at is null`;
      openStreams = row.n;
    } finally {
      await sql.end({ timeout: 5 });
    }
    // The voice bridge and the sandbox it calls (worker-kill's render worker is meant to be dead).
    const exited = ctx.system.processes.filter(
      (p) =>
        ['voice-bridge', 'sandbox'].includes(p.spec.name) &&
        (p.child.exitCode !== null || p.child.signalCode !== null),
    );
    const droppedEvents = dropped.stored.events?.map((e) => e.type) ?? [];
    return {
      checks: {
        'every caller during the outage heard the fallback': failing.every(
          (o) => JSON.stringify(o.call?.said) === JSON.stringify([FALLBACK]),
        ),
        'every call ended, the AI leg on record as agent_unavailable': failing.every(
          (o) => o.stored.status === 'completed' && o.stored.aiLegEndedBy === 'agent_unavailable',
        ),
        'breaker opened': opened,
        'while open: <Say> at once, no stream, no attempt on the agent':
          whileOpen !== null && whileOpen.call?.stream === undefined && noAttemptWhileOpen,
        'half-open trials reached the agent': halfOpenA && halfOpenB && halfOpenC && halfOpenD,
        'mid-call drop: rollover tried, then the fallback': [
          'agent_connected',
          'agent_rollover',
          'agent_unavailable',
        ].every((t) => droppedEvents.includes(t)),
        'after recovery a call is bridged to the agent':
          (recovered.call?.stream?.receivedBytes ?? 0) > 0 && recovered.stored.aiLegEndedBy === null,
        'breaker closed again': closed,
        'no media stream left open': openStreams === 0,
        'no process exited': exited.length === 0,
      },
      figures: {
        calls: observed.map((o) => ({
          phase: o.phase,
          heard: o.call?.said ?? null,
          stream: o.call?.stream
            ? { endedBy: o.call.stream.endedBy, receivedBytes: o.call.stream.receivedBytes }
            : null,
          failureReason: o.stored.failureReason,
        })),
        agent: await voice.agentState(),
        exited: exited.map((p) => p.spec.name),
      },
    };
  },
};
