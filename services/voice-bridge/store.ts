import type { Database, Sql } from '../../shared/db/index.ts';
import { CALL_STATUSES, type CallStatus, callStatusMachine } from './call-status-machine.ts';
import type { CallLanguage } from './conversation-language.ts';
import type { AnsweredBy, CallOutcome, MachineAction } from './machine-detection.ts';

export type CallDirection = 'outbound' | 'inbound';

export interface CallRecord {
  id: string;
  direction: CallDirection;
  to: string;
  from: string;
  agent: string | null;
  metadata: Record<string, unknown>;
  status: CallStatus;
  providerCallSid: string | null;
  failureReason: string | null;
  durationSeconds: number | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Why the AI leg ended before the caller hung up; the `<Connect action>` webhook answers from it. */
  aiLegEndedBy: AiLegEnding | null;
  consent: 'granted' | 'refused' | null;
  consentAt: Date | null;
  consentVia: 'speech' | 'dtmf' | null;
  answeredBy: AnsweredBy | null;
  machineAction: MachineAction | null;
  /** Settled once, when the call became terminal (by the database: see machine-detection.ts). */
  outcome: CallOutcome | null;
  /** Since when Twilio may or may not have created this outbound call (our request's answer was lost). */
  placementUnconfirmedAt: Date | null;
}

export type AiLegEnding = 'agent_unavailable' | 'consent_refused';

export interface CallEvent {
  source: 'provider' | 'service';
  type: string;
  sequenceNumber: number | null;
  occurredAt: Date;
  callDuration: number | null;
  detail: Record<string, unknown>;
}

export interface TranscriptTurn {
  role: 'caller' | 'agent';
  text: string;
  at: Date;
  language: CallLanguage;
  /** On the call's media clock (ms since the stream started); null for turns stored before segments. */
  startMs: number | null;
  endMs: number | null;
  /** The agent was cut off: `text` is only what the caller heard. */
  interrupted: boolean;
}

export interface TranscriptSegmentInput {
  speaker: 'caller' | 'agent';
  text: string;
  language: CallLanguage;
  startMs: number;
  endMs: number;
  interrupted: boolean;
  itemId: string | null;
}

/** Outcome of claiming the media stream slot of a call. */
export type StreamClaim = 'claimed' | 'unknown' | 'ended' | 'busy';

export interface NewOutboundCall {
  id: string;
  to: string;
  from: string;
  agent?: string;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
  requestHash?: string;
}

export interface CallListFilter {
  status?: CallStatus;
  direction?: CallDirection;
  to?: string;
  since?: string;
  /** Strictly older than this (created_at, id): the previous page's last row. */
  before?: { createdAt: string; id: string };
  limit: number;
}

/** A listed call and where it sits in the (created_at, id) order, to the microsecond. */
export type ListedCall = CallRecord & { cursorAt: string };

export interface StatusEventInput {
  callSid: string;
  /** Our call id when Twilio echoes it back in the callback URL (calls we placed). */
  callId?: string;
  status: CallStatus;
  /** -1 when Twilio sent none, so a retried callback still dedupes on CallSid + status. */
  sequenceNumber: number;
  occurredAt: Date;
  callDuration?: number;
  detail: Record<string, unknown>;
}

export interface StatusEventResult {
  /** false: a retry of an event already stored. */
  stored: boolean;
  /** The call it belongs to, when we know the CallSid. */
  callId: string | null;
  /** The call's status after this event (unchanged when the event was late or a duplicate). */
  callStatus: CallStatus | null;
}

interface CallRow {
  id: string;
  direction: CallDirection;
  to_number: string;
  from_number: string;
  agent: string | null;
  metadata: Record<string, unknown> | string;
  status: CallStatus;
  provider_call_sid: string | null;
  failure_reason: string | null;
  duration_seconds: number | null;
  answered_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
  updated_at: Date;
  ai_leg_ended_by: AiLegEnding | null;
  consent: 'granted' | 'refused' | null;
  consent_at: Date | null;
  consent_via: 'speech' | 'dtmf' | null;
  answered_by: AnsweredBy | null;
  machine_action: MachineAction | null;
  outcome: CallOutcome | null;
  placement_unconfirmed_at: Date | null;
  request_hash?: string | null;
}

const CALL_COLUMNS = `id, direction, to_number, from_number, agent, metadata, status, provider_call_sid,
  failure_reason, duration_seconds, answered_at, ended_at, created_at, updated_at, ai_leg_ended_by,
  consent, consent_at, consent_via, answered_by, machine_action, outcome, placement_unconfirmed_at`;

const asJson = (value: unknown): Record<string, unknown> =>
  (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>;

function toCall(row: CallRow): CallRecord {
  return {
    id: row.id,
    direction: row.direction,
    to: row.to_number,
    from: row.from_number,
    agent: row.agent,
    metadata: asJson(row.metadata),
    status: row.status,
    providerCallSid: row.provider_call_sid,
    failureReason: row.failure_reason,
    durationSeconds: row.duration_seconds,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    aiLegEndedBy: row.ai_leg_ended_by ?? null,
    consent: row.consent ?? null,
    consentAt: row.consent_at ?? null,
    consentVia: row.consent_via ?? null,
    answeredBy: row.answered_by ?? null,
    machineAction: row.machine_action ?? null,
    outcome: row.outcome ?? null,
    placementUnconfirmedAt: row.placement_unconfirmed_at ?? null,
  };
}

const TERMINAL_RANK = 4;

/** A status's rank in SQL, built from the one map in call-status-machine.ts. */
const rankSql = (column: string) =>
  `case ${column} ${CALL_STATUSES.map((s) => `when '${s}' then ${callStatusMachine.rank(s)}`).join(' ')} end`;

/**
 * A group of status callbacks in one statement (the group-commit writer's flush). Each event is stored once
 * (CallSid + SequenceNumber + status, the partial unique index) and the new ones move their call forward
 * only: per call the highest rank wins (the first of equal ranks, so the first terminal status stays), and
 * Postgres re-evaluates `status_rank` on the row it finally locks, so concurrent groups cannot move a call
 * back. A callback for an unknown CallSid is kept with no call (linked when the call appears).
 */
const STATUS_EVENTS_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as e(
      ord int, call_id uuid, call_sid text, status text, seq int, occurred_at timestamptz, call_duration int, detail jsonb)
  ),
  -- Per-row index lookups (subplans), not joins: a group is a few rows against a table of every call.
  resolved as (
    select i.*, coalesce(
             (select v.id from voice_calls v where v.id = i.call_id),
             (select v.id from voice_calls v where i.call_id is null and v.provider_call_sid = i.call_sid)
           ) as target_id
      from input i
  ),
  ins as (
    insert into voice_call_events
      (call_id, provider_call_sid, source, type, sequence_number, occurred_at, call_duration, detail)
    select target_id, call_sid, 'provider', status, seq, occurred_at, call_duration, detail from resolved order by ord
    on conflict (provider_call_sid, sequence_number, type) where source = 'provider' do nothing
    returning call_id, provider_call_sid, type, sequence_number, occurred_at, call_duration
  ),
  new_events as (
    select ins.*, ${rankSql('ins.type')} as rank,
           (select min(r.ord) from resolved r
             where r.call_sid = ins.provider_call_sid and r.seq = ins.sequence_number and r.status = ins.type) as ord
      from ins
  ),
  per_call as (
    select call_id,
           (array_agg(type order by rank desc, ord))[1] as status,
           max(rank) as rank,
           min(provider_call_sid) as call_sid,
           min(occurred_at) filter (where type = 'in-progress') as answered_at,
           min(occurred_at) filter (where rank = ${TERMINAL_RANK}) as ended_at,
           (array_agg(call_duration order by ord desc) filter (where call_duration is not null))[1] as duration
      from new_events where call_id is not null
     group by call_id
  ),
  upd as (
    update voice_calls c set
      status = case when c.status_rank < p.rank then p.status else c.status end,
      status_rank = greatest(c.status_rank, p.rank),
      provider_call_sid = coalesce(c.provider_call_sid, p.call_sid),
      answered_at = coalesce(c.answered_at, p.answered_at),
      ended_at = coalesce(c.ended_at, p.ended_at),
      duration_seconds = coalesce(p.duration, c.duration_seconds),
      updated_at = now()
    from per_call p
   where c.id = any(array(select call_id from per_call)) and c.id = p.call_id
     -- A call the group does not move is not rewritten (no new row version, no index entries).
     and (c.status_rank < p.rank
       or (c.provider_call_sid is null and p.call_sid is not null)
       or (c.answered_at is null and p.answered_at is not null)
       or (c.ended_at is null and p.ended_at is not null)
       or (p.duration is not null and c.duration_seconds is distinct from p.duration))
    returning c.id, c.status
  )
  select r.ord, r.target_id as "callId", (n.ord is not null) as stored,
         case when n.ord is not null
              then coalesce(u.status, (select v.status from voice_calls v where v.id = r.target_id)) end as "callStatus"
    from resolved r
    left join new_events n on n.ord = r.ord
    left join upd u on u.id = r.target_id
   order by r.ord`;

// An inbound call's creation is one statement (after the CallSid's lock): the call (race-free on the CallSid), the
// callbacks that arrived before it linked to it and their status applied (highest rank wins; among equal
// ranks the earliest, as the monotonic rule keeps it), and its `inbound_created` event. On a second answer
// webhook for the CallSid the existing call is returned, moved forward by the same rule.
const RESOLVE_INBOUND_CALL = `
  with orphans as (
    select id, type, occurred_at, call_duration, ${rankSql('type')} as rank
    from voice_call_events
    where provider_call_sid = $4 and call_id is null and source = 'provider'
  ),
  best as (
    select type, rank from (
      select type, rank, id from orphans
      union all select $5::text, $6::int, null
    ) candidates
    order by rank desc, id asc nulls last
    limit 1
  ),
  call as (
    insert into voice_calls
      (id, direction, to_number, from_number, provider_call_sid, status, status_rank,
       answered_at, ended_at, duration_seconds)
    select $1, 'inbound', $2, $3, $4, best.type, best.rank,
      (select min(occurred_at) from orphans where type = 'in-progress'),
      (select min(occurred_at) from orphans where rank = ${TERMINAL_RANK}),
      (select max(call_duration) from orphans)
    from best
    on conflict (provider_call_sid) do update set
      status = case when voice_calls.status_rank < excluded.status_rank then excluded.status
                    else voice_calls.status end,
      status_rank = greatest(voice_calls.status_rank, excluded.status_rank),
      answered_at = coalesce(voice_calls.answered_at, excluded.answered_at),
      ended_at = coalesce(voice_calls.ended_at, excluded.ended_at),
      duration_seconds = coalesce(voice_calls.duration_seconds, excluded.duration_seconds),
      updated_at = now()
    returning ${CALL_COLUMNS}, (xmax = 0) as inserted
  ),
  linked as (
    update voice_call_events e set call_id = call.id
    from call where e.provider_call_sid = $4 and e.call_id is null
  ),
  created_event as (
    insert into voice_call_events (call_id, provider_call_sid, source, type, detail)
    select id, $4, 'service', 'inbound_created', '{}'::jsonb from call where inserted
  )
  select * from call`;

/**
 * An inbound call's creation and a status callback for its CallSid may commit at the same moment, each
 * unable to see the other's row: the callback would stay an orphan, its status never applied. Both take
 * this transaction lock on the CallSid first (in one order), so the later one sees the earlier. Callbacks
 * naming our call id (calls we placed) need none: their call exists before Twilio hears of it.
 */
async function lockCallSids(tx: Sql, callSids: string[]): Promise<void> {
  await tx.query(
    `select pg_advisory_xact_lock(hashtextextended('voice-call-sid:' || s, 0))
       from (select distinct unnest($1::text[]) as s order by 1) sids`,
    [callSids],
  );
}

/** The callbacks of a group that must be serialised with inbound call creation (see {@link lockCallSids}). */
const unboundCallSids = (inputs: StatusEventInput[]) =>
  inputs.filter((input) => input.callId === undefined).map((input) => input.callSid);

/**
 * A group of callbacks is one statement on its own (no BEGIN/COMMIT) when each names our call id; any
 * other group runs in a transaction, its CallSids locked first.
 */
export const statusEventsFitOneStatement = (inputs: StatusEventInput[]) =>
  unboundCallSids(inputs).length === 0;

/**
 * Stores a group of status callbacks and answers for each, in order, whether it was new, its call, and the
 * call's status after the group. Run it inside a transaction unless {@link statusEventsFitOneStatement}.
 */
export async function insertStatusEvents(sql: Sql, inputs: StatusEventInput[]): Promise<StatusEventResult[]> {
  const unbound = unboundCallSids(inputs);
  if (unbound.length > 0) await lockCallSids(sql, unbound);
  const events = inputs.map((input, ord) => ({
    ord,
    call_id: input.callId ?? null,
    call_sid: input.callSid,
    status: input.status,
    seq: input.sequenceNumber,
    occurred_at: input.occurredAt.toISOString(),
    call_duration: input.callDuration ?? null,
    detail: input.detail,
  }));
  const rows = await sql.query<{
    ord: number;
    callId: string | null;
    stored: boolean;
    callStatus: CallStatus | null;
  }>(STATUS_EVENTS_SQL, [JSON.stringify(events)]);
  return rows.map((r) => ({ stored: r.stored, callId: r.callId, callStatus: r.callStatus }));
}

/** Twilio's answer webhook: our call id for a call we placed, none for an inbound call. */
export interface AnswerInput {
  callId?: string;
  callSid: string;
  to: string;
  from: string;
  status?: CallStatus;
  /** The id an inbound call gets if this answer creates it. */
  newId: string;
}

export interface ResolvedAnswer {
  call: CallRecord;
  created: boolean;
}

/**
 * A group of answers is one statement (no BEGIN/COMMIT) when every one is for a call we placed; an inbound
 * answer creates its call under its CallSid's lock, in a transaction.
 */
export const answersFitOneStatement = (inputs: AnswerInput[]) => inputs.every((input) => input.callId);

/**
 * Resolves a group of answer webhooks, in order: calls we placed learn their CallSid, all in one
 * statement; inbound calls are created (or found again) one statement each, pipelined on the group's
 * connection after their CallSids' locks, so callbacks committed before them are linked and applied.
 * Unknown call ids resolve to null. Run it in a transaction unless {@link answersFitOneStatement}.
 */
export async function resolveAnsweredCalls(
  sql: Sql,
  inputs: AnswerInput[],
): Promise<(ResolvedAnswer | null)[]> {
  const results: (ResolvedAnswer | null)[] = inputs.map(() => null);
  const placed = inputs.flatMap((input, ord) =>
    input.callId ? [{ ord, id: input.callId, sid: input.callSid }] : [],
  );
  const inbound = inputs.flatMap((input, ord) => (input.callId ? [] : [{ ord, input }]));
  const work: Promise<void>[] = [];
  if (placed.length > 0) {
    work.push(
      sql
        .query<CallRow & { ord: number }>(
          `with a as (select * from jsonb_to_recordset($1::jsonb) as a(ord int, id uuid, sid text)),
           -- The first answer per call sets its CallSid (Twilio sends one; a retry carries the same).
           one as (select distinct on (id) id, sid from a order by id, ord),
           upd as (
             update voice_calls v set provider_call_sid = coalesce(v.provider_call_sid, one.sid), updated_at = now()
               from one where v.id = any(array(select id from one)) and v.id = one.id
             returning v.*
           )
           select a.ord, ${CALL_COLUMNS.split(',')
             .map((column) => `upd.${column.trim()}`)
             .join(', ')}
             from a join upd on upd.id = a.id`,
          [JSON.stringify(placed)],
        )
        .then((rows) => {
          for (const row of rows) results[row.ord] = { call: toCall(row), created: false };
        }),
    );
  }
  if (inbound.length > 0) {
    // After the locks, so each statement's snapshot holds every callback committed for its CallSid.
    await lockCallSids(
      sql,
      inbound.map(({ input }) => input.callSid),
    );
    for (const { ord, input } of inbound) {
      const status = input.status ?? 'ringing';
      work.push(
        sql
          .query<CallRow & { inserted: boolean }>(RESOLVE_INBOUND_CALL, [
            input.newId,
            input.to,
            input.from,
            input.callSid,
            status,
            callStatusMachine.rank(status),
          ])
          .then(([row]) => {
            results[ord] = { call: toCall(row), created: row.inserted };
          }),
      );
    }
  }
  await Promise.all(work);
  return results;
}

/**
 * Every statement the voice bridge runs.
 *
 * @example
 * const store = createVoiceStore(db);
 * const call = await store.getCall(id);
 */
export function createVoiceStore(db: Database) {
  const serviceEvent = async (callId: string, type: string, detail: Record<string, unknown> = {}) => {
    await db.query(
      `insert into voice_call_events (call_id, provider_call_sid, source, type, detail)
       select id, provider_call_sid, 'service', $2, $3::jsonb from voice_calls where id = $1`,
      [callId, type, JSON.stringify(detail)],
    );
  };

  const findByIdempotencyKey = async (
    key: string,
  ): Promise<{ call: CallRecord; requestHash: string | null } | null> => {
    const rows = await db.query<CallRow>(
      `select ${CALL_COLUMNS}, request_hash from voice_calls where idempotency_key = $1`,
      [key],
    );
    return rows[0] ? { call: toCall(rows[0]), requestHash: rows[0].request_hash ?? null } : null;
  };

  return {
    /**
     * Stores a new outbound call as `queued` with its `created` event, atomically. With an
     * Idempotency-Key already used, stores nothing and returns the first call (`created: false`).
     */
    async createOutboundCall(
      input: NewOutboundCall,
    ): Promise<{ call: CallRecord; created: boolean; requestHash: string | null }> {
      const rows = await db.query<CallRow>(
        `with call as (
           insert into voice_calls
             (id, direction, to_number, from_number, agent, metadata, idempotency_key, request_hash)
           values ($1, 'outbound', $2, $3, $4, $5::jsonb, $6, $7)
           on conflict (idempotency_key) do nothing
           returning ${CALL_COLUMNS}, request_hash
         ),
         created as (
           insert into voice_call_events (call_id, source, type, detail)
           select id, 'service', 'created', $8::jsonb from call
         )
         select * from call`,
        [
          input.id,
          input.to,
          input.from,
          input.agent ?? null,
          JSON.stringify(input.metadata ?? {}),
          input.idempotencyKey ?? null,
          input.requestHash ?? null,
          JSON.stringify({ agent: input.agent ?? null }),
        ],
      );
      if (rows[0]) return { call: toCall(rows[0]), created: true, requestHash: rows[0].request_hash ?? null };
      const existing = await findByIdempotencyKey(input.idempotencyKey ?? '');
      if (!existing) throw new Error('idempotent insert returned no row and no existing call');
      return { ...existing, created: false };
    },

    findByIdempotencyKey,

    /**
     * The provider accepted the call: remember its CallSid. Idempotent, so a write retried after a lost
     * reply (or after a status callback already linked the CallSid) records the acceptance once.
     */
    async markProviderAccepted(callId: string, callSid: string, providerStatus: string): Promise<CallRecord> {
      const rows = await db.query<CallRow>(
        `with upd as (
           update voice_calls set provider_call_sid = $2, updated_at = now()
           where id = $1 and provider_call_sid is null returning ${CALL_COLUMNS}
         ),
         ev as (
           insert into voice_call_events (call_id, provider_call_sid, source, type, detail)
           select id, $2, 'service', 'provider_accepted', $3::jsonb from upd
         )
         select * from upd
         union all
         select ${CALL_COLUMNS} from voice_calls where id = $1 and not exists (select 1 from upd)`,
        [callId, callSid, JSON.stringify({ providerStatus })],
      );
      if (!rows[0]) throw new Error(`call ${callId} is not stored`);
      // A status callback that linked the CallSid while this statement waited for the row leaves the update
      // nothing to do, and the fallback select reads the row as it was when the statement began: the CallSid
      // is the one we were given either way.
      const call = toCall(rows[0]);
      return call.providerCallSid ? call : { ...call, providerCallSid: callSid };
    },

    /**
     * Forgets a call that was never handed to the provider (its placement was refused before we asked,
     * e.g. rate limited), freeing its Idempotency-Key for a later attempt.
     */
    async releaseUnplacedCall(callId: string): Promise<void> {
      await db.query(
        `delete from voice_calls where id = $1 and provider_call_sid is null and status = 'queued'`,
        [callId],
      );
    },

    /**
     * Placing the call failed: it is `failed` for good, with the reason (no silent retry later). With
     * `releaseKey` (Twilio certainly created nothing) its Idempotency-Key is freed, so a retry with it is a
     * fresh attempt. A call Twilio already reported on (a CallSid, a status) is left as it is.
     */
    async markPlacementFailed(
      callId: string,
      reason: string,
      detail: Record<string, unknown>,
      options: { releaseKey?: boolean } = {},
    ): Promise<CallRecord | null> {
      const rows = await db.query<CallRow>(
        `with upd as (
           update voice_calls set
             status = 'failed',
             status_rank = ${TERMINAL_RANK},
             failure_reason = coalesce(failure_reason, $2),
             ended_at = coalesce(ended_at, now()),
             idempotency_key = case when $4 then null else idempotency_key end,
             updated_at = now()
           where id = $1 and provider_call_sid is null and status_rank = 0 returning ${CALL_COLUMNS}
         ),
         ev as (
           insert into voice_call_events (call_id, source, type, detail)
           select id, 'service', 'provider_failed', $3::jsonb from upd
         )
         select * from upd`,
        [
          callId,
          reason,
          JSON.stringify({ reason, keyReleased: Boolean(options.releaseKey), ...detail }),
          Boolean(options.releaseKey),
        ],
      );
      return rows[0] ? toCall(rows[0]) : null;
    },

    /**
     * Twilio may or may not have created the call (our request timed out, or its answer was lost): the call
     * stays `queued`, marked unconfirmed since now, until its callbacks, Twilio's late answer or
     * {@link failUnconfirmedPlacements} decide.
     */
    async markPlacementUnconfirmed(callId: string, reason: string): Promise<CallRecord> {
      const rows = await db.query<CallRow>(
        `with upd as (
           update voice_calls set placement_unconfirmed_at = coalesce(placement_unconfirmed_at, now()),
             updated_at = now()
           where id = $1 and provider_call_sid is null and status_rank = 0 returning ${CALL_COLUMNS}
         ),
         ev as (
           insert into voice_call_events (call_id, source, type, detail)
           select id, 'service', 'provider_unconfirmed', $2::jsonb from upd
         )
         select * from upd
         union all
         select ${CALL_COLUMNS} from voice_calls where id = $1 and not exists (select 1 from upd)`,
        [callId, JSON.stringify({ reason })],
      );
      if (!rows[0]) throw new Error(`call ${callId} is not stored`);
      return toCall(rows[0]);
    },

    /**
     * Unconfirmed calls that heard nothing from Twilio for `windowSeconds` are failed (every instance's,
     * so one lost with its process is settled too). Their Idempotency-Keys stay bound: Twilio might still
     * have the call, and a retry must never place a second one. Returns the ids failed.
     */
    async failUnconfirmedPlacements(windowSeconds: number): Promise<string[]> {
      const rows = await db.query<{ id: string }>(
        `with upd as (
           update voice_calls set status = 'failed', status_rank = ${TERMINAL_RANK},
             failure_reason = coalesce(failure_reason, $2), ended_at = coalesce(ended_at, now()),
             updated_at = now()
           where placement_unconfirmed_at < now() - make_interval(secs => $1)
             and provider_call_sid is null and status_rank = 0
           returning id
         ),
         ev as (
           insert into voice_call_events (call_id, source, type, detail)
           select id, 'service', 'provider_failed', $3::jsonb from upd
         )
         select id from upd`,
        [
          windowSeconds,
          `provider never confirmed the call within ${windowSeconds} s`,
          JSON.stringify({ reason: 'unconfirmed', windowSeconds, keyReleased: false }),
        ],
      );
      return rows.map((r) => r.id);
    },

    /** One status callback, stored once, moving the call forward only. See {@link insertStatusEvents}. */
    async recordStatusEvent(input: StatusEventInput): Promise<StatusEventResult> {
      const write = (sql: Sql) => insertStatusEvents(sql, [input]);
      const [result] = statusEventsFitOneStatement([input]) ? await write(db) : await db.transaction(write);
      return result;
    },

    /**
     * The call an answer webhook is about: ours by id (Twilio may answer before we stored its CallSid),
     * else by CallSid; an unknown CallSid is an inbound call, created here (race-free on the CallSid)
     * and given the callbacks that arrived before it.
     */
    /** One answer webhook on its own (tests, tools); the service sends them through its answer intake. */
    async resolveAnsweredCall(input: AnswerInput): Promise<ResolvedAnswer | null> {
      const [resolved] = answersFitOneStatement([input])
        ? await resolveAnsweredCalls(db, [input])
        : await db.transaction((tx) => resolveAnsweredCalls(tx, [input]));
      return resolved;
    },

    async getCall(id: string): Promise<CallRecord | null> {
      const rows = await db.query<CallRow>(`select ${CALL_COLUMNS} from voice_calls where id = $1`, [id]);
      return rows[0] ? toCall(rows[0]) : null;
    },

    /**
     * Oldest first. Twilio's timestamps have one-second resolution, so within a second the provider's
     * SequenceNumber orders its callbacks, after our own events of that second.
     */
    async listEvents(callId: string): Promise<CallEvent[]> {
      const rows = await db.query<{
        source: 'provider' | 'service';
        type: string;
        sequence_number: number | null;
        occurred_at: Date;
        call_duration: number | null;
        detail: Record<string, unknown> | string;
      }>(
        `select source, type, sequence_number, occurred_at, call_duration, detail
         from voice_call_events where call_id = $1
         order by date_trunc('second', occurred_at), sequence_number nulls first, id`,
        [callId],
      );
      return rows.map((r) => ({
        source: r.source,
        type: r.type,
        sequenceNumber: r.sequence_number,
        occurredAt: r.occurred_at,
        callDuration: r.call_duration,
        detail: asJson(r.detail),
      }));
    },

    async listTranscript(callId: string): Promise<TranscriptTurn[]> {
      return db.query<TranscriptTurn>(
        `select role, text, created_at as "at", language, start_ms as "startMs", end_ms as "endMs",
                interrupted
         from voice_transcript_turns where call_id = $1
         order by coalesce(start_ms, 0), id`,
        [callId],
      );
    },

    /** One finalised transcript segment (the caller's utterance, or what the caller heard of the agent). */
    async addTranscriptSegment(callId: string, segment: TranscriptSegmentInput): Promise<void> {
      await db.query(
        `insert into voice_transcript_turns
           (call_id, role, text, language, start_ms, end_ms, interrupted, item_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          callId,
          segment.speaker,
          segment.text,
          segment.language,
          Math.round(segment.startMs),
          Math.round(segment.endMs),
          segment.interrupted,
          segment.itemId,
        ],
      );
    },

    /**
     * Takes the call's one media stream slot, in one statement: refused for an unknown call, for a call
     * that ended (terminal status, or its AI leg already over), and while another stream is active.
     */
    async claimMediaStream(callId: string, streamId: string): Promise<StreamClaim> {
      const rows = await db.query<{ known: number; open: boolean | null; claimed: number }>(
        `with call as (
           select id, status_rank < ${TERMINAL_RANK} and ai_leg_ended_by is null as open
           from voice_calls where id = $1
         ),
         ins as (
           insert into voice_media_streams (id, call_id)
           select $2, id from call where open
           on conflict (call_id) where closed_at is null do nothing
           returning id
         )
         select (select count(*) from call)::int as known, (select open from call) as open,
                (select count(*) from ins)::int as claimed`,
        [callId, streamId],
      );
      const row = rows[0];
      if (row.known === 0) return 'unknown';
      if (!row.open) return 'ended';
      return row.claimed === 1 ? 'claimed' : 'busy';
    },

    /** The stream's bridge released everything: the slot is free (an ended call stays refused). */
    async releaseMediaStream(streamId: string, reason: string): Promise<void> {
      await db.query(
        `update voice_media_streams set closed_at = now(), close_reason = $2
         where id = $1 and closed_at is null`,
        [streamId, reason.slice(0, 200)],
      );
    },

    /** The caller said yes or no to recording and AI (first answer wins), with its time. */
    async recordConsent(
      callId: string,
      decision: 'granted' | 'refused',
      via: 'speech' | 'dtmf',
      detail: Record<string, unknown>,
    ): Promise<boolean> {
      const rows = await db.query<{ id: string }>(
        `with upd as (
           update voice_calls set consent = $2, consent_via = $3, consent_at = now(), updated_at = now()
           where id = $1 and consent is null returning id, consent_at
         )
         insert into voice_call_events (call_id, source, type, occurred_at, detail)
         select id, 'service', $4, consent_at, $5::jsonb from upd returning call_id as id`,
        [callId, decision, via, `consent_${decision}`, JSON.stringify({ via, ...detail })],
      );
      return rows.length === 1;
    },

    /** Twilio's AMD verdict (the first one counts), kept as an event too. Null for a call we do not have. */
    async recordMachineDetection(
      callId: string,
      answeredBy: AnsweredBy,
      detail: Record<string, unknown>,
    ): Promise<{ callSid: string | null; status: CallStatus } | null> {
      const rows = await db.query<{ callSid: string | null; status: CallStatus }>(
        `with upd as (
           update voice_calls set answered_by = coalesce(answered_by, $2), updated_at = now()
           where id = $1 returning id, provider_call_sid, status
         ),
         ev as (
           insert into voice_call_events (call_id, provider_call_sid, source, type, detail)
           select id, provider_call_sid, 'service', 'machine_detection', $3::jsonb from upd
         )
         select provider_call_sid as "callSid", status from upd`,
        [callId, answeredBy, JSON.stringify({ answeredBy, ...detail })],
      );
      return rows[0] ?? null;
    },

    /** What we did about the machine, once Twilio accepted it. */
    async recordMachineAction(callId: string, action: MachineAction): Promise<void> {
      await db.query(
        `with upd as (
           update voice_calls set machine_action = coalesce(machine_action, $2), updated_at = now()
           where id = $1 returning id
         )
         insert into voice_call_events (call_id, source, type, detail)
         select id, 'service', 'machine_action', $3::jsonb from upd`,
        [callId, action, JSON.stringify({ action })],
      );
    },

    /** Turn latency of a call over all its streams (kept in each `stream_stopped` event), by the database. */
    async turnLatency(
      callId: string,
    ): Promise<{ turns: number; p50Ms: number | null; p95Ms: number | null }> {
      const rows = await db.query<{ turns: number; p50Ms: number | null; p95Ms: number | null }>(
        `select count(*)::int as turns,
                round(percentile_cont(0.5) within group (order by ms))::int as "p50Ms",
                round(percentile_cont(0.95) within group (order by ms))::int as "p95Ms"
         from voice_call_events e,
              lateral jsonb_array_elements_text(coalesce(e.detail->'turnLatencyMs', '[]'::jsonb)) as t(v),
              lateral (select t.v::numeric as ms) as m
         where e.call_id = $1 and e.type = 'stream_stopped'`,
        [callId],
      );
      return rows[0];
    },

    /** Ended calls by outcome, across every instance (for /metrics). */
    async countOutcomes(): Promise<Array<{ outcome: CallOutcome; calls: number }>> {
      return db.query<{ outcome: CallOutcome; calls: number }>(
        `select outcome, count(*)::int as calls from voice_calls where outcome is not null group by outcome`,
      );
    },

    /** The AI leg ends before the caller hangs up (consent refused): what the action webhook says. */
    async endAiLeg(callId: string, by: AiLegEnding): Promise<void> {
      await db.query(
        `update voice_calls set ai_leg_ended_by = coalesce(ai_leg_ended_by, $2), updated_at = now()
         where id = $1`,
        [callId, by],
      );
    },

    /** The caller got the fallback instead of the agent: keep why, once. */
    async recordAgentFailure(callId: string, reason: string): Promise<void> {
      await db.query(
        `with upd as (
           update voice_calls set failure_reason = coalesce(failure_reason, $2),
             ai_leg_ended_by = coalesce(ai_leg_ended_by, 'agent_unavailable'), updated_at = now()
           where id = $1 returning id
         )
         insert into voice_call_events (call_id, source, type, detail)
         select id, 'service', 'agent_unavailable', $3::jsonb from upd`,
        [callId, reason, JSON.stringify({ reason })],
      );
    },

    /** A service-side event on a call (stream started/stopped, dtmf, …). */
    recordServiceEvent: serviceEvent,

    /**
     * Newest first, keyset-paginated on (created_at, id). Only the filters given become conditions,
     * so each query has one plain shape the planner matches to its index (migration 20261201120000_list_indexes).
     */
    async listCalls(filter: CallListFilter): Promise<ListedCall[]> {
      const params: unknown[] = [];
      const where: string[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      if (filter.status) where.push(`status = ${param(filter.status)}`);
      if (filter.direction) where.push(`direction = ${param(filter.direction)}`);
      if (filter.to) where.push(`to_number = ${param(filter.to)}`);
      if (filter.since) where.push(`created_at >= ${param(filter.since)}::timestamptz`);
      if (filter.before) {
        where.push(
          `(created_at, id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
        );
      }
      // CALL_COLUMNS and toCall, as every other read here: a column added to calls reaches lists too.
      const rows = await db.query<CallRow & { cursor_at: string }>(
        `select ${CALL_COLUMNS},
                to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
           from voice_calls
          ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
          order by created_at desc, id desc
          limit ${param(filter.limit)}`,
        params,
      );
      return rows.map((row) => ({ ...toCall(row), cursorAt: row.cursor_at }));
    },
  };
}

export type VoiceStore = ReturnType<typeof createVoiceStore>;
