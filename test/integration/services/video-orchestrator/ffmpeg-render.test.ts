import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaTools, FfmpegError } from '../../../../services/video-orchestrator/render/ffmpeg.ts';
import { probeInput, verifyOutput } from '../../../../services/video-orchestrator/render/probe.ts';
import { buildRenderPlan } from '../../../../services/video-orchestrator/render/render-plan.ts';
import { RenderFailure } from '../../../../services/video-orchestrator/render-failure.ts';
import { createRenderSpecSchema } from '../../../../services/video-orchestrator/schemas.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { writeSlowFfmpeg } from '../../../support/video-orchestrator/slow-ffmpeg.ts';
import { processesInside } from '../../../support/video-orchestrator/temp-files.ts';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const asset = 'asset:5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
const schema = createRenderSpecSchema({
  maxClips: 10,
  maxDurationS: 60,
  maxWidth: 1920,
  maxHeight: 1920,
  maxCaptions: 10,
  maxCaptionChars: 300,
  allowedHosts: [],
});
const encoder = { threads: 1, preset: 'ultrafast' as const, crf: 30, audioBitrateK: 64 };

async function failure(promise: Promise<unknown>): Promise<RenderFailure> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RenderFailure);
  return error as RenderFailure;
}

describe('ffmpeg module (real ffmpeg)', () => {
  let media: MediaFixtures;
  let root: string;
  let slowFfmpeg: string;
  const tools = createMediaTools({ killGraceMs: 500 });
  let n = 0;
  const workdir = async () => {
    const dir = join(root, `w${n++}`);
    await mkdir(dir);
    return dir;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'video-ffmpeg-'));
    media = await createMediaFixtures(join(root, 'media'));
    slowFfmpeg = await writeSlowFfmpeg(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('probes inputs by content and checks they fit their role', async () => {
    expect((await probeInput(tools, media.jpg, 'image', 'a')).kind).toBe('image');
    expect((await probeInput(tools, media.webp, 'image', 'a')).width).toBe(240);
    const clip = await probeInput(tools, media.mp4, 'video', 'a');
    expect(clip).toMatchObject({ kind: 'video', hasAudio: true, width: 160, height: 120 });
    expect(clip.durationS).toBeGreaterThan(1.9);
    expect((await probeInput(tools, media.mp3, 'audio', 'a')).durationS).toBeGreaterThan(2.9);
    expect((await probeInput(tools, media.mp4, 'audio', 'a')).hasAudio).toBe(true);
    for (const [path, role] of [
      [media.corruptMp4, 'video'],
      [media.text, 'image'],
      [media.mp3, 'image'],
      [media.mp4Silent, 'audio'],
    ] as const) {
      const error = await failure(probeInput(tools, path, role, 'clips.0'));
      expect(error.code).toBe('invalid_input');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/^clips\.0: /);
    }
  });

  it('renders images, a trimmed clip, music and hostile captions into a checked H.264/AAC mp4 with progress', async () => {
    const dir = await workdir();
    await copyFile(media.jpg, join(dir, 'input-0.jpg'));
    await copyFile(media.png, join(dir, 'input-1.png'));
    await copyFile(media.mp4, join(dir, 'input-2.mp4'));
    await copyFile(media.mp3, join(dir, 'input-3.mp3'));
    const spec = schema.parse({
      output: { width: 160, height: 120, fps: 15 },
      clips: [
        { type: 'image', src: asset, duration: 1, effect: 'zoom-in' },
        { type: 'image', src: asset, duration: 0.5 },
        { type: 'video', src: asset, trim: { start: 0.5, end: 1.5 } },
      ],
      audio: { src: asset, volume: 0.8, fadeOut: 0.5 },
      captions: [
        { text: "50% off: 'today' only; [x] \\ %{localtime} $(id)", start: 0, end: 1.5 },
        { text: "'; drawtext=text=pwned [out]", start: 1, end: 2.5, position: 'top' },
      ],
    });
    const info = async (file: string, role: 'image' | 'video' | 'audio') => ({
      file,
      info: await probeInput(tools, join(dir, file), role, file),
    });
    const plan = buildRenderPlan({
      spec,
      clips: [
        await info('input-0.jpg', 'image'),
        await info('input-1.png', 'image'),
        await info('input-2.mp4', 'video'),
      ],
      audio: await info('input-3.mp3', 'audio'),
      maxDurationS: 60,
      encoder,
      fontFile: FONT,
    });
    for (const text of plan.textFiles) await writeFile(join(dir, text.name), text.content);
    const progress: number[] = [];
    await tools.run(plan.command, { cwd: dir, onProgress: (s) => progress.push(s) });
    const output = await verifyOutput(tools, join(dir, 'output.mp4'), {
      durationS: 2.5,
      width: 160,
      height: 120,
      fps: 15,
    });
    expect(output).toMatchObject({ videoCodec: 'h264', audioCodec: 'aac', width: 160, height: 120 });
    expect(output.durationS).toBeCloseTo(2.5, 1);
    expect((await probeInput(tools, join(dir, 'poster.jpg'), 'image', 'poster')).width).toBe(160);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!).toBeGreaterThan(2);
  });

  it('the output check catches a wrong duration or size', async () => {
    const dir = await workdir();
    await copyFile(media.mp4, join(dir, 'clip.mp4'));
    const error = await failure(
      verifyOutput(tools, join(dir, 'clip.mp4'), { durationS: 5, width: 160, height: 120, fps: 15 }),
    );
    expect(error.code).toBe('output_check_failed');
    const size = await failure(
      verifyOutput(tools, join(dir, 'clip.mp4'), { durationS: 2, width: 320, height: 240, fps: 15 }),
    );
    expect(size.message).toMatch(/size 160x120/);
  });

  it('abort stops a running ffmpeg (SIGTERM, then SIGKILL) and settles only after it exited', async () => {
    const slow = createMediaTools({ ffmpegPath: slowFfmpeg, killGraceMs: 300 });
    const dir = await workdir();
    await copyFile(media.jpg, join(dir, 'input-0.jpg'));
    const spec = schema.parse({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: asset, duration: 30 }],
    });
    const plan = buildRenderPlan({
      spec,
      clips: [{ file: 'input-0.jpg', info: await probeInput(tools, join(dir, 'input-0.jpg'), 'image', 'x') }],
      maxDurationS: 60,
      encoder,
      fontFile: FONT,
    });
    const controller = new AbortController();
    let seen = 0;
    const running = slow.run(plan.command, {
      cwd: dir,
      signal: controller.signal,
      onProgress: (s) => (seen = s),
    });
    await expect.poll(() => seen, { timeout: 10_000 }).toBeGreaterThan(0.5);
    expect((await processesInside(dir)).length).toBeGreaterThan(0);
    const t0 = Date.now();
    controller.abort();
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect((error as FfmpegError).kind).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await processesInside(dir)).toEqual([]);
  });

  it('reports an ffmpeg killed from outside as a signal (a transient failure)', async () => {
    const slow = createMediaTools({ ffmpegPath: slowFfmpeg });
    const dir = await workdir();
    await copyFile(media.jpg, join(dir, 'input-0.jpg'));
    const spec = schema.parse({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: asset, duration: 30 }],
    });
    const plan = buildRenderPlan({
      spec,
      clips: [{ file: 'input-0.jpg', info: await probeInput(tools, join(dir, 'input-0.jpg'), 'image', 'x') }],
      maxDurationS: 60,
      encoder,
      fontFile: FONT,
    });
    let seen = 0;
    const running = slow.run(plan.command, { cwd: dir, onProgress: (s) => (seen = s) });
    await expect.poll(() => seen, { timeout: 10_000 }).toBeGreaterThan(0.3);
    for (const pid of await processesInside(dir)) process.kill(pid, 'SIGKILL');
    const error = await running.catch((e: unknown) => e);
    expect((error as FfmpegError).kind).toBe('signal');
  });
});
