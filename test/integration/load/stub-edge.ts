import { Hono } from 'hono';
import { verifyMetaSignature } from '../../../shared/webhooks/meta-signature.ts';
import { parseTwilioForm, verifyTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';
import { listen, type TestServer } from '../../support/http.ts';

/**
 * A stand-in for the three services' HTTP surfaces, small enough to load in a test: it checks what
 * the real services check (Meta and Twilio signatures with the project's own verifiers, bearer keys,
 * E.164 validation with a `body.to` problem, a per-destination limit answering 429 + Retry-After) and
 * counts what it saw, so a test can prove the load is accepted for the right reasons.
 */
export interface StubEdge {
  baseUrls: Record<string, string>;
  seen: {
    badSignatures: number;
    webhooks: number;
    statusCallbacks: number;
    outbound: number;
    renders: number;
  };
  /** Added to every response, to push latency over a threshold. */
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

export const STUB_SECRETS = {
  voicePublicUrl: '',
  twilioAuthToken: 'stub-twilio-token',
  twilioAccountSid: 'AC00000000000000000000000000000000',
  voiceApiKey: 'stub-voice-key',
  whatsappAppSecret: 'stub-app-secret',
  whatsappApiKey: 'stub-whatsapp-key',
  whatsappPhoneNumberId: '100000000000001',
  whatsappDisplayPhoneNumber: '250788000100',
  videoApiKey: 'stub-video-key',
};

export async function startStubEdge(options: { destinationLimit?: number } = {}): Promise<StubEdge> {
  let delayMs = 0;
  const seen = { badSignatures: 0, webhooks: 0, statusCallbacks: 0, outbound: 0, renders: 0 };
  const pause = () => (delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : Promise.resolve());
  const health = (service: string) => (c: { json: (body: unknown) => Response }) =>
    c.json({ status: 'ok', service, uptime: 1, timestamp: new Date().toISOString(), breakers: {} });
  const bearer = (key: string, header: string | undefined) => header === `Bearer ${key}`;

  const whatsapp = new Hono();
  whatsapp.get('/health', async (c) => {
    await pause();
    return health('whatsapp-webhook')(c);
  });
  whatsapp.post('/webhook', async (c) => {
    await pause();
    const raw = await c.req.text();
    if (!verifyMetaSignature(raw, c.req.header('x-hub-signature-256'), STUB_SECRETS.whatsappAppSecret).ok) {
      seen.badSignatures++;
      return c.json({ title: 'Unauthorized' }, 401);
    }
    seen.webhooks++;
    return c.json({ received: true });
  });
  whatsapp.post('/messages', async (c) => {
    await pause();
    if (!bearer(STUB_SECRETS.whatsappApiKey, c.req.header('authorization'))) return c.json({}, 401);
    return c.json({ id: crypto.randomUUID(), status: 'queued' }, 202);
  });

  let voice: TestServer | undefined;
  const destinations = new Map<string, number>();
  const voiceApp = new Hono();
  voiceApp.get('/health', async (c) => {
    await pause();
    return health('voice-bridge')(c);
  });
  voiceApp.post('/webhooks/voice/status', async (c) => {
    await pause();
    const params = parseTwilioForm(await c.req.text());
    const ok = verifyTwilioSignature({
      authToken: STUB_SECRETS.twilioAuthToken,
      url: `${voice!.url}/webhooks/voice/status`,
      params,
      signature: c.req.header('x-twilio-signature'),
    });
    if (!ok) {
      seen.badSignatures++;
      return c.json({ title: 'Forbidden' }, 403);
    }
    seen.statusCallbacks++;
    return c.body(null, 200);
  });
  voiceApp.post('/calls/outbound', async (c) => {
    await pause();
    if (!bearer(STUB_SECRETS.voiceApiKey, c.req.header('authorization'))) return c.json({}, 401);
    const body = (await c.req.json()) as { to?: string };
    if (typeof body.to !== 'string' || !/^\+[1-9]\d{6,14}$/.test(body.to)) {
      return c.json(
        {
          type: 'about:blank',
          title: 'Invalid request',
          status: 400,
          errors: [{ field: 'body.to', message: 'E.164' }],
        },
        400,
        { 'content-type': 'application/problem+json' },
      );
    }
    const used = (destinations.get(body.to) ?? 0) + 1;
    destinations.set(body.to, used);
    if (used > (options.destinationLimit ?? 3)) {
      return c.json({ title: 'Too Many Requests', status: 429 }, 429, { 'Retry-After': '3600' });
    }
    seen.outbound++;
    return c.json({ id: crypto.randomUUID(), status: 'queued' }, 201);
  });

  const renders = new Map<string, number>();
  const video = new Hono();
  video.get('/health', async (c) => {
    await pause();
    return health('video-orchestrator')(c);
  });
  video.post('/assets', async (c) => {
    if (!bearer(STUB_SECRETS.videoApiKey, c.req.header('authorization'))) return c.json({}, 401);
    const form = await c.req.formData();
    const file = form.get('file');
    if (!(file instanceof File) || file.type !== 'image/png') return c.json({ title: 'no png' }, 400);
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47)
      return c.json({ title: 'not a png' }, 400);
    return c.json({ id: crypto.randomUUID() }, 201);
  });
  video.post('/renders', async (c) => {
    if (!bearer(STUB_SECRETS.videoApiKey, c.req.header('authorization'))) return c.json({}, 401);
    const spec = (await c.req.json()) as { clips?: { src?: string }[] };
    if (!spec.clips?.[0]?.src?.startsWith('asset:')) return c.json({ title: 'bad spec' }, 400);
    const id = crypto.randomUUID();
    renders.set(id, Date.now());
    seen.renders++;
    return c.json({ id, status: 'queued' }, 202, { Location: `/renders/${id}` });
  });
  video.get('/renders/:id', async (c) => {
    await pause();
    const submitted = renders.get(c.req.param('id'));
    if (submitted === undefined) return c.json({ title: 'Not Found' }, 404);
    const age = Date.now() - submitted;
    return c.json({
      id: c.req.param('id'),
      status: age > 300 ? 'completed' : 'processing',
      progress: Math.min(1, age / 300),
    });
  });

  voice = await listen(voiceApp);
  const servers = [voice, await listen(whatsapp), await listen(video)];
  return {
    baseUrls: {
      'voice-bridge': servers[0].url,
      'whatsapp-webhook': servers[1].url,
      'video-orchestrator': servers[2].url,
    },
    seen,
    setDelayMs: (ms) => {
      delayMs = ms;
    },
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
