-- An outbound call Twilio may or may not have created: our request timed out or lost its answer after it
-- was sent. `placement_unconfirmed_at` says since when. The call's status callbacks (they carry our call
-- id) or Twilio's late answer settle it; otherwise it is failed once the confirmation window has passed
-- (VOICE_PLACEMENT_CONFIRM_S), keeping its Idempotency-Key so a retry never places a second call.
alter table voice_calls add column placement_unconfirmed_at timestamptz;

-- The sweep's query: unconfirmed calls still waiting (no CallSid, still queued), oldest first.
create index voice_calls_unconfirmed_idx on voice_calls (placement_unconfirmed_at)
  where placement_unconfirmed_at is not null and provider_call_sid is null and status_rank = 0;
