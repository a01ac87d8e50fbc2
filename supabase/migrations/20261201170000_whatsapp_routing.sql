-- WhatsApp routing and replay: every verified webhook delivery kept raw (replayable), inbound messages
-- delivered to operator-configured handlers (Standard Webhooks), their dead letters, and which handler
-- holds a conversation (sticky routing).

-- A verified delivery exactly as Meta sent it, once per body (Meta's retries repeat the same bytes).
-- Written in the same commit as the rows read from it; replaying it runs the same ingest again.
create table whatsapp_webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  body_sha256 text not null unique,
  body text not null,
  created_at timestamptz not null default now()
);
create index whatsapp_webhook_deliveries_created_at_id_idx on whatsapp_webhook_deliveries (created_at, id);

-- One delivery of an inbound message to the handler a route chose; its id is the `webhook-id` the
-- handler sees on every attempt and replay (so it can drop duplicates).
create table whatsapp_handler_deliveries (
  id uuid primary key default gen_random_uuid(),
  inbound_id uuid not null unique references whatsapp_inbound_messages (id) on delete cascade,
  route text not null,
  match_kind text not null check (match_kind in ('reply_id', 'keyword', 'sticky')),
  match_value text,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  last_status smallint,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index whatsapp_handler_deliveries_created_at_id_idx on whatsapp_handler_deliveries (created_at, id);
create index whatsapp_handler_deliveries_status_idx on whatsapp_handler_deliveries (status, created_at, id);

-- A delivery that ran out of attempts. At most one open letter per delivery; a replay closes it
-- (replayed_at) in the same statement that puts the delivery back to pending, so it happens once.
create table whatsapp_dead_letters (
  id uuid primary key default gen_random_uuid(),
  delivery_id uuid not null references whatsapp_handler_deliveries (id) on delete cascade,
  route text not null,
  attempts integer not null,
  last_status smallint,
  last_error text,
  replayed_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index whatsapp_dead_letters_open_idx on whatsapp_dead_letters (delivery_id) where replayed_at is null;
create index whatsapp_dead_letters_created_at_id_idx on whatsapp_dead_letters (created_at, id);

-- The route holding a contact's conversation until it lets go or expires_at passes. decided_at is the
-- time of the message whose routing or handler answer set it: a late answer to an older message never
-- overrides a newer decision.
create table whatsapp_route_sessions (
  wa_id text primary key,
  route text not null,
  expires_at timestamptz not null,
  decided_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table whatsapp_webhook_deliveries enable row level security;
alter table whatsapp_handler_deliveries enable row level security;
alter table whatsapp_dead_letters enable row level security;
alter table whatsapp_route_sessions enable row level security;

create policy whatsapp_webhook_deliveries_service_role on whatsapp_webhook_deliveries
  for all to service_role using (true) with check (true);
create policy whatsapp_handler_deliveries_service_role on whatsapp_handler_deliveries
  for all to service_role using (true) with check (true);
create policy whatsapp_dead_letters_service_role on whatsapp_dead_letters
  for all to service_role using (true) with check (true);
create policy whatsapp_route_sessions_service_role on whatsapp_route_sessions
  for all to service_role using (true) with check (true);
