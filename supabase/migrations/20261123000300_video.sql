-- Video orchestrator: uploaded media assets and render jobs (the durable queue itself is pg-boss,
-- in its own schema; a render row is what the API reports and what workers update).

create table video_assets (
  id uuid primary key,
  kind text not null check (kind in ('image', 'video', 'audio')),
  -- Detected from the bytes, never taken from the upload's name or Content-Type.
  mime_type text not null,
  size_bytes bigint not null check (size_bytes >= 0),
  sha256 text not null,
  storage_key text not null,
  -- ffprobe's reading of the stored bytes (assets are immutable): workers reuse it instead of probing again.
  probe jsonb,
  created_at timestamptz not null default now()
);
create index video_assets_created_at_idx on video_assets (created_at);

create table video_renders (
  id uuid primary key,
  status text not null default 'queued' check (status in ('queued', 'processing', 'completed', 'failed', 'canceled')),
  spec jsonb not null,
  -- A repeated Idempotency-Key returns this render; request_hash spots a key reused for another body.
  idempotency_key text unique,
  request_hash text,
  queue_job_id text,
  progress smallint not null default 0 check (progress between 0 and 100),
  attempts integer not null default 0,
  -- `<host>--<pid>--<boot>` of the worker holding the current attempt: only it may settle the row,
  -- and a restarted worker on the same host recognises attempts its dead predecessor left behind.
  worker_id text,
  queue_retry_count integer,
  error_code text,
  error_message text,
  output_key text,
  poster_key text,
  output_duration_s double precision,
  output_size_bytes bigint,
  output_width integer,
  output_height integer,
  output_video_codec text,
  output_audio_codec text,
  -- Stage durations of the last attempt (download, probe, render, verify, upload), milliseconds.
  timings jsonb not null default '{}'::jsonb,
  callback_url text,
  callback_status text not null default 'none' check (callback_status in ('none', 'pending', 'delivered', 'failed')),
  callback_attempts integer not null default 0,
  callback_error text,
  callback_delivered_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index video_renders_created_at_idx on video_renders (created_at);
-- Crash recovery looks for attempts still marked processing by a worker of this host.
create index video_renders_processing_idx on video_renders (worker_id) where status = 'processing';

alter table video_assets enable row level security;
alter table video_renders enable row level security;

create policy video_assets_service_role on video_assets
  for all to service_role using (true) with check (true);
create policy video_renders_service_role on video_renders
  for all to service_role using (true) with check (true);
