import type { Sql } from '../../shared/db/index.ts';
import type { StatusRecord, WebhookBatch } from './webhook-batch.ts';

/*
 * All of this service's SQL. Functions take `Sql` so callers decide the transaction: the webhook
 * stores a whole delivery (and enqueues its jobs) in one, so the 200 means "all of it is durable".
 */

/** Rank of a status in SQL, the same order as status-progress.ts. */
const RANK_SQL = `case status when 'queued' then 0 when 'sent' then 1 when 'delivered' then 2
  when 'read' then 3 when 'failed' then 4 end`;

// ---------------------------------------------------------------------------------------------
// Inbound

export interface InsertedInbound {
  id: string;
  wamid: string;
  agent: boolean;
  media: boolean;
}

export interface BatchResult {
  inserted: InsertedInbound[];
  duplicates: number;
  statusEvents: number;
  statusesApplied: number;
  otherEvents: number;
}

export interface BatchOptions {
  /** Mark text/interactive messages for the agent hook (only when an agent is configured). */
  agent: boolean;
  /** Mark media messages for download. */
  media: boolean;
}

/**
 * Contacts and messages in one statement: a delivery is usually one message, and one round trip
 * (no BEGIN/COMMIT when no job has to be enqueued with it) is what keeps the webhook fast.
 */
async function insertContactsAndMessages(
  sql: Sql,
  batch: WebhookBatch,
  options: BatchOptions,
): Promise<InsertedInbound[]> {
  const contacts = batch.contacts.map((c) => ({ wa_id: c.waId, profile_name: c.name }));
  const messages = batch.messages.map((m) => ({
    wamid: m.wamid,
    phone_number_id: m.phoneNumberId,
    display_phone_number: m.displayPhoneNumber,
    from_wa_id: m.fromWaId,
    contact_name: m.contactName,
    type: m.type,
    text_body: m.text,
    reply_id: m.replyId,
    media_id: m.mediaId,
    media_mime_type: m.mediaMimeType,
    media_sha256: m.mediaSha256,
    caption: m.caption,
    context_wamid: m.contextWamid,
    sent_at: m.sentAt?.toISOString() ?? null,
    payload: m.raw,
    agent_state: options.agent && m.forAgent ? 'pending' : 'none',
    media_state: options.media && m.mediaId !== null ? 'pending' : 'none',
  }));
  // The contact upsert's `where` skips the write when nothing changed, so retries cost no update.
  const rows = await sql.query<{ id: string; wamid: string; agent_state: string; media_state: string }>(
    `with contacts as (
       insert into whatsapp_contacts (wa_id, profile_name)
       select wa_id, profile_name from jsonb_to_recordset($1::jsonb) as c(wa_id text, profile_name text)
       on conflict (wa_id) do update set profile_name = excluded.profile_name, updated_at = now()
       where excluded.profile_name is not null
         and whatsapp_contacts.profile_name is distinct from excluded.profile_name
     )
     insert into whatsapp_inbound_messages (
       wamid, phone_number_id, display_phone_number, from_wa_id, contact_name, type, text_body, reply_id,
       media_id, media_mime_type, media_sha256, caption, context_wamid, sent_at, payload, agent_state, media_state)
     select wamid, phone_number_id, display_phone_number, from_wa_id, contact_name, type, text_body, reply_id,
            media_id, media_mime_type, media_sha256, caption, context_wamid, sent_at, payload, agent_state, media_state
       from jsonb_to_recordset($2::jsonb) as m(
         wamid text, phone_number_id text, display_phone_number text, from_wa_id text, contact_name text, type text,
         text_body text, reply_id text, media_id text, media_mime_type text, media_sha256 text, caption text,
         context_wamid text, sent_at timestamptz, payload jsonb, agent_state text, media_state text)
     on conflict (wamid) do nothing
     returning id, wamid, agent_state, media_state`,
    [JSON.stringify(contacts), JSON.stringify(messages)],
  );
  return rows.map((r) => ({
    id: r.id,
    wamid: r.wamid,
    agent: r.agent_state === 'pending',
    media: r.media_state === 'pending',
  }));
}

/**
 * Every distinct status event is kept once; each new one moves its outbound message forward only
 * (the furthest of a delivery's statuses per message wins; a lower one changes nothing).
 */
async function insertStatuses(
  sql: Sql,
  statuses: StatusRecord[],
): Promise<{ stored: number; applied: number }> {
  const events = statuses.map((s) => ({
    wamid: s.wamid,
    status: s.status,
    phone_number_id: s.phoneNumberId,
    recipient_id: s.recipientId,
    occurred_at: s.occurredAt?.toISOString() ?? null,
    error_code: s.errorCode,
    error_title: s.errorTitle,
    error_message: s.errorMessage,
    payload: s.raw,
  }));
  const [row] = await sql.query<{ stored: number; applied: number }>(
    `with stored as (
       insert into whatsapp_status_events (
         wamid, status, phone_number_id, recipient_id, occurred_at, error_code, error_title, error_message, payload)
       select wamid, status, phone_number_id, recipient_id, occurred_at, error_code, error_title, error_message, payload
         from jsonb_to_recordset($1::jsonb) as e(
           wamid text, status text, phone_number_id text, recipient_id text, occurred_at timestamptz,
           error_code integer, error_title text, error_message text, payload jsonb)
       on conflict (wamid, status) do nothing
       returning wamid, status, error_code, error_title, error_message
     ),
     furthest as (
       select distinct on (wamid) wamid, status, ${RANK_SQL} as rank, error_code, error_title, error_message
         from stored where ${RANK_SQL} is not null
        order by wamid, rank desc
     ),
     applied as (
       update whatsapp_outbound_messages m
          set status = f.status, status_rank = f.rank,
              error_code = case when f.status = 'failed' then f.error_code else m.error_code end,
              error_title = case when f.status = 'failed' then f.error_title else m.error_title end,
              error_message = case when f.status = 'failed' then f.error_message else m.error_message end,
              updated_at = now()
         from furthest f
        where m.wamid = f.wamid and m.status_rank < f.rank
        returning m.id
     )
     select (select count(*) from stored)::int as stored, (select count(*) from applied)::int as applied`,
    [JSON.stringify(events)],
  );
  return row;
}

/** Statements a batch needs: with one and no job to enqueue, it needs no explicit transaction. */
export function batchStatementCount(batch: WebhookBatch): number {
  return (
    (batch.messages.length > 0 || batch.contacts.length > 0 ? 1 : 0) +
    (batch.statuses.length > 0 ? 1 : 0) +
    (batch.others.length > 0 ? 1 : 0)
  );
}

/**
 * Stores one webhook delivery: contacts, each message once (by wamid), each status event once
 * (by wamid + status), and raw events we do not model once. Several statements: run it inside a
 * transaction (see batchStatementCount).
 */
export async function insertWebhookBatch(
  sql: Sql,
  batch: WebhookBatch,
  options: BatchOptions,
): Promise<BatchResult> {
  const result: BatchResult = {
    inserted: [],
    duplicates: 0,
    statusEvents: 0,
    statusesApplied: 0,
    otherEvents: 0,
  };
  if (batch.messages.length > 0 || batch.contacts.length > 0) {
    result.inserted = await insertContactsAndMessages(sql, batch, options);
    result.duplicates = batch.messages.length - result.inserted.length;
  }
  if (batch.statuses.length > 0) {
    const { stored, applied } = await insertStatuses(sql, batch.statuses);
    result.statusEvents = stored;
    result.statusesApplied = applied;
  }
  if (batch.others.length > 0) {
    const others = batch.others.map((o) => ({ field: o.field, dedupe_key: o.dedupeKey, payload: o.raw }));
    const rows = await sql.query(
      `insert into whatsapp_webhook_events (field, dedupe_key, payload)
       select field, dedupe_key, payload from jsonb_to_recordset($1::jsonb) as o(field text, dedupe_key text, payload jsonb)
       on conflict (dedupe_key) do nothing returning id`,
      [JSON.stringify(others)],
    );
    result.otherEvents = rows.length;
  }
  return result;
}

export interface InboundRow {
  id: string;
  wamid: string;
  phoneNumberId: string;
  fromWaId: string | null;
  contactName: string | null;
  type: string;
  text: string | null;
  replyId: string | null;
  mediaId: string | null;
  mediaMimeType: string | null;
  mediaSha256: string | null;
  caption: string | null;
  contextWamid: string | null;
  agentState: 'none' | 'pending' | 'done' | 'failed';
  mediaState: 'none' | 'pending' | 'done' | 'failed';
  mediaPath: string | null;
  mediaSize: number | null;
  createdAt: Date;
}

export async function getInbound(sql: Sql, id: string): Promise<InboundRow | null> {
  const rows = await sql.query<InboundRow>(
    `select id, wamid, phone_number_id as "phoneNumberId", from_wa_id as "fromWaId", contact_name as "contactName",
            type, text_body as text, reply_id as "replyId", media_id as "mediaId", media_mime_type as "mediaMimeType",
            media_sha256 as "mediaSha256", caption, context_wamid as "contextWamid", agent_state as "agentState",
            media_state as "mediaState", media_path as "mediaPath", media_size as "mediaSize", created_at as "createdAt"
       from whatsapp_inbound_messages where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function getInboundByWamid(sql: Sql, wamid: string): Promise<InboundRow | null> {
  const rows = await sql.query<{ id: string }>('select id from whatsapp_inbound_messages where wamid = $1', [
    wamid,
  ]);
  return rows[0] ? getInbound(sql, rows[0].id) : null;
}

export async function setAgentState(sql: Sql, id: string, state: 'done' | 'failed'): Promise<void> {
  await sql.query(
    `update whatsapp_inbound_messages set agent_state = $2, updated_at = now()
      where id = $1 and agent_state = 'pending'`,
    [id, state],
  );
}

export async function recordMedia(
  sql: Sql,
  id: string,
  outcome: { state: 'done'; path: string; size: number; sha256: string } | { state: 'failed'; error: string },
): Promise<void> {
  if (outcome.state === 'done') {
    await sql.query(
      `update whatsapp_inbound_messages
          set media_state = 'done', media_path = $2, media_size = $3, media_sha256 = coalesce(media_sha256, $4),
              media_error = null, updated_at = now()
        where id = $1`,
      [id, outcome.path, outcome.size, outcome.sha256],
    );
  } else {
    await sql.query(
      `update whatsapp_inbound_messages set media_state = 'failed', media_error = $2, updated_at = now()
        where id = $1 and media_state <> 'done'`,
      [id, outcome.error],
    );
  }
}

export async function getContact(
  sql: Sql,
  waId: string,
): Promise<{ waId: string; name: string | null } | null> {
  const rows = await sql.query<{ waId: string; name: string | null }>(
    'select wa_id as "waId", profile_name as name from whatsapp_contacts where wa_id = $1',
    [waId],
  );
  return rows[0] ?? null;
}

export async function countInbound(sql: Sql): Promise<number> {
  const [row] = await sql.query<{ n: number }>('select count(*)::int as n from whatsapp_inbound_messages');
  return row.n;
}

// ---------------------------------------------------------------------------------------------
// Outbound (the outbox)

export interface OutboundError {
  code: number | null;
  title: string | null;
  message: string | null;
}

export interface OutboundRow {
  id: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  phoneNumberId: string;
  to: string;
  type: string;
  graphPayload: Record<string, unknown>;
  wamid: string | null;
  status: 'queued' | 'sent' | 'delivered' | 'read' | 'failed';
  errorCode: number | null;
  errorTitle: string | null;
  errorMessage: string | null;
  attempts: number;
  replyToInboundId: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const OUTBOUND_COLUMNS = `id, idempotency_key as "idempotencyKey", request_hash as "requestHash",
  phone_number_id as "phoneNumberId", to_number as "to", type, graph_payload as "graphPayload", wamid, status,
  error_code as "errorCode", error_title as "errorTitle", error_message as "errorMessage", attempts,
  reply_to_inbound_id as "replyToInboundId", response_status as "responseStatus", response_body as "responseBody",
  sent_at as "sentAt", created_at as "createdAt", updated_at as "updatedAt"`;

export interface NewOutbound {
  idempotencyKey: string | null;
  requestHash: string | null;
  phoneNumberId: string;
  to: string;
  type: string;
  request: unknown;
  graphPayload: Record<string, unknown>;
  replyToInboundId: string | null;
}

/**
 * Stores a message to send, once per Idempotency-Key (and once per inbound message for agent
 * replies). `created: false` hands back the row the first request stored.
 */
export async function insertOutbound(
  tx: Sql,
  input: NewOutbound,
): Promise<{ row: OutboundRow; created: boolean }> {
  const rows = await tx.query<OutboundRow>(
    `insert into whatsapp_outbound_messages (
       idempotency_key, request_hash, phone_number_id, to_number, type, request, graph_payload, reply_to_inbound_id)
     values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)
     on conflict do nothing
     returning ${OUTBOUND_COLUMNS}`,
    [
      input.idempotencyKey,
      input.requestHash,
      input.phoneNumberId,
      input.to,
      input.type,
      JSON.stringify(input.request),
      JSON.stringify(input.graphPayload),
      input.replyToInboundId,
    ],
  );
  if (rows[0]) {
    await addHistory(tx, rows[0].id, 'queued', 'accepted');
    return { row: rows[0], created: true };
  }
  const existing = await tx.query<OutboundRow>(
    `select ${OUTBOUND_COLUMNS} from whatsapp_outbound_messages
      where ($1::text is not null and idempotency_key = $1) or ($2::uuid is not null and reply_to_inbound_id = $2)
      limit 1`,
    [input.idempotencyKey, input.replyToInboundId],
  );
  if (!existing[0]) throw new Error('outbound insert conflicted but no existing row was found');
  return { row: existing[0], created: false };
}

export async function getOutbound(sql: Sql, id: string): Promise<OutboundRow | null> {
  const rows = await sql.query<OutboundRow>(
    `select ${OUTBOUND_COLUMNS} from whatsapp_outbound_messages where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface HistoryEntry {
  status: string;
  source: 'service' | 'whatsapp';
  detail: string | null;
  errorCode: number | null;
  errorTitle: string | null;
  errorMessage: string | null;
  at: Date;
}

/**
 * What we did (accepted, sent, retries, failures) and every status Meta reported. Meta's times have
 * whole seconds, so entries sort by second, then by how far along the status is.
 */
export async function getOutboundHistory(
  sql: Sql,
  id: string,
  wamid: string | null,
): Promise<HistoryEntry[]> {
  return sql.query<HistoryEntry>(
    `select status, source, detail, "errorCode", "errorTitle", "errorMessage", at from (
       select status, 'service' as source, detail, error_code as "errorCode", error_title as "errorTitle",
              error_message as "errorMessage", occurred_at as at, ${RANK_SQL} as rank, id as seq
         from whatsapp_outbound_status_history where message_id = $1
       union all
       select status, 'whatsapp' as source, null as detail, error_code, error_title, error_message,
              coalesce(occurred_at, created_at) as at, ${RANK_SQL} as rank, id as seq
         from whatsapp_status_events where $2::text is not null and wamid = $2
     ) h order by date_trunc('second', at), rank nulls last, source, seq`,
    [id, wamid],
  );
}

async function addHistory(
  sql: Sql,
  id: string,
  status: string,
  detail: string | null,
  error?: OutboundError,
): Promise<void> {
  await sql.query(
    `insert into whatsapp_outbound_status_history (message_id, status, detail, error_code, error_title, error_message)
     values ($1, $2, $3, $4, $5, $6)`,
    [id, status, detail, error?.code ?? null, error?.title ?? null, error?.message ?? null],
  );
}

/**
 * Takes the right to send a queued message for `leaseMs`: the API request and a queue worker may
 * both try, and only the lease holder calls the Graph API. Null when it is not queued or leased.
 */
export async function claimOutbound(sql: Sql, id: string, leaseMs: number): Promise<OutboundRow | null> {
  const rows = await sql.query<OutboundRow>(
    `update whatsapp_outbound_messages
        set lease_until = now() + make_interval(secs => $2::double precision / 1000),
            attempts = attempts + 1, updated_at = now()
      where id = $1 and status = 'queued' and (lease_until is null or lease_until < now())
      returning ${OUTBOUND_COLUMNS}`,
    [id, leaseMs],
  );
  return rows[0] ?? null;
}

/**
 * Records Meta's message id and `sent`, then applies any status Meta already reported for that id
 * (the status webhook can arrive before the Graph API answer is recorded).
 */
export async function recordSent(tx: Sql, id: string, wamid: string): Promise<void> {
  await tx.query(
    `update whatsapp_outbound_messages
        set wamid = $2, status = 'sent', status_rank = 1, sent_at = now(), lease_until = null,
            error_code = null, error_title = null, error_message = null, updated_at = now()
      where id = $1 and status_rank < 1`,
    [id, wamid],
  );
  await addHistory(tx, id, 'sent', `accepted by WhatsApp as ${wamid}`);
  await tx.query(
    `update whatsapp_outbound_messages m
        set status = e.status, status_rank = e.rank,
            error_code = case when e.status = 'failed' then e.error_code else m.error_code end,
            error_title = case when e.status = 'failed' then e.error_title else m.error_title end,
            error_message = case when e.status = 'failed' then e.error_message else m.error_message end,
            updated_at = now()
       from (select status, ${RANK_SQL} as rank, error_code, error_title, error_message
               from whatsapp_status_events where wamid = $2
              order by rank desc nulls last limit 1) e
      where m.id = $1 and e.rank is not null and e.rank > m.status_rank`,
    [id, wamid],
  );
}

export async function recordFailed(
  sql: Sql,
  id: string,
  error: OutboundError,
  detail: string,
): Promise<void> {
  await sql.query(
    `update whatsapp_outbound_messages
        set status = 'failed', status_rank = 4, error_code = $2, error_title = $3, error_message = $4,
            lease_until = null, updated_at = now()
      where id = $1 and status = 'queued'`,
    [id, error.code, error.title, error.message],
  );
  await addHistory(sql, id, 'failed', detail, error);
}

/** Gives the lease back after a retryable failure, keeping the error as the last one seen. */
export async function recordRetry(sql: Sql, id: string, error: OutboundError, detail: string): Promise<void> {
  await sql.query(
    `update whatsapp_outbound_messages
        set lease_until = null, error_code = $2, error_title = $3, error_message = $4, updated_at = now()
      where id = $1 and status = 'queued'`,
    [id, error.code, error.title, error.message],
  );
  await addHistory(sql, id, 'queued', detail, error);
}

/** The first answer given for an Idempotency-Key, replayed for repeats. */
export async function saveFirstResponse(sql: Sql, id: string, status: number, body: unknown): Promise<void> {
  await sql.query(
    `update whatsapp_outbound_messages set response_status = $2, response_body = $3::jsonb
      where id = $1 and response_status is null`,
    [id, status, JSON.stringify(body)],
  );
}

export async function getStatusEvents(
  sql: Sql,
  wamid: string,
): Promise<{ status: string; errorCode: number | null; createdAt: Date }[]> {
  return sql.query(
    `select status, error_code as "errorCode", created_at as "createdAt"
       from whatsapp_status_events where wamid = $1 order by id`,
    [wamid],
  );
}

// ---------------------------------------------------------------------------------------------
// Lists: inbound and outbound interleaved by time

export const OUTBOUND_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
/** The status an inbound message is listed with. */
export const INBOUND_STATUS = 'received';
export type ListedStatus = (typeof OUTBOUND_STATUSES)[number] | typeof INBOUND_STATUS;

export interface MessageListFilter {
  direction?: 'in' | 'out';
  status?: ListedStatus;
  /** The contact's wa_id (digits, no plus): who wrote to us or whom we wrote to. */
  waId?: string;
  since?: string;
  /** Strictly older than this (created_at, id): the previous page's last row. */
  before?: { createdAt: string; id: string };
  limit: number;
}

export interface ListedMessage {
  id: string;
  direction: 'in' | 'out';
  waId: string | null;
  type: string;
  status: ListedStatus;
  text: string | null;
  wamid: string | null;
  errorCode: number | null;
  errorTitle: string | null;
  errorMessage: string | null;
  createdAt: Date;
  /** created_at to the microsecond, for the cursor. */
  cursorAt: string;
}

const CURSOR_AT = `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursorAt"`;

/**
 * Inbound and outbound messages, newest first, keyset-paginated on (created_at, id). Each table is
 * read on its own (created_at, id) index, at most `limit` rows each, and the two merged; a filter
 * that only one direction can match (direction, or a status) leaves the other table out.
 */
export async function listMessages(sql: Sql, filter: MessageListFilter): Promise<ListedMessage[]> {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const shared: string[] = [];
  if (filter.since) shared.push(`created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.before) {
    shared.push(
      `(created_at, id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
    );
  }
  const limit = param(filter.limit);
  const where = (conditions: string[]) => (conditions.length > 0 ? `where ${conditions.join(' and ')}` : '');
  const branches: string[] = [];

  const inbound = filter.direction !== 'out' && (!filter.status || filter.status === INBOUND_STATUS);
  if (inbound) {
    const conditions = [...shared];
    if (filter.waId) conditions.push(`from_wa_id = ${param(filter.waId)}`);
    branches.push(`(select id, 'in' as direction, from_wa_id as "waId", type, '${INBOUND_STATUS}' as status,
        coalesce(text_body, caption) as text, wamid, null::integer as "errorCode", null::text as "errorTitle",
        null::text as "errorMessage", created_at as "createdAt", ${CURSOR_AT}
      from whatsapp_inbound_messages ${where(conditions)}
      order by created_at desc, id desc limit ${limit})`);
  }
  const outbound = filter.direction !== 'in' && filter.status !== INBOUND_STATUS;
  if (outbound) {
    const conditions = [...shared];
    if (filter.status) conditions.push(`status = ${param(filter.status)}`);
    if (filter.waId) conditions.push(`to_number = ${param(`+${filter.waId}`)}`);
    branches.push(`(select id, 'out' as direction, ltrim(to_number, '+') as "waId", type, status,
        coalesce(request #>> '{text,body}', request #>> '{interactive,body}', request #>> '{template,name}') as text,
        wamid, error_code as "errorCode", error_title as "errorTitle", error_message as "errorMessage",
        created_at as "createdAt", ${CURSOR_AT}
      from whatsapp_outbound_messages ${where(conditions)}
      order by created_at desc, id desc limit ${limit})`);
  }
  // direction=in with an outbound status (or the reverse) matches nothing.
  if (branches.length === 0) return [];
  return sql.query<ListedMessage>(
    `select * from (${branches.join(' union all ')}) m order by "createdAt" desc, id desc limit ${limit}`,
    params,
  );
}
