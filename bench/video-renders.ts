/**
 * Video renders: N renders through the whole service (HTTP API → pg-boss → worker: download from
 * storage, probe, ffmpeg (video, poster), output check from ffmpeg's report, upload; the client follows
 * each render's event stream) against the same ffmpeg commands run directly just before and just after
 * (averaged), in the same run, at worker concurrency 1 and 2 (ffmpeg threads = cores / concurrency,
 * prefetch 1, as the service defaults).
 * PostgreSQL when DATABASE_URL is set (a throwaway schema), else PGlite.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../load/runner/percentile.ts';
import { createMediaTools } from '../services/video-orchestrator/render/ffmpeg.ts';
import { probeInput } from '../services/video-orchestrator/render/probe.ts';
import {
  buildRenderPlan,
  type RenderPlan,
  type X264Preset,
} from '../services/video-orchestrator/render/render-plan.ts';
import type { RenderView } from '../services/video-orchestrator/render-view.ts';
import { createRenderSpecSchema } from '../services/video-orchestrator/schemas.ts';
import { createMediaFixtures } from '../test/support/video-orchestrator/media-fixtures.ts';
import { startVideoHarness, type VideoHarness } from '../test/support/video-orchestrator/video-harness.ts';

export interface VideoRendersBenchOptions {
  /** Renders per measurement (default 8, or BENCH_VIDEO_RENDERS). */
  renders?: number;
  concurrencies?: number[];
  preset?: X264Preset;
}

interface Stats {
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => percentile(sorted, p);
  const round = (n: number) => Math.round(n);
  return {
    p50: round(at(50)),
    p95: round(at(95)),
    max: round(sorted.at(-1) ?? 0),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const OUTPUT = { width: 320, height: 240, fps: 24 };

/** The product-video shape the service is for, kept small: ~2.5 s, image + clip + music + caption. */
function specFor(src: { image: string; clip: string; music: string }, n: number) {
  return {
    output: { ...OUTPUT, format: 'mp4' },
    clips: [
      // Timeline features on: a Ken Burns image crossfading into a trimmed clip, a text overlay.
      {
        type: 'image',
        src: src.image,
        duration: 1.8,
        effect: 'zoom-in',
        transition: { type: 'fade', duration: 0.3 },
      },
      { type: 'video', src: src.clip, trim: { start: 0.5, end: 1.5 } },
    ],
    overlays: [{ type: 'text', text: 'EasyMO', x: 0.1, y: 0.1, fontSize: 0.06, box: { color: '#000000' } }],
    audio: { src: src.music, volume: 0.8, fadeOut: 0.5 },
    captions: [{ text: `Offer #${n}: 20% off today`, start: 0.2, end: 2.3 }],
  };
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function inLanes<T>(count: number, lanes: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

export async function benchVideoRenders(options: VideoRendersBenchOptions = {}) {
  const renders = options.renders ?? Number(process.env.BENCH_VIDEO_RENDERS ?? 8);
  const concurrencies = options.concurrencies ?? [1, 2];
  const preset = options.preset ?? 'veryfast';
  const cores = availableParallelism();
  const scratch = await mkdtemp(join(tmpdir(), 'video-bench-'));
  const media = await createMediaFixtures(join(scratch, 'media'));
  const tools = createMediaTools();
  const schema = createRenderSpecSchema({
    maxClips: 10,
    maxDurationS: 60,
    maxWidth: 1920,
    maxHeight: 1920,
    maxCaptions: 10,
    maxCaptionChars: 300,
    allowedHosts: [],
  });

  // Direct: the render plan the worker would build for the same spec, its ffmpeg command (video +
  // poster) run in prepared directories, nothing else: no HTTP, queue, storage, probes or checks.
  async function direct(concurrency: number, threads: number) {
    const dirs: string[] = [];
    const plans: RenderPlan[] = [];
    const asset = 'asset:00000000-0000-4000-8000-000000000000';
    for (let i = 0; i < renders; i++) {
      const dir = join(scratch, `direct-${concurrency}-${i}`);
      await mkdir(dir, { recursive: true });
      await copyFile(media.jpg, join(dir, 'input-0.jpg'));
      await copyFile(media.mp4, join(dir, 'input-1.mp4'));
      await copyFile(media.mp3, join(dir, 'input-2.mp3'));
      const spec = schema.parse(specFor({ image: asset, clip: asset, music: asset }, i));
      const plan = buildRenderPlan({
        spec,
        clips: [
          { file: 'input-0.jpg', info: await probeInput(tools, join(dir, 'input-0.jpg'), 'image', 'image') },
          { file: 'input-1.mp4', info: await probeInput(tools, join(dir, 'input-1.mp4'), 'video', 'clip') },
        ],
        audio: {
          file: 'input-2.mp3',
          info: await probeInput(tools, join(dir, 'input-2.mp3'), 'audio', 'music'),
        },
        maxDurationS: 60,
        encoder: { threads, preset, crf: 23, audioBitrateK: 128 },
        fontFile: FONT,
      });
      for (const text of plan.textFiles) await writeFile(join(dir, text.name), text.content);
      dirs.push(dir);
      plans.push(plan);
    }
    const started = performance.now();
    const cpu = process.cpuUsage();
    const durations = await inLanes(renders, concurrency, async (i) => {
      const t0 = performance.now();
      await tools.run(plans[i].command, { cwd: dirs[i] });
      return performance.now() - t0;
    });
    const wallMs = performance.now() - started;
    const cpuMs = cpuMsSince(cpu);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    return { wallMs, cpuMs, durations };
  }

  /** Plain ffmpeg before and after the service, averaged: a machine whose load drifts favours neither. */
  function directFigures(runs: Awaited<ReturnType<typeof direct>>[]) {
    const wallMs = runs.reduce((sum, r) => sum + r.wallMs, 0) / runs.length;
    return {
      wallMs: Math.round(wallMs),
      wallMsBeforeAndAfter: runs.map((r) => Math.round(r.wallMs)),
      rendersPerSecond: Number((renders / (wallMs / 1000)).toFixed(3)),
      // This process's CPU (spawning ffmpeg, reading its progress), per render.
      processCpuMsPerRender: Math.round(runs.reduce((sum, r) => sum + r.cpuMs, 0) / (renders * runs.length)),
      perRenderMs: stats(runs.flatMap((r) => r.durations)),
    };
  }

  async function service(h: VideoHarness, concurrency: number) {
    const image = await h.upload(media.jpg);
    const clip = await h.upload(media.mp4);
    const music = await h.upload(media.mp3);
    const started = performance.now();
    const cpu = process.cpuUsage();
    // As a client would: submit, then follow the render's event stream to its final event (pushed by
    // the service when the row changes; no status polling on the machine that renders).
    const views: RenderView[] = await Promise.all(
      Array.from({ length: renders }, async (_, i) => {
        const response = await h.createRender(
          specFor({ image: image.src, clip: clip.src, music: music.src }, i),
        );
        if (response.status !== 202) throw new Error(`POST /renders answered ${response.status}`);
        return h.waitForEnd(((await response.json()) as { id: string }).id, 120_000);
      }),
    );
    const wallMs = performance.now() - started;
    const cpuMs = cpuMsSince(cpu);
    const failed = views.filter((v) => v.status !== 'completed');
    if (failed.length > 0)
      throw new Error(`renders failed: ${failed.map((v) => v.error?.message).join('; ')}`);
    const stage = (name: string) => stats(views.map((v) => v.timings.lastAttempt[`${name}Ms`] ?? 0));
    return {
      wallMs: Math.round(wallMs),
      rendersPerSecond: Number((renders / (wallMs / 1000)).toFixed(3)),
      // This process's CPU per render: API, worker and the bench's own HTTP client (PostgreSQL's not counted).
      processCpuMsPerRender: Math.round(cpuMs / renders),
      // Request accepted → render completed (queue wait included), as a client sees it.
      latencyMs: stats(views.map((v) => Date.parse(v.timings.finishedAt!) - Date.parse(v.timings.createdAt))),
      // The worker's own time for one render, download to upload.
      processingMs: stats(views.map((v) => v.timings.processingMs ?? 0)),
      // Encoder time without an ffmpeg running (first submission and pickup, each render's preparation
      // unless prefetched, storing, the last event), per render: what the service adds to plain ffmpeg.
      encoderIdleMsPerRender: Math.round(
        (concurrency * wallMs - views.reduce((sum, v) => sum + (v.timings.lastAttempt.renderMs ?? 0), 0)) /
          renders,
      ),
      stagesMs: {
        download: stage('download'),
        probe: stage('probe'),
        // A prefetched render, prepared, waiting for the encoder.
        wait: stage('wait'),
        render: stage('render'),
        upload: stage('upload'),
      },
      outputBytes: stats(views.map((v) => v.output?.sizeBytes ?? 0)),
    };
  }

  const figures: Record<string, unknown> = {};
  let h: VideoHarness | undefined;
  try {
    for (const concurrency of concurrencies) {
      const threads = Math.max(1, Math.floor(cores / concurrency));
      const env = {
        // One event stream per render in flight.
        VIDEO_MAX_SSE_STREAMS_PER_KEY: String(Math.max(20, renders)),
        RENDER_CONCURRENCY: String(concurrency),
        RENDER_FFMPEG_THREADS: String(threads),
        RENDER_X264_PRESET: preset,
      };
      if (!h) h = await startVideoHarness({ env });
      else await h.restart({ env });
      const before = await direct(concurrency, threads);
      const viaService = await service(h, concurrency);
      const viaDirect = directFigures([before, await direct(concurrency, threads)]);
      figures[`concurrency${concurrency}`] = {
        concurrency,
        ffmpegThreads: threads,
        service: viaService,
        direct: viaDirect,
        overheadPerRenderMs: Math.round((viaService.wallMs - viaDirect.wallMs) / renders),
        serviceVsDirectThroughput: Number(
          (viaService.rendersPerSecond / viaDirect.rendersPerSecond).toFixed(3),
        ),
      };
    }
  } finally {
    await h?.close();
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite (in memory)',
    cores,
    renders,
    preset,
    output: {
      ...OUTPUT,
      durationS: 2.5,
      inputs: 'jpeg (zoom-in) → fade → h264/aac clip (trimmed), text overlay, mp3 (loudnorm), 1 caption',
    },
    ...figures,
  };
}

// `node bench/video-renders.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchVideoRenders();
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
