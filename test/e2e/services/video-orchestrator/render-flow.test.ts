import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAllowedForTests } from '../../../../services/video-orchestrator/inputs/address-policy.ts';
import { createMediaTools } from '../../../../services/video-orchestrator/render/ffmpeg.ts';
import { sampleValue, scrapeMetrics } from '../../../support/metrics-text.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { grabFrame } from '../../../support/video-orchestrator/output-inspection.ts';
import { listFiles, processesInside, waitFor } from '../../../support/video-orchestrator/temp-files.ts';
import {
  createTestCertificate,
  fakeLookup,
  startHttpsServer,
  type TestCertificate,
  type TestHttpsServer,
} from '../../../support/video-orchestrator/tls-server.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const tools = createMediaTools();

describe('video orchestrator: API → queue → worker → output', () => {
  let h: VideoHarness;
  let media: MediaFixtures;
  let cert: TestCertificate;
  let origin: TestHttpsServer;
  let flaky = 0;
  const callbacks: { headers: Record<string, string>; body: string }[] = [];
  let callbackFailuresLeft = 1;
  /** Requests the origin answered, by path. */
  const requested = new Map<string, number>();
  let wideLogo: string;

  beforeAll(async () => {
    cert = await createTestCertificate(['media.test', 'hooks.test', 'internal.test']);
    origin = await startHttpsServer(cert, async (req, res) => {
      const path = req.url ?? '/';
      requested.set(path, (requested.get(path) ?? 0) + 1);
      if (path === '/hook') {
        let body = '';
        for await (const chunk of req) body += chunk;
        if (callbackFailuresLeft-- > 0) {
          res.writeHead(500);
          res.end();
          return;
        }
        callbacks.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204);
        res.end();
        return;
      }
      if (path === '/down.jpg') {
        res.writeHead(503);
        res.end();
        return;
      }
      if (path === '/flaky.jpg' && flaky++ === 0) {
        res.writeHead(503);
        res.end();
        return;
      }
      if (path === '/to-internal.jpg') {
        res.writeHead(302, { location: `https://internal.test:${origin.port}/image.jpg` });
        res.end();
        return;
      }
      const file = {
        '/image.jpg': media.jpg,
        '/flaky.jpg': media.jpg,
        '/music.mp3': media.mp3,
        '/corrupt.mp4': media.corruptMp4,
        '/wide-logo.png': wideLogo,
        '/low-logo.png': wideLogo,
      }[path];
      if (!file) {
        res.writeHead(404);
        res.end();
        return;
      }
      const bytes = await readFile(file);
      res.writeHead(200, { 'content-length': bytes.length });
      res.end(bytes);
    });
    h = await startVideoHarness({
      env: { RENDER_ALLOWED_HOSTS: 'media.test,internal.test', CALLBACK_SIGNING_SECRET: SECRET },
      overrides: {
        // media.test and hooks.test stand for public hosts; internal.test for a private one.
        addressPolicy: loopbackAllowedForTests,
        lookup: fakeLookup({
          'media.test': ['127.0.0.1'],
          'hooks.test': ['127.0.0.1'],
          'internal.test': ['10.20.30.40'],
        }),
        ca: cert.cert,
      },
    });
    media = await createMediaFixtures(join(h.dataDir, 'fixtures'));
    // A 4:1 green logo, served from the origin.
    wideLogo = join(h.dataDir, 'fixtures', 'wide-logo.png');
    await promisify(execFile)('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x00ff00:size=80x20'],
      ...['-frames:v', '1', wideLogo],
    ]);
  });

  afterAll(async () => {
    await h?.close();
    await origin?.close();
  });

  afterEach(async () => {
    // No temp file survives any outcome, and no ffmpeg is left running there.
    await waitFor(async () => h.runtime.worker!.activeCount() === 0, { what: 'idle worker' });
    expect(await listFiles(h.config.tempDir)).toEqual([]);
    expect(await processesInside(h.config.tempDir)).toEqual([]);
  });

  const src = (path: string) => `https://media.test:${origin.port}${path}`;

  it('renders uploaded assets end to end: 202 + Location, completed, output checked by ffprobe, ranges, poster', async () => {
    const image = await h.upload(media.jpg);
    const clip = await h.upload(media.mp4);
    const music = await h.upload(media.mp3);
    expect(image).toMatchObject({ kind: 'image', src: `asset:${image.id}` });
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 15, format: 'mp4' },
      clips: [
        { type: 'image', src: image.src, duration: 1, effect: 'zoom-in' },
        { type: 'video', src: clip.src, trim: { start: 0.5, end: 1.5 } },
      ],
      audio: { src: music.src, volume: 0.8, fadeOut: 0.5 },
      captions: [{ text: 'New in store', start: 0, end: 1.5 }],
    });
    expect(response.status).toBe(202);
    const created = (await response.json()) as { id: string; status: string };
    expect(response.headers.get('location')).toBe(`${h.url}/renders/${created.id}`);
    expect(created.status).toBe('queued');

    const done = await h.waitForStatus(created.id, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', progress: 100, attempts: 1 });
    expect(done.output).toMatchObject({ videoCodec: 'h264', audioCodec: 'aac', width: 160, height: 120 });
    expect(done.output!.durationS).toBeCloseTo(2, 1);
    expect(done.timings.lastAttempt.renderMs).toBeGreaterThan(0);

    // The signed URL works without the API key; the bytes are a real H.264/AAC mp4 (ffprobe).
    const video = await fetch(done.output!.url);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.length).toBe(done.output!.sizeBytes);
    const downloaded = join(h.dataDir, 'downloaded.mp4');
    await writeFile(downloaded, bytes);
    const probe = await tools.probe(downloaded, { demuxer: 'mov' });
    expect(probe.streams.map((s) => s.codecName).sort()).toEqual(['aac', 'h264']);
    expect(
      bytes.subarray(0, 64).includes(Buffer.from('moov')) || bytes.indexOf('moov') < bytes.indexOf('mdat'),
    ).toBe(true);

    const partial = await fetch(done.output!.url, { headers: { range: 'bytes=0-99' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect((await partial.arrayBuffer()).byteLength).toBe(100);
    expect((await fetch(`${h.url}/renders/${created.id}/output`)).status).toBe(401);
    expect((await h.api(`/renders/${created.id}/output`)).status).toBe(200);
    const poster = await fetch(done.output!.posterUrl);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await poster.arrayBuffer()).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('validates: 401 without the key, 400 naming the field, 415 for non-media uploads', async () => {
    expect((await fetch(`${h.url}/renders`, { method: 'POST', body: '{}' })).status).toBe(401);
    const bad = await h.createRender({
      output: { width: 161, height: 120 },
      clips: [{ type: 'image', src: 'https://evil.example/x.jpg', duration: 1 }],
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['body.clips.0.src', 'body.output.width']);
    const missingAsset = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: 'asset:5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10', duration: 1 }],
    });
    expect(((await missingAsset.json()) as { errors: { field: string }[] }).errors[0].field).toBe(
      'body.clips.0.src',
    );
    const music = await h.upload(media.mp3);
    const wrongKind = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: music.src, duration: 1 }],
    });
    expect(wrongKind.status).toBe(400);
    const form = new FormData();
    form.append('file', new Blob(['#!/bin/sh\nrm -rf /\n']), 'image.jpg');
    const text = await h.api('/assets', { method: 'POST', body: form });
    expect(text.status).toBe(415);
    const empty = await h.api('/assets', { method: 'POST', body: new FormData() });
    expect(empty.status).toBe(400);
    expect((await h.api('/renders/not-a-uuid')).status).toBe(400);
    expect((await h.api('/renders/5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10')).status).toBe(404);
  });

  it('Idempotency-Key: the same request returns the same render, a different body is refused', async () => {
    const image = await h.upload(media.png);
    const spec = {
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 0.5 }],
    };
    const first = await h.createRender(spec, { 'idempotency-key': 'order-42' });
    const second = await h.createRender(spec, { 'idempotency-key': 'order-42' });
    const a = (await first.json()) as { id: string };
    const b = (await second.json()) as { id: string };
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(b.id).toBe(a.id);
    const other = await h.createRender(
      { ...spec, output: { ...spec.output, fps: 12 } },
      { 'idempotency-key': 'order-42' },
    );
    expect(other.status).toBe(409);
    await h.waitForStatus(a.id, ['completed']);
  });

  it('caption injection attempts render as literal text', async () => {
    const image = await h.upload(media.webp);
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 1 }],
      captions: [
        { text: "'; drawtext=text=pwned:fontfile=/etc/passwd [out]", start: 0, end: 1 },
        { text: '%{eif:1/0:d} %{localtime} %{metadata:x}', start: 0, end: 1, position: 'top' },
        { text: "\\\\' ,;: [in] movie=/etc/passwd $(reboot) `id`", start: 0, end: 1, position: 'center' },
      ],
    });
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
  });

  it('a corrupt input fails the job with a clear error and no retry (and is refused at upload)', async () => {
    const form = new FormData();
    form.append('file', new Blob([await readFile(media.corruptMp4)]), 'clip.mp4');
    const upload = await h.api('/assets', { method: 'POST', body: form });
    expect(upload.status).toBe(422);
    expect(((await upload.json()) as { errors: { field: string }[] }).errors[0].field).toBe('body.file');

    const response = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'video', src: src('/corrupt.mp4') }],
    });
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['failed', 'completed']);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error?.code).toBe('invalid_input');
    expect(done.error?.message).toMatch(/source 0: not a readable media file/);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.getRender(id)).attempts).toBe(1);
  });

  it('counts renders by status on /metrics, with the queued → final duration of each', async () => {
    const before = await scrapeMetrics(h.url);
    const ok = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: src('/image.jpg'), duration: 0.5 }],
    });
    const bad = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'video', src: src('/corrupt.mp4') }],
    });
    const okId = ((await ok.json()) as { id: string }).id;
    const badId = ((await bad.json()) as { id: string }).id;
    expect((await h.waitForStatus(okId, ['completed', 'failed'])).status).toBe('completed');
    expect((await h.waitForStatus(badId, ['completed', 'failed'])).status).toBe('failed');

    // The worker counts a render after it settles the row: wait for the counts, not just the rows.
    const after = await waitFor(
      async () => {
        const now = await scrapeMetrics(h.url);
        const settled = ['completed', 'failed'].every(
          (status) =>
            sampleValue(now, 'video_render_duration_seconds_count', { status }) -
              sampleValue(before, 'video_render_duration_seconds_count', { status }) >=
            1,
        );
        return settled ? now : null;
      },
      { what: 'the settled renders to be counted' },
    );
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('video_renders_total', { status: 'queued' })).toBe(2);
    expect(delta('video_renders_total', { status: 'completed' })).toBe(1);
    expect(delta('video_renders_total', { status: 'failed' })).toBe(1);
    expect(delta('video_render_duration_seconds_count', { status: 'completed' })).toBe(1);
    expect(delta('video_render_duration_seconds_count', { status: 'failed' })).toBe(1);
    expect(delta('video_render_duration_seconds_sum', { status: 'completed' })).toBeGreaterThan(0);
  });

  it('a transient download failure (503) is retried with backoff and then completes', async () => {
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: src('/flaky.jpg'), duration: 0.5 }],
      audio: { src: src('/music.mp3') },
    });
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
  });

  it('a render that exhausts its retries is failed and kept (dead letter)', async () => {
    await h.restart({ env: { ...h.env, RENDER_RETRY_LIMIT: '1' } });
    const response = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: src('/down.jpg'), duration: 0.5 }],
    });
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['failed', 'completed']);
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'download_failed' } });
    expect(done.error?.message).toMatch(/answered 503/);
    // pg-boss settles the job after the handler has failed the render row: wait for it, do not race it.
    const jobState = async () =>
      (
        await h.db.query<{ state: string }>(
          `select state from ${h.db.schema ? `${h.db.schema}_boss` : 'pgboss'}.job where name = 'video-renders' and data->>'renderId' = $1`,
          [id],
        )
      )[0]?.state;
    await waitFor(async () => (await jobState()) === 'failed', { what: 'the pg-boss job to be failed' });
    expect(await jobState()).toBe('failed');
    await h.restart({ env: { ...h.env, RENDER_RETRY_LIMIT: '3' } });
  });

  it('an image overlay from a URL: refused at submit unless its box is given and inside the safe zone; fitted in the box', async () => {
    const image = await h.upload(media.jpg);
    const base = {
      output: { width: 180, height: 320, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 1 }],
    };
    const noHeight = await h.createRender({
      ...base,
      overlays: [{ type: 'image', src: src('/wide-logo.png'), x: 0.1, y: 0.3, width: 0.5 }],
    });
    expect(noHeight.status).toBe(400);
    expect(((await noHeight.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'body.overlays.0.height', message: expect.stringMatching(/required for an image from a URL/) },
    ]);
    // 9:16 keeps the bottom 20 % free: a box from 0.7 to 0.9 is refused before anything is fetched.
    const tooLow = await h.createRender({
      ...base,
      overlays: [{ type: 'image', src: src('/low-logo.png'), x: 0.1, y: 0.7, width: 0.5, height: 0.2 }],
    });
    expect(tooLow.status).toBe(400);
    expect(((await tooLow.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'body.overlays.0', message: expect.stringMatching(/9:16 safe zone.*bottom/) },
    ]);
    expect(requested.get('/low-logo.png') ?? 0).toBe(0);

    // Box x 18–108, y 96–160; the 4:1 logo fits as 90×22, centred: rows 117–139.
    const response = await h.createRender({
      ...base,
      overlays: [{ type: 'image', src: src('/wide-logo.png'), x: 0.1, y: 0.3, width: 0.5, height: 0.2 }],
    });
    expect(response.status).toBe(202);
    const done = await h.waitForEnd(((await response.json()) as { id: string }).id);
    expect(done.error).toBeNull();
    const file = join(h.dataDir, 'url-overlay.mp4');
    await writeFile(file, Buffer.from(await (await fetch(done.output!.url)).arrayBuffer()));
    const frame = await grabFrame(file, 0.5, 180, 320);
    const isGreen = ([r, g, b]: number[]) => g > 200 && r < 60 && b < 80;
    expect(isGreen(frame.pixel(63, 128))).toBe(true);
    expect(isGreen(frame.pixel(25, 128))).toBe(true);
    // Inside the box, above and below the fitted logo: the clip shows through.
    expect(isGreen(frame.pixel(63, 102))).toBe(false);
    expect(isGreen(frame.pixel(63, 155))).toBe(false);
  });

  it('SSRF through the API: a redirect to a private address and a private host fail without retry', async () => {
    const viaRedirect = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: src('/to-internal.jpg'), duration: 0.5 }],
    });
    const direct = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: `https://internal.test:${origin.port}/image.jpg`, duration: 0.5 }],
    });
    for (const response of [viaRedirect, direct]) {
      const { id } = (await response.json()) as { id: string };
      const done = await h.waitForStatus(id, ['failed', 'completed']);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('input_refused');
      expect(done.attempts).toBe(1);
    }
    const fileUrl = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: 'file:///etc/passwd', duration: 1 }],
    });
    expect(fileUrl.status).toBe(400);
    const loopback = await h.createRender({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: 'https://127.0.0.1/x.jpg', duration: 1 }],
    });
    expect(loopback.status).toBe(400);
  });

  it('posts a signed Standard Webhooks callback on completion, retried after a failure', async () => {
    const image = await h.upload(media.jpg);
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 0.5 }],
      callbackUrl: `https://hooks.test:${origin.port}/hook`,
    });
    const { id } = (await response.json()) as { id: string };
    await h.waitForStatus(id, ['completed']);
    await waitFor(async () => callbacks.length > 0, { timeoutMs: 20_000, what: 'callback delivery' });
    const delivery = callbacks[0];
    const event = new Webhook(SECRET).verify(delivery.body, delivery.headers) as {
      type: string;
      data: { id: string; status: string; output: { url: string } };
    };
    expect(event).toMatchObject({ type: 'render.completed', data: { id, status: 'completed' } });
    expect(delivery.headers['webhook-id']).toBe(`msg_${id}_completed`);
    const view = await waitFor(async () => {
      const v = await h.getRender(id);
      return v.callback?.status === 'delivered' ? v : null;
    });
    expect(view.callback?.attempts).toBe(2);
  });
});
