import { describe, expect, it } from 'vitest';
import { createTwilioClient } from '../../../../services/voice-bridge/twilio-client.ts';
import { DependencyError, isCallerError } from '../../../../shared/resilience/index.ts';

const input = {
  to: '+14155550100',
  from: '+15005550006',
  url: 'https://voice.example.com/webhooks/voice/answer?callId=1',
  statusCallback: 'https://voice.example.com/webhooks/voice/status?callId=1',
  statusCallbackEvents: ['initiated', 'completed'],
};

const clientAnswering = (answer: () => Response | Promise<Response>) =>
  createTwilioClient({
    apiUrl: 'https://api.twilio.test/',
    accountSid: 'AC123',
    authToken: 'secret',
    fetch: async () => answer(),
  });

describe('twilio client', () => {
  it('returns the CallSid and status Twilio answered', async () => {
    const client = clientAnswering(() => Response.json({ sid: 'CA1', status: 'queued' }, { status: 201 }));
    await expect(client.createCall(input)).resolves.toEqual({ sid: 'CA1', status: 'queued' });
  });

  it('turns a rejected request (4xx) into a caller error the breaker does not count', async () => {
    const client = clientAnswering(() =>
      Response.json({ code: 21211, message: "Invalid 'To' Phone Number", status: 400 }, { status: 400 }),
    );
    const error = await client.createCall(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ status: 400, code: 21211, retryable: false });
    expect(isCallerError(error)).toBe(true);
  });

  it('turns an outage (5xx, 429, network) into a retryable failure the breaker counts', async () => {
    for (const status of [500, 503, 429]) {
      const error = await clientAnswering(() => new Response('oops', { status }))
        .createCall(input)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status, retryable: true });
      expect(isCallerError(error)).toBe(false);
    }
    const network = await clientAnswering(() => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    })
      .createCall(input)
      .catch((e: unknown) => e);
    expect(network).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
  });

  it('posts the form Twilio expects with basic auth', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const client = createTwilioClient({
      apiUrl: 'https://api.twilio.test',
      accountSid: 'AC123',
      authToken: 'secret',
      fetch: async (url, init) => {
        seen = { url: String(url), init: init! };
        return Response.json({ sid: 'CA2', status: 'queued' }, { status: 201 });
      },
    });
    await client.createCall(input);
    expect(seen?.url).toBe('https://api.twilio.test/2010-04-01/Accounts/AC123/Calls.json');
    const headers = new Headers(seen?.init.headers);
    expect(headers.get('authorization')).toBe(`Basic ${btoa('AC123:secret')}`);
    const form = new URLSearchParams(String(seen?.init.body));
    expect(form.getAll('StatusCallbackEvent')).toEqual(['initiated', 'completed']);
    expect(form.get('Url')).toBe(input.url);
  });
});
