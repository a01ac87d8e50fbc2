-- List endpoints (GET /calls, /messages, /contacts/:waId/messages, /renders) page newest first on
-- (created_at, id) with `(created_at, id) < (cursor)`: each filter gets an index ending in
-- (created_at, id), so a page is one backward index range scan whatever the table's size. The
-- (created_at) and (x, created_at) indexes they supersede are dropped: one index per query shape.

drop index if exists voice_calls_created_at_idx;
create index voice_calls_created_at_id_idx on voice_calls (created_at, id);
create index voice_calls_status_list_idx on voice_calls (status, created_at, id);
create index voice_calls_direction_list_idx on voice_calls (direction, created_at, id);
create index voice_calls_to_list_idx on voice_calls (to_number, created_at, id);

drop index if exists whatsapp_inbound_messages_created_at_idx;
drop index if exists whatsapp_inbound_messages_from_idx;
create index whatsapp_inbound_messages_created_at_id_idx on whatsapp_inbound_messages (created_at, id);
create index whatsapp_inbound_messages_from_list_idx on whatsapp_inbound_messages (from_wa_id, created_at, id);

drop index if exists whatsapp_outbound_messages_created_at_idx;
drop index if exists whatsapp_outbound_messages_status_idx;
create index whatsapp_outbound_messages_created_at_id_idx on whatsapp_outbound_messages (created_at, id);
create index whatsapp_outbound_messages_status_list_idx on whatsapp_outbound_messages (status, created_at, id);
create index whatsapp_outbound_messages_to_list_idx on whatsapp_outbound_messages (to_number, created_at, id);

drop index if exists video_renders_created_at_idx;
create index video_renders_created_at_id_idx on video_renders (created_at, id);
create index video_renders_status_list_idx on video_renders (status, created_at, id);
