import { type AssetKind, demuxerForFile } from '../inputs/asset-sniff.ts';
import { RenderFailure } from '../render-failure.ts';
import { type MediaTools, ProbeError, type ProbeResult } from './ffmpeg.ts';

/** What the render plan needs to know about one input, established by ffprobe, not by its name. */
export interface MediaInfo {
  kind: AssetKind;
  /** null for a still image. */
  durationS: number | null;
  width?: number;
  height?: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

export interface OutputInfo {
  durationS: number;
  sizeBytes: number;
  width: number;
  height: number;
  videoCodec: string;
  audioCodec: string;
}

/**
 * Decoding a 100-megapixel "image" is a memory bomb, not a product photo. The default of
 * RENDER_MAX_INPUT_PIXELS.
 */
export const DEFAULT_MAX_INPUT_PIXELS = 40_000_000;
const MAX_INPUT_SIDE = 16_384;

function invalid(label: string, message: string): RenderFailure {
  return new RenderFailure('invalid_input', `${label}: ${message}`, { retryable: false });
}

/**
 * ffprobe of one input, read by the demuxer its sniffed type pins (by the extension we named it with);
 * a file ffprobe cannot read that way fails the render without retry.
 */
export async function readMedia(
  tools: MediaTools,
  path: string,
  label: string,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const demuxer = demuxerForFile(path);
  if (!demuxer) throw invalid(label, 'not a file of a type we accept');
  try {
    return await tools.probe(path, { demuxer, signal });
  } catch (error) {
    if (error instanceof ProbeError && error.kind === 'unreadable') {
      throw invalid(label, `not a readable media file (${error.message})`);
    }
    throw new RenderFailure('render_failed', `${label}: ffprobe failed: ${(error as Error).message}`, {
      retryable: true,
      cause: error,
    });
  }
}

/**
 * Probes a downloaded input and checks it is what the spec says it is. A corrupt or non-media
 * file fails the job here, before ffmpeg, and is not retried.
 */
export async function probeInput(
  tools: MediaTools,
  path: string,
  expected: AssetKind,
  label: string,
  signal?: AbortSignal,
  maxPixels = DEFAULT_MAX_INPUT_PIXELS,
): Promise<MediaInfo> {
  return mediaInfoFor(await readMedia(tools, path, label, signal), expected, label, maxPixels);
}

/**
 * Checks a probe result against the role the spec gives the input (an image for an image clip,
 * a picture for a video clip, an audio stream for the soundtrack) and keeps what the plan needs.
 */
export function mediaInfoFor(
  result: ProbeResult,
  expected: AssetKind,
  label: string,
  maxPixels = DEFAULT_MAX_INPUT_PIXELS,
): MediaInfo {
  const video = result.streams.find((s) => s.codecType === 'video');
  const audio = result.streams.find((s) => s.codecType === 'audio');
  if (!video && !audio) throw invalid(label, 'no audio or video stream');
  const width = video?.width;
  const height = video?.height;
  if (video) {
    if (!width || !height) throw invalid(label, 'video stream without dimensions');
    if (width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE || width * height > maxPixels) {
      throw invalid(
        label,
        `${width}x${height} is larger than inputs may be (RENDER_MAX_INPUT_PIXELS ${maxPixels}, at most ${MAX_INPUT_SIDE} per side)`,
      );
    }
  }
  const durationS = result.durationS ?? video?.durationS ?? audio?.durationS ?? null;
  if (expected === 'image') {
    if (!video) throw invalid(label, 'expected an image');
    return { kind: 'image', durationS: null, width, height, hasAudio: false, hasVideo: true };
  }
  if (expected === 'video') {
    if (!video) throw invalid(label, 'expected a video with a picture');
    if (!durationS || durationS <= 0) throw invalid(label, 'video has no duration');
    return { kind: 'video', durationS, width, height, hasAudio: !!audio, hasVideo: true };
  }
  if (!audio) throw invalid(label, 'expected audio');
  if (!durationS || durationS <= 0) throw invalid(label, 'audio has no duration');
  return { kind: 'audio', durationS, hasAudio: true, hasVideo: !!video };
}

/** A frame plus AAC's priming padding, or 2 %: how far an output's duration may be from the plan's. */
function durationTolerance(expected: { durationS: number; fps: number }): number {
  return Math.max(0.1 + 1 / expected.fps, expected.durationS * 0.02);
}

/**
 * The output as ffmpeg's own run proves it, without a second ffprobe pass: it exited 0, its final
 * stats line says how many seconds it wrote, and the file is there. Size and codecs are ours: the
 * plan scales every picture to the frame and names the encoders.
 */
export function checkEncodedOutput(
  expected: { durationS: number; width: number; height: number; fps: number },
  run: { encodedS: number | null; sizeBytes: number },
): OutputInfo {
  const problems: string[] = [];
  if (run.sizeBytes <= 0) problems.push('empty file');
  if (run.encodedS === null) problems.push('ffmpeg reported no encoded time');
  else if (Math.abs(run.encodedS - expected.durationS) > durationTolerance(expected)) {
    problems.push(`duration ${run.encodedS.toFixed(3)}s instead of ${expected.durationS.toFixed(3)}s`);
  }
  if (problems.length > 0) {
    throw new RenderFailure('output_check_failed', `output check failed: ${problems.join(', ')}`, {
      retryable: false,
    });
  }
  return {
    durationS: run.encodedS!,
    sizeBytes: run.sizeBytes,
    width: expected.width,
    height: expected.height,
    videoCodec: 'h264',
    audioCodec: 'aac',
  };
}

/**
 * An independent check of a file with ffprobe: H.264 + AAC, the size asked for, and a duration
 * within tolerance of the plan (one frame plus AAC's priming padding, or 2 %).
 */
export async function verifyOutput(
  tools: MediaTools,
  path: string,
  expected: { durationS: number; width: number; height: number; fps: number },
  signal?: AbortSignal,
): Promise<OutputInfo> {
  let result: ProbeResult;
  try {
    result = await tools.probe(path, { demuxer: 'mov', signal });
  } catch (error) {
    throw new RenderFailure('output_check_failed', `output is not readable: ${(error as Error).message}`, {
      retryable: false,
      cause: error,
    });
  }
  const video = result.streams.find((s) => s.codecType === 'video');
  const audio = result.streams.find((s) => s.codecType === 'audio');
  const problems: string[] = [];
  if (!/mp4/.test(result.formatName)) problems.push(`container ${result.formatName}`);
  if (video?.codecName !== 'h264') problems.push(`video codec ${video?.codecName ?? 'missing'}`);
  if (audio?.codecName !== 'aac') problems.push(`audio codec ${audio?.codecName ?? 'missing'}`);
  if (video && (video.width !== expected.width || video.height !== expected.height)) {
    problems.push(`size ${video.width}x${video.height}`);
  }
  const durationS = result.durationS ?? 0;
  const tolerance = durationTolerance(expected);
  if (Math.abs(durationS - expected.durationS) > tolerance) {
    problems.push(`duration ${durationS.toFixed(3)}s instead of ${expected.durationS.toFixed(3)}s`);
  }
  if (problems.length > 0) {
    throw new RenderFailure('output_check_failed', `output check failed: ${problems.join(', ')}`, {
      retryable: false,
    });
  }
  return {
    durationS,
    sizeBytes: result.sizeBytes ?? 0,
    width: video!.width!,
    height: video!.height!,
    videoCodec: 'h264',
    audioCodec: 'aac',
  };
}
