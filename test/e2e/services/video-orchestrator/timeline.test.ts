import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaTools } from '../../../../services/video-orchestrator/render/ffmpeg.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import {
  bandLevelDb,
  grabFrame,
  integratedLoudness,
} from '../../../support/video-orchestrator/output-inspection.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

const run = promisify(execFile);
const tools = createMediaTools();

async function lavfi(source: string, out: string, extra: string[] = []) {
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', source, ...extra, out]);
}

describe('video timelines: transitions, Ken Burns, speed, overlays, safe zones, voice-over', () => {
  let h: VideoHarness;
  let media: MediaFixtures;
  const files = { red: '', blue: '', logo: '', voice: '', music: '', white: '', twoTone: '' };

  beforeAll(async () => {
    h = await startVideoHarness();
    media = await createMediaFixtures(join(h.dataDir, 'media'));
    const dir = join(h.dataDir, 'timeline-media');
    await mkdir(dir, { recursive: true });
    files.red = join(dir, 'red.png');
    files.blue = join(dir, 'blue.png');
    files.logo = join(dir, 'logo.png');
    files.voice = join(dir, 'voice.wav');
    files.music = join(dir, 'music.wav');
    files.white = join(dir, 'white.png');
    files.twoTone = join(dir, 'two-tone.mp4');
    await Promise.all([
      lavfi('color=c=0xffffff:size=40x40', files.white, ['-frames:v', '1']),
      // 4:1, green for its first second and blue for its second: an in point at 1 s shows blue.
      lavfi(
        'color=c=0x00ff00:s=160x40:r=10:d=1[a];color=c=0x0000ff:s=160x40:r=10:d=1[b];[a][b]concat=n=2:v=1:a=0[out0]',
        files.twoTone,
        ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ),
      lavfi('color=c=0xff0000:size=160x120', files.red, ['-frames:v', '1']),
      lavfi('color=c=0x0000ff:size=160x120', files.blue, ['-frames:v', '1']),
      lavfi('color=c=0x00ff00:size=40x40', files.logo, ['-frames:v', '1']),
      lavfi('sine=frequency=1000:sample_rate=44100:duration=1', files.voice),
      lavfi('sine=frequency=200:sample_rate=44100:duration=4', files.music),
    ]);
  });
  afterAll(() => h?.close());

  async function renderToFile(spec: unknown, name: string): Promise<{ file: string; durationS: number }> {
    const response = await h.createRender(spec);
    expect(response.status, await response.clone().text()).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed'], 60_000);
    expect(done.error).toBeNull();
    const file = join(h.dataDir, name);
    await writeFile(file, Buffer.from(await (await fetch(done.output!.url)).arrayBuffer()));
    return { file, durationS: done.output!.durationS };
  }

  it('joins clips with xfade transitions, zooms images (Ken Burns) and speeds a video up', async () => {
    const [red, blue, clip] = await Promise.all([
      h.upload(files.red),
      h.upload(files.blue),
      h.upload(media.mp4),
    ]);
    const { file } = await renderToFile(
      {
        output: { width: 320, height: 180, fps: 20 },
        clips: [
          {
            type: 'image',
            src: red.src,
            duration: 1,
            effect: 'ken-burns',
            transition: { type: 'fade', duration: 0.5 },
          },
          { type: 'image', src: blue.src, duration: 1, transition: { type: 'wipeleft', duration: 0.3 } },
          // 2 s of source at double speed: 1 s of output.
          { type: 'video', src: clip.src, trim: { start: 0, end: 2 }, speed: 2 },
        ],
      },
      'transitions.mp4',
    );
    // 1 + 1 + 1 − 0.5 − 0.3 = 2.2 s, checked in the file itself.
    const probe = await tools.probe(file, { demuxer: 'mov' });
    expect(probe.streams.map((s) => s.codecName).sort()).toEqual(['aac', 'h264']);
    expect(probe.durationS!).toBeGreaterThan(2.1);
    expect(probe.durationS!).toBeLessThan(2.35);
    const video = probe.streams.find((s) => s.codecType === 'video')!;
    expect(video.frames).toBeGreaterThanOrEqual(43);
    expect(video.frames).toBeLessThanOrEqual(45);

    const [r0] = [(await grabFrame(file, 0.2, 320, 180)).pixel(160, 90)];
    expect(r0[0]).toBeGreaterThan(200);
    expect(r0[2]).toBeLessThan(60);
    // Halfway through the fade (0.5–1.0 s): red and blue both show.
    const mid = (await grabFrame(file, 0.75, 320, 180)).pixel(160, 90);
    expect(mid[0]).toBeGreaterThan(60);
    expect(mid[2]).toBeGreaterThan(60);
    const b = (await grabFrame(file, 1.1, 320, 180)).pixel(160, 90);
    expect(b[2]).toBeGreaterThan(200);
    expect(b[0]).toBeLessThan(60);
  });

  it('composites a picture-in-picture track over the main one: its clips at their starts, in/out points, fitted in the box', async () => {
    const [red, white, twoTone] = await Promise.all([
      h.upload(files.red),
      h.upload(files.white),
      h.upload(files.twoTone),
    ]);
    // The box: x 176–288, y 18–108 of 320×180. The 4:1 video fits as 112×28, centred: rows 49–77.
    const { file, durationS } = await renderToFile(
      {
        output: { width: 320, height: 180, fps: 10 },
        clips: [{ type: 'image', src: red.src, duration: 2 }],
        tracks: [
          {
            x: 0.55,
            y: 0.1,
            width: 0.35,
            height: 0.5,
            clips: [
              // In point 1 s (the blue half), out point 1.6 s: on screen 0.5–1.1 s.
              { type: 'video', src: twoTone.src, start: 0.5, trim: { start: 1, end: 1.6 } },
              { type: 'image', src: white.src, start: 1.3, duration: 0.5 },
            ],
          },
        ],
      },
      'pip.mp4',
    );
    expect(durationS).toBeCloseTo(2, 1);
    const probe = await tools.probe(file, { demuxer: 'mov' });
    expect(probe.streams.map((s) => s.codecName).sort()).toEqual(['aac', 'h264']);
    const isRed = ([r, g, b]: number[]) => r > 200 && g < 60 && b < 60;
    const isBlue = ([r, g, b]: number[]) => b > 200 && r < 60 && g < 60;
    const centre = [232, 63] as const;

    // Before the track's first clip: only the main picture.
    expect(isRed((await grabFrame(file, 0.3, 320, 180)).pixel(...centre))).toBe(true);
    // The video from its in point (blue, not its green start), fitted: the box above it shows the main picture.
    const during = await grabFrame(file, 0.8, 320, 180);
    expect(isBlue(during.pixel(...centre))).toBe(true);
    expect(isBlue(during.pixel(180, 63))).toBe(true);
    expect(isRed(during.pixel(232, 25))).toBe(true);
    expect(isRed(during.pixel(232, 100))).toBe(true);
    expect(isRed(during.pixel(60, 63))).toBe(true);
    // After its out point (1.1 s) and before the next clip (1.3 s): the main picture again.
    expect(isRed((await grabFrame(file, 1.2, 320, 180)).pixel(...centre))).toBe(true);
    // The image clip, square, fitted to the box's height: 90×90 centred, x 187–277.
    const image = await grabFrame(file, 1.55, 320, 180);
    expect(image.pixel(...centre).every((c) => c > 200)).toBe(true);
    expect(image.pixel(232, 25).every((c) => c > 200)).toBe(true);
    expect(isRed(image.pixel(180, 63))).toBe(true);
    // Cut at its end (1.8 s).
    expect(isRed((await grabFrame(file, 1.9, 320, 180)).pixel(...centre))).toBe(true);
  });

  it('refuses a track outside the safe zone, overlapping clips, transitions and wrong kinds with 400 naming each', async () => {
    const [red, twoTone] = await Promise.all([h.upload(files.red), h.upload(files.twoTone)]);
    const response = await h.createRender({
      output: { width: 180, height: 320 },
      clips: [{ type: 'image', src: red.src, duration: 3 }],
      tracks: [
        // 9:16: the bottom 20 % is the app's; this box reaches 0.9.
        {
          x: 0.1,
          y: 0.5,
          width: 0.5,
          height: 0.4,
          clips: [{ type: 'image', src: red.src, start: 0, duration: 1 }],
        },
        {
          x: 0.1,
          y: 0.2,
          width: 0.5,
          height: 0.3,
          clips: [
            { type: 'video', src: twoTone.src, start: 0, trim: { start: 0, end: 1 } },
            { type: 'video', src: red.src, start: 0.5 },
            { type: 'image', src: red.src, start: 3, duration: 1 },
          ],
        },
        {
          x: 0.1,
          y: 0.2,
          width: 0.5,
          height: 0.3,
          clips: [{ type: 'image', src: red.src, start: 0, duration: 1, transition: { type: 'fade' } }],
        },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const { errors } = (await response.json()) as { errors: { field: string; message: string }[] };
    const fields = errors.map((e) => e.field);
    expect(errors.find((e) => e.field === 'body.tracks.0')?.message).toMatch(/9:16 safe zone.*bottom/);
    expect(errors.find((e) => e.field === 'body.tracks.1.clips.1.start')?.message).toMatch(
      /previous clip ends \(1s\)/,
    );
    expect(errors.find((e) => e.field === 'body.tracks.1.clips.2.start')?.message).toMatch(
      /output ends \(3s\)/,
    );
    expect(fields.some((f) => f.startsWith('body.tracks.2.clips.0'))).toBe(true);

    const wrongKind = await h.createRender({
      output: { width: 320, height: 180 },
      clips: [{ type: 'image', src: red.src, duration: 1 }],
      tracks: [
        { x: 0.1, y: 0.1, width: 0.3, height: 0.3, clips: [{ type: 'video', src: red.src, start: 0 }] },
      ],
    });
    expect(wrongKind.status).toBe(400);
    expect(((await wrongKind.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'body.tracks.0.clips.0.src', message: expect.stringMatching(/is image, not video/) },
    ]);
  });

  it('draws image and text overlays inside the 9:16 safe zone, at their times', async () => {
    const [blue, logo] = await Promise.all([h.upload(files.blue), h.upload(files.logo)]);
    const { file } = await renderToFile(
      {
        output: { width: 180, height: 320, fps: 10 },
        clips: [{ type: 'image', src: blue.src, duration: 2 }],
        overlays: [
          // 0.3 × 180 = 54 px wide, square: x 18–72, y 96–150.
          { type: 'image', src: logo.src, x: 0.1, y: 0.3, width: 0.3, opacity: 1, start: 0, end: 1 },
          {
            type: 'text',
            text: 'BUY',
            x: 0.5,
            y: 0.6,
            fontSize: 0.05,
            color: '#ffffff',
            box: { color: '#ffff00', opacity: 1 },
            start: 1,
          },
        ],
      },
      'overlays.mp4',
    );
    const early = await grabFrame(file, 0.5, 180, 320);
    const logoPixel = early.pixel(45, 123);
    expect(logoPixel[1]).toBeGreaterThan(200);
    expect(logoPixel[0]).toBeLessThan(60);
    expect(logoPixel[2]).toBeLessThan(80);
    // The text box is not there yet; the logo is gone later, the box shows.
    expect(early.pixel(92, 194)[0]).toBeLessThan(60);
    const late = await grabFrame(file, 1.5, 180, 320);
    expect(late.pixel(45, 123)[2]).toBeGreaterThan(200);
    const box = late.pixel(91, 193);
    expect(box[0]).toBeGreaterThan(180);
    expect(box[1]).toBeGreaterThan(180);
    expect(box[2]).toBeLessThan(80);
  });

  it('refuses overlays outside the safe zone with 400 naming the element, and bad transitions', async () => {
    const [blue, logo] = await Promise.all([h.upload(files.blue), h.upload(files.logo)]);
    const response = await h.createRender({
      output: { width: 180, height: 320 },
      clips: [{ type: 'image', src: blue.src, duration: 1, transition: { type: 'fade', duration: 0.5 } }],
      overlays: [
        { type: 'text', text: 'Top of the screen', x: 0.1, y: 0.02 },
        // Inside by its width, but a square 0.5 × 180 px logo at y 0.7 reaches below 0.8 of 320.
        { type: 'image', src: logo.src, x: 0.1, y: 0.7, width: 0.5 },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await response.json()) as { errors: { field: string; message: string }[] };
    const fields = problem.errors.map((e) => e.field);
    expect(fields).toContain('body.overlays.0');
    expect(fields).toContain('body.clips.0.transition');
    expect(problem.errors.find((e) => e.field === 'body.overlays.0')!.message).toMatch(/9:16 safe zone.*top/);

    const tooLow = await h.createRender({
      output: { width: 180, height: 320 },
      clips: [{ type: 'image', src: blue.src, duration: 1 }],
      overlays: [{ type: 'image', src: logo.src, x: 0.1, y: 0.7, width: 0.5 }],
    });
    expect(tooLow.status).toBe(400);
    const low = (await tooLow.json()) as { errors: { field: string; message: string }[] };
    expect(low.errors).toEqual([{ field: 'body.overlays.0', message: expect.stringMatching(/bottom/) }]);

    // An asset stored unprobed (uploaded where ffprobe cannot run) has no known aspect: its box is required.
    const unprobed = await h.runtime.store.insertAsset({
      id: randomUUID(),
      kind: 'image',
      mime_type: 'image/png',
      size_bytes: 100,
      sha256: '0'.repeat(64),
      storage_key: `assets/${randomUUID()}`,
      probe: null,
    });
    const unknownSize = await h.createRender({
      output: { width: 180, height: 320 },
      clips: [{ type: 'image', src: blue.src, duration: 1 }],
      overlays: [{ type: 'image', src: `asset:${unprobed.id}`, x: 0.1, y: 0.3, width: 0.3 }],
    });
    expect(unknownSize.status).toBe(400);
    expect(((await unknownSize.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'body.overlays.0.height', message: expect.stringMatching(/not known/) },
    ]);
  });

  it('mixes a voice-over over ducked music, normalised to −14 LUFS', async () => {
    const [blue, voice, music] = await Promise.all([
      h.upload(files.blue),
      h.upload(files.voice),
      h.upload(files.music),
    ]);
    const { file } = await renderToFile(
      {
        output: { width: 160, height: 90, fps: 10 },
        clips: [{ type: 'image', src: blue.src, duration: 3 }],
        audio: { src: music.src, volume: 1 },
        voiceOver: { src: voice.src, start: 1.2 },
      },
      'voice.mp4',
    );
    const loudness = await integratedLoudness(file);
    expect(Math.abs(loudness - -14)).toBeLessThanOrEqual(1);
    // The music (200 Hz) drops while the voice (1 kHz, 1.2–2.2 s) speaks.
    const musicAlone = await bandLevelDb(file, 200, 0.5, 1.1);
    const musicUnderVoice = await bandLevelDb(file, 200, 1.5, 2.1);
    expect(musicAlone - musicUnderVoice).toBeGreaterThan(4);
    expect(await bandLevelDb(file, 1000, 1.5, 2.1)).toBeGreaterThan(musicUnderVoice);
  });

  async function readEvents(response: Response) {
    return (await response.text())
      .split('\n\n')
      .filter((block) => block.includes('data:'))
      .map((block) => ({
        id: /^id: (.+)$/m.exec(block)?.[1],
        event: /^event: (.+)$/m.exec(block)?.[1],
        status: (JSON.parse(/^data: (.+)$/m.exec(block)![1]) as { status: string }).status,
      }));
  }

  it('client-chosen render id: replay, 409 on another body; SSE ids resume with Last-Event-ID, one final event', async () => {
    const blue = await h.upload(files.blue);
    const id = randomUUID();
    const spec = {
      id,
      output: { width: 160, height: 90, fps: 10 },
      clips: [{ type: 'image', src: blue.src, duration: 1 }],
    };
    const first = await h.createRender(spec);
    expect(first.status).toBe(202);
    expect(((await first.json()) as { id: string }).id).toBe(id);
    const again = await h.createRender(spec);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await h.createRender({ ...spec, output: { ...spec.output, fps: 12 } });
    expect(other.status).toBe(409);
    expect(((await other.json()) as { id: string }).id).toBe(id);
    const keyed = await h.createRender({ ...spec, id: randomUUID() }, { 'idempotency-key': `k-${id}` });
    expect(keyed.status).toBe(202);
    const keyReused = await h.createRender({ ...spec, id: undefined }, { 'idempotency-key': `k-${id}` });
    expect(keyReused.status).toBe(409);

    await h.waitForStatus(id, ['completed']);
    const all = await readEvents(await h.api(`/renders/${id}/events`));
    expect(all.every((e) => e.id)).toBe(true);
    expect(all.filter((e) => e.status === 'completed')).toHaveLength(1);
    expect(all.at(-1)!.status).toBe('completed');

    // A client that saw only `queued` (id 0-0-0) resumes with the later states, the final one
    // once; after the final one it gets 204 (EventSource stops reconnecting).
    const resumed = await readEvents(
      await h.api(`/renders/${id}/events`, { headers: { 'last-event-id': '0-0-0' } }),
    );
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.map((e) => e.status)).not.toContain('queued');
    expect(resumed.filter((e) => e.status === 'completed')).toHaveLength(1);
    const finalId = resumed.at(-1)!.id!;
    const afterFinal = await h.api(`/renders/${id}/events`, { headers: { 'last-event-id': finalId } });
    expect(afterFinal.status).toBe(204);
  });

  it('captions per language: soft SRT/WebVTT tracks with language tags, one burned in; bad files are 400', async () => {
    const blue = await h.upload(files.blue);
    const srt =
      '1\n00:00:00,200 --> 00:00:01,500\nMuraho!\n\n2\n00:00:01,500 --> 00:00:02,000\nIgiciro gishya\n';
    const vtt =
      'WEBVTT\n\nNOTE made by hand\n\nintro\n00:00.200 --> 00:01.500 line:80%\n<b>Hello</b> there\n';
    const burned = 'WEBVTT\n\n00:00.000 --> 00:02.000\nBONJOUR\n';
    const { file } = await renderToFile(
      {
        output: { width: 320, height: 180, fps: 10 },
        clips: [{ type: 'image', src: blue.src, duration: 2 }],
        subtitles: [
          { language: 'rw', format: 'srt', content: srt },
          { language: 'en', format: 'vtt', content: vtt },
          { language: 'fr', format: 'vtt', content: burned, mode: 'burn' },
        ],
      },
      'subtitles.mp4',
    );
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
    const streams = (
      JSON.parse(stdout) as {
        streams: { codec_type: string; codec_name: string; tags?: { language?: string } }[];
      }
    ).streams;
    const subtitles = streams.filter((s) => s.codec_type === 'subtitle');
    expect(subtitles.map((s) => [s.codec_name, s.tags?.language])).toEqual([
      ['mov_text', 'kin'],
      ['mov_text', 'eng'],
    ]);
    // The French track is in the picture: white text on blue, in the bottom of the 16:9 safe zone.
    const frame = await grabFrame(file, 1, 320, 180);
    let white = 0;
    for (let y = Math.round(180 * 0.6); y < Math.round(180 * 0.95); y++) {
      for (let x = 0; x < 320; x++) {
        const [r, g, b] = frame.pixel(x, y);
        if (r > 200 && g > 200 && b > 200) white++;
      }
    }
    expect(white).toBeGreaterThan(30);
    let whiteAbove = 0;
    for (let y = 0; y < 60; y++) for (let x = 0; x < 320; x++) if (frame.pixel(x, y)[0] > 200) whiteAbove++;
    expect(whiteAbove).toBe(0);

    const bad = await h.createRender({
      output: { width: 320, height: 180 },
      clips: [{ type: 'image', src: blue.src, duration: 1 }],
      subtitles: [
        { language: 'en', format: 'vtt', content: '1\n00:00:00,000 --> 00:00:01,000\nno header\n' },
      ],
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: 'body.subtitles.0.content', message: expect.stringMatching(/WEBVTT/) },
    ]);
  });

  it('several outputs from one run: 9:16 and 16:9 with the overlay in each safe zone, poster, thumbnail sprite', async () => {
    const [red, logo] = await Promise.all([h.upload(files.red), h.upload(files.logo)]);
    const spec = {
      output: { width: 180, height: 320, fps: 10 },
      renditions: [{ name: 'wide', width: 320, height: 180 }],
      thumbnails: { everyS: 0.5, width: 40, columns: 4 },
      clips: [{ type: 'image', src: red.src, duration: 2 }],
      overlays: [{ type: 'image', src: logo.src, x: 0.1, y: 0.3, width: 0.3 }],
    };
    const response = await h.createRender(spec);
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed'], 60_000);
    expect(done.error).toBeNull();
    const save = async (url: string, name: string) => {
      const answer = await fetch(url);
      expect(answer.status).toBe(200);
      const file = join(h.dataDir, name);
      await writeFile(file, Buffer.from(await answer.arrayBuffer()));
      return file;
    };
    expect(done.output!.renditions).toEqual([
      expect.objectContaining({ name: 'wide', width: 320, height: 180, sizeBytes: expect.any(Number) }),
    ]);
    const tall = await save(done.output!.url, 'tall.mp4');
    const wide = await save(done.output!.renditions[0].url, 'wide.mp4');
    const sprite = await save(done.output!.sprite!.url, 'sprite.jpg');
    for (const [file, w, hgt] of [
      [tall, 180, 320],
      [wide, 320, 180],
    ] as const) {
      const probe = await tools.probe(file, { demuxer: 'mov' });
      const video = probe.streams.find((s) => s.codecType === 'video')!;
      expect([video.codecName, video.width, video.height]).toEqual(['h264', w, hgt]);
      expect(probe.streams.some((s) => s.codecName === 'aac')).toBe(true);
      expect(probe.durationS!).toBeCloseTo(2, 0);
      // The logo at (0.1, 0.3), 0.3 of the width, square: its centre is green in both.
      const side = 0.3 * w;
      const [r, g] = (await grabFrame(file, 1, w, hgt)).pixel(0.1 * w + side / 2, 0.3 * hgt + side / 2);
      expect(g).toBeGreaterThan(200);
      expect(r).toBeLessThan(60);
    }
    // 2 s every 0.5 s: 4 tiles of 40 px wide (72 px high for 9:16), one row.
    expect(done.output!.sprite).toMatchObject({ columns: 4, rows: 1, tileWidth: 40, everyS: 0.5 });
    const sheet = (await tools.probe(sprite, { demuxer: 'image2' })).streams[0];
    expect([sheet.codecName, sheet.width, sheet.height]).toEqual(['mjpeg', 160, 72]);
    expect((await h.api(`/renders/${id}/renditions/nope`)).status).toBe(404);

    // Fine at 16:9, but the 9:16 rendition's top margin is larger: refused, naming the overlay.
    const refused = await h.createRender({
      output: { width: 320, height: 180 },
      renditions: [{ name: 'story', width: 180, height: 320 }],
      clips: [{ type: 'image', src: red.src, duration: 1 }],
      overlays: [{ type: 'text', text: 'SALE', x: 0.3, y: 0.07 }],
    });
    expect(refused.status).toBe(400);
    const problem = (await refused.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: 'body.overlays.0', message: expect.stringMatching(/9:16.*180x320.*top/) },
    ]);
  });

  it('brand look: an uploaded .cube LUT grades the footage (red becomes blue), not the overlays', async () => {
    // Size 2, red fastest: each entry (r, g, b) maps to (b, g, r), a red/blue swap.
    const rows: string[] = [];
    for (const b of [0, 1]) for (const g of [0, 1]) for (const r of [0, 1]) rows.push(`${b} ${g} ${r}`);
    const upload = await h.api('/luts', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `TITLE "swap"\n# red <-> blue\nLUT_3D_SIZE 2\n${rows.join('\n')}\n`,
    });
    expect(upload.status).toBe(201);
    const lut = (await upload.json()) as { src: string; size: number };
    expect(lut.size).toBe(2);
    const bad = await h.api('/luts', { method: 'POST', body: 'LUT_3D_SIZE 2\n0 0 0\n' });
    expect(bad.status).toBe(422);

    const [red, logo] = await Promise.all([h.upload(files.red), h.upload(files.logo)]);
    const { file } = await renderToFile(
      {
        output: { width: 160, height: 90, fps: 10 },
        clips: [{ type: 'image', src: red.src, duration: 1 }],
        look: { lut: lut.src },
        overlays: [{ type: 'image', src: logo.src, x: 0.1, y: 0.1, width: 0.2 }],
      },
      'look.mp4',
    );
    const frame = await grabFrame(file, 0.5, 160, 90);
    const graded = frame.pixel(120, 60);
    expect(graded[2]).toBeGreaterThan(200);
    expect(graded[0]).toBeLessThan(60);
    const logoPixel = frame.pixel(32, 18);
    expect(logoPixel[1]).toBeGreaterThan(200);

    const missing = await h.createRender({
      output: { width: 160, height: 90 },
      clips: [{ type: 'image', src: red.src, duration: 1 }],
      look: { lut: 'lut:5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10' },
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: { field: string }[] }).errors[0].field).toBe('body.look.lut');
  });
});
