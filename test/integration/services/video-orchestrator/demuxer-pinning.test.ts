import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffFile } from '../../../../services/video-orchestrator/inputs/asset-sniff.ts';
import {
  createMediaTools,
  FfmpegError,
  ProbeError,
} from '../../../../services/video-orchestrator/render/ffmpeg.ts';
import { readMedia } from '../../../../services/video-orchestrator/render/probe.ts';
import { buildRenderPlan } from '../../../../services/video-orchestrator/render/render-plan.ts';
import { RenderFailure } from '../../../../services/video-orchestrator/render-failure.ts';
import {
  createHostileMedia,
  type HostileMedia,
  unpinnedFormat,
} from '../../../support/video-orchestrator/hostile-media.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { TEST_ASSET, testSpecSchema } from '../../../support/video-orchestrator/spec-schema.ts';

const tools = createMediaTools();
const schema = testSpecSchema;
const asset = TEST_ASSET;

describe('ffmpeg inputs are read by their pinned demuxer only (real ffmpeg)', () => {
  let root: string;
  let hostile: HostileMedia;
  let media: MediaFixtures;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'video-demuxer-'));
    hostile = await createHostileMedia(join(root, 'hostile'));
    media = await createMediaFixtures(join(root, 'media'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('control: the disguised file passes the sniff as MP3, and ffmpeg left to guess reads it as HLS and opens the canary', async () => {
    expect(await sniffFile(hostile.disguisedPlaylist)).toMatchObject({ mime: 'audio/mpeg', demuxer: 'mp3' });
    expect(await unpinnedFormat(hostile.disguisedPlaylist)).toEqual({
      format: 'hls',
      durationS: hostile.canaryDurationS,
    });
  });

  it('ffprobe through MediaTools reads it as MP3 only: unreadable, the canary never mentioned', async () => {
    const dir = await mkdtemp(join(root, 'probe-'));
    await copyFile(hostile.disguisedPlaylist, join(dir, 'input-0.mp3'));
    const error = await tools.probe(join(dir, 'input-0.mp3'), { demuxer: 'mp3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeError);
    expect((error as ProbeError).kind).toBe('unreadable');
    expect((error as ProbeError).message).not.toMatch(/canary|hls/i);
    const failure = await readMedia(tools, join(dir, 'input-0.mp3'), 'audio').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RenderFailure);
    expect(failure).toMatchObject({ code: 'invalid_input', retryable: false });
  });

  it('ffmpeg renders refuse it too, even if a probe had let it through', async () => {
    const dir = await mkdtemp(join(root, 'render-'));
    await copyFile(media.jpg, join(dir, 'input-0.jpg'));
    await copyFile(hostile.disguisedPlaylist, join(dir, 'input-1.mp3'));
    const spec = schema.parse({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: asset, duration: 1 }],
      audio: { src: asset, volume: 1, fadeOut: 0 },
    });
    const image = {
      kind: 'image' as const,
      durationS: null,
      width: 320,
      height: 240,
      hasAudio: false,
      hasVideo: true,
    };
    // The reading a probe without pinning would have produced: 7.5 s of audio.
    const audio = {
      kind: 'audio' as const,
      durationS: hostile.canaryDurationS,
      hasAudio: true,
      hasVideo: false,
    };
    const plan = buildRenderPlan({
      spec,
      clips: [{ file: 'input-0.jpg', info: image }],
      audio: { file: 'input-1.mp3', info: audio },
      maxDurationS: 30,
      encoder: { threads: 1, preset: 'ultrafast', crf: 30, audioBitrateK: 64 },
      fontFile: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    });
    expect(tools.toArgs(plan.command).join(' ')).toContain(
      '-protocol_whitelist file -f mp3 -format_whitelist mp3 -t 1 -i input-1.mp3',
    );
    const error = await tools.run(plan.command, { cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect((error as FfmpegError).kind).toBe('exit');
    expect((error as FfmpegError).stderrTail).not.toMatch(/canary|Opening 'file:/);
    expect(await readdir(dir)).not.toContain('output.mp4');
  });

  it('the other playlists do not even pass the sniff', async () => {
    expect(await sniffFile(hostile.m3u8)).toBeUndefined();
    expect(await sniffFile(hostile.ffconcat)).toBeUndefined();
    // ...which is all that stands between them and ffmpeg's guess:
    expect((await unpinnedFormat(hostile.m3u8)).format).toBe('hls');
  });
});
