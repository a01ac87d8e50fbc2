-- Video timelines: several files per render. `renditions` are the same video at other sizes
-- ([{name, key, width, height, sizeBytes}]), `sprite` the thumbnail sheet ({key, columns, rows,
-- tileWidth, everyS}); both are written with the render's completion.
alter table video_renders add column renditions jsonb not null default '[]'::jsonb;
alter table video_renders add column sprite jsonb;
