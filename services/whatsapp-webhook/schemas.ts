import { z } from 'zod';
import { pageQueryShape, SinceParam } from '../../shared/http/index.ts';
import { OUTBOUND_STATUSES } from './status-progress.ts';

/*
 * Every request we accept and every payload Meta (or the agent) sends us. Meta adds fields without
 * notice, so provider objects are loose: unknown keys are kept (and stored raw), never rejected.
 */

// ---------------------------------------------------------------------------------------------
// GET /webhook — verification handshake

export const VerifyQuery = z.object({
  'hub.mode': z.string().optional(),
  'hub.verify_token': z.string().optional(),
  'hub.challenge': z.string().optional(),
});
export type VerifyQuery = z.infer<typeof VerifyQuery>;

// ---------------------------------------------------------------------------------------------
// POST /webhook — the Cloud API envelope

const MetaError = z.looseObject({
  code: z.number(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
  href: z.string().optional(),
});
export type MetaError = z.infer<typeof MetaError>;

const Metadata = z.looseObject({
  display_phone_number: z.string().optional(),
  phone_number_id: z.string(),
});

export const Contact = z.looseObject({
  wa_id: z.string(),
  profile: z.looseObject({ name: z.string().optional() }).optional(),
});
export type Contact = z.infer<typeof Contact>;

/**
 * Meta's media ids are decimal numbers as strings (e.g. "1037543291543636"). Only ids of that alphabet
 * are downloaded: an id becomes a Graph URL path segment and a file name, where `..`, `/` or `%2f`
 * would lead somewhere else.
 */
export const META_MEDIA_ID = /^[0-9]{1,64}$/;

/** Media objects share one shape; `caption`/`filename`/`voice`/`animated` depend on the type. */
export const MediaObject = z.looseObject({
  id: z.string(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});

export const MEDIA_TYPES = ['image', 'audio', 'video', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export const TextObject = z.looseObject({ body: z.string() });

export const InteractiveObject = z.looseObject({
  type: z.string(),
  button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
  list_reply: z
    .looseObject({ id: z.string(), title: z.string(), description: z.string().optional() })
    .optional(),
});

/** Quick-reply button on a template. */
export const ButtonObject = z.looseObject({ text: z.string(), payload: z.string().optional() });

export const LocationObject = z.looseObject({
  latitude: z.number(),
  longitude: z.number(),
  name: z.string().optional(),
  address: z.string().optional(),
  url: z.string().optional(),
});

export const SharedContacts = z.array(
  z.looseObject({
    name: z.looseObject({ formatted_name: z.string().optional() }).optional(),
    phones: z.array(z.looseObject({ phone: z.string().optional(), wa_id: z.string().optional() })).optional(),
  }),
);

export const ReactionObject = z.looseObject({ message_id: z.string(), emoji: z.string().optional() });

/**
 * One inbound message. Only what we need to store it once is required (`id`, `type`); the
 * type-specific object is parsed separately so an unknown or changed type is kept, not rejected.
 */
export const InboundMessage = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  from: z.string().optional(),
  timestamp: z.string().optional(),
  context: z.looseObject({ from: z.string().optional(), id: z.string().optional() }).optional(),
  errors: z.array(MetaError).optional(),
});
export type InboundMessage = z.infer<typeof InboundMessage>;

export const StatusEvent = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  timestamp: z.string().optional(),
  recipient_id: z.string().optional(),
  errors: z.array(MetaError).optional(),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

/** `value` of a change whose field is `messages` (inbound messages, statuses and errors). */
export const MessagesValue = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: Metadata,
  contacts: z.array(Contact).optional(),
  messages: z.array(InboundMessage).optional(),
  statuses: z.array(StatusEvent).optional(),
  errors: z.array(MetaError).optional(),
});
export type MessagesValue = z.infer<typeof MessagesValue>;

export const WebhookChange = z.looseObject({ field: z.string().min(1), value: z.unknown() });

export const WebhookEnvelope = z.looseObject({
  object: z.string().min(1),
  entry: z.array(
    z.looseObject({
      id: z.string().optional(),
      changes: z.array(WebhookChange),
    }),
  ),
});
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

// ---------------------------------------------------------------------------------------------
// POST /messages — what our product asks us to send

/** E.164: a plus, a non-zero country digit, 7 to 15 digits in all. */
export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +14155550123');

const ButtonChoice = z.object({ id: z.string().min(1).max(256), title: z.string().min(1).max(20) });
const ListRow = z.object({
  id: z.string().min(1).max(200),
  title: z.string().min(1).max(24),
  description: z.string().max(72).optional(),
});

// Limits are Meta's: 3 reply buttons, 10 list rows in all, 1024-character interactive body.
const InteractiveButtons = z.object({
  type: z.literal('button'),
  header: z.string().min(1).max(60).optional(),
  body: z.string().min(1).max(1024),
  footer: z.string().min(1).max(60).optional(),
  buttons: z.array(ButtonChoice).min(1).max(3),
});
const InteractiveList = z.object({
  type: z.literal('list'),
  header: z.string().min(1).max(60).optional(),
  body: z.string().min(1).max(4096),
  footer: z.string().min(1).max(60).optional(),
  button: z.string().min(1).max(20),
  sections: z
    .array(z.object({ title: z.string().min(1).max(24).optional(), rows: z.array(ListRow).min(1).max(10) }))
    .min(1)
    .max(10)
    .refine((sections) => sections.reduce((n, s) => n + s.rows.length, 0) <= 10, 'at most 10 rows in all'),
});

const TemplateParameter = z.looseObject({
  type: z.enum([
    'text',
    'currency',
    'date_time',
    'image',
    'document',
    'video',
    'location',
    'payload',
    'coupon_code',
    'action',
  ]),
});
/** Header, body and button parameters; buttons need their sub_type and index (0-9), as Meta requires. */
const TemplateComponent = z
  .looseObject({
    type: z.enum(['header', 'body', 'button', 'footer', 'carousel', 'limited_time_offer']),
    sub_type: z.enum(['quick_reply', 'url', 'copy_code', 'flow', 'catalog', 'otp', 'voice_call']).optional(),
    index: z.union([z.string().regex(/^\d$/, 'must be 0-9'), z.number().int().min(0).max(9)]).optional(),
    parameters: z.array(TemplateParameter).optional(),
  })
  .refine((c) => c.type !== 'button' || (c.sub_type !== undefined && c.index !== undefined), {
    message: 'a button component needs sub_type and index',
    path: ['sub_type'],
  });

const Common = {
  to: E164,
  /** Inbound message (`wamid…`) this one replies to; shown quoted in WhatsApp. */
  replyTo: z.string().min(1).max(256).optional(),
  /**
   * A free-form message outside the contact's 24-hour window: `reject` (422, the default) or `template`
   * (the configured WHATSAPP_WINDOW_TEMPLATE_NAME goes instead, and once more if Meta fails it with 131047).
   */
  outsideWindow: z.enum(['reject', 'template']).optional(),
};

/** Media by the id an upload returned or by an http(s) link: exactly one of the two (Graph API rule). */
const exactlyOneSource = {
  check: (m: { id?: string; link?: string }) => (m.id === undefined) !== (m.link === undefined),
  params: { message: 'give exactly one of id (uploaded media) or link', path: ['id'] },
};
const MediaSource = {
  id: z.string().min(1).max(256).optional(),
  link: z.url({ protocol: /^https?$/ }).optional(),
};
const mediaRef = <T extends z.ZodRawShape>(extra: T) =>
  z
    .strictObject({ ...MediaSource, ...extra })
    .refine((m) => exactlyOneSource.check(m as { id?: string; link?: string }), exactlyOneSource.params);
const Caption = z.string().min(1).max(1024).optional();
// Captions on image, video and document only; a filename on documents only (as the Graph API accepts).
const MediaSends = [
  z.object({ ...Common, type: z.literal('image'), image: mediaRef({ caption: Caption }) }),
  z.object({ ...Common, type: z.literal('video'), video: mediaRef({ caption: Caption }) }),
  z.object({
    ...Common,
    type: z.literal('document'),
    document: mediaRef({ caption: Caption, filename: z.string().min(1).max(240).optional() }),
  }),
  z.object({ ...Common, type: z.literal('audio'), audio: mediaRef({}) }),
  z.object({ ...Common, type: z.literal('sticker'), sticker: mediaRef({}) }),
] as const;
export const MEDIA_SEND_TYPES = ['image', 'video', 'document', 'audio', 'sticker'] as const;

export const SendMessageRequest = z.discriminatedUnion('type', [
  z.object({
    ...Common,
    type: z.literal('text'),
    text: z.object({ body: z.string().min(1).max(4096), previewUrl: z.boolean().optional() }),
  }),
  z.object({
    ...Common,
    type: z.literal('template'),
    template: z.object({
      name: z.string().min(1).max(512),
      language: z.string().min(2).max(15),
      components: z.array(TemplateComponent).optional(),
    }),
  }),
  z.object({
    ...Common,
    type: z.literal('interactive'),
    interactive: z.discriminatedUnion('type', [InteractiveButtons, InteractiveList]),
  }),
  z.object({
    ...Common,
    type: z.literal('location'),
    location: z.object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().min(1).max(1000).optional(),
      address: z.string().min(1).max(1000).optional(),
    }),
  }),
  ...MediaSends,
]);
export type SendMessageRequest = z.infer<typeof SendMessageRequest>;

export const IdempotencyKey = z.string().min(1).max(255);

export const MessageIdParams = z.object({ id: z.uuid() });

// ---------------------------------------------------------------------------------------------
// GET /messages, GET /contacts/:waId/messages — lists (unknown parameters refused: a typo never lists all)

/** A WhatsApp id: the contact's number in digits, as Meta sends it (`250788123456`). */
const WaId = z.string().regex(/^[1-9]\d{6,14}$/, 'must be a WhatsApp id: 7 to 15 digits, no plus');

const LISTED_STATUSES = ['received', ...OUTBOUND_STATUSES] as const;

const timelineQueryShape = {
  direction: z.enum(['in', 'out']).optional(),
  status: z
    .enum(LISTED_STATUSES)
    .optional()
    .meta({ description: '`received` for inbound messages; the delivery status for outbound ones.' }),
  since: SinceParam.optional(),
  ...pageQueryShape,
};

export const ListMessagesQuery = z.strictObject({
  ...timelineQueryShape,
  contact: z
    .string()
    .transform((v) => v.replace(/^\+/, ''))
    .pipe(WaId)
    .optional()
    .meta({ description: 'The contact’s WhatsApp id or E.164 number: messages from or to them.' }),
});
export type ListMessagesQuery = z.infer<typeof ListMessagesQuery>;

export const ContactTimelineQuery = z.strictObject(timelineQueryShape);
export const ContactParams = z.object({ waId: WaId });

// ---------------------------------------------------------------------------------------------
// What our API answers (message-view.ts builds these; the OpenAPI document is generated from them)

const isoTime = z.iso.datetime();
const MessageError = z.object({
  code: z.int().nullable(),
  title: z.string().nullable(),
  message: z.string().nullable(),
});

export const MessageView = z.object({
  id: z.uuid(),
  status: z.enum(OUTBOUND_STATUSES),
  to: z.string(),
  type: z.string(),
  phoneNumberId: z.string(),
  wamid: z.string().nullable(),
  attempts: z.int(),
  error: MessageError.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  sentAt: isoTime.nullable(),
});

export const MessageDetailView = MessageView.extend({
  history: z.array(
    z.object({
      status: z.string(),
      source: z.enum(['service', 'whatsapp']),
      at: isoTime,
      detail: z.string().optional(),
      error: MessageError.optional(),
    }),
  ),
});

/** POST /messages 422 when Meta refused the message: a problem whose `status` is the message's. */
export const MessageRejectedView = z.object({
  type: z.string(),
  title: z.string(),
  status: z.literal('failed'),
  detail: z.string(),
  id: z.uuid(),
  error: MessageError.nullable(),
  instance: z.string(),
});

/** One message in a list or a contact's timeline, inbound or outbound. */
export const ListedMessageView = z.object({
  id: z.uuid(),
  direction: z.enum(['in', 'out']),
  waId: z.string().nullable().meta({ description: 'The contact: sender (in) or recipient (out).' }),
  type: z.string(),
  status: z.enum(LISTED_STATUSES),
  text: z.string().nullable().meta({ description: 'Text, caption, interactive body or template name.' }),
  wamid: z.string().nullable(),
  error: MessageError.nullable(),
  createdAt: isoTime,
});

export const WebhookAck = z.object({
  received: z.literal(true),
  messages: z.int().meta({ description: 'New inbound messages stored.' }),
  duplicates: z.int().meta({ description: 'Messages already stored (Meta retried).' }),
  statuses: z.int(),
  events: z.int(),
});

// ---------------------------------------------------------------------------------------------
// Conversations

export const HandoffRequest = z.object({ handoff: z.boolean() });
/** GET/PATCH /contacts/:waId/conversation: the 24-hour window, opt-out and the agent handoff. */
export const ConversationView = z.object({
  waId: z.string(),
  name: z.string().nullable(),
  window: z.object({
    open: z.boolean(),
    lastInboundAt: z.iso.datetime({ offset: true }).nullable(),
    closesAt: z.iso.datetime({ offset: true }).nullable(),
  }),
  optedOut: z.boolean(),
  optedOutAt: z.iso.datetime({ offset: true }).nullable(),
  handoff: z.boolean(),
});

// ---------------------------------------------------------------------------------------------
// Graph API responses

export const GraphSendResponse = z.looseObject({
  messaging_product: z.string().optional(),
  contacts: z.array(z.looseObject({ input: z.string().optional(), wa_id: z.string().optional() })).optional(),
  messages: z.array(z.looseObject({ id: z.string().min(1), message_status: z.string().optional() })).min(1),
});

export const GraphErrorBody = z.looseObject({
  error: z.looseObject({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
    fbtrace_id: z.string().optional(),
  }),
});

export const GraphMediaResponse = z.looseObject({
  url: z.string().url(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  file_size: z.union([z.number(), z.string()]).optional(),
  id: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// Agent hook

export const AgentResponse = z.looseObject({ reply: z.string().max(4096).nullish() });

// ---------------------------------------------------------------------------------------------
// Queue jobs

export const SendJob = z.object({ messageId: z.uuid() });
export type SendJob = z.infer<typeof SendJob>;
export const AgentJob = z.object({ inboundId: z.uuid() });
export type AgentJob = z.infer<typeof AgentJob>;
export const MediaJob = z.object({ inboundId: z.uuid() });
export type MediaJob = z.infer<typeof MediaJob>;

// ---------------------------------------------------------------------------------------------
// Downstream handlers (routing)

/**
 * What a handler may answer (2xx, JSON): `sticky: true` claims the contact's conversation (for
 * `ttlSeconds`, default the route's), `sticky: false` lets it go; absent leaves it as it is.
 */
export const HandlerAnswerBody = z.looseObject({
  sticky: z.boolean().optional(),
  ttlSeconds: z
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
});

const HandlerMatch = z.object({
  kind: z.enum(['reply_id', 'keyword', 'sticky']),
  value: z.string().nullable().meta({ description: 'The reply id or keyword that matched.' }),
});

/** The event type handlers receive. */
export const MESSAGE_RECEIVED = 'whatsapp.message.received';

/** `data` of the `whatsapp.message.received` event a handler receives. */
export const HandlerEventData = z.object({
  deliveryId: z
    .uuid()
    .meta({ description: 'Also the `webhook-id` header: the same on every attempt and replay.' }),
  route: z.string(),
  match: HandlerMatch,
  message: z.object({
    id: z.uuid(),
    wamid: z.string(),
    from: z.string().nullable().meta({ description: 'The contact, E.164.' }),
    waId: z.string().nullable(),
    contactName: z.string().nullable(),
    phoneNumberId: z.string(),
    type: z.string(),
    text: z
      .string()
      .nullable()
      .meta({ description: 'Text body, or the title of the chosen button or list row.' }),
    replyId: z.string().nullable(),
    mediaId: z.string().nullable(),
    mediaMimeType: z.string().nullable(),
    caption: z.string().nullable(),
    contextWamid: z.string().nullable(),
    sentAt: z.iso.datetime().nullable(),
    receivedAt: z.iso.datetime(),
    payload: z.unknown().meta({ description: 'Meta’s message object exactly as delivered.' }),
  }),
});
export type HandlerEventData = z.infer<typeof HandlerEventData>;

export const HandlerJob = z.object({ deliveryId: z.uuid() });
export type HandlerJob = z.infer<typeof HandlerJob>;

/** Path id of a stored delivery, handler delivery or dead letter. */
export const IdParams = z.object({ id: z.uuid() });

const RouteName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a route name: lower-case letters, digits and dashes');

export const ListWebhookDeliveriesQuery = z.strictObject({ since: SinceParam.optional(), ...pageQueryShape });

export const HANDLER_DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;

export const ListHandlerDeliveriesQuery = z.strictObject({
  status: z.enum(HANDLER_DELIVERY_STATUSES).optional(),
  route: RouteName.optional(),
  since: SinceParam.optional(),
  ...pageQueryShape,
});

export const ListDeadLettersQuery = z.strictObject({
  state: z
    .enum(['open', 'replayed'])
    .optional()
    .meta({ description: '`open`: not replayed yet; `replayed`: put back in the queue once already.' }),
  route: RouteName.optional(),
  since: SinceParam.optional(),
  ...pageQueryShape,
});

const replayWindowShape = {
  since: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z' })
    .meta({ description: 'Replay what was stored at or after this instant (ISO 8601).' }),
  until: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z' })
    .optional()
    .meta({ description: 'And before this instant (default: no end).' }),
  limit: z
    .int({ error: 'must be an integer from 1 to 100' })
    .min(1, { error: 'must be an integer from 1 to 100' })
    .max(100, { error: 'must be an integer from 1 to 100' })
    .default(100)
    .meta({ description: 'Deliveries replayed by this call (default and at most 100).' }),
  cursor: pageQueryShape.cursor.meta({
    description: 'The `nextCursor` of the previous call: continue after it.',
  }),
};
const untilAfterSince = {
  check: (w: { since: string; until?: string }) =>
    w.until === undefined || Date.parse(w.until) > Date.parse(w.since),
  params: { message: 'must be after since', path: ['until'] },
};

/** POST /deliveries/replay: a bounded page of the stored webhook deliveries in a window, oldest first. */
export const ReplayWebhookDeliveriesRequest = z
  .strictObject(replayWindowShape)
  .refine(untilAfterSince.check, untilAfterSince.params);

/** POST /handler-deliveries/replay: the dead handler deliveries in a window, oldest first. */
export const ReplayHandlerDeliveriesRequest = z
  .strictObject({ ...replayWindowShape, route: RouteName.optional() })
  .refine(untilAfterSince.check, untilAfterSince.params);

export const WebhookDeliveryView = z.object({
  id: z.uuid(),
  sha256: z
    .string()
    .meta({ description: 'SHA-256 of the body as received (hex): one row per distinct body.' }),
  bytes: z.int(),
  createdAt: isoTime,
});

const replayCounts = {
  messages: z.int().meta({ description: 'Inbound messages stored by the replay (missing before it).' }),
  duplicates: z.int().meta({ description: 'Inbound messages already stored: unchanged.' }),
  statuses: z.int().meta({ description: 'Status events stored by the replay.' }),
  events: z.int().meta({ description: 'Other raw events stored by the replay.' }),
};

export const WebhookDeliveryReplayView = z.object({ id: z.uuid(), ...replayCounts });

export const WebhookReplayPageView = z.object({
  replayed: z.int().meta({ description: 'Deliveries run through the ingest again by this call.' }),
  skipped: z.int().meta({ description: 'Stored deliveries this version can no longer read as an envelope.' }),
  ...replayCounts,
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` to continue; null when done.' }),
});

export const HandlerDeliveryView = z.object({
  id: z.uuid().meta({ description: 'Also the `webhook-id` the handler receives on every attempt.' }),
  inboundId: z.uuid(),
  wamid: z.string(),
  waId: z.string().nullable(),
  route: z.string(),
  match: HandlerMatch,
  status: z.enum(HANDLER_DELIVERY_STATUSES),
  attempts: z.int(),
  lastStatus: z.int().nullable().meta({ description: 'The handler’s HTTP status at the latest attempt.' }),
  lastError: z.string().nullable(),
  deliveredAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const HandlerReplayPageView = z.object({
  replayed: z.int().meta({ description: 'Dead deliveries put back in the queue by this call.' }),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` to continue; null when done.' }),
});

export const DeadLetterView = z.object({
  id: z.uuid(),
  deliveryId: z.uuid(),
  route: z.string(),
  attempts: z.int(),
  lastStatus: z.int().nullable(),
  lastError: z.string().nullable(),
  replayedAt: isoTime.nullable(),
  createdAt: isoTime,
});

export const RouteView = z.object({
  name: z.string(),
  url: z
    .string()
    .meta({ description: 'The handler’s origin and path (query left out: it may hold a token).' }),
  replyIds: z.array(z.string()),
  replyIdPrefixes: z.array(z.string()),
  keywords: z.array(z.string()),
  sticky: z.boolean(),
  stickyTtlSeconds: z.int(),
  timeoutMs: z.int(),
});
export const RouteListView = z.object({ items: z.array(RouteView) });
