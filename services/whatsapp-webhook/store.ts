import type { Sql } from '../../shared/db/index.ts';
import { type OptKeywords, optIntent } from './opt-out-keywords.ts';
import { OUTBOUND_STATUSES, statusRank } from './status-progress.ts';
import type { InboundRecord, StatusRecord, WebhookBatch } from './webhook-batch.ts';

/*
 * All of this service's SQL. Functions take `Sql` so callers decide the transaction: the webhook
 * stores a whole delivery (and enqueues its jobs) in one, so the 200 means "all of it is durable".
 */

/** Rank of a status in SQL, built from the one map in status-progress.ts. */
const RANK_SQL = `case status ${OUTBOUND_STATUSES.map((s) => `when '${s}' then ${statusRank(s)}`).join(' ')} end`;

/**
 * Moves outbound messages to the furthest of the given statuses when that is further than where they
 * are (a lower or repeated status changes nothing). `events` is any relation with wamid, status and
 * the error columns; the same rule for status webhooks and for a send recorded after its statuses.
 */
const applyFurthestSql = (events: string, where = 'true') => `
  update whatsapp_outbound_messages m
     set status = f.status, status_rank = f.rank,
         error_code = case when f.status = 'failed' then f.error_code else m.error_code end,
         error_title = case when f.status = 'failed' then f.error_title else m.error_title end,
         error_message = case when f.status = 'failed' then f.error_message else m.error_message end,
         updated_at = now()
    from (select distinct on (wamid) wamid, status, ${RANK_SQL} as rank, error_code, error_title, error_message
            from ${events} e where ${RANK_SQL} is not null
           order by wamid, rank desc) f
   where m.wamid = any(array(select e.wamid from ${events} e)) and m.wamid = f.wamid and m.status_rank < f.rank
     and ${where}`;

/**
 * A status and the send it belongs to may commit at the same moment, each unable to see the other.
 * Both take this transaction lock on the message id first (in one order), so the later one sees the
 * earlier and the status is applied either way.
 */
async function lockWamids(tx: Sql, wamids: string[]): Promise<void> {
  await tx.query(
    `select pg_advisory_xact_lock(hashtextextended('whatsapp-wamid:' || w, 0))
       from (select distinct unnest($1::text[]) as w order by 1) ids`,
    [wamids],
  );
}

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
  otherEvents: number;
}

export interface BatchOptions {
  /** Mark text/interactive messages for the agent hook (only when an agent is configured). */
  agent: boolean;
  /** Mark media messages for download. */
  media: boolean;
  /** STOP / START and their local equivalents. */
  keywords: OptKeywords;
  /** Sent once to a contact who has just opted out. */
  optOutConfirmation: string;
  /** Sent once in place of a message Meta failed with 131047 (outside the window), when it allowed that. */
  windowTemplate: { name: string; language: string } | null;
  /** Routes are configured: a message from a contact may go to a handler (whose job commits with it). */
  routing?: boolean;
}

/** What a group's flush stored, per delivery, and the outbound messages it created (their send jobs go in the same commit). */
export interface GroupResult {
  results: BatchResult[];
  outboundToSend: string[];
}

/** Meta's error for a free-form message outside the customer-service window. */
export const REENGAGEMENT_ERROR = 131047;

/** Hands each stored row to the first delivery in the group that carried its key; later ones are duplicates. */
function firstOwners<T>(keysPerDelivery: T[][], key: (item: T) => string): Map<string, number> {
  const owners = new Map<string, number>();
  keysPerDelivery.forEach((items, index) => {
    for (const item of items) if (!owners.has(key(item))) owners.set(key(item), index);
  });
  return owners;
}

/**
 * Contacts: new ones inserted, known ones updated only when something changed (a new name, a later
 * message opening the customer-service window), so a chatty sender's unchanged row is never locked.
 * One statement for the whole group; `greatest` keeps the window's start from moving back when
 * deliveries arrive out of order.
 */
function contactRows(batches: WebhookBatch[], now: Date): string | null {
  const contacts = new Map<string, { profile_name: string | null; last_inbound_at: string | null }>();
  const contact = (waId: string) => {
    const known = contacts.get(waId);
    if (known) return known;
    const fresh = { profile_name: null as string | null, last_inbound_at: null as string | null };
    contacts.set(waId, fresh);
    return fresh;
  };
  for (const batch of batches) {
    for (const c of batch.contacts) if (c.name !== null) contact(c.waId).profile_name = c.name;
    for (const c of batch.contacts) contact(c.waId);
    for (const m of batch.messages) {
      if (m.fromWaId === null) continue;
      const c = contact(m.fromWaId);
      const at = (m.sentAt ?? now).toISOString();
      if (c.last_inbound_at === null || at > c.last_inbound_at) c.last_inbound_at = at;
    }
  }
  if (contacts.size === 0) return null;
  return JSON.stringify(
    [...contacts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([wa_id, c]) => ({ wa_id, ...c })),
  );
}

/**
 * Contacts of a group as CTEs over `$n`: new ones inserted, known ones updated only when the name changed
 * or a later inbound message moved their 24-hour window, so an unchanged row is never locked. They lead
 * the messages insert, so the common delivery is one statement.
 *
 * `key = any(array(select key from <group>))` beside each join with a group: the planner takes a
 * jsonb_to_recordset for 100 rows and would hash-join it against a sequential scan of the whole table
 * (10,000 contacts: 1.1 ms of a 2.2 ms flush); the array turns it into an index lookup of the group's keys.
 */
const contactUpsertCtes = (param: string) => `
  c as (select * from jsonb_to_recordset(${param}::jsonb) as c(wa_id text, profile_name text, last_inbound_at timestamptz)),
  inserted_contacts as (
    insert into whatsapp_contacts (wa_id, profile_name, last_inbound_at)
    select wa_id, profile_name, last_inbound_at from c
    on conflict (wa_id) do nothing
  ),
  updated_contacts as (
    update whatsapp_contacts k
       set profile_name = coalesce(c.profile_name, k.profile_name),
           last_inbound_at = greatest(k.last_inbound_at, c.last_inbound_at), updated_at = now()
      from c
     where k.wa_id = any(array(select wa_id from c)) and k.wa_id = c.wa_id
       and ((c.profile_name is not null and k.profile_name is distinct from c.profile_name)
         or c.last_inbound_at > coalesce(k.last_inbound_at, '-infinity'::timestamptz))
  )`;

/**
 * STOP / START among the newly stored messages (a redelivery changes nothing): each contact takes the
 * latest keyword it sent; only a contact whose state changes is written. Returns who just opted out,
 * with the message that did it.
 */
async function applyOptKeywords(
  tx: Sql,
  fresh: InboundRecord[],
  keywords: OptKeywords,
): Promise<{ waId: string; wamid: string; phoneNumberId: string }[]> {
  const latest = new Map<string, { wamid: string; phone_number_id: string; opt: 'out' | 'in'; at: string }>();
  for (const m of fresh) {
    const opt = optIntent(m.text, keywords);
    if (opt === null || m.fromWaId === null || m.type !== 'text') continue;
    const at = (m.sentAt ?? new Date()).toISOString();
    const seen = latest.get(m.fromWaId);
    if (!seen || at >= seen.at)
      latest.set(m.fromWaId, { wamid: m.wamid, phone_number_id: m.phoneNumberId, opt, at });
  }
  if (latest.size === 0) return [];
  const rows = [...latest].sort(([a], [b]) => (a < b ? -1 : 1)).map(([wa_id, k]) => ({ wa_id, ...k }));
  return tx
    .query(
      `with k as (select * from jsonb_to_recordset($1::jsonb)
                 as k(wa_id text, wamid text, phone_number_id text, opt text, at timestamptz))
     update whatsapp_contacts c
        set opted_out_at = case when k.opt = 'out' then k.at end, updated_at = now()
       from k
      where c.wa_id = any(array(select wa_id from k)) and c.wa_id = k.wa_id
        and ((k.opt = 'out' and c.opted_out_at is null) or (k.opt = 'in' and c.opted_out_at is not null))
     returning c.wa_id as "waId", k.wamid, k.phone_number_id as "phoneNumberId", k.opt`,
      [JSON.stringify(rows)],
    )
    .then((changed) =>
      (changed as { waId: string; wamid: string; phoneNumberId: string; opt: string }[]).filter(
        (c) => c.opt === 'out',
      ),
    );
}

/** One confirmation per opt-out (keyed by the STOP message), queued in the same commit. */
async function insertOptOutConfirmations(
  tx: Sql,
  optedOut: { waId: string; wamid: string; phoneNumberId: string }[],
  body: string,
): Promise<string[]> {
  if (optedOut.length === 0) return [];
  const messages = optedOut.map((o) => {
    const to = `+${o.waId}`;
    const request = { to, type: 'text', text: { body } };
    return {
      idempotency_key: `opt-out-confirmation:${o.wamid}`,
      phone_number_id: o.phoneNumberId,
      to_number: to,
      request,
      graph_payload: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to,
        type: 'text',
        text: { body, preview_url: false },
      },
    };
  });
  const rows = await tx.query<{ id: string }>(
    `with m as (select * from jsonb_to_recordset($1::jsonb)
                 as m(idempotency_key text, phone_number_id text, to_number text, request jsonb, graph_payload jsonb)),
     inserted as (
       insert into whatsapp_outbound_messages (idempotency_key, phone_number_id, to_number, type, request, graph_payload)
       select idempotency_key, phone_number_id, to_number, 'text', request, graph_payload from m
       on conflict do nothing
       returning id
     ),
     history as (
       insert into whatsapp_outbound_status_history (message_id, status, detail)
       select id, 'queued', 'opt-out confirmation' from inserted
     )
     select id from inserted`,
    [JSON.stringify(messages)],
  );
  return rows.map((r) => r.id);
}

/**
 * The group's raw deliveries as a CTE over `$n` (hashes) and `$n+1` (bodies): each body once, a retried
 * one (same bytes) stores nothing. It rides on the messages statement, so keeping them costs no round trip.
 */
const deliveryInsertCte = (hashes: string, bodies: string) => `
  inserted_deliveries as (
    insert into whatsapp_webhook_deliveries (body_sha256, body)
    select * from unnest(${hashes}::text[], ${bodies}::text[])
    on conflict (body_sha256) do nothing
  )`;

function deliveryColumns(batches: WebhookBatch[]): [string[], string[]] {
  const unique = new Map<string, string>();
  for (const b of batches) if (b.delivery) unique.set(b.delivery.sha256, b.delivery.body);
  return [[...unique.keys()], [...unique.values()]];
}

async function insertMessages(
  tx: Sql,
  batches: WebhookBatch[],
  options: BatchOptions,
  now: Date,
  routed: ReadonlySet<string>,
): Promise<{ id: string; wamid: string; agent: boolean; media: boolean }[]> {
  // STOP and START are answered by this service, and routed messages by their handler, not by the agent.
  const forAgent = (m: InboundRecord) =>
    m.forAgent && optIntent(m.text, options.keywords) === null && !routed.has(m.wamid);
  const messages = batches.flatMap((batch) =>
    batch.messages.map((m) => ({
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
      agent_state: options.agent && forAgent(m) ? 'pending' : 'none',
      media_state: options.media && m.mediaId !== null ? 'pending' : 'none',
    })),
  );
  const contacts = contactRows(batches, now);
  const [hashes, bodies] = deliveryColumns(batches);
  if (messages.length === 0) {
    if (contacts || hashes.length > 0) {
      await tx.query(`with ${contactUpsertCtes('$1')}, ${deliveryInsertCte('$2', '$3')} select 1`, [
        contacts ?? '[]',
        hashes,
        bodies,
      ]);
    }
    return [];
  }
  return tx.query(
    `with ${contactUpsertCtes('$2')}, ${deliveryInsertCte('$3', '$4')}
     insert into whatsapp_inbound_messages (
       wamid, phone_number_id, display_phone_number, from_wa_id, contact_name, type, text_body, reply_id,
       media_id, media_mime_type, media_sha256, caption, context_wamid, sent_at, payload, agent_state, media_state)
     select wamid, phone_number_id, display_phone_number, from_wa_id, contact_name, type, text_body, reply_id,
            media_id, media_mime_type, media_sha256, caption, context_wamid, sent_at, payload, agent_state, media_state
       from jsonb_to_recordset($1::jsonb) as m(
         wamid text, phone_number_id text, display_phone_number text, from_wa_id text, contact_name text, type text,
         text_body text, reply_id text, media_id text, media_mime_type text, media_sha256 text, caption text,
         context_wamid text, sent_at timestamptz, payload jsonb, agent_state text, media_state text)
     on conflict (wamid) do nothing
     returning id, wamid, agent_state = 'pending' as agent, media_state = 'pending' as media`,
    [JSON.stringify(messages), contacts ?? '[]', hashes, bodies],
  );
}

/**
 * Whether a group needs BEGIN/COMMIT: only contacts and messages (the common delivery, no job to enqueue,
 * no STOP/START to answer) are one statement, atomic on its own.
 */
export function groupNeedsTransaction(batches: WebhookBatch[], options: BatchOptions): boolean {
  return batches.some(
    (b) =>
      b.statuses.length > 0 ||
      b.others.length > 0 ||
      b.messages.some(
        (m) =>
          (options.routing && m.fromWaId !== null) ||
          (options.agent && m.forAgent) ||
          (options.media && m.mediaId !== null) ||
          optIntent(m.text, options.keywords) !== null,
      ),
  );
}

/**
 * CTEs `fallback` and `fallback_history` over `statuses` (a relation with wamid, status, error_code): a
 * 131047 failure of a free-form message that allowed it gets one template in its place. fallback_for is
 * unique, so whichever of the status webhook and recordSent sees the failure first claims it, once.
 */
const windowFallbackCtes = (statuses: string, nameParam: string, languageParam: string) => `
     fallback as (
       insert into whatsapp_outbound_messages (phone_number_id, to_number, type, request, graph_payload, fallback_for)
       select m.phone_number_id, m.to_number, 'template',
              jsonb_build_object('to', m.to_number, 'type', 'template', 'fallbackFor', m.id,
                                 'template', jsonb_build_object('name', ${nameParam}::text, 'language', ${languageParam}::text)),
              jsonb_build_object('messaging_product', 'whatsapp', 'recipient_type', 'individual', 'to', m.to_number,
                                 'type', 'template',
                                 'template', jsonb_build_object('name', ${nameParam}::text, 'language', jsonb_build_object('code', ${languageParam}::text))),
              m.id
         from ${statuses} s join whatsapp_outbound_messages m on m.wamid = s.wamid
        where ${nameParam}::text is not null and s.status = 'failed' and s.error_code = ${REENGAGEMENT_ERROR}
          and m.window_fallback and m.type <> 'template'
          and not exists (select 1 from whatsapp_contacts k
                           where k.wa_id = ltrim(m.to_number, '+') and k.opted_out_at is not null)
       on conflict do nothing
       returning id, fallback_for
     ),
     fallback_history as (
       insert into whatsapp_outbound_status_history (message_id, status, detail)
       select id, 'queued', 'template fallback for ' || fallback_for || ' (131047: outside the 24-hour window)' from fallback
     )`;

/**
 * Every distinct status event is kept once (wamid + status); the new ones move their outbound message
 * forward only, under the wamid locks (see lockWamids).
 */
async function insertStatuses(
  tx: Sql,
  statuses: StatusRecord[],
  windowTemplate: BatchOptions['windowTemplate'],
): Promise<{ wamid: string; status: string; fallbackId: string | null }[]> {
  if (statuses.length === 0) return [];
  await lockWamids(
    tx,
    statuses.map((s) => s.wamid),
  );
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
  return tx.query(
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
     applied as (${applyFurthestSql('stored')} returning m.id),
     ${windowFallbackCtes('stored', '$2', '$3')}
     select s.wamid, s.status, f.id as "fallbackId"
       from stored s
       left join whatsapp_outbound_messages m on m.wamid = s.wamid and m.wamid = any(array(select wamid from stored))
       left join fallback f on f.fallback_for = m.id`,
    [JSON.stringify(events), windowTemplate?.name ?? null, windowTemplate?.language ?? null],
  );
}

async function insertOtherEvents(tx: Sql, batches: WebhookBatch[]): Promise<{ dedupeKey: string }[]> {
  const others = batches.flatMap((b) =>
    b.others.map((o) => ({ field: o.field, dedupe_key: o.dedupeKey, payload: o.raw })),
  );
  if (others.length === 0) return [];
  return tx.query(
    `insert into whatsapp_webhook_events (field, dedupe_key, payload)
     select field, dedupe_key, payload from jsonb_to_recordset($1::jsonb) as o(field text, dedupe_key text, payload jsonb)
     on conflict (dedupe_key) do nothing returning dedupe_key as "dedupeKey"`,
    [JSON.stringify(others)],
  );
}

/**
 * Stores a group of webhook deliveries (the group-commit writer's flush; run it inside its transaction):
 * contacts, each message once (by wamid), each status event once (by wamid + status), and raw events we do
 * not model once, one statement per table for the whole group. Returns one result per delivery, in order:
 * a row goes to the first delivery that carried it, so a retry in the same group counts as a duplicate.
 */
export async function insertWebhookBatches(
  tx: Sql,
  batches: WebhookBatch[],
  options: BatchOptions,
  /** Wamids a route takes (their handler answers, not the agent). */
  routed: ReadonlySet<string> = new Set(),
): Promise<GroupResult> {
  const messages = await insertMessages(tx, batches, options, new Date(), routed);
  const insertedWamids = new Set(messages.map((m) => m.wamid));
  const fresh = [
    ...new Map(
      batches.flatMap((b) => b.messages.filter((m) => insertedWamids.has(m.wamid)).map((m) => [m.wamid, m])),
    ).values(),
  ];
  const optedOut = await applyOptKeywords(tx, fresh, options.keywords);
  const confirmations = await insertOptOutConfirmations(tx, optedOut, options.optOutConfirmation);
  const statuses = await insertStatuses(
    tx,
    batches.flatMap((b) => b.statuses),
    options.windowTemplate,
  );
  const fallbacks = statuses.flatMap((s) => (s.fallbackId ? [s.fallbackId] : []));
  const others = await insertOtherEvents(tx, batches);

  const results: BatchResult[] = batches.map(() => ({
    inserted: [],
    duplicates: 0,
    statusEvents: 0,
    otherEvents: 0,
  }));
  const messageOwner = firstOwners(
    batches.map((b) => b.messages),
    (m) => m.wamid,
  );
  for (const row of messages) results[messageOwner.get(row.wamid)!].inserted.push(row);
  const statusKey = (s: { wamid: string; status: string }) => `${s.wamid}\0${s.status}`;
  const statusOwner = firstOwners(
    batches.map((b) => b.statuses),
    statusKey,
  );
  for (const row of statuses) results[statusOwner.get(statusKey(row))!].statusEvents += 1;
  const otherOwner = firstOwners(
    batches.map((b) => b.others),
    (o) => o.dedupeKey,
  );
  for (const row of others) results[otherOwner.get(row.dedupeKey)!].otherEvents += 1;
  batches.forEach((batch, i) => {
    results[i].duplicates = batch.messages.length - results[i].inserted.length;
  });
  return { results, outboundToSend: [...confirmations, ...fallbacks] };
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
  agentState: 'none' | 'pending' | 'done' | 'failed' | 'handoff';
  mediaState: 'none' | 'pending' | 'done' | 'failed';
  mediaPath: string | null;
  mediaSize: number | null;
  createdAt: Date;
}

const INBOUND_COLUMNS = `id, wamid, phone_number_id as "phoneNumberId", from_wa_id as "fromWaId",
  contact_name as "contactName", type, text_body as text, reply_id as "replyId", media_id as "mediaId",
  media_mime_type as "mediaMimeType", media_sha256 as "mediaSha256", caption, context_wamid as "contextWamid",
  agent_state as "agentState", media_state as "mediaState", media_path as "mediaPath", media_size as "mediaSize",
  created_at as "createdAt"`;

export async function getInbound(sql: Sql, id: string): Promise<InboundRow | null> {
  const rows = await sql.query<InboundRow>(
    `select ${INBOUND_COLUMNS} from whatsapp_inbound_messages where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** The inbound message with Meta's raw object, for a handler's payload. */
export async function getInboundWithPayload(
  sql: Sql,
  id: string,
): Promise<(InboundRow & { payload: unknown; sentAt: Date | null }) | null> {
  const rows = await sql.query<InboundRow & { payload: unknown; sentAt: Date | null }>(
    `select ${INBOUND_COLUMNS}, payload, sent_at as "sentAt" from whatsapp_inbound_messages where id = $1`,
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

/** A contact's messages still waiting for the agent, oldest first. */
export async function pendingAgentMessages(sql: Sql, fromWaId: string): Promise<InboundRow[]> {
  return sql.query<InboundRow>(
    `select ${INBOUND_COLUMNS} from whatsapp_inbound_messages
      where from_wa_id = $1 and agent_state = 'pending'
      order by created_at, coalesce(sent_at, created_at), wamid`,
    [fromWaId],
  );
}

/** Settles the agent work of several messages answered by one call. */
export async function settleAgentMessages(sql: Sql, ids: string[], state: 'done' | 'failed'): Promise<void> {
  await sql.query(
    `update whatsapp_inbound_messages set agent_state = $2, updated_at = now()
      where id = any($1::uuid[]) and agent_state = 'pending'`,
    [ids, state],
  );
}

export async function setAgentState(
  sql: Sql,
  id: string,
  state: 'done' | 'failed' | 'handoff',
): Promise<void> {
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
  /** Outside the window Meta may fail it with 131047: then the configured template goes once instead. */
  windowFallback?: boolean;
  /** Why the stored payload is not the request's (e.g. the window template went instead). */
  note?: string;
}

/**
 * Stores a message to send, once per Idempotency-Key (and once per inbound message for agent
 * replies). `created: false` hands back the row the first request stored. Run it in the transaction that
 * enqueues its job: the recipient's transaction lock, taken before the row is numbered, holds other sends
 * to the same number until this one commits, so `seq` order is commit (acceptance) order, and a send that
 * commits first is never numbered behind one still open on another connection.
 */
export async function insertOutbound(
  tx: Sql,
  input: NewOutbound,
): Promise<{ row: OutboundRow; created: boolean }> {
  const rows = await tx.query<OutboundRow>(
    `with recipient as (select pg_advisory_xact_lock(hashtextextended('whatsapp-to:' || $4::text, 0))),
     inserted as (
       insert into whatsapp_outbound_messages (
         idempotency_key, request_hash, phone_number_id, to_number, type, request, graph_payload, reply_to_inbound_id,
         window_fallback)
       select $1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9 from recipient
       on conflict do nothing
       returning *
     ),
     history as (
       insert into whatsapp_outbound_status_history (message_id, status, detail)
       select id, 'queued', coalesce($10, 'accepted') from inserted
     )
     select ${OUTBOUND_COLUMNS} from inserted`,
    [
      input.idempotencyKey,
      input.requestHash,
      input.phoneNumberId,
      input.to,
      input.type,
      JSON.stringify(input.request),
      JSON.stringify(input.graphPayload),
      input.replyToInboundId,
      input.windowFallback ?? false,
      input.note ?? null,
    ],
  );
  if (rows[0]) return { row: rows[0], created: true };
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

/** A history row written in the same statement as the change it records (so they commit together). */
const historySql = (from: string, status: string, detail: string, error = 'null, null, null') => `
  insert into whatsapp_outbound_status_history (message_id, status, detail, error_code, error_title, error_message)
  select id, '${status}', ${detail}, ${error} from ${from}`;

/**
 * Takes the right to send a queued message for `leaseMs`: the API request and a queue worker may
 * both try, and only the lease holder calls the Graph API. Null when it is not queued, leased, or an
 * older message to the same recipient is still queued: messages to one contact leave in the order
 * they were accepted, whichever instance or retry sends them.
 */
export async function claimOutbound(sql: Sql, id: string, leaseMs: number): Promise<OutboundRow | null> {
  const rows = await sql.query<OutboundRow>(
    `update whatsapp_outbound_messages m
        set lease_until = now() + make_interval(secs => $2::double precision / 1000),
            attempts = attempts + 1, updated_at = now()
      where id = $1 and status = 'queued' and (lease_until is null or lease_until < now())
        and not exists (select 1 from whatsapp_outbound_messages o
                         where o.to_number = m.to_number and o.status = 'queued' and o.seq < m.seq)
      returning ${OUTBOUND_COLUMNS}`,
    [id, leaseMs],
  );
  return rows[0] ?? null;
}

/**
 * Fails a queued message whose recipient has opted out since it was accepted (a retry must not reach
 * them), unless it is an allowed template or the opt-out confirmation itself. True when it did.
 */
export async function refuseOptedOut(sql: Sql, id: string, allowedTemplates: string[]): Promise<boolean> {
  const rows = await sql.query<{ id: string }>(
    `with refused as (
       update whatsapp_outbound_messages m
          set status = 'failed', status_rank = 4, error_code = null, error_title = 'opted_out',
              error_message = 'the recipient opted out after this message was accepted', lease_until = null,
              updated_at = now()
         from whatsapp_contacts k
        where m.id = $1 and m.status = 'queued' and k.wa_id = ltrim(m.to_number, '+') and k.opted_out_at is not null
          and coalesce(m.idempotency_key, '') not like 'opt-out-confirmation:%'
          and not (m.type = 'template' and m.graph_payload #>> '{template,name}' = any($2::text[]))
        returning m.id
     )
     ${historySql('refused', 'failed', "'not sent: the recipient opted out'", "null, 'opted_out', 'the recipient opted out'")}
     returning message_id as id`,
    [id, allowedTemplates],
  );
  return rows.length > 0;
}

/** The oldest message still queued for a recipient: the one that may leave next. */
export async function nextQueuedFor(sql: Sql, to: string): Promise<string | null> {
  const rows = await sql.query<{ id: string }>(
    `select id from whatsapp_outbound_messages where to_number = $1 and status = 'queued' order by seq limit 1`,
    [to],
  );
  return rows[0]?.id ?? null;
}

// ---------------------------------------------------------------------------------------------
// Conversations (per-contact state)

export interface ConversationRow {
  waId: string;
  name: string | null;
  lastInboundAt: Date | null;
  /** When the customer-service window closes (null: never opened). */
  windowClosesAt: Date | null;
  windowOpen: boolean;
  optedOutAt: Date | null;
  handoff: boolean;
}

const CONVERSATION_COLUMNS = (hours: string) => `wa_id as "waId", profile_name as name,
  last_inbound_at as "lastInboundAt", last_inbound_at + make_interval(hours => ${hours}) as "windowClosesAt",
  coalesce(last_inbound_at + make_interval(hours => ${hours}) > now(), false) as "windowOpen",
  opted_out_at as "optedOutAt", handoff`;

export async function getConversation(
  sql: Sql,
  waId: string,
  windowHours: number,
): Promise<ConversationRow | null> {
  const rows = await sql.query<ConversationRow>(
    `select ${CONVERSATION_COLUMNS('$2::int')} from whatsapp_contacts where wa_id = $1`,
    [waId, windowHours],
  );
  return rows[0] ?? null;
}

/** Pauses (true) or resumes (false) the agent for one contact; creates the contact when unknown. */
export async function setHandoff(
  sql: Sql,
  waId: string,
  handoff: boolean,
  windowHours: number,
): Promise<ConversationRow> {
  const rows = await sql.query<ConversationRow>(
    `insert into whatsapp_contacts (wa_id, handoff) values ($1, $2)
     on conflict (wa_id) do update set handoff = excluded.handoff, updated_at = now()
     returning ${CONVERSATION_COLUMNS('$3::int')}`,
    [waId, handoff, windowHours],
  );
  return rows[0];
}

/**
 * Records Meta's message id and `sent`, then applies any status Meta already reported for that id (the
 * status webhook can arrive before the Graph API answer is recorded; lockWamids orders the two), including
 * the template fallback of an early 131047 failure. Returns those fallbacks' ids (their send jobs go in the
 * same transaction). Run it in a transaction.
 */
export async function recordSent(
  tx: Sql,
  id: string,
  wamid: string,
  windowTemplate: { name: string; language: string } | null = null,
): Promise<string[]> {
  await lockWamids(tx, [wamid]);
  await tx.query(
    `with sent as (
       update whatsapp_outbound_messages
          set wamid = $2, status = 'sent', status_rank = 1, sent_at = now(), lease_until = null,
              error_code = null, error_title = null, error_message = null, updated_at = now()
        where id = $1 and status_rank < 1
        returning id
     )
     ${historySql('sent', 'sent', "'accepted by WhatsApp as ' || $2")}`,
    [id, wamid],
  );
  await tx.query(
    `${applyFurthestSql('(select * from whatsapp_status_events where wamid = $2)', 'm.id = $1')}`,
    [id, wamid],
  );
  if (!windowTemplate) return [];
  // A 131047 failure that came before this answer: its template fallback is claimed here.
  const fallbacks = await tx.query<{ id: string }>(
    `with early as (select wamid, status, error_code from whatsapp_status_events where wamid = $1),
     ${windowFallbackCtes('early', '$2', '$3')}
     select id from fallback`,
    [wamid, windowTemplate.name, windowTemplate.language],
  );
  return fallbacks.map((f) => f.id);
}

export async function recordFailed(
  sql: Sql,
  id: string,
  error: OutboundError,
  detail: string,
): Promise<void> {
  await sql.query(
    `with failed as (
       update whatsapp_outbound_messages
          set status = 'failed', status_rank = 4, error_code = $2, error_title = $3, error_message = $4,
              lease_until = null, updated_at = now()
        where id = $1 and status = 'queued'
        returning id
     )
     ${historySql('failed', 'failed', '$5', '$2, $3, $4')}`,
    [id, error.code, error.title, error.message, detail],
  );
}

/** Gives the lease back after a retryable failure, keeping the error as the last one seen. */
export async function recordRetry(sql: Sql, id: string, error: OutboundError, detail: string): Promise<void> {
  await sql.query(
    `with released as (
       update whatsapp_outbound_messages
          set lease_until = null, error_code = $2, error_title = $3, error_message = $4, updated_at = now()
        where id = $1 and status = 'queued'
        returning id
     )
     ${historySql('released', 'queued', '$5', '$2, $3, $4')}`,
    [id, error.code, error.title, error.message, detail],
  );
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

/** A row's created_at to the microsecond, as the keyset cursor carries it. */
const cursorAtSql = (column = 'created_at') =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursorAt"`;
const CURSOR_AT = cursorAtSql();

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

// ---------------------------------------------------------------------------------------------
// Routing: handler deliveries, dead letters, sticky conversations, raw webhook deliveries

/** Routes currently holding these contacts' conversations (expired claims are ignored). */
export async function activeRouteSessions(sql: Sql, waIds: string[]): Promise<Map<string, string>> {
  if (waIds.length === 0) return new Map();
  const rows = await sql.query<{ waId: string; route: string }>(
    `select wa_id as "waId", route from whatsapp_route_sessions
      where wa_id = any($1::text[]) and expires_at > now()`,
    [waIds],
  );
  return new Map(rows.map((r) => [r.waId, r.route]));
}

export interface NewHandlerDelivery {
  inboundId: string;
  route: string;
  kind: 'reply_id' | 'keyword' | 'sticky';
  value: string | null;
}

/** One delivery per routed inbound message (a replayed message already has its own). */
export async function insertHandlerDeliveries(sql: Sql, deliveries: NewHandlerDelivery[]): Promise<string[]> {
  if (deliveries.length === 0) return [];
  const rows = await sql.query<{ id: string }>(
    `insert into whatsapp_handler_deliveries (inbound_id, route, match_kind, match_value)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
     on conflict (inbound_id) do nothing
     returning id`,
    [
      deliveries.map((d) => d.inboundId),
      deliveries.map((d) => d.route),
      deliveries.map((d) => d.kind),
      deliveries.map((d) => d.value),
    ],
  );
  return rows.map((r) => r.id);
}

export interface ConversationClaim {
  waId: string;
  route: string;
  ttlSeconds: number;
}

/**
 * Gives each contact's conversation to a route for `ttlSeconds` from now, decided by a message stored
 * now (a later decision than any handler answer to an earlier message).
 */
export async function claimConversations(sql: Sql, claims: ConversationClaim[]): Promise<void> {
  if (claims.length === 0) return;
  const sorted = [...claims].sort((a, b) => (a.waId < b.waId ? -1 : 1));
  await sql.query(
    `insert into whatsapp_route_sessions (wa_id, route, expires_at, decided_at)
     select wa_id, route, now() + make_interval(secs => ttl), now()
       from unnest($1::text[], $2::text[], $3::int[]) as c(wa_id, route, ttl)
     on conflict (wa_id) do update
       set route = excluded.route, expires_at = excluded.expires_at, decided_at = excluded.decided_at,
           updated_at = now()
     where whatsapp_route_sessions.decided_at <= excluded.decided_at`,
    [sorted.map((c) => c.waId), sorted.map((c) => c.route), sorted.map((c) => c.ttlSeconds)],
  );
}

/**
 * A handler's answer about the conversation: claim it for `ttlSeconds`, or let it go (only its own
 * claim). The decision is dated by the answered message's arrival, so an answer to an older message
 * that comes late never overrides a newer decision.
 */
export async function applyHandlerStickiness(
  sql: Sql,
  input: { inboundId: string; route: string; claim: { ttlSeconds: number } | null },
): Promise<void> {
  if (input.claim) {
    await sql.query(
      `insert into whatsapp_route_sessions (wa_id, route, expires_at, decided_at)
       select from_wa_id, $2, now() + make_interval(secs => $3::int), created_at
         from whatsapp_inbound_messages where id = $1 and from_wa_id is not null
       on conflict (wa_id) do update
         set route = excluded.route, expires_at = excluded.expires_at, decided_at = excluded.decided_at,
             updated_at = now()
       where whatsapp_route_sessions.decided_at <= excluded.decided_at`,
      [input.inboundId, input.route, input.claim.ttlSeconds],
    );
    return;
  }
  await sql.query(
    `delete from whatsapp_route_sessions s using whatsapp_inbound_messages m
      where m.id = $1 and s.wa_id = m.from_wa_id and s.route = $2 and s.decided_at <= m.created_at`,
    [input.inboundId, input.route],
  );
}

export type HandlerDeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface HandlerDeliveryRow {
  id: string;
  inboundId: string;
  route: string;
  matchKind: 'reply_id' | 'keyword' | 'sticky';
  matchValue: string | null;
  status: HandlerDeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  wamid: string;
  waId: string | null;
  cursorAt: string;
}

const HANDLER_DELIVERY_COLUMNS = `d.id, d.inbound_id as "inboundId", d.route, d.match_kind as "matchKind",
  d.match_value as "matchValue", d.status, d.attempts, d.last_status as "lastStatus", d.last_error as "lastError",
  d.delivered_at as "deliveredAt", d.created_at as "createdAt", d.updated_at as "updatedAt", m.wamid,
  m.from_wa_id as "waId", ${cursorAtSql('d.created_at')}`;

export async function getHandlerDelivery(sql: Sql, id: string): Promise<HandlerDeliveryRow | null> {
  const rows = await sql.query<HandlerDeliveryRow>(
    `select ${HANDLER_DELIVERY_COLUMNS}
       from whatsapp_handler_deliveries d join whatsapp_inbound_messages m on m.id = d.inbound_id
      where d.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface HandlerDeliveryFilter {
  status?: HandlerDeliveryStatus;
  route?: string;
  since?: string;
  before?: { createdAt: string; id: string };
  limit: number;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listHandlerDeliveries(
  sql: Sql,
  filter: HandlerDeliveryFilter,
): Promise<HandlerDeliveryRow[]> {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (filter.status) conditions.push(`d.status = ${param(filter.status)}`);
  if (filter.route) conditions.push(`d.route = ${param(filter.route)}`);
  if (filter.since) conditions.push(`d.created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.before) {
    conditions.push(
      `(d.created_at, d.id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
    );
  }
  return sql.query<HandlerDeliveryRow>(
    `select ${HANDLER_DELIVERY_COLUMNS}
       from whatsapp_handler_deliveries d join whatsapp_inbound_messages m on m.id = d.inbound_id
      ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
      order by d.created_at desc, d.id desc limit ${param(filter.limit)}`,
    params,
  );
}

/** One HTTP attempt's outcome, kept on the delivery as its latest. */
export interface AttemptOutcome {
  status: number | null;
  error: string | null;
}

export async function recordHandlerAttempt(sql: Sql, id: string, outcome: AttemptOutcome): Promise<void> {
  await sql.query(
    `update whatsapp_handler_deliveries
        set attempts = attempts + 1, last_status = $2, last_error = $3, updated_at = now()
      where id = $1 and status = 'pending'`,
    [id, outcome.status, outcome.error],
  );
}

/** True when this call delivered it (a pending delivery); false when it was already settled. */
export async function markHandlerDelivered(sql: Sql, id: string, status: number): Promise<boolean> {
  const rows = await sql.query(
    `update whatsapp_handler_deliveries
        set status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = null,
            delivered_at = now(), updated_at = now()
      where id = $1 and status = 'pending'
      returning id`,
    [id, status],
  );
  return rows.length > 0;
}

/**
 * Out of attempts: the delivery is dead and one dead letter records why, in one statement (only a
 * pending delivery dies, so a repeated call writes nothing). Returns the letter's id.
 */
export async function markHandlerDead(
  sql: Sql,
  id: string,
  outcome: AttemptOutcome & { attempted: boolean },
): Promise<string | null> {
  const rows = await sql.query<{ id: string }>(
    `with dead as (
       update whatsapp_handler_deliveries
          set status = 'dead', attempts = attempts + $4::int, last_status = coalesce($2, last_status),
              last_error = $3, updated_at = now()
        where id = $1 and status = 'pending'
        returning id, route, attempts, last_status, last_error
     )
     insert into whatsapp_dead_letters (delivery_id, route, attempts, last_status, last_error)
     select id, route, attempts, last_status, last_error from dead
     returning id`,
    [id, outcome.status, outcome.error, outcome.attempted ? 1 : 0],
  );
  return rows[0]?.id ?? null;
}

/**
 * Puts a dead delivery back to pending and closes its open letter, in one statement: of two replays at
 * once only one finds the letter open. Returns the closed letter's id (the replay job's key), or null
 * when there was nothing to replay (delivered, pending, or replayed already).
 */
export async function reviveHandlerDelivery(
  sql: Sql,
  by: { deliveryId: string } | { letterId: string },
): Promise<{ letterId: string; deliveryId: string } | null> {
  const where = 'deliveryId' in by ? 'delivery_id = $1' : 'id = $1';
  const rows = await sql.query<{ letterId: string; deliveryId: string }>(
    `with letter as (
       update whatsapp_dead_letters set replayed_at = now()
        where ${where} and replayed_at is null
        returning id, delivery_id
     ),
     revived as (
       update whatsapp_handler_deliveries d set status = 'pending', updated_at = now()
         from letter where d.id = letter.delivery_id and d.status = 'dead'
        returning d.id
     )
     select letter.id as "letterId", letter.delivery_id as "deliveryId" from letter`,
    ['deliveryId' in by ? by.deliveryId : by.letterId],
  );
  return rows[0] ?? null;
}

export interface DeadLetterRow {
  id: string;
  deliveryId: string;
  route: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  replayedAt: Date | null;
  createdAt: Date;
  cursorAt: string;
}

const DEAD_LETTER_COLUMNS = `id, delivery_id as "deliveryId", route, attempts, last_status as "lastStatus",
  last_error as "lastError", replayed_at as "replayedAt", created_at as "createdAt",
  ${CURSOR_AT}`;

export async function getDeadLetter(sql: Sql, id: string): Promise<DeadLetterRow | null> {
  const rows = await sql.query<DeadLetterRow>(
    `select ${DEAD_LETTER_COLUMNS} from whatsapp_dead_letters where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface DeadLetterFilter {
  state?: 'open' | 'replayed';
  route?: string;
  since?: string;
  before?: { createdAt: string; id: string };
  limit: number;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listDeadLetters(sql: Sql, filter: DeadLetterFilter): Promise<DeadLetterRow[]> {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (filter.state === 'open') conditions.push('replayed_at is null');
  if (filter.state === 'replayed') conditions.push('replayed_at is not null');
  if (filter.route) conditions.push(`route = ${param(filter.route)}`);
  if (filter.since) conditions.push(`created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.before) {
    conditions.push(
      `(created_at, id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
    );
  }
  return sql.query<DeadLetterRow>(
    `select ${DEAD_LETTER_COLUMNS} from whatsapp_dead_letters
      ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
      order by created_at desc, id desc limit ${param(filter.limit)}`,
    params,
  );
}

/** Dead deliveries created in a window, oldest first after `after` (a replay's page). */
export async function deadHandlerDeliveries(
  sql: Sql,
  window: { since: string; until?: string; route?: string; after?: { createdAt: string; id: string } },
  limit: number,
): Promise<{ id: string; cursorAt: string }[]> {
  const params: unknown[] = [window.since];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions = [`status = 'dead'`, 'created_at >= $1::timestamptz'];
  if (window.until) conditions.push(`created_at < ${param(window.until)}::timestamptz`);
  if (window.route) conditions.push(`route = ${param(window.route)}`);
  if (window.after) {
    conditions.push(
      `(created_at, id) > (${param(window.after.createdAt)}::timestamptz, ${param(window.after.id)}::uuid)`,
    );
  }
  return sql.query(
    `select id, ${CURSOR_AT}
       from whatsapp_handler_deliveries where ${conditions.join(' and ')}
      order by created_at, id limit ${param(limit)}`,
    params,
  );
}

export interface WebhookDeliveryRow {
  id: string;
  sha256: string;
  bytes: number;
  createdAt: Date;
  cursorAt: string;
}

const WEBHOOK_DELIVERY_COLUMNS = `id, body_sha256 as sha256, octet_length(body) as bytes, created_at as "createdAt",
  ${CURSOR_AT}`;

export async function getWebhookDeliveryBody(sql: Sql, id: string): Promise<string | null> {
  const rows = await sql.query<{ body: string }>(
    'select body from whatsapp_webhook_deliveries where id = $1',
    [id],
  );
  return rows[0]?.body ?? null;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listWebhookDeliveries(
  sql: Sql,
  filter: { since?: string; before?: { createdAt: string; id: string }; limit: number },
): Promise<WebhookDeliveryRow[]> {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (filter.since) conditions.push(`created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.before) {
    conditions.push(
      `(created_at, id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
    );
  }
  return sql.query<WebhookDeliveryRow>(
    `select ${WEBHOOK_DELIVERY_COLUMNS} from whatsapp_webhook_deliveries
      ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
      order by created_at desc, id desc limit ${param(filter.limit)}`,
    params,
  );
}

/** Deliveries received in a window, oldest first after `after`, with their bodies (a replay's page). */
export async function webhookDeliveriesToReplay(
  sql: Sql,
  window: { since: string; until?: string; after?: { createdAt: string; id: string } },
  limit: number,
): Promise<{ id: string; body: string; cursorAt: string }[]> {
  const params: unknown[] = [window.since];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions = ['created_at >= $1::timestamptz'];
  if (window.until) conditions.push(`created_at < ${param(window.until)}::timestamptz`);
  if (window.after) {
    conditions.push(
      `(created_at, id) > (${param(window.after.createdAt)}::timestamptz, ${param(window.after.id)}::uuid)`,
    );
  }
  return sql.query(
    `select id, body, ${CURSOR_AT}
       from whatsapp_webhook_deliveries where ${conditions.join(' and ')}
      order by created_at, id limit ${param(limit)}`,
    params,
  );
}
