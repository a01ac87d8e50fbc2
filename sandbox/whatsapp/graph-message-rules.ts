/**
 * The Cloud API's checks on a message body, as the sandbox applies them: a broken payload is answered
 * with the Graph error Meta gives (code 100 "Invalid parameter" naming what is wrong), so our schemas
 * are tested against the same rules rather than against a sandbox that accepts anything.
 */
export interface GraphRuleViolation {
  code: number;
  details: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max: number, min = 1) =>
  typeof v === 'string' && v.length >= min && v.length <= max;
const invalid = (details: string): GraphRuleViolation => ({ code: 100, details });
const missing = (parameter: string): GraphRuleViolation => ({
  code: 131008,
  details: `The parameter ${parameter} is required.`,
});

const MEDIA = new Set(['image', 'video', 'document', 'audio', 'sticker']);
const CAPTIONED = new Set(['image', 'video', 'document']);

function checkMedia(type: string, media: unknown): GraphRuleViolation | null {
  if (!isObject(media)) return missing(type);
  const hasId = typeof media.id === 'string' && media.id !== '';
  const hasLink = typeof media.link === 'string' && /^https?:\/\//.test(media.link);
  if (hasId === hasLink) return invalid(`${type} needs exactly one of id or link`);
  if (media.caption !== undefined && (!CAPTIONED.has(type) || !isText(media.caption, 1024)))
    return invalid(`${type}.caption is not valid for ${type} (image, video and document only, up to 1024)`);
  if (media.filename !== undefined && (type !== 'document' || !isText(media.filename, 240)))
    return invalid(`${type}.filename is only for documents`);
  return null;
}

function checkLocation(location: unknown): GraphRuleViolation | null {
  if (!isObject(location)) return missing('location');
  const lat = Number(location.latitude);
  const lon = Number(location.longitude);
  if (location.latitude === undefined || !Number.isFinite(lat) || lat < -90 || lat > 90)
    return invalid('location.latitude must be a number between -90 and 90');
  if (location.longitude === undefined || !Number.isFinite(lon) || lon < -180 || lon > 180)
    return invalid('location.longitude must be a number between -180 and 180');
  return null;
}

function unique(values: unknown[]): boolean {
  return new Set(values).size === values.length;
}

function checkInteractive(interactive: unknown): GraphRuleViolation | null {
  if (!isObject(interactive)) return missing('interactive');
  const body = interactive.body as Json | undefined;
  const action = interactive.action as Json | undefined;
  if (!isObject(action)) return missing('interactive.action');
  if (
    isObject(interactive.header) &&
    interactive.header.type === 'text' &&
    !isText(interactive.header.text, 60)
  )
    return invalid('interactive.header.text must be 1 to 60 characters');
  if (interactive.footer !== undefined && !isText((interactive.footer as Json)?.text, 60))
    return invalid('interactive.footer.text must be 1 to 60 characters');
  if (interactive.type === 'button') {
    if (!isText(body?.text, 1024)) return invalid('interactive.body.text must be 1 to 1024 characters');
    const buttons = action.buttons;
    if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3)
      return invalid('interactive.action.buttons must hold 1 to 3 buttons');
    for (const b of buttons) {
      if (!isObject(b) || b.type !== 'reply' || !isObject(b.reply))
        return invalid('a button must be { type: reply, reply }');
      if (!isText(b.reply.id, 256)) return invalid('button reply.id must be 1 to 256 characters');
      if (!isText(b.reply.title, 20)) return invalid('button reply.title must be 1 to 20 characters');
    }
    const replies = buttons.map((b) => (b as { reply: Json }).reply);
    if (!unique(replies.map((r) => r.id)) || !unique(replies.map((r) => r.title)))
      return invalid('button ids and titles must be unique');
    return null;
  }
  if (interactive.type === 'list') {
    if (!isText(body?.text, 4096)) return invalid('interactive.body.text must be 1 to 4096 characters');
    if (!isText(action.button, 20)) return invalid('interactive.action.button must be 1 to 20 characters');
    const sections = action.sections;
    if (!Array.isArray(sections) || sections.length < 1 || sections.length > 10)
      return invalid('interactive.action.sections must hold 1 to 10 sections');
    const rows: Json[] = [];
    for (const s of sections) {
      if (!isObject(s) || !Array.isArray(s.rows) || s.rows.length === 0)
        return invalid('each section needs rows');
      if (sections.length > 1 && !isText(s.title, 24))
        return invalid('sections need a title (1 to 24) when there are several');
      rows.push(...(s.rows as Json[]));
    }
    if (rows.length > 10) return invalid('a list holds at most 10 rows in all');
    for (const r of rows) {
      if (!isText(r.id, 200)) return invalid('row id must be 1 to 200 characters');
      if (!isText(r.title, 24)) return invalid('row title must be 1 to 24 characters');
      if (r.description !== undefined && !isText(r.description, 72))
        return invalid('row description must be up to 72 characters');
    }
    if (!unique(rows.map((r) => r.id))) return invalid('row ids must be unique');
    return null;
  }
  return invalid(`interactive.type ${String(interactive.type)} is not supported`);
}

const PARAMETER_FIELDS: Record<string, string> = {
  text: 'text',
  currency: 'currency',
  date_time: 'date_time',
  image: 'image',
  document: 'document',
  video: 'video',
  location: 'location',
  payload: 'payload',
  coupon_code: 'coupon_code',
  action: 'action',
};

function checkTemplate(template: unknown): GraphRuleViolation | null {
  if (!isObject(template)) return missing('template');
  if (!isText(template.name, 512)) return missing('template.name');
  if (!isObject(template.language) || !isText(template.language.code, 15, 2))
    return missing('template.language.code');
  if (template.components === undefined) return null;
  if (!Array.isArray(template.components)) return invalid('template.components must be an array');
  for (const c of template.components) {
    if (!isObject(c) || typeof c.type !== 'string') return invalid('a template component needs a type');
    if (c.type === 'button' && (typeof c.sub_type !== 'string' || c.index === undefined))
      return invalid('a button component needs sub_type and index');
    for (const p of (c.parameters as unknown[] | undefined) ?? []) {
      const field = isObject(p) && typeof p.type === 'string' ? PARAMETER_FIELDS[p.type] : undefined;
      if (!field)
        return invalid(`template parameter type ${isObject(p) ? String(p.type) : '?'} is not valid`);
      if ((p as Json)[field] === undefined) return missing(`${c.type} parameter ${field}`);
    }
  }
  return null;
}

/**
 * Null when the Graph API would accept this message body, else the error it would answer.
 *
 * @example
 * checkMessage({ messaging_product: 'whatsapp', to: '250788123456', type: 'image', image: { link: 'https://x/a.jpg' } }); // null
 */
export function checkMessage(payload: Json): GraphRuleViolation | null {
  const type = typeof payload.type === 'string' ? payload.type : 'text';
  if (type === 'text') {
    const text = payload.text as Json | undefined;
    return isText(text?.body, 4096) ? null : invalid('text.body must be 1 to 4096 characters');
  }
  if (MEDIA.has(type)) return checkMedia(type, payload[type]);
  if (type === 'location') return checkLocation(payload.location);
  if (type === 'interactive') return checkInteractive(payload.interactive);
  if (type === 'template') return checkTemplate(payload.template);
  if (type === 'contacts' || type === 'reaction')
    return isObject(payload[type]) || Array.isArray(payload[type]) ? null : missing(type);
  return invalid(`Parameter value is not valid for type ${type}`);
}

/** A mark-read (optionally with a typing indicator) body: `{ status: 'read', message_id, typing_indicator? }`. */
export function checkReadReceipt(payload: Json): GraphRuleViolation | null {
  if (payload.status !== 'read') return invalid('status must be read');
  if (!isText(payload.message_id, 512)) return missing('message_id');
  const typing = payload.typing_indicator;
  if (typing !== undefined && (!isObject(typing) || typing.type !== 'text'))
    return invalid('typing_indicator.type must be text');
  return null;
}
