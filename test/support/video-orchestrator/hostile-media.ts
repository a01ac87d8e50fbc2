import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostileMedia {
  /** A real 7.5 s MPEG-TS audio file the playlists point at: what must never be read. */
  canary: string;
  /**
   * Sniffs as MP3 (file-type reads an ID3 tag, then an MPEG frame header), while ffmpeg's own
   * detection skips 10 more bytes (the tag's footer flag) and finds an HLS playlist with a `file:` entry.
   */
  disguisedPlaylist: string;
  /** A plain HLS playlist whose segment is a `file:` URL. */
  m3u8: string;
  /** An ffconcat list naming the canary. */
  ffconcat: string;
  /** The canary's duration: seen in any reading means the canary was read. */
  canaryDurationS: number;
}

const CANARY_DURATION_S = 7.5;

export async function createHostileMedia(dir: string): Promise<HostileMedia> {
  await mkdir(dir, { recursive: true });
  const canary = join(dir, 'canary.ts');
  await run('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...[
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:duration=${CANARY_DURATION_S}`,
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      canary,
    ],
  ]);
  const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXTINF:${CANARY_DURATION_S},\nfile:${canary}\n#EXT-X-ENDLIST\n`;
  // ID3v2.4 header with the footer flag (0x10) and size 0, then 10 bytes starting an MPEG audio frame.
  const id3WithFooterFlag = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00]);
  const mpegFrameStart = Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0]);
  const disguisedPlaylist = join(dir, 'song.mp3');
  await writeFile(
    disguisedPlaylist,
    Buffer.concat([id3WithFooterFlag, mpegFrameStart, Buffer.from(playlist)]),
  );
  const m3u8 = join(dir, 'list.m3u8');
  await writeFile(m3u8, playlist);
  const ffconcat = join(dir, 'list.ffconcat');
  await writeFile(ffconcat, `ffconcat version 1.0\nfile ${canary}\nduration ${CANARY_DURATION_S}\n`);
  return { canary, disguisedPlaylist, m3u8, ffconcat, canaryDurationS: CANARY_DURATION_S };
}

/** ffprobe as ffmpeg would read the file on its own guess (files only): the threat, for a control. */
export async function unpinnedFormat(path: string): Promise<{ format: string; durationS: number }> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-protocol_whitelist', 'file', '-show_entries', 'format=format_name,duration'],
    ...['-of', 'json', path],
  ]);
  const format = (JSON.parse(stdout) as { format: { format_name: string; duration: string } }).format;
  return { format: format.format_name, durationS: Number(format.duration) };
}
