-- Render changes are pushed, not polled: a change of a render's status, progress or attempt NOTIFYs
-- `video_render_changed` with the render's id when its transaction commits, and the API's event streams
-- (GET /renders/:id/events) read the row again then. A notice is only a hint (the row is the truth), so
-- one lost while a listener reconnects costs a stream its fallback interval, nothing more.
create function video_render_changed() returns trigger language plpgsql set search_path = '' as $$
begin
  perform pg_notify('video_render_changed', new.id::text);
  return null;
end
$$;

create trigger video_renders_changed after update on video_renders
  for each row
  when (old.status is distinct from new.status
        or old.progress is distinct from new.progress
        or old.attempts is distinct from new.attempts)
  execute function video_render_changed();
