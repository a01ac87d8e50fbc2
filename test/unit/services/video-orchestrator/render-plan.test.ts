import { describe, expect, it } from 'vitest';
import type { MediaInfo } from '../../../../services/video-orchestrator/render/probe.ts';
import {
  buildRenderPlan,
  trackClipTimings,
  wrapCaption,
} from '../../../../services/video-orchestrator/render/render-plan.ts';
import { RenderFailure } from '../../../../services/video-orchestrator/render-failure.ts';
import { TEST_ASSET, testSpecSchema } from '../../../support/video-orchestrator/spec-schema.ts';

const schema = testSpecSchema;
const asset = TEST_ASSET;
const image: MediaInfo = {
  kind: 'image',
  durationS: null,
  width: 320,
  height: 240,
  hasAudio: false,
  hasVideo: true,
};
const video: MediaInfo = {
  kind: 'video',
  durationS: 4,
  width: 160,
  height: 120,
  hasAudio: true,
  hasVideo: true,
};
const audio: MediaInfo = { kind: 'audio', durationS: 3, hasAudio: true, hasVideo: false };
const encoder = { threads: 2, preset: 'ultrafast' as const, crf: 28, audioBitrateK: 96 };
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const hostile = [
  "'; drawtext=text=pwned:x=0 [out]",
  '%{eif:1/0:d} %{localtime} %{pts}',
  "\\' , ; : [in] [out] movie=/etc/passwd",
  'QZXJ first line\nQZXK second line',
];

describe('render plan', () => {
  const spec = schema.parse({
    output: { width: 320, height: 240, fps: 25 },
    clips: [
      { type: 'image', src: asset, duration: 1.5, effect: 'zoom-in' },
      { type: 'video', src: asset, trim: { start: 1, end: 3 } },
      { type: 'image', src: asset, duration: 0.5 },
    ],
    audio: { src: asset, volume: 0.5, fadeOut: 1 },
    captions: hostile.map((text, i) => ({ text, start: i * 0.5, end: i * 0.5 + 1 })),
  });
  const plan = buildRenderPlan({
    spec,
    clips: [
      { file: 'input-0.jpg', info: image },
      { file: 'input-1.mp4', info: video },
      { file: 'input-0.jpg', info: image },
    ],
    audio: { file: 'input-2.mp3', info: audio },
    maxDurationS: 30,
    encoder,
    fontFile: FONT,
  });

  it('adds up clip durations (trimmed video) and asks ffmpeg for exactly that', () => {
    expect(plan.durationS).toBe(4);
    const out = plan.command.outputs[0].options;
    expect(out[out.indexOf('-t') + 1]).toBe('4');
    expect(out).toEqual(
      expect.arrayContaining(['-c:v', 'libx264', '-c:a', 'aac', '+faststart', '-threads', '2']),
    );
  });

  it('restricts every input to the file protocol and to our own file names', () => {
    for (const input of plan.command.inputs) {
      expect(input.options.slice(0, 2)).toEqual(['-protocol_whitelist', 'file']);
      expect(input.path).toMatch(/^input-\d+\.\w+$/);
    }
    expect(plan.command.outputs.map((o) => o.path)).toEqual(['output.mp4', 'poster.jpg']);
  });

  it('never puts caption text into the filter graph: drawtext reads our files with expansion off', () => {
    const graph = plan.command.filterGraph!;
    for (const text of hostile) {
      for (const line of text.split('\n')) expect(graph).not.toContain(line);
    }
    expect(graph).not.toContain('movie=');
    expect(graph.match(/drawtext=/g)).toHaveLength(hostile.length);
    expect(graph.match(/expansion=none/g)).toHaveLength(hostile.length);
    for (const i of hostile.keys()) expect(graph).toContain(`textfile=caption-${i}.txt`);
    // Wrapping may move line breaks; the characters are all there, unescaped.
    const squash = (t: string) => t.replace(/\s+/g, '');
    expect(plan.textFiles.map((t) => squash(t.content))).toEqual(hostile.map(squash));
  });

  it('refuses a font path that would need escaping in a filter graph', () => {
    expect(() =>
      buildRenderPlan({ spec, clips: [], maxDurationS: 30, encoder, fontFile: "/tmp/a:b'c.ttf" }),
    ).toThrow(/filter graph/);
  });

  it('fails a trim past the end of the video, and an output over the limit, without retry', () => {
    const late = schema.parse({
      output: { width: 160, height: 120 },
      clips: [{ type: 'video', src: asset, trim: { start: 10 } }],
    });
    const error = (() => {
      try {
        buildRenderPlan({
          spec: late,
          clips: [{ file: 'input-0.mp4', info: video }],
          maxDurationS: 30,
          encoder,
          fontFile: FONT,
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RenderFailure);
    expect((error as RenderFailure).retryable).toBe(false);
    const long = schema.parse({
      output: { width: 160, height: 120 },
      clips: [{ type: 'video', src: asset }],
    });
    expect(() =>
      buildRenderPlan({
        spec: long,
        clips: [{ file: 'input-0.mp4', info: { ...video, durationS: 600 } }],
        maxDurationS: 30,
        encoder,
        fontFile: FONT,
      }),
    ).toThrow(/limit/);
  });

  it('picks the poster frame by number, so even a one-frame video has one', () => {
    expect(plan.command.filterGraph).toContain("select='gte(n,25)'");
    const tiny = buildRenderPlan({
      spec: schema.parse({
        output: { width: 160, height: 120, fps: 1 },
        clips: [{ type: 'image', src: asset, duration: 1 }],
      }),
      clips: [{ file: 'input-0.png', info: image }],
      maxDurationS: 30,
      encoder,
      fontFile: FONT,
    });
    expect(tiny.command.filterGraph).toContain("select='gte(n,0)'");
  });

  it('uses silence when no soundtrack is given', () => {
    const silent = buildRenderPlan({
      spec: schema.parse({
        output: { width: 160, height: 120 },
        clips: [{ type: 'image', src: asset, duration: 1 }],
      }),
      clips: [{ file: 'input-0.png', info: image }],
      maxDurationS: 30,
      encoder,
      fontFile: FONT,
    });
    expect(silent.command.filterGraph).toContain('anullsrc');
    expect(silent.command.inputs).toHaveLength(1);
  });

  it('times track clips: a video runs its in/out range at its speed, cut where the next clip starts and at the end', () => {
    const withTrack = schema.parse({
      output: { width: 320, height: 180 },
      clips: [{ type: 'video', src: asset }],
      tracks: [
        {
          x: 0.5,
          y: 0.1,
          width: 0.4,
          height: 0.4,
          clips: [
            // 4 s of video from 1 s at double speed: 1.5 s, cut at 1 s by the next clip.
            { type: 'video', src: asset, start: 0, trim: { start: 1 }, speed: 2 },
            { type: 'image', src: asset, start: 1, duration: 2 },
            { type: 'video', src: asset, start: 3.5 },
            // Starts after the output (4 s, known only once the main video is probed): not shown.
            { type: 'image', src: asset, start: 5, duration: 1 },
          ],
        },
      ],
    });
    const tracks = [
      [
        { file: 'input-1.mp4', info: video },
        { file: 'input-2.png', info: image },
        { file: 'input-1.mp4', info: video },
        { file: 'input-2.png', info: image },
      ],
    ];
    expect(trackClipTimings(withTrack, tracks, 4)).toEqual([
      [
        { clip: 0, startS: 0, shownS: 1 },
        { clip: 1, startS: 1, shownS: 2 },
        { clip: 2, startS: 3.5, shownS: 0.5 },
      ],
    ]);
    const built = buildRenderPlan({
      spec: withTrack,
      clips: [{ file: 'input-0.mp4', info: video }],
      tracks,
      maxDurationS: 30,
      encoder,
      fontFile: FONT,
    });
    const graph = built.command.filterGraph!;
    // Fitted into the 128×72 box at (160, 18), shifted to its start, shown for its time only.
    expect(graph).toContain('scale=128:72:force_original_aspect_ratio=decrease');
    expect(graph).toContain('setpts=PTS-STARTPTS+3.5/TB');
    expect(graph).toContain("overlay=x=160+(128-w)/2:y=18+(72-h)/2:eof_action=pass:enable='between(t,1,3)'");
    expect(graph).not.toContain('+5/TB');
    // The first clip reads 2 s of source (1 s shown at double speed) from its in point.
    const first = built.command.inputs.find((i) => i.options.includes('-ss'))!;
    expect(first.options.slice(-4)).toEqual(['-ss', '1', '-t', '2']);
  });

  it('wraps long captions on word boundaries', () => {
    expect(wrapCaption('one two three four five', 9)).toBe('one two\nthree\nfour five');
    expect(wrapCaption('abcdefghijkl', 5)).toBe('abcde\nfghij\nkl');
  });
});
