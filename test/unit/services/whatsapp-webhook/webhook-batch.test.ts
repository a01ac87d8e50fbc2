import { describe, expect, it } from 'vitest';
import { readWebhookBatch } from '../../../../services/whatsapp-webhook/webhook-batch.ts';
import { ProblemError } from '../../../../shared/http/index.ts';

const metadata = { display_phone_number: '15550783881', phone_number_id: '106540352242922' };

function body(value: Record<string, unknown>, field = 'messages') {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field, value: { messaging_product: 'whatsapp', metadata, ...value } }] }],
  };
}

function problemOf(fn: () => unknown): ProblemError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('expected a ProblemError');
}

describe('readWebhookBatch', () => {
  it('flattens a text message with its contact', () => {
    const batch = readWebhookBatch(
      body({
        contacts: [{ profile: { name: 'Ana' }, wa_id: '250788000001' }],
        messages: [
          {
            from: '250788000001',
            id: 'wamid.1',
            timestamp: '1700000000',
            type: 'text',
            text: { body: 'hi' },
          },
        ],
      }),
    );
    expect(batch.contacts).toEqual([{ waId: '250788000001', name: 'Ana' }]);
    expect(batch.messages[0]).toMatchObject({
      wamid: 'wamid.1',
      phoneNumberId: '106540352242922',
      fromWaId: '250788000001',
      contactName: 'Ana',
      type: 'text',
      text: 'hi',
      forAgent: true,
      sentAt: new Date(1_700_000_000_000),
    });
  });

  it('reads choices, template buttons and media; keeps others for storage only', () => {
    const batch = readWebhookBatch(
      body({
        messages: [
          {
            id: 'a',
            type: 'interactive',
            interactive: { type: 'button_reply', button_reply: { id: 'y', title: 'Yes' } },
          },
          { id: 'b', type: 'button', button: { text: 'Stop', payload: 'STOP' } },
          {
            id: 'c',
            type: 'video',
            video: { id: '1037543291543636', mime_type: 'video/mp4', sha256: 'h', caption: 'clip' },
          },
          { id: 'd', type: 'location', location: { latitude: 1, longitude: 2 } },
          {
            id: 'e',
            type: 'interactive',
            interactive: { type: 'nfm_reply', nfm_reply: { response_json: '{}' } },
          },
          { id: 'f', type: 'text', text: { body: 42 } },
        ],
      }),
    );
    const byId = Object.fromEntries(batch.messages.map((m) => [m.wamid, m]));
    expect(byId.a).toMatchObject({ text: 'Yes', replyId: 'y', forAgent: true });
    expect(byId.b).toMatchObject({ text: 'Stop', replyId: 'STOP', forAgent: true });
    expect(byId.c).toMatchObject({
      mediaId: '1037543291543636',
      mediaMimeType: 'video/mp4',
      caption: 'clip',
      forAgent: false,
    });
    expect(byId.d).toMatchObject({
      text: null,
      forAgent: false,
      raw: { location: { latitude: 1, longitude: 2 } },
    });
    // Shapes we do not understand are kept, not rejected, and not sent to the agent.
    expect(byId.e).toMatchObject({ text: null, forAgent: false });
    expect(byId.f).toMatchObject({ text: null, forAgent: false });
  });

  it('reads statuses with their error, sorted by message id', () => {
    const batch = readWebhookBatch(
      body({
        statuses: [
          { id: 'wamid.b', status: 'read', timestamp: '1700000001', recipient_id: '250' },
          {
            id: 'wamid.a',
            status: 'failed',
            timestamp: '1700000002',
            errors: [{ code: 131026, title: 'Undeliverable', error_data: { details: 'no app' } }],
          },
          { id: 'wamid.c', status: 'deleted' },
        ],
      }),
    );
    expect(batch.statuses.map((s) => s.wamid)).toEqual(['wamid.a', 'wamid.b', 'wamid.c']);
    expect(batch.statuses[0]).toMatchObject({
      status: 'failed',
      rank: 4,
      errorCode: 131026,
      errorTitle: 'Undeliverable',
      errorMessage: 'no app',
    });
    expect(batch.statuses[2].rank).toBeNull();
  });

  it('keeps other fields and value.errors raw with a stable dedupe key', () => {
    const other = body({ event: 'APPROVED' }, 'message_template_status_update');
    const a = readWebhookBatch(other);
    const b = readWebhookBatch(JSON.parse(JSON.stringify(other)));
    expect(a.others[0].field).toBe('message_template_status_update');
    expect(a.others[0].dedupeKey).toBe(b.others[0].dedupeKey);
    const errors = readWebhookBatch(body({ errors: [{ code: 131000, title: 'x' }] }));
    expect(errors.others[0].field).toBe('messages.errors');
  });

  it('refuses JSON that is not the envelope with a 400 naming the field', () => {
    expect(problemOf(() => readWebhookBatch({ hello: 1 })).problem.status).toBe(400);
    expect(problemOf(() => readWebhookBatch(null)).problem.status).toBe(400);
    const noId = problemOf(() => readWebhookBatch(body({ messages: [{ type: 'text' }] })));
    expect(noId.problem.errors?.[0].field).toBe('body.entry.0.changes.0.value.messages.0.id');
    const noMetadata = problemOf(() =>
      readWebhookBatch({
        object: 'x',
        entry: [{ changes: [{ field: 'messages', value: { messages: [] } }] }],
      }),
    );
    expect(noMetadata.problem.errors?.[0].field).toMatch(/metadata/);
  });

  it("keeps a media id outside Meta's alphabet in raw only: nothing to download", () => {
    const hostile = [
      '../../etc/passwd',
      '/etc/passwd',
      '..',
      '%2e%2e%2fsecret',
      '..%2F..%2Fx',
      '12/../..',
      '1\\..',
      'abc',
      '',
    ];
    const batch = readWebhookBatch(
      body({
        messages: hostile.map((id, i) => ({
          id: `h${i}`,
          type: 'image',
          image: { id, mime_type: 'image/jpeg' },
        })),
      }),
    );
    expect(batch.messages).toHaveLength(hostile.length);
    for (const [i, message] of batch.messages.entries()) {
      expect(message.mediaId).toBeNull();
      expect(message.raw).toMatchObject({ image: { id: hostile[i] } });
    }
  });
});
