-- Voice bridge: calls placed or received through Twilio, every status callback and service event
-- on them, and the transcript turns of the AI voice agent conversation.

create table voice_calls (
  id uuid primary key,
  direction text not null check (direction in ('outbound', 'inbound')),
  to_number text not null,
  from_number text not null,
  agent text,
  metadata jsonb not null default '{}'::jsonb,
  status text not null default 'queued' check (
    status in ('queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled')
  ),
  -- queued 0, initiated 1, ringing 2, in-progress 3, terminal 4: a call only moves up (call-status-machine.ts).
  status_rank smallint not null default 0,
  -- Twilio's CallSid; unknown until the provider accepted the call (or its first webhook arrived).
  provider_call_sid text unique,
  -- A repeated Idempotency-Key returns this call and places nothing; request_hash spots a reused key.
  idempotency_key text unique,
  request_hash text,
  -- Why the call failed to be placed, or why the caller heard the fallback instead of the agent.
  failure_reason text,
  duration_seconds integer,
  answered_at timestamptz,
  ended_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index voice_calls_created_at_idx on voice_calls (created_at);

create table voice_call_events (
  id bigint generated always as identity primary key,
  -- Null while the CallSid is unknown to us (a status callback for a call we never saw).
  call_id uuid references voice_calls (id) on delete cascade,
  provider_call_sid text,
  source text not null check (source in ('provider', 'service')),
  -- provider: the CallStatus; service: what happened (created, provider_failed, agent_unavailable, …).
  type text not null,
  sequence_number integer,
  occurred_at timestamptz not null default now(),
  call_duration integer,
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
-- Twilio retries callbacks: CallSid + SequenceNumber + status identifies one, so a retry stores nothing.
create unique index voice_call_events_provider_dedupe_idx
  on voice_call_events (provider_call_sid, sequence_number, type) where source = 'provider';
create index voice_call_events_call_idx on voice_call_events (call_id, occurred_at);
create index voice_call_events_orphans_idx on voice_call_events (provider_call_sid) where call_id is null;
create index voice_call_events_created_at_idx on voice_call_events (created_at);

create table voice_transcript_turns (
  id bigint generated always as identity primary key,
  call_id uuid not null references voice_calls (id) on delete cascade,
  role text not null check (role in ('caller', 'agent')),
  text text not null,
  created_at timestamptz not null default now()
);
create index voice_transcript_turns_call_idx on voice_transcript_turns (call_id, id);
create index voice_transcript_turns_created_at_idx on voice_transcript_turns (created_at);

alter table voice_calls enable row level security;
alter table voice_call_events enable row level security;
alter table voice_transcript_turns enable row level security;

create policy voice_calls_service_role on voice_calls
  for all to service_role using (true) with check (true);
create policy voice_call_events_service_role on voice_call_events
  for all to service_role using (true) with check (true);
create policy voice_transcript_turns_service_role on voice_transcript_turns
  for all to service_role using (true) with check (true);
