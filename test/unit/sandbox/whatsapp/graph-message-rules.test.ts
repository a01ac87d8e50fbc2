import { describe, expect, it } from 'vitest';
import { checkMessage, checkReadReceipt } from '../../../../sandbox/whatsapp/graph-message-rules.ts';

const base = { messaging_product: 'whatsapp', to: '250788123456' };

describe('the sandbox checks message bodies as the Graph API does', () => {
  it('accepts well-formed messages of every type we send', () => {
    const ok = [
      { type: 'text', text: { body: 'hi' } },
      { type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'a' } },
      { type: 'document', document: { id: '123', filename: 'r.pdf' } },
      { type: 'sticker', sticker: { id: '123' } },
      { type: 'location', location: { latitude: -1.9, longitude: 30.1 } },
      {
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Pick' },
          action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A' } }] },
        },
      },
      {
        type: 'interactive',
        interactive: {
          type: 'list',
          body: { text: 'Pick' },
          action: { button: 'Rides', sections: [{ rows: [{ id: 'a', title: 'A' }] }] },
        },
      },
      {
        type: 'template',
        template: {
          name: 'receipt',
          language: { code: 'en' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'x' }] }],
        },
      },
    ];
    for (const message of ok) expect(checkMessage({ ...base, ...message }), message.type).toBeNull();
  });

  it('refuses what Meta refuses, naming it', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ type: 'image', image: { id: '1', link: 'https://example.com/a.jpg' } }, /exactly one of id or link/],
      [{ type: 'audio', audio: { id: '1', caption: 'x' } }, /caption/],
      [{ type: 'image', image: { id: '1', filename: 'x' } }, /filename/],
      [{ type: 'location', location: { latitude: 100, longitude: 0 } }, /latitude/],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'Pick' },
            action: {
              buttons: [1, 2, 3, 4].map((i) => ({ type: 'reply', reply: { id: `${i}`, title: `${i}` } })),
            },
          },
        },
        /1 to 3 buttons/,
      ],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'Pick' },
            action: {
              button: 'Rides',
              sections: [
                { title: 'A', rows: Array.from({ length: 6 }, (_, i) => ({ id: `a${i}`, title: 'x' })) },
                { title: 'B', rows: Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, title: 'x' })) },
              ],
            },
          },
        },
        /at most 10 rows/,
      ],
      [
        {
          type: 'template',
          template: { name: 't', language: { code: 'en' }, components: [{ type: 'button' }] },
        },
        /sub_type and index/,
      ],
      [
        {
          type: 'template',
          template: {
            name: 't',
            language: { code: 'en' },
            components: [{ type: 'body', parameters: [{ type: 'text' }] }],
          },
        },
        /parameter text/,
      ],
      [{ type: 'fax' }, /not valid for type fax/],
    ];
    for (const [message, details] of bad) {
      expect(checkMessage({ ...base, ...message })?.details, JSON.stringify(message)).toMatch(details);
    }
  });

  it('takes read receipts with an optional text typing indicator', () => {
    expect(
      checkReadReceipt({
        ...base,
        status: 'read',
        message_id: 'wamid.X',
        typing_indicator: { type: 'text' },
      }),
    ).toBeNull();
    expect(checkReadReceipt({ ...base, status: 'read' })?.code).toBe(131008);
    expect(
      checkReadReceipt({
        ...base,
        status: 'read',
        message_id: 'wamid.X',
        typing_indicator: { type: 'audio' },
      }),
    ).not.toBeNull();
  });
});
