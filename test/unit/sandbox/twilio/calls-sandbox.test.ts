import { describe, expect, it } from 'vitest';
import {
  createTwilioSandbox,
  SANDBOX_ACCOUNT_SID,
  SANDBOX_AUTH_TOKEN,
} from '../../../../sandbox/twilio/calls-sandbox.ts';
import { parseTwiml } from '../../../../sandbox/twilio/twiml-parser.ts';
import { connectStreamTwiml, sayAndHangupTwiml } from '../../../../services/voice-bridge/twiml.ts';

const auth = `Basic ${Buffer.from(`${SANDBOX_ACCOUNT_SID}:${SANDBOX_AUTH_TOKEN}`).toString('base64')}`;
const path = `/2010-04-01/Accounts/${SANDBOX_ACCOUNT_SID}/Calls.json`;

describe('Twilio sandbox Calls.json', () => {
  const post = (
    sandbox: ReturnType<typeof createTwilioSandbox>,
    form: Record<string, string>,
    authorization = auth,
  ) =>
    sandbox.app.request(path, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });

  it('answers errors in Twilio’s shape', async () => {
    const sandbox = createTwilioSandbox();
    const unauthorized = await post(sandbox, {}, 'Basic nope');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ code: 20003, status: 401 });
    const noTo = await post(sandbox, { From: '+15005550006', Url: 'http://x' });
    expect(await noTo.json()).toMatchObject({ code: 21201, status: 400 });
    const invalid = await post(sandbox, { To: '+15005550001', From: '+15005550006', Url: 'http://x' });
    expect(await invalid.json()).toMatchObject({
      code: 21211,
      status: 400,
      more_info: 'https://www.twilio.com/docs/errors/21211',
    });
    sandbox.control.outage = true;
    expect((await post(sandbox, { To: '+14155550100', From: '+15005550006', Url: 'http://x' })).status).toBe(
      503,
    );
    expect(sandbox.calls.size).toBe(0);
  });

  it('creates a queued call resource and then drives it (here: to an unreachable app)', async () => {
    const sandbox = createTwilioSandbox({ stageDelayMs: 1, fetch: async () => Response.error() });
    const res = await post(sandbox, {
      To: '+14155550100',
      From: '+15005550006',
      Url: 'http://127.0.0.1:9/answer',
      StatusCallback: 'http://127.0.0.1:9/status',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { sid: string; status: string; direction: string };
    expect(body).toMatchObject({ status: 'queued', direction: 'outbound-api' });
    expect(body.sid).toMatch(/^CA[0-9a-f]{32}$/);
    const call = await sandbox.waitForCall(body.sid);
    expect(call.status).toBe('completed');
    expect(call.callbacks.filter((c) => c.kind === 'status').map((c) => c.sequenceNumber)).toEqual([
      0, 1, 2, 3,
    ]);
    expect(call.errors[0]).toMatch(/application error/);
    await sandbox.close();
  });
});

describe('TwiML parser', () => {
  it('reads what the voice bridge answers', () => {
    expect(
      parseTwiml(
        connectStreamTwiml({
          streamUrl: 'wss://v.example.com/media/1',
          parameters: { callId: '1', note: 'a&b' },
          actionUrl: 'https://v.example.com/webhooks/voice/stream-ended?callId=1&x=2',
        }),
      ),
    ).toEqual([
      {
        verb: 'Connect',
        action: 'https://v.example.com/webhooks/voice/stream-ended?callId=1&x=2',
        stream: { url: 'wss://v.example.com/media/1', parameters: { callId: '1', note: 'a&b' } },
      },
    ]);
    expect(parseTwiml(sayAndHangupTwiml('Sorry <3'))).toEqual([
      { verb: 'Say', text: 'Sorry <3' },
      { verb: 'Hangup' },
    ]);
    expect(parseTwiml('<Response/>')).toEqual([]);
    expect(() => parseTwiml('<html/>')).toThrow();
  });
});
