import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { listFiles } from '../../../support/video-orchestrator/temp-files.ts';
import {
  startVideoHarness,
  TEST_API_KEY,
  type VideoHarness,
} from '../../../support/video-orchestrator/video-harness.ts';

const BOUNDARY = 'easymo-test-boundary';
const head = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n',
);
const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A multipart upload whose body is a stream (chunked, no Content-Length) the test feeds and ends. */
function streamingUpload(url: string) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  controller.enqueue(head);
  const response = fetch(`${url}/assets`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
    },
    body,
    duplex: 'half',
  } as RequestInit);
  return {
    response,
    send: (bytes: Uint8Array) => controller.enqueue(bytes),
    end: () => {
      controller.enqueue(tail);
      controller.close();
    },
  };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('video orchestrator: upload streaming, upload and SSE caps, the pixel cap', () => {
  let h: VideoHarness;
  let media: MediaFixtures;
  const env = {
    RENDER_MAX_INPUT_BYTES: String(64 * 1024),
    VIDEO_MAX_CONCURRENT_UPLOADS: '1',
    VIDEO_MAX_SSE_STREAMS_PER_KEY: '2',
    VIDEO_RATE_POINTS: '1000',
  };

  beforeAll(async () => {
    h = await startVideoHarness({ withWorker: false, env });
    media = await createMediaFixtures(join(h.dataDir, 'media'));
  });
  afterAll(() => h?.close());

  const assetCount = async () =>
    (await h.db.query<{ n: number }>('select count(*)::int as n from video_assets'))[0].n;

  it('streams a chunked upload to disk: stored with its size and sha256', async () => {
    const bytes = await readFile(media.jpg);
    const upload = streamingUpload(h.url);
    upload.send(bytes.subarray(0, 1000));
    upload.send(bytes.subarray(1000));
    upload.end();
    const res = await upload.response;
    expect(res.status).toBe(201);
    const asset = (await res.json()) as { sizeBytes: number; sha256: string; kind: string };
    expect(asset).toMatchObject({
      kind: 'image',
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(await listFiles(h.config.tempDir)).toEqual([]);
  });

  it('cuts off a chunked upload past RENDER_MAX_INPUT_BYTES with 413, storing nothing', async () => {
    const before = await assetCount();
    const upload = streamingUpload(h.url);
    const chunk = new Uint8Array(16 * 1024).fill(0xff);
    // More than the limit, never ended: the answer must come from the limit, not the end of the body.
    for (let i = 0; i < 6; i++) upload.send(chunk);
    const res = await upload.response;
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { limit: number }).limit).toBe(64 * 1024);
    expect(await assetCount()).toBe(before);
    expect(
      await until(
        () => listFiles(h.config.tempDir),
        (files) => files.length === 0,
      ),
    ).toEqual([]);
  });

  it('answers 503 past VIDEO_MAX_CONCURRENT_UPLOADS while one upload is running, and takes the next once it ends', async () => {
    const bytes = await readFile(media.jpg);
    const slow = streamingUpload(h.url);
    slow.send(bytes.subarray(0, 100));
    const second = () => {
      const form = new FormData();
      form.append('file', new Blob([bytes]), 'x.jpg');
      return h.api('/assets', { method: 'POST', body: form });
    };
    // The slow upload holds the only slot as soon as its headers are in; the other one gets 503.
    const refused = await until(second, (r) => r.status === 503);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { policy: string }).policy).toBe('video-upload-concurrency');
    slow.send(bytes.subarray(100));
    slow.end();
    expect((await slow.response).status).toBe(201);
    expect((await second()).status).toBe(201);
  });

  it('caps open SSE streams per API key with 429, and frees the slot when a client goes away', async () => {
    const created = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: (await h.upload(media.jpg)).src, duration: 1 }],
    });
    const { id } = (await created.json()) as { id: string };
    const open = async () => {
      const controller = new AbortController();
      const res = await h.api(`/renders/${id}/events`, { signal: controller.signal });
      return { res, controller };
    };
    const first = await open();
    const second = await open();
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    const third = await open();
    expect(third.res.status).toBe(429);
    expect(third.res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await third.res.json()) as { policy: string }).policy).toBe('video-sse-streams');
    first.controller.abort();
    const again = await until(open, (o) => o.res.status === 200);
    expect(again.res.status).toBe(200);
    second.controller.abort();
    again.controller.abort();
  });

  it('refuses pictures over RENDER_MAX_INPUT_PIXELS at upload (422) and in renders', async () => {
    const image = await h.upload(media.jpg); // 320x240 = 76,800 pixels, under the default cap
    await h.restart({ withWorker: true, env: { ...env, RENDER_MAX_INPUT_PIXELS: '50000' } });
    const before = await assetCount();
    const form = new FormData();
    form.append('file', new Blob([await readFile(media.jpg)]), 'x.jpg');
    const res = await h.api('/assets', { method: 'POST', body: form });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(
      /320x240 is larger than inputs may be \(RENDER_MAX_INPUT_PIXELS 50000/,
    );
    expect(await assetCount()).toBe(before);
    // The asset stored under the old cap is refused by the worker under the new one.
    const created = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 1 }],
    });
    const { id } = (await created.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'invalid_input' });
  });
});
