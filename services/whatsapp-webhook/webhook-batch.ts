import { createHash } from 'node:crypto';
import { ProblemError } from '../../shared/http/problem.ts';
import {
  ButtonObject,
  InteractiveObject,
  MEDIA_TYPES,
  META_MEDIA_ID,
  MediaObject,
  type MediaType,
  MessagesValue,
  type StatusEvent,
  TextObject,
  WebhookEnvelope,
} from './schemas.ts';
import { statusRank } from './status-progress.ts';

/** One inbound message, flattened for storage; `raw` is Meta's object exactly as delivered. */
export interface InboundRecord {
  wamid: string;
  phoneNumberId: string;
  displayPhoneNumber: string | null;
  fromWaId: string | null;
  contactName: string | null;
  type: string;
  /** What a person typed or chose: text body, button/list reply title, template button text. */
  text: string | null;
  /** Id of the chosen button or list row (or a template button's payload). */
  replyId: string | null;
  mediaId: string | null;
  mediaMimeType: string | null;
  mediaSha256: string | null;
  caption: string | null;
  contextWamid: string | null;
  sentAt: Date | null;
  raw: unknown;
  /** Text and interactive messages go to the agent hook. */
  forAgent: boolean;
}

export interface StatusRecord {
  wamid: string;
  status: string;
  /** Null for statuses we keep but never apply to a message. */
  rank: number | null;
  recipientId: string | null;
  phoneNumberId: string;
  occurredAt: Date | null;
  errorCode: number | null;
  errorTitle: string | null;
  errorMessage: string | null;
  raw: unknown;
}

export interface ContactRecord {
  waId: string;
  name: string | null;
}

/** A change we do not model (another field, or `value.errors[]`), kept raw, once. */
export interface OtherEventRecord {
  field: string;
  dedupeKey: string;
  raw: unknown;
}

/** A verified delivery's body exactly as it arrived, kept once (by its hash) for replay. */
export interface RawDelivery {
  sha256: string;
  body: string;
}

export interface WebhookBatch {
  contacts: ContactRecord[];
  messages: InboundRecord[];
  statuses: StatusRecord[];
  others: OtherEventRecord[];
  /** Stored with the rows read from it (absent in tests that build batches by hand). */
  delivery?: RawDelivery;
}

export function rawDelivery(body: string): RawDelivery {
  return { sha256: createHash('sha256').update(body).digest('hex'), body };
}

const MEDIA = new Set<string>(MEDIA_TYPES);

function unixSeconds(value: string | undefined): Date | null {
  if (!value || !/^\d{1,12}$/.test(value)) return null;
  return new Date(Number(value) * 1000);
}

function dedupeKey(field: string, value: unknown): string {
  return createHash('sha256').update(field).update('\0').update(JSON.stringify(value)).digest('hex');
}

function notEnvelope(detail: string, errors: { field: string; message: string }[]): ProblemError {
  return new ProblemError({ status: 400, title: 'Not a WhatsApp Cloud API webhook', detail, errors });
}

function issues(prefix: string, error: { issues: { path: PropertyKey[]; message: string }[] }) {
  return error.issues.map((i) => ({ field: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

/** What the person said, and for a choice which one, by type. Unknown shapes yield nulls. */
function readContent(message: Record<string, unknown>, type: string) {
  const content = {
    text: null as string | null,
    replyId: null as string | null,
    mediaId: null as string | null,
    mediaMimeType: null as string | null,
    mediaSha256: null as string | null,
    caption: null as string | null,
    forAgent: false,
  };
  if (type === 'text') {
    const text = TextObject.safeParse(message.text);
    if (text.success) Object.assign(content, { text: text.data.body, forAgent: true });
  } else if (type === 'interactive') {
    const interactive = InteractiveObject.safeParse(message.interactive);
    const choice = interactive.success
      ? (interactive.data.button_reply ?? interactive.data.list_reply ?? null)
      : null;
    if (choice) Object.assign(content, { text: choice.title, replyId: choice.id, forAgent: true });
  } else if (type === 'button') {
    const button = ButtonObject.safeParse(message.button);
    if (button.success) {
      Object.assign(content, {
        text: button.data.text,
        replyId: button.data.payload ?? null,
        forAgent: true,
      });
    }
  } else if (MEDIA.has(type)) {
    const media = MediaObject.safeParse(message[type as MediaType]);
    if (media.success) {
      Object.assign(content, {
        // An id outside Meta's alphabet is kept in `raw` only: nothing is downloaded for it.
        mediaId: META_MEDIA_ID.test(media.data.id) ? media.data.id : null,
        mediaMimeType: media.data.mime_type ?? null,
        mediaSha256: media.data.sha256 ?? null,
        caption: media.data.caption ?? null,
      });
    }
  }
  return content;
}

function toStatusRecord(status: StatusEvent, phoneNumberId: string): StatusRecord {
  const error = status.errors?.[0];
  return {
    wamid: status.id,
    status: status.status,
    rank: statusRank(status.status),
    recipientId: status.recipient_id ?? null,
    phoneNumberId,
    occurredAt: unixSeconds(status.timestamp),
    errorCode: error?.code ?? null,
    errorTitle: error?.title ?? null,
    errorMessage: error?.error_data?.details ?? error?.message ?? null,
    raw: status,
  };
}

/**
 * Turns a verified webhook body into rows. Throws a 400 problem when the JSON is not the Cloud API
 * envelope; anything inside the envelope we do not model is kept raw, never rejected.
 */
export function readWebhookBatch(json: unknown): WebhookBatch {
  const envelope = WebhookEnvelope.safeParse(json);
  if (!envelope.success) throw notEnvelope('body is not a webhook envelope', issues('body', envelope.error));

  const batch: WebhookBatch = { contacts: [], messages: [], statuses: [], others: [] };
  const contactNames = new Map<string, string | null>();

  envelope.data.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      if (change.field !== 'messages') {
        batch.others.push({ field: change.field, dedupeKey: dedupeKey(change.field, change), raw: change });
        return;
      }
      const parsed = MessagesValue.safeParse(change.value);
      if (!parsed.success) {
        throw notEnvelope(
          'a messages change is malformed',
          issues(`body.entry.${e}.changes.${c}.value`, parsed.error),
        );
      }
      const value = parsed.data;
      const phoneNumberId = value.metadata.phone_number_id;
      for (const contact of value.contacts ?? []) {
        const name = contact.profile?.name ?? null;
        contactNames.set(contact.wa_id, name);
      }
      for (const message of value.messages ?? []) {
        const fromWaId = message.from ?? null;
        batch.messages.push({
          wamid: message.id,
          phoneNumberId,
          displayPhoneNumber: value.metadata.display_phone_number ?? null,
          fromWaId,
          contactName: fromWaId ? (contactNames.get(fromWaId) ?? null) : null,
          type: message.type,
          contextWamid: message.context?.id ?? null,
          sentAt: unixSeconds(message.timestamp),
          raw: message,
          ...readContent(message, message.type),
        });
      }
      for (const status of value.statuses ?? []) batch.statuses.push(toStatusRecord(status, phoneNumberId));
      if (value.errors?.length) {
        const errors = { field: 'messages.errors', metadata: value.metadata, errors: value.errors };
        batch.others.push({
          field: 'messages.errors',
          dedupeKey: dedupeKey('messages.errors', errors),
          raw: errors,
        });
      }
    });
  });

  for (const [waId, name] of contactNames) batch.contacts.push({ waId, name });
  // A stable order keeps concurrent deliveries from locking the same rows in opposite orders.
  batch.statuses.sort((a, b) => (a.wamid < b.wamid ? -1 : a.wamid > b.wamid ? 1 : 0));
  batch.messages.sort((a, b) => (a.wamid < b.wamid ? -1 : a.wamid > b.wamid ? 1 : 0));
  return batch;
}
