import type { SendMessageRequest } from './schemas.ts';

type Interactive = Extract<SendMessageRequest, { type: 'interactive' }>['interactive'];

function interactivePayload(interactive: Interactive): Record<string, unknown> {
  const frame = {
    type: interactive.type,
    ...(interactive.header ? { header: { type: 'text', text: interactive.header } } : {}),
    body: { text: interactive.body },
    ...(interactive.footer ? { footer: { text: interactive.footer } } : {}),
  };
  if (interactive.type === 'button') {
    return {
      ...frame,
      action: {
        buttons: interactive.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })),
      },
    };
  }
  return { ...frame, action: { button: interactive.button, sections: interactive.sections } };
}

/**
 * Our request, written as the Cloud API message body.
 *
 * @example
 * toGraphPayload({ to: '+14155550123', type: 'text', text: { body: 'Hi' } });
 * // { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+14155550123', type: 'text', text: { body: 'Hi', preview_url: false } }
 */
export function toGraphPayload(request: SendMessageRequest): Record<string, unknown> {
  const base = {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: request.to,
    ...(request.replyTo ? { context: { message_id: request.replyTo } } : {}),
  };
  switch (request.type) {
    case 'text':
      return {
        ...base,
        type: 'text',
        text: { body: request.text.body, preview_url: request.text.previewUrl ?? false },
      };
    case 'template':
      return {
        ...base,
        type: 'template',
        template: {
          name: request.template.name,
          language: { code: request.template.language },
          ...(request.template.components ? { components: request.template.components } : {}),
        },
      };
    case 'interactive':
      return { ...base, type: 'interactive', interactive: interactivePayload(request.interactive) };
    case 'location':
      return { ...base, type: 'location', location: request.location };
    case 'image':
      return { ...base, type: 'image', image: request.image };
    case 'video':
      return { ...base, type: 'video', video: request.video };
    case 'document':
      return { ...base, type: 'document', document: request.document };
    case 'audio':
      return { ...base, type: 'audio', audio: request.audio };
    case 'sticker':
      return { ...base, type: 'sticker', sticker: request.sticker };
  }
}

/** The configured re-engagement template, for a recipient outside the customer-service window. */
export function templatePayload(
  to: string,
  template: { name: string; language: string },
): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'template',
    template: { name: template.name, language: { code: template.language } },
  };
}
