import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallbackError,
  createStandardWebhookSender,
} from '../../../../services/video-orchestrator/callbacks/standard-webhook-sender.ts';
import { loopbackAllowedForTests } from '../../../../services/video-orchestrator/inputs/address-policy.ts';
import {
  createTestCertificate,
  fakeLookup,
  startHttpsServer,
  type TestCertificate,
  type TestHttpsServer,
} from '../../../support/video-orchestrator/tls-server.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('Standard Webhooks callback sender', () => {
  let cert: TestCertificate;
  let server: TestHttpsServer;
  const received: { headers: Record<string, string>; body: string; path: string }[] = [];

  beforeAll(async () => {
    cert = await createTestCertificate(['hooks.test']);
    server = await startHttpsServer(cert, async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      received.push({ headers: req.headers as Record<string, string>, body, path: req.url ?? '' });
      const status = { '/ok': 204, '/down': 500, '/gone': 410, '/moved': 302 }[req.url ?? ''] ?? 404;
      res.writeHead(status, status === 302 ? { location: 'https://hooks.test/ok' } : {});
      res.end();
    });
  });
  afterAll(() => server.close());

  const lookup = fakeLookup({ 'hooks.test': ['127.0.0.1'], 'internal.test': ['10.0.0.8'] });
  const sender = () =>
    createStandardWebhookSender({
      secret: SECRET,
      timeoutMs: 2000,
      addressPolicy: loopbackAllowedForTests,
      lookup,
      ca: cert.cert,
    });

  it('signs the delivery so a Standard Webhooks receiver verifies it', async () => {
    const s = sender();
    await s.send(`https://hooks.test:${server.port}/ok`, {
      id: 'msg_r1_completed',
      type: 'render.completed',
      data: { id: 'r1', status: 'completed' },
    });
    const delivery = received.at(-1)!;
    expect(delivery.headers['webhook-id']).toBe('msg_r1_completed');
    const verified = new Webhook(SECRET).verify(delivery.body, delivery.headers) as {
      type: string;
      data: { id: string };
    };
    expect(verified.type).toBe('render.completed');
    expect(verified.data.id).toBe('r1');
    expect(() => new Webhook(SECRET).verify(delivery.body.replace('r1', 'r2'), delivery.headers)).toThrow();
    await s.close();
  });

  it('classifies failures: 5xx and redirects retry, 410 stops, refused addresses stop', async () => {
    const s = sender();
    const attempt = (url: string) =>
      s.send(url, { id: 'm', type: 'render.failed', data: {} }).catch((e: unknown) => e);
    const down = (await attempt(`https://hooks.test:${server.port}/down`)) as CallbackError;
    expect(down).toBeInstanceOf(CallbackError);
    expect(down.retryable).toBe(true);
    expect(((await attempt(`https://hooks.test:${server.port}/moved`)) as CallbackError).status).toBe(302);
    expect(((await attempt(`https://hooks.test:${server.port}/gone`)) as CallbackError).retryable).toBe(
      false,
    );
    expect(((await attempt(`https://internal.test:${server.port}/ok`)) as CallbackError).retryable).toBe(
      false,
    );
    expect(((await attempt('https://127.0.0.2/ok')) as CallbackError).retryable).toBe(true); // loopback allowed by the test policy, nothing listens
    await s.close();
    const strict = createStandardWebhookSender({ secret: SECRET, timeoutMs: 2000, lookup, ca: cert.cert });
    const refused = (await strict
      .send(`https://hooks.test:${server.port}/ok`, { id: 'm', type: 't', data: {} })
      .catch((e: unknown) => e)) as CallbackError;
    expect(refused.retryable).toBe(false);
    expect(refused.message).toMatch(/refused/);
    await strict.close();
  });
});
