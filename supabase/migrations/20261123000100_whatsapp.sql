-- WhatsApp webhook service: inbound messages (once per wamid), outbound outbox with status
-- history, every distinct status event for audit, and raw events we do not model.

create table whatsapp_contacts (
  wa_id text primary key,
  profile_name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index whatsapp_contacts_created_at_idx on whatsapp_contacts (created_at);

create table whatsapp_inbound_messages (
  id uuid primary key default gen_random_uuid(),
  -- Meta retries deliveries: the wamid is what makes a retry store nothing new.
  wamid text not null unique,
  phone_number_id text not null,
  display_phone_number text,
  from_wa_id text,
  contact_name text,
  type text not null,
  text_body text,
  reply_id text,
  media_id text,
  media_mime_type text,
  media_sha256 text,
  caption text,
  context_wamid text,
  sent_at timestamptz,
  payload jsonb not null,
  -- Work done after the 200 by queue jobs enqueued in the same transaction as this row.
  agent_state text not null default 'none' check (agent_state in ('none', 'pending', 'done', 'failed')),
  media_state text not null default 'none' check (media_state in ('none', 'pending', 'done', 'failed')),
  media_path text,
  media_size bigint,
  media_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index whatsapp_inbound_messages_created_at_idx on whatsapp_inbound_messages (created_at);
create index whatsapp_inbound_messages_from_idx on whatsapp_inbound_messages (from_wa_id, created_at);

create table whatsapp_outbound_messages (
  id uuid primary key default gen_random_uuid(),
  idempotency_key text unique,
  request_hash text,
  phone_number_id text not null,
  to_number text not null,
  type text not null,
  request jsonb not null,
  graph_payload jsonb not null,
  wamid text unique,
  status text not null default 'queued' check (status in ('queued', 'sent', 'delivered', 'read', 'failed')),
  -- queued 0, sent 1, delivered 2, read 3, failed 4: statuses only ever move up.
  status_rank smallint not null default 0,
  error_code integer,
  error_title text,
  error_message text,
  attempts integer not null default 0,
  -- Whoever sends holds the lease, so the API and a queue worker never send the same row at once.
  lease_until timestamptz,
  -- The inbound message an agent reply answers: one reply per inbound message.
  reply_to_inbound_id uuid unique references whatsapp_inbound_messages (id) on delete set null,
  -- The first answer to the request, replayed for a repeated Idempotency-Key.
  response_status smallint,
  response_body jsonb,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index whatsapp_outbound_messages_created_at_idx on whatsapp_outbound_messages (created_at);
create index whatsapp_outbound_messages_status_idx on whatsapp_outbound_messages (status, created_at);

create table whatsapp_outbound_status_history (
  id bigint generated always as identity primary key,
  message_id uuid not null references whatsapp_outbound_messages (id) on delete cascade,
  status text not null,
  detail text,
  error_code integer,
  error_title text,
  error_message text,
  occurred_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
create index whatsapp_outbound_status_history_message_idx on whatsapp_outbound_status_history (message_id, occurred_at);
create index whatsapp_outbound_status_history_created_at_idx on whatsapp_outbound_status_history (created_at);

-- Every distinct status event Meta sent (message id + status), including ids we never sent.
create table whatsapp_status_events (
  id bigint generated always as identity primary key,
  wamid text not null,
  status text not null,
  phone_number_id text,
  recipient_id text,
  occurred_at timestamptz,
  error_code integer,
  error_title text,
  error_message text,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  unique (wamid, status)
);
create index whatsapp_status_events_created_at_idx on whatsapp_status_events (created_at);

-- Changes for fields we do not model and value.errors[]: kept raw, once.
create table whatsapp_webhook_events (
  id bigint generated always as identity primary key,
  field text not null,
  dedupe_key text not null unique,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index whatsapp_webhook_events_created_at_idx on whatsapp_webhook_events (created_at);

alter table whatsapp_contacts enable row level security;
alter table whatsapp_inbound_messages enable row level security;
alter table whatsapp_outbound_messages enable row level security;
alter table whatsapp_outbound_status_history enable row level security;
alter table whatsapp_status_events enable row level security;
alter table whatsapp_webhook_events enable row level security;

create policy whatsapp_contacts_service_role on whatsapp_contacts
  for all to service_role using (true) with check (true);
create policy whatsapp_inbound_messages_service_role on whatsapp_inbound_messages
  for all to service_role using (true) with check (true);
create policy whatsapp_outbound_messages_service_role on whatsapp_outbound_messages
  for all to service_role using (true) with check (true);
create policy whatsapp_outbound_status_history_service_role on whatsapp_outbound_status_history
  for all to service_role using (true) with check (true);
create policy whatsapp_status_events_service_role on whatsapp_status_events
  for all to service_role using (true) with check (true);
create policy whatsapp_webhook_events_service_role on whatsapp_webhook_events
  for all to service_role using (true) with check (true);
