-- Voice agent: one active media stream per call, how the AI leg ended, caller consent, and timed
-- transcript segments (speaker, language, start/end ms on the call's media clock).

-- One row per accepted Media Streams upgrade. The partial unique index is the "one active stream per
-- call" rule, enforced across instances; closed_at is set when the bridge has released everything.
create table voice_media_streams (
  id uuid primary key,
  call_id uuid not null references voice_calls (id) on delete cascade,
  opened_at timestamptz not null default now(),
  closed_at timestamptz,
  close_reason text
);
create unique index voice_media_streams_one_active_idx on voice_media_streams (call_id) where closed_at is null;
create index voice_media_streams_call_idx on voice_media_streams (call_id);

-- Why the AI leg ended before the caller hung up; the <Connect action> webhook picks what the caller
-- hears from it (a fact, not a prefix of failure_reason).
alter table voice_calls add column ai_leg_ended_by text
  check (ai_leg_ended_by in ('agent_unavailable', 'consent_refused'));
alter table voice_calls add column consent text check (consent in ('granted', 'refused'));
alter table voice_calls add column consent_at timestamptz;
alter table voice_calls add column consent_via text check (consent_via in ('speech', 'dtmf'));

-- Transcript turns become segments: stored once each is final (heard, or cut at the barge-in).
alter table voice_transcript_turns add column language text not null default 'en'
  check (language in ('en', 'sw', 'rw', 'fr'));
alter table voice_transcript_turns add column start_ms integer;
alter table voice_transcript_turns add column end_ms integer;
-- The agent was cut off: `text` holds only what the caller heard.
alter table voice_transcript_turns add column interrupted boolean not null default false;
alter table voice_transcript_turns add column item_id text;

alter table voice_media_streams enable row level security;
create policy voice_media_streams_service_role on voice_media_streams
  for all to service_role using (true) with check (true);

-- Answering-machine detection (Twilio async AMD) and the call's one terminal outcome.
alter table voice_calls add column answered_by text;
-- What we did about a machine: left the message, hung up, or let the agent talk to it.
alter table voice_calls add column machine_action text
  check (machine_action in ('message_left', 'hung_up', 'connected'));
alter table voice_calls add column outcome text check (
  outcome in ('human_completed', 'voicemail_left', 'machine_hangup', 'no_answer', 'busy', 'failed', 'canceled')
);
alter table voice_calls add column outcome_at timestamptz;
create index voice_calls_outcome_idx on voice_calls (outcome) where outcome is not null;

-- The outcome is settled here, once, in the same statement that makes the call terminal, whichever
-- path does it (status callback, failed placement): no code path can forget it or set it twice.
create function voice_call_settle_outcome() returns trigger language plpgsql as $$
begin
  if new.outcome is null and new.status_rank = 4 then
    new.outcome := case new.status
      when 'completed' then case
        when new.machine_action in ('message_left', 'connected') then 'voicemail_left'
        when new.answered_by like 'machine%' or new.answered_by = 'fax' then 'machine_hangup'
        else 'human_completed'
      end
      when 'busy' then 'busy'
      when 'no-answer' then 'no_answer'
      when 'canceled' then 'canceled'
      else 'failed'
    end;
    new.outcome_at := now();
  end if;
  return new;
end
$$;

create trigger voice_calls_settle_outcome before insert or update on voice_calls
  for each row execute function voice_call_settle_outcome();
