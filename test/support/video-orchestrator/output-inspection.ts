import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One frame at `atS` as raw RGB, and the colour of a pixel in it. */
export async function grabFrame(file: string, atS: number, width: number, height: number) {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      String(atS),
      '-i',
      file,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const frame = stdout as Buffer;
  if (frame.length !== width * height * 3) throw new Error(`frame of ${frame.length} bytes`);
  return {
    pixel(x: number, y: number): [number, number, number] {
      const i = (Math.round(y) * width + Math.round(x)) * 3;
      return [frame[i], frame[i + 1], frame[i + 2]];
    },
  };
}

/** Integrated loudness (EBU R128) of a file's audio, LUFS. */
export async function integratedLoudness(file: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-nostats',
    '-i',
    file,
    '-af',
    'ebur128',
    '-f',
    'null',
    '-',
  ]);
  const match = /Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+) LUFS/.exec(stderr);
  if (!match) throw new Error('no loudness in ebur128 output');
  return Number(match[1]);
}

/** RMS level (dB) of one frequency band of a file's audio between two times. */
export async function bandLevelDb(file: string, hz: number, fromS: number, toS: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-nostats',
    '-ss',
    String(fromS),
    '-t',
    String(toS - fromS),
    '-i',
    file,
    '-af',
    `bandpass=f=${hz}:width_type=q:w=4,astats=measure_perchannel=none:measure_overall=RMS_level`,
    '-f',
    'null',
    '-',
  ]);
  const match = /RMS level dB:\s*(-?[\d.]+|-inf)/.exec(stderr);
  if (!match) throw new Error('no RMS level in astats output');
  return match[1] === '-inf' ? Number.NEGATIVE_INFINITY : Number(match[1]);
}
