import { describe, expect, it } from 'vitest';
import { buildRenderPlan } from '../../../../services/video-orchestrator/render/render-plan.ts';
import { renderEventId } from '../../../../services/video-orchestrator/routes/render-events.ts';
import {
  CubeLutError,
  parseCubeLut,
  toCube,
} from '../../../../services/video-orchestrator/timeline/cube-lut.ts';
import { outsideSafeZone, safeZoneFor } from '../../../../services/video-orchestrator/timeline/safe-zones.ts';
import {
  mp4Language,
  parseSubtitles,
  SubtitleError,
  toSrt,
} from '../../../../services/video-orchestrator/timeline/subtitle-cues.ts';
import { TEST_ASSET, testSpecSchema } from '../../../support/video-orchestrator/spec-schema.ts';

const schema = testSpecSchema;
const asset = TEST_ASSET;
const image = {
  kind: 'image' as const,
  durationS: null,
  width: 100,
  height: 100,
  hasAudio: false,
  hasVideo: true,
};

describe('timeline pieces', () => {
  it('reads SRT and WebVTT into cues, drops markup, and writes SRT back', () => {
    const cues = parseSubtitles(
      'WEBVTT - promo\n\nNOTE hi\n\n1\n00:01.500 --> 00:02.000 align:start\n<i>second</i> &amp; last\n\n00:00.000 --> 00:01.000\nfirst\n',
      'vtt',
    );
    expect(cues).toEqual([
      { startS: 0, endS: 1, text: 'first' },
      { startS: 1.5, endS: 2, text: 'second & last' },
    ]);
    expect(toSrt(cues)).toBe(
      '1\n00:00:00,000 --> 00:00:01,000\nfirst\n\n2\n00:00:01,500 --> 00:00:02,000\nsecond & last\n',
    );
    expect(parseSubtitles('1\r\n00:00:01,000 --> 00:00:02,000\r\n{\\an8}Hi\r\n', 'srt')).toEqual([
      { startS: 1, endS: 2, text: 'Hi' },
    ]);
    expect(() => parseSubtitles('00:00:02,000 --> 00:00:01,000\nback\n', 'srt')).toThrow(SubtitleError);
    expect(() => parseSubtitles('just text', 'srt')).toThrow(/no "start --> end"/);
    expect([mp4Language('rw'), mp4Language('en-US'), mp4Language('kin'), mp4Language('xx')]).toEqual([
      'kin',
      'eng',
      'kin',
      null,
    ]);
  });

  it('parses .cube LUTs and refuses what lut3d should not see', () => {
    const lut = parseCubeLut('TITLE "x"\nDOMAIN_MIN 0 0 0\nLUT_3D_SIZE 2\n' + '0 0 0\n1 2 -1\n'.repeat(4));
    expect(lut.size).toBe(2);
    expect(lut.table.slice(3, 6)).toEqual([1, 1, 0]);
    expect(toCube(lut).split('\n')[0]).toBe('LUT_3D_SIZE 2');
    expect(() => parseCubeLut('LUT_3D_SIZE 2\n0 0 0\n')).toThrow(CubeLutError);
    expect(() => parseCubeLut('LUT_3D_SIZE 64\n')).toThrow(/2–33/);
    expect(() => parseCubeLut('LUT_3D_SIZE 2\nDOMAIN_MAX 2 2 2\n')).toThrow(/domain/);
    expect(() => parseCubeLut('LUT_3D_SIZE 2\n0 0 /etc/passwd\n')).toThrow(/three numbers/);
  });

  it('safe zones by aspect ratio', () => {
    expect(safeZoneFor(1080, 1920).name).toBe('9:16');
    expect(safeZoneFor(1080, 1350).name).toBe('1:1');
    expect(safeZoneFor(1920, 1080).name).toBe('16:9');
    const story = safeZoneFor(1080, 1920);
    expect(outsideSafeZone(story, { x: 0.1, y: 0.2, width: 0.5, height: 0.1 })).toBeNull();
    expect(outsideSafeZone(story, { x: 0.1, y: 0.75, width: 0.85, height: 0.1 })).toBe('right, bottom');
  });

  it('SSE ids order a render across attempts', () => {
    const ids = [
      { status: 'queued', attempts: 0, progress: 0 },
      { status: 'processing', attempts: 1, progress: 0 },
      { status: 'processing', attempts: 1, progress: 40 },
      { status: 'queued', attempts: 1, progress: 0 },
      { status: 'processing', attempts: 2, progress: 10 },
      { status: 'completed', attempts: 2, progress: 100 },
    ].map((row) => renderEventId(row as never));
    expect(ids).toEqual(['0-0-0', '1-1-0', '1-1-40', '1-2-0', '2-1-10', '2-3-100']);
  });

  it('plans transitions, speed, renditions and the sprite in one graph, each input decoded once', () => {
    const spec = schema.parse({
      output: { width: 180, height: 320, fps: 10 },
      renditions: [{ name: 'wide', width: 320, height: 180 }],
      thumbnails: { everyS: 1, width: 40, columns: 2 },
      clips: [
        { type: 'image', src: asset, duration: 2, transition: { type: 'slideleft', duration: 0.5 } },
        { type: 'image', src: asset, duration: 1 },
      ],
    });
    const plan = buildRenderPlan({
      spec,
      clips: [
        { file: 'input-0.jpg', info: image },
        { file: 'input-0.jpg', info: image },
      ],
      maxDurationS: 30,
      encoder: { threads: 1, preset: 'ultrafast', crf: 28, audioBitrateK: 64 },
      fontFile: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    });
    expect(plan.durationS).toBe(2.5);
    expect(plan.command.inputs).toHaveLength(2);
    expect(plan.command.filterGraph).toContain('xfade=transition=slideleft:duration=0.5:offset=1.5[vcat]');
    expect(plan.command.filterGraph).toContain('xfade=transition=slideleft:duration=0.5:offset=1.5[r0vcat]');
    expect(plan.command.filterGraph).toContain('tile=2x2');
    expect(plan.command.outputs.map((o) => o.path)).toEqual([
      'output.mp4',
      'poster.jpg',
      'rendition-wide.mp4',
      'sprite.jpg',
    ]);
    expect(plan.sprite).toMatchObject({ columns: 2, rows: 2 });
  });
});
