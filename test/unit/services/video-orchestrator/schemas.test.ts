import { describe, expect, it } from 'vitest';
import {
  createRenderSpecSchema,
  type RenderLimits,
} from '../../../../services/video-orchestrator/schemas.ts';

const limits: RenderLimits = {
  maxClips: 3,
  maxDurationS: 20,
  maxWidth: 1280,
  maxHeight: 1280,
  maxCaptions: 2,
  maxCaptionChars: 40,
  allowedHosts: ['cdn.example.com', '*.media.example'],
};
const schema = createRenderSpecSchema(limits);
const asset = 'asset:5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
const valid = {
  output: { width: 320, height: 240, fps: 24, format: 'mp4' },
  clips: [
    { type: 'image', src: asset, duration: 2, effect: 'zoom-in' },
    { type: 'video', src: 'https://cdn.example.com/a.mp4', trim: { start: 1, end: 3 } },
  ],
  audio: { src: 'https://x.media.example/m.mp3', volume: 0.5, fadeOut: 1 },
  captions: [{ text: 'Hello', start: 0, end: 2, position: 'top' }],
  callbackUrl: 'https://hooks.example.com/render',
};

function fields(input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.path.join('.'));
}

describe('render spec schema', () => {
  it('accepts a full spec and fills defaults', () => {
    const spec = schema.parse({
      output: { width: 160, height: 120 },
      clips: [{ type: 'image', src: asset, duration: 1 }],
    });
    expect(spec.output).toEqual({ width: 160, height: 120, fps: 30, format: 'mp4' });
    expect(spec.clips[0]).toMatchObject({ effect: 'none' });
    expect(schema.parse(valid).captions?.[0].position).toBe('top');
  });

  it('names the offending field', () => {
    expect(fields({ ...valid, output: { ...valid.output, width: 321 } })).toEqual(['output.width']);
    expect(fields({ ...valid, output: { ...valid.output, width: 4000 } })).toEqual(['output.width']);
    expect(fields({ ...valid, output: { ...valid.output, format: 'gif' } })).toEqual(['output.format']);
    expect(fields({ ...valid, clips: [] })).toEqual(['clips']);
    expect(fields({ ...valid, clips: [{ type: 'image', src: asset, duration: 0 }] })).toEqual([
      'clips.0.duration',
    ]);
    expect(fields({ ...valid, clips: [{ type: 'gif', src: asset }] })).toEqual(['clips.0.type']);
    expect(fields({ ...valid, clips: [{ type: 'video', src: asset, trim: { start: 3, end: 2 } }] })).toEqual([
      'clips.0.trim.end',
    ]);
    expect(fields({ ...valid, captions: [{ text: 'x', start: 2, end: 1 }] })).toEqual(['captions.0.end']);
    expect(fields({ ...valid, callbackUrl: 'http://hooks.example.com' })).toEqual(['callbackUrl']);
    expect(fields({ ...valid, extra: true })).toEqual(['']);
  });

  it('enforces the configured limits', () => {
    const clip = { type: 'image', src: asset, duration: 1 };
    expect(fields({ ...valid, clips: [clip, clip, clip, clip] })).toEqual(['clips']);
    expect(
      fields({
        ...valid,
        clips: [
          { ...clip, duration: 15 },
          { ...clip, duration: 15 },
        ],
      }),
    ).toEqual(['clips']);
    const caption = { text: 'a', start: 0, end: 1 };
    expect(fields({ ...valid, captions: [caption, caption, caption] })).toEqual(['captions']);
    expect(fields({ ...valid, captions: [{ ...caption, text: 'x'.repeat(41) }] })).toEqual([
      'captions.0.text',
    ]);
  });

  it('accepts only https sources on the allowlist, or uploaded assets', () => {
    const src = (value: string) => fields({ ...valid, clips: [{ type: 'image', src: value, duration: 1 }] });
    expect(src('http://cdn.example.com/a.jpg')).toEqual(['clips.0.src']);
    expect(src('https://evil.example.com/a.jpg')).toEqual(['clips.0.src']);
    expect(src('https://media.example/a.jpg')).toEqual(['clips.0.src']); // wildcard needs a subdomain
    expect(src('file:///etc/passwd')).toEqual(['clips.0.src']);
    expect(src('https://user:pw@cdn.example.com/a.jpg')).toEqual(['clips.0.src']);
    expect(src('asset:../../etc/passwd')).toEqual(['clips.0.src']);
    expect(src('/etc/passwd')).toEqual(['clips.0.src']);
    expect(
      schema.safeParse({
        ...valid,
        clips: [{ type: 'image', src: 'https://CDN.example.com./a.jpg', duration: 1 }],
      }).success,
    ).toBe(true);
  });

  it('an image overlay from a URL needs its box (height); an asset may leave it to its aspect', () => {
    const overlay = (src: string, extra = {}) => ({
      type: 'image',
      src,
      x: 0.1,
      y: 0.1,
      width: 0.2,
      ...extra,
    });
    expect(fields({ ...valid, overlays: [overlay('https://cdn.example.com/logo.png')] })).toEqual([
      'overlays.0.height',
    ]);
    expect(
      schema.safeParse({ ...valid, overlays: [overlay('https://cdn.example.com/logo.png', { height: 0.2 })] })
        .success,
    ).toBe(true);
    expect(schema.safeParse({ ...valid, overlays: [overlay(asset)] }).success).toBe(true);
    // The box itself is checked against the safe zone (4:3 counts as square: 5 % margins).
    expect(fields({ ...valid, overlays: [overlay(asset, { y: 0.5, height: 0.5 })] })).toEqual(['overlays.0']);
  });

  it('tracks: a box inside the safe zone, clips in time order, nothing but their own fields', () => {
    const track = (clips: unknown[], box = {}) => ({
      x: 0.5,
      y: 0.1,
      width: 0.4,
      height: 0.4,
      ...box,
      clips,
    });
    const image = (start: number, duration = 1) => ({ type: 'image', src: asset, start, duration });
    const parsed = schema.parse({ ...valid, tracks: [track([image(0), image(1)])] });
    expect(parsed.tracks?.[0]).toMatchObject({ opacity: 1, clips: [{ start: 0 }, { start: 1 }] });
    expect(fields({ ...valid, tracks: [track([image(0)], { x: 0.7 })] })).toEqual(['tracks.0']);
    expect(fields({ ...valid, tracks: [track([image(0, 2), image(1)])] })).toEqual([
      'tracks.0.clips.1.start',
    ]);
    // The main clips last 2 + 2 s: a track clip starting at 4 s would never be seen.
    expect(fields({ ...valid, tracks: [track([image(4)])] })).toEqual(['tracks.0.clips.0.start']);
    expect(
      fields({ ...valid, tracks: [track([{ ...image(0), transition: { type: 'fade', duration: 0.5 } }])] }),
    ).toEqual(['tracks.0.clips.0']);
    expect(fields({ ...valid, tracks: [track([])] })).toEqual(['tracks.0.clips']);
    expect(fields({ ...valid, tracks: Array.from({ length: 5 }, () => track([image(0)])) })).toEqual([
      'tracks',
    ]);
  });

  it('refuses control characters in captions but keeps quotes, colons and percent signs', () => {
    const caption = (text: string) =>
      schema.safeParse({ ...valid, captions: [{ text, start: 0, end: 1 }] }).success;
    expect(caption("It's 50% off: [today] \\ only %{pts}")).toBe(true);
    expect(caption('line one\nline two')).toBe(true);
    expect(caption('bell\u0007')).toBe(false);
    expect(caption('esc\u001b[31m')).toBe(false);
    expect(caption('   ')).toBe(false);
  });
});
