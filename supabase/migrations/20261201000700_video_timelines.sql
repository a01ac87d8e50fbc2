-- Video timelines: several files per render. `renditions` are the same video at other sizes
-- ([{name, key, width, height, sizeBytes}]), `sprite` the thumbnail sheet ({key, columns, rows,
-- tileWidth, everyS}); both are written with the render's completion.
alter table video_renders add column renditions jsonb not null default '[]'::jsonb;
alter table video_renders add column sprite jsonb;

-- Brand looks: 3D LUTs uploaded as .cube (POST /luts), stored as our own rewrite of the parsed table.
create table video_luts (
  id uuid primary key,
  size integer not null check (size between 2 and 65),
  storage_key text not null,
  sha256 text not null,
  created_at timestamptz not null default now()
);
alter table video_luts enable row level security;
create policy video_luts_service_role on video_luts
  for all to service_role using (true) with check (true);
