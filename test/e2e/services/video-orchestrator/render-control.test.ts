import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUE } from '../../../../services/video-orchestrator/queues.ts';
import { createMediaTools, type MediaTools } from '../../../../services/video-orchestrator/render/ffmpeg.ts';
import type { RenderView } from '../../../../services/video-orchestrator/render-view.ts';
import { sanitizeHost } from '../../../../services/video-orchestrator/worker-identity.ts';
import { sampleValue, scrapeMetrics } from '../../../support/metrics-text.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { writeSlowFfmpeg } from '../../../support/video-orchestrator/slow-ffmpeg.ts';
import { listFiles, processesInside, waitFor } from '../../../support/video-orchestrator/temp-files.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

const WORKER_MAIN = new URL('../../../../services/video-orchestrator/worker-main.ts', import.meta.url)
  .pathname;

/** A pid that belonged to a process which has exited: what a crashed worker leaves behind. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function readEvents(response: Response): Promise<{ event: string; data: RenderView }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)![1]) as RenderView;
      return { event, data };
    });
}

/** Reads a render's event stream until an event shows `status`, then closes it. */
async function eventWithStatus(h: VideoHarness, id: string, status: string): Promise<RenderView> {
  const controller = new AbortController();
  const response = await h.api(`/renders/${id}/events`, { signal: controller.signal });
  let buffer = '';
  try {
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      const blocks = (buffer + chunk).split('\n\n');
      buffer = blocks.pop()!;
      for (const block of blocks) {
        const data = /^data: (.+)$/m.exec(block);
        const view = data ? (JSON.parse(data[1]) as RenderView) : null;
        if (view?.status === status) return view;
      }
    }
  } finally {
    controller.abort();
  }
  throw new Error(`the event stream of ${id} ended without ${status}`);
}

// Renders here run through the real ffmpeg made to read its inputs in real time (`-re`): a 20 s
// clip is reliably still running when the test cancels, times out, shuts down or kills it.
describe('video orchestrator: cancel, progress, timeout, shutdown, crash recovery', () => {
  let h: VideoHarness;
  let media: MediaFixtures;
  let slowFfmpeg: string;
  let scratch: string;
  let image: { src: string };
  const runs: { cwd: string; startedAt: number; endedAt?: number }[] = [];
  const runsOf = (id: string) => runs.filter((run) => run.cwd.includes(id));
  const slowEnv = () => ({ FFMPEG_PATH: slowFfmpeg });
  const spec = (durationS: number) => ({
    output: { width: 160, height: 120, fps: 10 },
    clips: [{ type: 'image', src: image.src, duration: durationS }],
  });
  const create = async (durationS: number) => {
    const response = await h.createRender(spec(durationS));
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const waitProcessing = (id: string) =>
    waitFor(
      async () => {
        const view = await h.getRender(id);
        return view.status === 'processing' && (await processesInside(h.config.tempDir)).length > 0
          ? view
          : null;
      },
      { what: 'ffmpeg running' },
    );

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'video-control-'));
    slowFfmpeg = await writeSlowFfmpeg(scratch);
    media = await createMediaFixtures(join(scratch, 'media'));
    h = await startVideoHarness({
      env: slowEnv(),
      // Event streams here move only on the database's change notices: their fallback read never comes.
      ssePollMs: 600_000,
      // The real tools, with each ffmpeg run's working directory (the render's workspace) and times noted.
      overrides: (config) => {
        const tools = createMediaTools({
          ffmpegPath: config.FFMPEG_PATH,
          killGraceMs: config.RENDER_KILL_GRACE_MS,
        });
        const recording: MediaTools = {
          ...tools,
          async run(command, options) {
            const run: (typeof runs)[number] = { cwd: options.cwd, startedAt: performance.now() };
            runs.push(run);
            try {
              return await tools.run(command, options);
            } finally {
              run.endedAt = performance.now();
            }
          },
        };
        return { tools: recording };
      },
    });
    image = await h.upload(media.jpg);
  });
  afterAll(async () => {
    await h?.close();
    await rm(scratch, { recursive: true, force: true });
  });
  afterEach(async () => {
    await waitFor(async () => (h.runtime.worker?.activeCount() ?? 0) === 0, { what: 'idle worker' });
    expect(await listFiles(h.config.tempDir)).toEqual([]);
    expect(await processesInside(h.config.tempDir)).toEqual([]);
  });

  it('streams status and progress over SSE until the render is done', async () => {
    const id = await create(3);
    const events = await readEvents(await h.api(`/renders/${id}/events`));
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.status);
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses).toContain('processing');
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(events.at(-1)!.data.output?.videoCodec).toBe('h264');
  });

  it('prefetch: the next render is prepared while one encodes, and encodes once that one ends, never beside it', async () => {
    const first = await create(6);
    await waitProcessing(first);
    const second = await create(1);
    // Claimed, its input fetched into its workspace, while the first one's ffmpeg still runs.
    await waitFor(
      async () =>
        (await h.getRender(second)).status === 'processing' &&
        (await listFiles(h.config.tempDir)).some((f) => f.includes(second) && /input-0\.jpg$/.test(f)),
      { what: 'the second render prepared' },
    );
    expect(runsOf(first)[0].endedAt).toBeUndefined();
    expect(runsOf(second)).toEqual([]);

    const done = await h.waitForEnd(second);
    expect(done).toMatchObject({ status: 'completed', attempts: 1 });
    expect(done.timings.lastAttempt.waitMs).toBeGreaterThan(0);
    expect(runsOf(second)[0].startedAt).toBeGreaterThanOrEqual(runsOf(first)[0].endedAt!);
  });

  it('cancel: a queued render never starts, nor a prepared one; a running ffmpeg is stopped and its files removed', async () => {
    const metricsBefore = await scrapeMetrics(h.url);
    const running = await create(20);
    await waitProcessing(running);
    // RENDER_PREFETCH=1: the worker takes one more (prepared, waiting for the encoder); the next stays queued.
    const prepared = await create(1);
    await waitFor(async () => (await h.getRender(prepared)).status === 'processing', { what: 'prefetch' });
    const queued = await create(1);
    expect((await h.getRender(queued)).status).toBe('queued');

    const cancelQueued = await h.api(`/renders/${queued}`, { method: 'DELETE' });
    expect(cancelQueued.status).toBe(200);
    expect(((await cancelQueued.json()) as RenderView).status).toBe('canceled');
    const cancelPrepared = await h.api(`/renders/${prepared}`, { method: 'DELETE' });
    expect(((await cancelPrepared.json()) as RenderView).status).toBe('canceled');

    const t0 = Date.now();
    const cancelRunning = await h.api(`/renders/${running}`, { method: 'DELETE' });
    expect(((await cancelRunning.json()) as RenderView).status).toBe('canceled');
    await waitFor(async () => (await processesInside(h.config.tempDir)).length === 0, {
      what: 'ffmpeg stopped',
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    await waitFor(async () => h.runtime.worker!.activeCount() === 0, { what: 'idle worker' });

    // The worker is free again: had the queued render been started it would show an attempt.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await h.getRender(queued)).toMatchObject({ status: 'canceled', attempts: 0, output: null });
    expect(await h.getRender(prepared)).toMatchObject({ status: 'canceled', attempts: 1, output: null });
    expect(runsOf(prepared)).toEqual([]);
    expect(await h.getRender(running)).toMatchObject({ status: 'canceled', attempts: 1, output: null });
    expect((await h.api(`/renders/${queued}`, { method: 'DELETE' })).status).toBe(200);
    // Each cancel counts once (the repeated DELETE is a no-op), with its queued → canceled time.
    const metricsAfter = await scrapeMetrics(h.url);
    for (const name of ['video_renders_total', 'video_render_duration_seconds_count']) {
      const canceled = (text: string) => sampleValue(text, name, { status: 'canceled' });
      expect(canceled(metricsAfter) - canceled(metricsBefore), name).toBe(3);
    }
  });

  it('an open event stream gets the cancel the API wrote, as it happens', async () => {
    const id = await create(20);
    const stream = h.api(`/renders/${id}/events`).then(readEvents);
    await waitProcessing(id);
    expect((await h.api(`/renders/${id}`, { method: 'DELETE' })).status).toBe(200);
    const events = await stream;
    expect(events.map((e) => e.data.status)).toContain('processing');
    expect(events.at(-1)!.data).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
    expect(events.filter((e) => e.data.status === 'canceled')).toHaveLength(1);
  });

  it('cancel of a finished render is a 409', async () => {
    const id = await create(0.5);
    await h.waitForStatus(id, ['completed']);
    const response = await h.api(`/renders/${id}`, { method: 'DELETE' });
    expect(response.status).toBe(409);
  });

  it('an ffmpeg killed by a signal from outside (OOM killer) is retried and completes', async () => {
    const id = await create(2);
    await waitProcessing(id);
    for (const pid of await processesInside(h.config.tempDir)) process.kill(pid, 'SIGKILL');
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('a job timeout kills ffmpeg and fails the render without retry', async () => {
    await h.restart({ env: { ...slowEnv(), RENDER_JOB_TIMEOUT_S: '2' } });
    try {
      const id = await create(20);
      const done = await h.waitForStatus(id, ['failed', 'completed'], 20_000);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('render_timeout');
      expect(done.attempts).toBe(1);
    } finally {
      await h.restart({ env: slowEnv() });
    }
  });

  it('graceful shutdown: a render that fits the grace period finishes; one that does not is requeued and completes later', async () => {
    const quick = await create(1);
    await waitProcessing(quick);
    await h.restart({ env: slowEnv(), graceMs: 15_000 });
    expect(await h.getRender(quick)).toMatchObject({ status: 'completed', attempts: 1 });

    const long = await create(20);
    await waitProcessing(long);
    // The next runtime renders at full speed, so the requeued render completes quickly.
    await h.restart({ env: { FFMPEG_PATH: 'ffmpeg' }, graceMs: 300 });
    const done = await h.waitForStatus(long, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, error: null });
    await h.restart({ env: slowEnv() });
  });

  it('a worker that died mid-job: its temp dir and stray ffmpeg are cleaned on the next start, the job completes', async () => {
    await h.restart({ withWorker: false, env: slowEnv() });
    const id = await create(1);
    // What a worker killed mid-render leaves: the job active in pg-boss, the row processing under
    // its id, its temp directory, and its ffmpeg still running there.
    const [job] = await h.runtime.queue.boss.fetch<{ renderId: string }>(RENDER_QUEUE);
    expect(job.data.renderId).toBe(id);
    const pid = await deadPid();
    const host = sanitizeHost(hostname());
    await h.runtime.store.claimRender(id, `${host}--${pid}--deadbeef`, {
      id: job.id,
      retryCount: job.retryCount,
    });
    const leftover = join(h.config.tempDir, `${host}--${pid}`, `${id}-0`);
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'input-0.jpg'), 'partial');
    const stray = spawn('sleep', ['60'], { cwd: leftover, stdio: 'ignore' });
    const strayExit = new Promise((resolve) => stray.once('exit', resolve));

    await h.restart({ withWorker: true, env: { FFMPEG_PATH: 'ffmpeg' } });
    await strayExit;
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });
    await h.restart({ env: slowEnv() });
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'a worker process killed with SIGKILL mid-render: the job is recovered and completes elsewhere',
    async () => {
      await h.restart({ withWorker: false, env: slowEnv() });
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, [WORKER_MAIN], {
          env: { ...process.env, ...h.env, DATABASE_URL: process.env.DATABASE_URL!, LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const id = await create(20);
        // The worker process's claim reaches this process's event stream through the database's notice.
        const claimed = await eventWithStatus(h, id, 'processing');
        expect(claimed.attempts).toBe(1);
        await waitProcessing(id);
        const childExit = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGKILL');
        await childExit;
        // Its ffmpeg survived the worker (re-parented), still writing in the temp directory.
        expect((await processesInside(h.config.tempDir)).length).toBeGreaterThan(0);

        await h.restart({ withWorker: true, env: { FFMPEG_PATH: 'ffmpeg' } });
        expect(await processesInside(h.config.tempDir)).toEqual([]);
        const done = await h.waitForStatus(id, ['completed', 'failed']);
        expect(done).toMatchObject({ status: 'completed', attempts: 2 });
      } finally {
        child?.kill('SIGKILL');
        await h.restart({ env: slowEnv() });
      }
    },
    60_000,
  );
});
