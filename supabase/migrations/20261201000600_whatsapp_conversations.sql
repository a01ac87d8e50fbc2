-- Conversations: per-contact state (24-hour customer-service window, opt-out, human handoff), the
-- per-recipient send order and the one template fallback a re-engagement failure (131047) may take.

alter table whatsapp_contacts
  -- Meta's time of the contact's latest message: the customer-service window runs 24 h from it.
  add column last_inbound_at timestamptz,
  -- Set by STOP (or a configured local equivalent), cleared by START.
  add column opted_out_at timestamptz,
  -- A human has the conversation: the agent does not answer.
  add column handoff boolean not null default false;

alter table whatsapp_outbound_messages
  -- Order of acceptance; a message leaves only when no older one to the same recipient is still queued.
  add column seq bigint generated always as identity,
  -- The request allowed a template in place of a free-form message outside the window.
  add column window_fallback boolean not null default false,
  -- The message this template replaces after Meta failed it with 131047 (unique: one fallback each).
  add column fallback_for uuid unique references whatsapp_outbound_messages (id) on delete set null;

create index whatsapp_outbound_messages_queued_recipient_idx
  on whatsapp_outbound_messages (to_number, seq) where status = 'queued';

-- `handoff`: a human had the conversation when the message arrived, so the agent left it alone.
alter table whatsapp_inbound_messages drop constraint whatsapp_inbound_messages_agent_state_check;
alter table whatsapp_inbound_messages add constraint whatsapp_inbound_messages_agent_state_check
  check (agent_state in ('none', 'pending', 'done', 'failed', 'handoff'));
