/**
 * Twilio status callbacks, as Twilio posts them: POST /webhooks/voice/status on the running
 * voice-bridge process, each signed (X-Twilio-Signature over the exact public URL the bridge is
 * configured with) and each a new (CallSid, SequenceNumber) of one of 1,000 live calls placed first
 * through the public API (POST /calls/outbound against the provider sandbox). Measured closed-loop in
 * turns with bare Hono (its own process, same route and answer), then at a fixed offered rate. After each
 * measurement the events are counted: every 2xx must be a stored event.
 */
import { computeTwilioSignature } from '../shared/webhooks/twilio-signature.ts';
import { type BenchSystem, bareHonoCpu, serviceCpu } from './support/bench-system.ts';
import { halfCapacityFigures, measureHalfCapacity } from './support/half-capacity.ts';
import {
  combineMeasurements,
  type HttpFigures,
  type HttpRequestSpec,
  WARM_UP_SECONDS,
} from './support/measure-http.ts';
import { measureOpenRate, type OpenRateFigures } from './support/measure-open-rate.ts';
import { type RssFigures, sampleRss } from './support/rss-sampler.ts';
import { checkStored, type StoredCheck } from './support/stored-check.ts';
import { bareFigures, closedLoopTurn, measureInTurns, turnRatio } from './support/turns.ts';

export interface VoiceStatusBenchOptions {
  durationSeconds: number;
  /** Rounds of the closed-loop measurement in turns with bare Hono (support/turns.ts). */
  rounds: number;
  connections?: number;
  /** Live calls the callbacks are spread over (default 1,000). */
  calls?: number;
  /** The fixed offered rate, events/s (default 2,000). */
  offeredRate?: number;
}

interface LiveCall {
  id: string;
  sid: string;
}

const STATUSES = ['initiated', 'ringing', 'in-progress', 'completed'] as const;
const MAX_POOL = 200_000;

/** Places `count` calls through the public API; the sandbox keeps them queued (see BENCH_ENV). */
async function placeCalls(system: BenchSystem, count: number): Promise<LiveCall[]> {
  const calls: LiveCall[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const response = await fetch(`${system.urls.voice}/calls/outbound`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${system.secrets.voiceApiKey}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-call-${process.pid}-${n}`,
        },
        // A destination per call: the per-destination toll-fraud limit stays the system's own.
        body: JSON.stringify({ to: `+1415${String(3_000_000 + n).padStart(7, '0')}` }),
      });
      const body = (await response.json()) as { id?: string; providerCallSid?: string | null };
      if (response.status !== 201 || !body.id || !body.providerCallSid)
        throw new Error(`POST /calls/outbound answered ${response.status}: ${JSON.stringify(body)}`);
      calls.push({ id: body.id, sid: body.providerCallSid });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return calls;
}

/**
 * Signed callbacks made up front, so signing in the load generator does not compete with the server
 * for CPU; request i is call i mod calls at sequence `firstSequence + i div calls` (a new event, a
 * real insert). The pool wraps around when the server outruns it: those are Twilio retries, stored once.
 */
function signedCallbacks(options: {
  publicUrl: string;
  authToken: string;
  calls: readonly LiveCall[];
  firstSequence: number;
  count: number;
}): { next: () => HttpRequestSpec; lastSequence: number } {
  const { calls } = options;
  const pool: HttpRequestSpec[] = [];
  for (let i = 0; i < options.count; i++) {
    const call = calls[i % calls.length];
    const sequence = options.firstSequence + Math.floor(i / calls.length);
    const path = `/webhooks/voice/status?callId=${call.id}`;
    const params: Record<string, string> = {
      AccountSid: 'AC00000000000000000000000000000000',
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: STATUSES[Math.min(sequence, STATUSES.length - 1)],
      CallbackSource: 'call-progress-events',
      Direction: 'outbound-api',
      From: '+15005550006',
      To: '+14155550100',
      SequenceNumber: String(sequence),
      Timestamp: new Date().toUTCString().replace('GMT', '+0000'),
    };
    pool.push({
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': computeTwilioSignature(
          options.authToken,
          `${options.publicUrl}${path}`,
          params,
        ),
      },
      body: new URLSearchParams(params).toString(),
      key: `${call.sid}:${sequence}`,
    });
  }
  let next = 0;
  return {
    next: () => pool[next++ % pool.length],
    lastSequence: options.firstSequence + Math.ceil(options.count / calls.length) - 1,
  };
}

export async function benchVoiceStatus(system: BenchSystem, options: VoiceStatusBenchOptions) {
  const { sql } = system;
  const offeredRate = options.offeredRate ?? 2000;
  const calls = await placeCalls(system, options.calls ?? 1000);
  const sids = calls.map((c) => c.sid);
  let firstSequence = 0;
  // The next `count` callbacks; bare Hono ignores them, so its runs take them without using them up.
  const sign = (count: number) =>
    signedCallbacks({
      publicUrl: system.voicePublicUrl,
      authToken: system.secrets.twilioAuthToken,
      calls,
      firstSequence,
      count,
    });
  const callbacks = (count: number) => {
    const made = sign(count);
    const range = { from: firstSequence, to: made.lastSequence };
    firstSequence = made.lastSequence + 1;
    return { next: made.next, range };
  };
  const storedCheck = (range: { from: number; to: number }, keys: readonly string[], unanswered: number) =>
    checkStored({
      acknowledgedKeys: keys,
      unansweredAtStop: unanswered,
      countStored: async () =>
        (
          await sql<{ n: number }[]>`
            select count(*)::int as n from voice_call_events
            where source = 'provider' and provider_call_sid = any(${sql.array(sids)})
              and sequence_number between ${range.from} and ${range.to}`
        )[0].n,
      countStoredOf: async (acknowledged) =>
        (
          await sql<{ n: number }[]>`
            select count(*)::int as n
            from voice_call_events e
            join unnest(${sql.array(acknowledged.map((k) => k.split(':')[0]))}::text[],
                        ${sql.array(acknowledged.map((k) => k.split(':')[1]))}::int[]) as k(sid, seq)
              on e.provider_call_sid = k.sid and e.sequence_number = k.seq
            where e.source = 'provider'`
        )[0].n,
    });
  // Enough for the status turns at 8,000/s (twice what the system reaches here); bare Hono ignores
  // them, so it takes a quarter and reuses it.
  const poolSize = Math.min(
    MAX_POOL,
    Math.ceil((options.rounds * options.durationSeconds + WARM_UP_SECONDS) * 8_000),
  );
  const closed = callbacks(poolSize);
  let rss = sampleRss({ 'voice-bridge': system.pids['voice-bridge'] });
  const turns = await measureInTurns({
    rounds: options.rounds,
    bare: closedLoopTurn(options, {
      url: system.urls.bare,
      nextRequest: sign(Math.ceil(poolSize / 4)).next,
      cpu: bareHonoCpu(system),
    }),
    subjects: {
      status: closedLoopTurn(options, {
        url: system.urls.voice,
        nextRequest: closed.next,
        cpu: serviceCpu(system, 'voice-bridge'),
        groupCommitMetricsUrl: `${system.urls.voice}/metrics`,
      }),
    },
  });
  const measured = combineMeasurements(turns.subjects.status);
  const voiceStatus: HttpFigures & { stored: StoredCheck; rssMiB: RssFigures } = {
    ...measured.figures,
    rssMiB: rss.stop()['voice-bridge'],
    stored: await storedCheck(closed.range, measured.acknowledgedKeys, measured.unansweredAtStop),
  };
  const toBare = turnRatio(turns.subjects.status, turns.bare);

  // Each open-rate run warms up for a second first (measure-open-rate.ts): its callbacks are stored too.
  const openCount = Math.ceil(offeredRate * (options.durationSeconds + 1) * 1.1);
  // The floor at that rate on this host: bare Hono, its own process, the same callbacks and schedule.
  const bareAtRate = await measureOpenRate({
    url: system.urls.bare,
    ratePerSecond: offeredRate,
    durationSeconds: options.durationSeconds,
    nextRequest: sign(openCount).next,
  });
  const open = callbacks(openCount);
  rss = sampleRss({ 'voice-bridge': system.pids['voice-bridge'] });
  const atRate = await measureOpenRate({
    url: system.urls.voice,
    ratePerSecond: offeredRate,
    durationSeconds: options.durationSeconds,
    nextRequest: open.next,
  });
  const fixedRate: OpenRateFigures & { stored: StoredCheck; rssMiB: RssFigures; bareHono: OpenRateFigures } =
    {
      ...atRate.figures,
      bareHono: bareAtRate.figures,
      rssMiB: rss.stop()['voice-bridge'],
      stored: await storedCheck(open.range, atRate.acknowledgedKeys, atRate.unansweredAtStop),
    };

  // Memory at a sustainable load: half the capacity the closed-loop run showed, twice as long.
  const halfRange = callbacks(
    Math.ceil((voiceStatus.okPerSecond / 2) * (options.durationSeconds * 2 + 1) * 1.1),
  );
  const half = await measureHalfCapacity({
    url: system.urls.voice,
    pid: system.pids['voice-bridge'],
    capacityPerSecond: voiceStatus.okPerSecond,
    durationSeconds: options.durationSeconds * 2,
    nextRequest: halfRange.next,
  });
  const halfCapacity = halfCapacityFigures(
    half,
    await storedCheck(halfRange.range, half.acknowledgedKeys, half.unansweredAtStop),
  );

  return {
    database: 'postgres',
    connections: options.connections ?? 50,
    liveCalls: calls.length,
    rounds: options.rounds,
    ...bareFigures(turns.bare),
    voiceStatus,
    statusToBareThroughputRatio: toBare.ratio,
    statusToBareRatioPerRound: toBare.perRound,
    fixedRate,
    halfCapacity,
    storedEqualsAcknowledged: voiceStatus.stored.ok && fixedRate.stored.ok && halfCapacity.stored.ok,
  };
}
