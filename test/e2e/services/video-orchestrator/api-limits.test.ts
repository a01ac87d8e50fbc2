import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startVideoHarness,
  TEST_API_KEY,
  type VideoHarness,
} from '../../../support/video-orchestrator/video-harness.ts';

describe('video orchestrator: rate limits, body limits, operational routes', () => {
  let h: VideoHarness;
  beforeAll(async () => {
    h = await startVideoHarness({
      withWorker: false,
      env: {
        VIDEO_RATE_POINTS: '2',
        VIDEO_RATE_DURATION_S: '60',
        BODY_LIMIT_BYTES: '4096',
        RENDER_MAX_INPUT_BYTES: '2048',
      },
    });
  });
  afterAll(() => h?.close());

  it('limits POSTs per API key with the shared middleware (429 problem, RateLimit headers)', async () => {
    const body = { output: { width: 160, height: 120 }, clips: [] };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.createRender(body)).status);
    expect(statuses).toEqual([400, 400, 429]);
    const limited = await h.createRender(body);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    // Reads have their own, larger budget.
    const read = await h.api('/renders/5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10');
    expect(read.status).toBe(404);
    expect(read.headers.get('ratelimit-limit')).toBe('1200');
    // A wrong key is refused before it can use anyone's budget.
    const wrong = await fetch(`${h.url}/renders`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
      body: '{}',
    });
    expect(wrong.status).toBe(401);
  });

  it('answers 413 past the JSON body limit and past RENDER_MAX_INPUT_BYTES for uploads', async () => {
    await h.restart({ withWorker: false, env: { BODY_LIMIT_BYTES: '4096', RENDER_MAX_INPUT_BYTES: '2048' } });
    const big = await h.api('/renders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(10_000) }),
    });
    expect(big.status).toBe(413);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(3000)]), 'big.jpg');
    const upload = await fetch(`${h.url}/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: form,
    });
    expect(upload.status).toBe(413);
  });

  it('without ffprobe at the API (the edge function), uploads are stored unprobed and the worker probes them', async () => {
    const { createMediaFixtures } = await import('../../../support/video-orchestrator/media-fixtures.ts');
    const media = await createMediaFixtures(`${h.dataDir}/fixtures`);
    await h.restart({ withWorker: false, env: { FFPROBE_PATH: '/nonexistent/ffprobe' } });
    const image = await h.upload(media.jpg);
    const [row] = await h.db.query<{ probe: unknown }>('select probe from video_assets where id = $1', [
      image.id,
    ]);
    expect(row.probe).toBeNull();
    await h.restart({ withWorker: true, env: {} });
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 0.5 }],
    });
    const { id } = (await response.json()) as { id: string };
    expect(await h.waitForStatus(id, ['completed', 'failed'])).toMatchObject({
      status: 'completed',
      attempts: 1,
    });
  });

  it('serves /health, /ready and /metrics with the queue depth', async () => {
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    expect((await fetch(`${h.url}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('queue_depth{queue="video-renders"');
    expect(metrics).toContain('video_render_attempts_total');
  });
});
