import { describe, expect, it } from 'vitest';
import { toGraphPayload } from '../../../../services/whatsapp-webhook/graph-message-payload.ts';
import { SendMessageRequest } from '../../../../services/whatsapp-webhook/schemas.ts';

describe('SendMessageRequest and toGraphPayload', () => {
  it('writes a text reply with context', () => {
    const request = SendMessageRequest.parse({
      to: '+250788000001',
      type: 'text',
      text: { body: 'hi', previewUrl: true },
      replyTo: 'wamid.X',
    });
    expect(toGraphPayload(request)).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+250788000001',
      context: { message_id: 'wamid.X' },
      type: 'text',
      text: { body: 'hi', preview_url: true },
    });
  });

  it('enforces Meta limits and E.164', () => {
    const tooManyRows = {
      to: '+250788000001',
      type: 'interactive',
      interactive: {
        type: 'list',
        body: 'b',
        button: 'Go',
        sections: [
          { rows: Array.from({ length: 6 }, (_, i) => ({ id: `a${i}`, title: 'x' })) },
          { rows: Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, title: 'x' })) },
        ],
      },
    };
    expect(SendMessageRequest.safeParse(tooManyRows).success).toBe(false);
    for (const to of ['250788000001', '+0788000001', '+1', `+${'1'.repeat(16)}`, '+25078800000a']) {
      expect(SendMessageRequest.safeParse({ to, type: 'text', text: { body: 'x' } }).success, to).toBe(false);
    }
    expect(
      SendMessageRequest.safeParse({ to: '+14155550123', type: 'text', text: { body: 'x'.repeat(4097) } })
        .success,
    ).toBe(false);
  });
});
