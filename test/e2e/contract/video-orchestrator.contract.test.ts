import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAllowedForTests } from '../../../services/video-orchestrator/inputs/address-policy.ts';
import type { RenderView } from '../../../services/video-orchestrator/render-view.ts';
import type { OpenApiDocument } from '../../../shared/http/index.ts';
import {
  appOperations,
  type Contract,
  createContract,
  documentedOperations,
  validateOpenApiDocument,
} from '../../support/openapi-contract.ts';
import { createMediaFixtures, type MediaFixtures } from '../../support/video-orchestrator/media-fixtures.ts';
import { waitFor } from '../../support/video-orchestrator/temp-files.ts';
import {
  createTestCertificate,
  fakeLookup,
  startHttpsServer,
  type TestHttpsServer,
} from '../../support/video-orchestrator/tls-server.ts';
import { startVideoHarness, type VideoHarness } from '../../support/video-orchestrator/video-harness.ts';
import { checkKitRoutes } from './kit-routes.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('video-orchestrator contract: every documented operation, answered as documented', () => {
  let h: VideoHarness;
  let hooks: TestHttpsServer;
  let media: MediaFixtures;
  let document: OpenApiDocument;
  let contract: Contract;
  const callbacks: { headers: Record<string, string>; body: string }[] = [];

  beforeAll(async () => {
    const cert = await createTestCertificate(['hooks.test']);
    hooks = await startHttpsServer(cert, async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      callbacks.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204);
      res.end();
    });
    h = await startVideoHarness({
      env: { CALLBACK_SIGNING_SECRET: SECRET },
      overrides: {
        addressPolicy: loopbackAllowedForTests,
        lookup: fakeLookup({ 'hooks.test': ['127.0.0.1'] }),
        ca: cert.cert,
      },
    });
    media = await createMediaFixtures(join(h.dataDir, 'fixtures'));
    document = (await (await fetch(`${h.url}/openapi.json`)).json()) as OpenApiDocument;
    contract = createContract(document);
  });
  afterAll(async () => {
    await h?.close();
    await hooks?.close();
  });

  it('is a valid OpenAPI 3.1 document that lists exactly the app’s routes, and the callbacks it sends', async () => {
    await validateOpenApiDocument(document);
    expect(documentedOperations(document)).toEqual(appOperations(h.app));
    expect(Object.keys(document.webhooks as object).sort()).toEqual(['render.completed', 'render.failed']);
  });

  it('serves the kit routes as documented', async () => {
    await checkKitRoutes(h.url, contract);
  });

  it('answers assets, renders and outputs as documented, and sends the callback it documents', async () => {
    const upload = (body: FormData | string, headers: Record<string, string> = {}) =>
      h.api('/assets', { method: 'POST', body, headers });
    const form = new FormData();
    form.append(
      'file',
      new Blob([await (await import('node:fs/promises')).readFile(media.jpg)]),
      'image.jpg',
    );
    const uploaded = await upload(form);
    expect(uploaded.status).toBe(201);
    const asset = (await contract.check('POST', '/assets', uploaded)).body as { id: string; src: string };
    await contract.check('POST', '/assets', await upload('plain text', { 'content-type': 'text/plain' }));
    await contract.check('POST', '/assets', await fetch(`${h.url}/assets`, { method: 'POST' }));
    await contract.check('GET', '/assets/{id}', await h.api(`/assets/${asset.id}`));
    await contract.check('GET', '/assets/{id}', await h.api(`/assets/${randomUUID()}`));

    const cube = `LUT_3D_SIZE 2\n${'0 0 0\n1 1 1\n'.repeat(4)}`;
    const lutCreated = await h.api('/luts', {
      method: 'POST',
      body: cube,
      headers: { 'content-type': 'text/plain' },
    });
    expect(lutCreated.status).toBe(201);
    const lut = (await contract.check('POST', '/luts', lutCreated)).body as { id: string; src: string };
    await contract.check('POST', '/luts', await h.api('/luts', { method: 'POST', body: 'LUT_3D_SIZE 9' }));
    await contract.check('GET', '/luts/{id}', await h.api(`/luts/${lut.id}`));
    await contract.check('GET', '/luts/{id}', await h.api(`/luts/${randomUUID()}`));

    const spec = {
      output: { width: 160, height: 120, fps: 10 },
      renditions: [{ name: 'square', width: 120, height: 120 }],
      thumbnails: { everyS: 0.25, width: 32 },
      look: { lut: lut.src },
      clips: [{ type: 'image', src: asset.src, duration: 0.5 }],
      callbackUrl: `https://hooks.test:${hooks.port}/hook`,
    };
    const created = await h.createRender(spec, { 'idempotency-key': 'contract-1' });
    expect(created.status).toBe(202);
    const render = (await contract.check('POST', '/renders', created)).body as RenderView;
    const replay = await h.createRender(spec, { 'idempotency-key': 'contract-1' });
    expect(replay.status).toBe(202);
    await contract.check('POST', '/renders', replay);
    await contract.check('POST', '/renders', await h.createRender({ output: { width: 15 } }));

    const done = await h.waitForStatus(render.id, ['completed']);
    await contract.check('GET', '/renders/{id}', await h.api(`/renders/${render.id}`));
    await contract.check('GET', '/renders/{id}', await h.api(`/renders/${randomUUID()}`));
    const events = await h.api(`/renders/${render.id}/events`);
    expect(events.status).toBe(200);
    expect((await contract.check('GET', '/renders/{id}/events', events)).body).toContain('event: status');
    await contract.check('GET', '/renders/{id}/events', await h.api(`/renders/${randomUUID()}/events`));

    const whole = await h.api(`/renders/${render.id}/output`);
    expect(whole.status).toBe(200);
    await contract.check('GET', '/renders/{id}/output', whole);
    const range = await h.api(`/renders/${render.id}/output`, { headers: { range: 'bytes=0-99' } });
    expect(range.status).toBe(206);
    await contract.check('GET', '/renders/{id}/output', range);
    const signed = await fetch(done.output!.posterUrl);
    expect(signed.status).toBe(200);
    await contract.check('GET', '/renders/{id}/poster', signed);
    await contract.check('GET', '/renders/{id}/poster', await fetch(`${h.url}/renders/${render.id}/poster`));
    const sprite = await fetch(done.output!.sprite!.url);
    expect(sprite.status).toBe(200);
    await contract.check('GET', '/renders/{id}/sprite', sprite);
    const square = await fetch(done.output!.renditions[0].url);
    expect(square.status).toBe(200);
    await contract.check('GET', '/renders/{id}/renditions/{name}', square);
    await contract.check(
      'GET',
      '/renders/{id}/renditions/{name}',
      await h.api(`/renders/${render.id}/renditions/wide`),
    );

    const list = await h.api('/renders?status=completed&limit=5');
    expect(list.status).toBe(200);
    await contract.check('GET', '/renders', list);
    await contract.check('GET', '/renders', await h.api('/renders?status=done'));

    // Cancel a second render; the completed one cannot be canceled.
    const second = (await (await h.createRender({ ...spec, callbackUrl: undefined })).json()) as RenderView;
    const canceled = await h.api(`/renders/${second.id}`, { method: 'DELETE' });
    expect(canceled.status).toBe(200);
    await contract.check('DELETE', '/renders/{id}', canceled);
    await contract.check(
      'DELETE',
      '/renders/{id}',
      await h.api(`/renders/${render.id}`, { method: 'DELETE' }),
    );
    await contract.check('GET', '/renders/{id}/output', await h.api(`/renders/${second.id}/output`));

    // Retry the canceled one: a new render with the same spec; a completed render is not retried.
    const retried = await h.api(`/renders/${second.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    const again = (await contract.check('POST', '/renders/{id}/retry', retried)).body as RenderView;
    expect(again.id).not.toBe(second.id);
    expect(retried.headers.get('location')).toMatch(new RegExp(`/renders/${again.id}$`));
    await contract.check(
      'POST',
      '/renders/{id}/retry',
      await h.api(`/renders/${render.id}/retry`, { method: 'POST' }),
    );
    await waitFor(
      async () => ((await (await h.api(`/renders/${again.id}`)).json()) as RenderView).status === 'completed',
      { timeoutMs: 30_000, what: 'the retried render to complete' },
    );

    // The Standard Webhooks callback: signed, and shaped as the document's `webhooks` say.
    await waitFor(async () => callbacks.length > 0, { timeoutMs: 20_000, what: 'callback delivery' });
    const delivery = callbacks[0];
    const event = new Webhook(SECRET).verify(delivery.body, delivery.headers) as { type: string };
    expect(event.type).toBe('render.completed');
    contract.checkWebhookRequest('render.completed', JSON.parse(delivery.body));
    expect(() => contract.checkWebhookRequest('render.failed', JSON.parse(delivery.body))).toThrow();
  });

  it('leaves no documented operation uncalled', () => {
    // render.failed is the same envelope with another type; its schema refused the completed one above.
    expect(contract.uncalled()).toEqual(['WEBHOOK render.failed']);
    expect(contract.neverSucceeded()).toEqual([]);
  });
});
