import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiClient,
  GraphApiError,
} from '../../../../services/whatsapp-webhook/graph-api-client.ts';
import { listen, type TestServer } from '../../../support/http.ts';

describe('Graph API client against a local HTTP server', () => {
  let server: TestServer;
  let next: (c: {
    json: (b: unknown, s?: number) => Response;
    body: (b: string, s: number) => Response;
  }) => Response | Promise<Response>;

  beforeAll(async () => {
    const app = new Hono();
    app.post('/v21.0/:phone/messages', (c) => next(c as never));
    app.get('/v21.0/:media', (c) => next(c as never));
    server = await listen(app);
  });
  afterAll(async () => {
    await server?.close();
  });

  // Roomy by default (loaded CI machines); the timeout case passes its own.
  const client = (timeoutMs = 5000) =>
    createGraphApiClient({ baseUrl: server.url, version: 'v21.0', accessToken: 't', timeoutMs });

  async function failure(run: () => Promise<unknown>): Promise<GraphApiError> {
    try {
      await run();
    } catch (error) {
      expect(error).toBeInstanceOf(GraphApiError);
      return error as GraphApiError;
    }
    throw new Error('expected a failure');
  }

  it('returns the wamid and wa_id', async () => {
    next = (c) =>
      c.json({
        messaging_product: 'whatsapp',
        contacts: [{ input: '+1', wa_id: '1' }],
        messages: [{ id: 'wamid.Z' }],
      });
    expect(await client().sendMessage('1', {})).toEqual({ wamid: 'wamid.Z', waId: '1' });
  });

  it('classifies errors: 5xx, 429 and throttling codes retry; other 4xx do not', async () => {
    const cases: [number, unknown, boolean][] = [
      [500, { error: { message: 'x', code: 1 } }, true],
      [503, '<html>bad gateway</html>', true],
      [429, { error: { code: 131056 } }, true],
      [400, { error: { message: '(#130429) Rate limit hit', code: 130429 } }, true],
      [400, { error: { message: '(#80007) WABA limit', code: 80007 } }, true],
      [
        400,
        { error: { message: '(#131030) not allowed', code: 131030, error_data: { details: 'add it' } } },
        false,
      ],
      [401, { error: { message: 'Invalid OAuth access token', code: 190 } }, false],
    ];
    for (const [status, body, retryable] of cases) {
      next = (c) => (typeof body === 'string' ? c.body(body, status) : c.json(body, status));
      const error = await failure(() => client().sendMessage('1', {}));
      expect(error.retryable, `${status}`).toBe(retryable);
      expect(error.status).toBe(status);
    }
    next = (c) =>
      c.json(
        { error: { message: 'm', code: 131030, type: 'OAuthException', error_data: { details: 'd' } } },
        400,
      );
    const error = await failure(() => client().sendMessage('1', {}));
    expect(error).toMatchObject({ metaCode: 131030, type: 'OAuthException', details: 'd', message: 'm' });
  });

  it('treats a timeout and an unreachable server as retryable', async () => {
    next = async (c) => {
      await new Promise((r) => setTimeout(r, 1000));
      return c.json({});
    };
    expect((await failure(() => client(300).sendMessage('1', {}))).retryable).toBe(true);
    const down = createGraphApiClient({ baseUrl: 'http://127.0.0.1:9', version: 'v21.0', accessToken: 't' });
    expect((await failure(() => down.sendMessage('1', {}))).retryable).toBe(true);
  });

  it('refuses a success without a message id, without retry (it may have been sent)', async () => {
    next = (c) => c.json({ messaging_product: 'whatsapp', messages: [] });
    expect((await failure(() => client().sendMessage('1', {}))).retryable).toBe(false);
  });
});
