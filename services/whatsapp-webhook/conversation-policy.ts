import type { ProblemInit } from '../../shared/http/index.ts';
import type { ConversationSettings } from './config.ts';
import { templatePayload, toGraphPayload } from './graph-message-payload.ts';
import type { SendMessageRequest } from './schemas.ts';
import type { ConversationRow } from './store.ts';

export type SendDecision =
  | {
      kind: 'send';
      type: string;
      graphPayload: Record<string, unknown>;
      /** Meta may still fail it with 131047 (our clock is not Meta's): then the window template goes once. */
      windowFallback: boolean;
      /** Why what goes out is not what was asked for. */
      note?: string;
    }
  | { kind: 'refuse'; problem: ProblemInit };

/** The WhatsApp id of an E.164 number: its digits. */
export function waIdOf(e164: string): string {
  return e164.replace(/\D/g, '');
}

/**
 * What may go to a contact, by WhatsApp's rules: nothing to an opted-out contact but an allowed
 * template (409); a free-form message only within the customer-service window (24 h after their
 * latest message), else the configured template when the request allows it, else 422.
 *
 * @example
 * const decision = decideSend(request, await getConversation(db, waIdOf(request.to), 24), settings.conversations);
 */
export function decideSend(
  request: SendMessageRequest,
  conversation: ConversationRow | null,
  settings: ConversationSettings,
): SendDecision {
  const isTemplate = request.type === 'template';
  if (conversation?.optedOutAt) {
    const allowed = isTemplate && settings.optOutAllowedTemplates.includes(request.template.name);
    if (!allowed) {
      return {
        kind: 'refuse',
        problem: {
          status: 409,
          title: 'Recipient opted out',
          detail: `${request.to} opted out of messages (they can send START to opt back in); only the templates in WHATSAPP_OPT_OUT_ALLOWED_TEMPLATES may go to them`,
          errors: [{ field: 'body.to', message: 'recipient opted out' }],
          extensions: { optedOutAt: conversation.optedOutAt.toISOString() },
        },
      };
    }
  }

  const graphPayload = toGraphPayload(request);
  if (isTemplate) return { kind: 'send', type: request.type, graphPayload, windowFallback: false };

  const allowsTemplate = request.outsideWindow === 'template';
  const windowOpen = conversation?.windowOpen ?? false;
  if (windowOpen || !settings.enforceServiceWindow) {
    return {
      kind: 'send',
      type: request.type,
      graphPayload,
      windowFallback: allowsTemplate && settings.windowTemplate !== null,
    };
  }
  const window = {
    hours: settings.serviceWindowHours,
    lastInboundAt: conversation?.lastInboundAt?.toISOString() ?? null,
    closedAt: conversation?.windowClosesAt?.toISOString() ?? null,
  };
  if (allowsTemplate && settings.windowTemplate) {
    return {
      kind: 'send',
      type: 'template',
      graphPayload: templatePayload(request.to, settings.windowTemplate),
      windowFallback: false,
      note: `outside the ${window.hours}-hour customer-service window: sent as template ${settings.windowTemplate.name}`,
    };
  }
  return {
    kind: 'refuse',
    problem: {
      status: 422,
      title: 'Outside the customer-service window',
      detail:
        `the ${window.hours}-hour customer-service window with ${request.to} is closed ` +
        `(${window.lastInboundAt ? `their last message was at ${window.lastInboundAt}` : 'they have never written'}): ` +
        `send a template${settings.windowTemplate ? ", or allow outsideWindow: 'template'" : ''}`,
      errors: [
        {
          field: allowsTemplate ? 'body.outsideWindow' : 'body.type',
          message: allowsTemplate
            ? 'no window template is configured (WHATSAPP_WINDOW_TEMPLATE_NAME)'
            : 'free-form messages need an open customer-service window',
        },
      ],
      extensions: { window },
    },
  };
}
