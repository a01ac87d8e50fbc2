import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MediaFixtures {
  dir: string;
  jpg: string;
  png: string;
  webp: string;
  /** 2 s, 160x120, H.264 + AAC. */
  mp4: string;
  /** 2 s, 160x120, video only. */
  mp4Silent: string;
  /** 3 s sine. */
  mp3: string;
  wav: string;
  /** Starts like an MP4 (`ftyp`), so it passes sniffing, but ffprobe cannot read it. */
  corruptMp4: string;
  /** Plain text: sniffing refuses it. */
  text: string;
}

async function ffmpeg(args: string[]) {
  await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/**
 * Test media made at test time from ffmpeg's lavfi sources (no binary fixtures in the repo),
 * tiny so the two CI cores stay free.
 */
export async function createMediaFixtures(dir: string): Promise<MediaFixtures> {
  await mkdir(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  await Promise.all([
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=1', '-frames:v', '1', f('image.jpg')]),
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=200x300:rate=1', '-frames:v', '1', f('image.png')]),
    ffmpeg(['-f', 'lavfi', '-i', 'smptebars=size=240x160:rate=1', '-frames:v', '1', f('image.webp')]),
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=15',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      f('clip.mp4'),
    ]),
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=15',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      f('silent.mp4'),
    ]),
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=44100', '-t', '3', f('music.mp3')]),
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=22050', '-t', '1', f('tone.wav')]),
  ]);
  const valid = await readFile(f('clip.mp4'));
  // The `ftyp` box survives, the rest is noise: sniffs as MP4, probes as nothing.
  const corrupt = Buffer.concat([valid.subarray(0, 32), Buffer.alloc(4096, 0x5a)]);
  await writeFile(f('corrupt.mp4'), corrupt);
  await writeFile(f('notes.txt'), 'just some text, not media\n');
  return {
    dir,
    jpg: f('image.jpg'),
    png: f('image.png'),
    webp: f('image.webp'),
    mp4: f('clip.mp4'),
    mp4Silent: f('silent.mp4'),
    mp3: f('music.mp3'),
    wav: f('tone.wav'),
    corruptMp4: f('corrupt.mp4'),
    text: f('notes.txt'),
  };
}
