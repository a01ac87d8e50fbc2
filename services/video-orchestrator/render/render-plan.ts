import { demuxerForFile } from '../inputs/asset-sniff.ts';
import { RenderFailure } from '../render-failure.ts';
import type { RenderSpec } from '../schemas.ts';
import { type FfmpegCommandSpec, type FfmpegInput, pinnedInputOptions } from './ffmpeg.ts';
import type { MediaInfo } from './probe.ts';

/** An input already in the job's workspace under a name we chose (`clip-0.jpg`), and its probe. */
export interface PlannedInput {
  file: string;
  info: MediaInfo;
}

export type X264Preset = 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium';

export interface EncoderSettings {
  threads: number;
  preset: X264Preset;
  crf: number;
  audioBitrateK: number;
}

export interface RenderPlanInput {
  spec: RenderSpec;
  clips: PlannedInput[];
  audio?: PlannedInput;
  maxDurationS: number;
  encoder: EncoderSettings;
  /** Absolute path of the caption font (config, checked at start). */
  fontFile: string;
}

export interface RenderPlan {
  /** One ffmpeg run writing the video and its poster frame (no second decode, no second process). */
  command: FfmpegCommandSpec;
  durationS: number;
  /** Caption texts, written by the job into the workspace before ffmpeg runs (drawtext textfile=). */
  textFiles: { name: string; content: string }[];
  outputFile: string;
  posterFile: string;
}

export const OUTPUT_FILE = 'output.mp4';
export const POSTER_FILE = 'poster.jpg';
const SAMPLE_RATE = 44_100;

// Paths that may appear inside a filter graph: no quote, colon, comma, bracket, semicolon or
// backslash can occur, so nothing needs escaping and nothing can break out of an option value.
const FILTER_SAFE_PATH = /^\/?[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

export function assertFilterSafePath(path: string): void {
  if (!FILTER_SAFE_PATH.test(path) || path.includes('..')) {
    throw new Error(`path not usable in an ffmpeg filter graph: ${path}`);
  }
}

/** Numbers in the graph are validated finite values, printed plainly (never in exponent form). */
function n(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`non-finite number in render plan: ${value}`);
  return String(Number(value.toFixed(4)));
}

function fitToFrame(w: number, h: number): string {
  return `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1`;
}

/** Greedy word wrap (drawtext does not wrap); over-long words are split. */
export function wrapCaption(text: string, maxChars: number): string {
  const width = Math.max(4, maxChars);
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      let rest = word;
      while (rest.length > width) {
        if (line) {
          out.push(line);
          line = '';
        }
        out.push(rest.slice(0, width));
        rest = rest.slice(width);
      }
      if (!line) line = rest;
      else if (line.length + 1 + rest.length <= width) line = `${line} ${rest}`;
      else {
        out.push(line);
        line = rest;
      }
    }
    out.push(line);
  }
  return out.join('\n').trim();
}

/** Seconds each clip contributes: an image's duration, a video's trimmed (and probed) length. */
export function clipDurations(spec: RenderSpec, clips: PlannedInput[]): number[] {
  return spec.clips.map((clip, i) => {
    if (clip.type === 'image') return clip.duration;
    const available = clips[i].info.durationS ?? 0;
    const start = clip.trim?.start ?? 0;
    if (start >= available) {
      throw new RenderFailure(
        'invalid_input',
        `clips.${i}: trim.start ${start}s is past the video's end (${available}s)`,
        {
          retryable: false,
        },
      );
    }
    const end = Math.min(clip.trim?.end ?? available, available);
    return Math.round((end - start) * 1000) / 1000;
  });
}

/**
 * Turns a validated spec plus probed local inputs into ffmpeg commands. Pure: the filter graph is
 * assembled only from numbers, enums, our own file names and the configured font path; caption
 * text goes to files read with `textfile=` and `expansion=none`, so no user string is ever parsed
 * by ffmpeg's filter or expansion syntax.
 */
export function buildRenderPlan(input: RenderPlanInput): RenderPlan {
  const { spec, encoder } = input;
  const { width: W, height: H, fps } = spec.output;
  assertFilterSafePath(input.fontFile);
  const durations = clipDurations(spec, input.clips);
  const totalS = Math.round(durations.reduce((a, b) => a + b, 0) * 1000) / 1000;
  if (totalS > input.maxDurationS) {
    throw new RenderFailure(
      'invalid_input',
      `output would last ${totalS}s, over the ${input.maxDurationS}s limit`,
      {
        retryable: false,
      },
    );
  }
  if (totalS < 1 / fps)
    throw new RenderFailure('invalid_input', 'output would be empty', { retryable: false });

  const inputs: FfmpegInput[] = [];
  const graph: string[] = [];
  // Each input is read by the demuxer of its sniffed type (named by its extension), nothing else.
  const pinned = (file: string) => {
    const demuxer = demuxerForFile(file);
    if (!demuxer) throw new Error(`input without a type we accept: ${file}`);
    return pinnedInputOptions(demuxer);
  };

  spec.clips.forEach((clip, i) => {
    const file = input.clips[i].file;
    assertFilterSafePath(file);
    const d = durations[i];
    const frames = Math.max(1, Math.round(d * fps));
    const index = inputs.length;
    const tail = `format=yuv420p,trim=duration=${n(d)},setpts=PTS-STARTPTS[v${i}]`;
    if (clip.type === 'image' && clip.effect === 'zoom-in') {
      // One decoded frame; zoompan emits `frames` frames from it (looping the input would multiply them).
      inputs.push({ path: file, options: [...pinned(file), '-framerate', '1'] });
      const step = n(0.2 / frames);
      graph.push(
        `[${index}:v]${fitToFrame(W, H)},zoompan=z='min(1+${step}*on,1.2)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'` +
          `:d=${frames}:s=${W}x${H}:fps=${fps},setsar=1,${tail}`,
      );
    } else if (clip.type === 'image') {
      inputs.push({
        path: file,
        options: [...pinned(file), '-loop', '1', '-framerate', String(fps), '-t', n(d)],
      });
      graph.push(`[${index}:v]${fitToFrame(W, H)},fps=${fps},${tail}`);
    } else {
      const start = clip.trim?.start ?? 0;
      inputs.push({
        path: file,
        options: [...pinned(file), ...(start > 0 ? ['-ss', n(start)] : []), '-t', n(d)],
      });
      graph.push(`[${index}:v]${fitToFrame(W, H)},fps=${fps},${tail}`);
    }
  });

  const labels = spec.clips.map((_, i) => `[v${i}]`).join('');
  let videoOut = 'vcat';
  graph.push(`${labels}concat=n=${spec.clips.length}:v=1:a=0[${videoOut}]`);

  const textFiles: RenderPlan['textFiles'] = [];
  const captions = spec.captions ?? [];
  if (captions.length > 0) {
    const fontSize = Math.max(10, Math.round(H / 16));
    const border = Math.max(1, Math.round(fontSize / 12));
    const maxChars = Math.floor((W * 0.9) / (fontSize * 0.6));
    const y = { top: 'h*0.06', center: '(h-text_h)/2', bottom: 'h-text_h-h*0.08' } as const;
    const draws = captions.map((caption, i) => {
      const name = `caption-${i}.txt`;
      textFiles.push({ name, content: wrapCaption(caption.text, maxChars) });
      return (
        `drawtext=fontfile=${input.fontFile}:textfile=${name}:expansion=none:fontsize=${fontSize}` +
        `:fontcolor=white:borderw=${border}:bordercolor=black:x=(w-text_w)/2:y=${y[caption.position]}` +
        `:enable='between(t,${n(caption.start)},${n(caption.end)})'`
      );
    });
    graph.push(`[${videoOut}]${draws.join(',')}[vcap]`);
    videoOut = 'vcap';
  }

  if (spec.audio && input.audio) {
    assertFilterSafePath(input.audio.file);
    const index = inputs.length;
    inputs.push({ path: input.audio.file, options: [...pinned(input.audio.file), '-t', n(totalS)] });
    const fade = Math.min(spec.audio.fadeOut, totalS);
    graph.push(
      `[${index}:a]aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,volume=${n(spec.audio.volume)},` +
        `apad,atrim=duration=${n(totalS)},asetpts=PTS-STARTPTS` +
        (fade > 0 ? `,afade=t=out:st=${n(totalS - fade)}:d=${n(fade)}` : '') +
        '[aout]',
    );
  } else {
    // Players and WhatsApp expect a soundtrack; silence keeps the output shape constant.
    graph.push(`anullsrc=channel_layout=stereo:sample_rate=${SAMPLE_RATE},atrim=duration=${n(totalS)}[aout]`);
  }

  // The poster is a frame of the finished picture (captions included) about a second in, chosen
  // by frame number so it exists however short the video is.
  const totalFrames = Math.max(1, Math.round(totalS * fps));
  const posterFrame = Math.min(totalFrames - 1, Math.floor(Math.min(1, totalS / 3) * fps));
  graph.push(`[${videoOut}]split=2[vmain][vsplit]`);
  graph.push(`[vsplit]select='gte(n,${posterFrame})',setpts=PTS-STARTPTS[vposter]`);

  const threads = String(Math.max(1, encoder.threads));
  const command: FfmpegCommandSpec = {
    inputs,
    filterGraph: graph.join(';'),
    outputs: [
      {
        path: OUTPUT_FILE,
        options: [
          '-map',
          '[vmain]',
          '-map',
          '[aout]',
          '-c:v',
          'libx264',
          '-preset',
          encoder.preset,
          '-crf',
          String(encoder.crf),
          '-pix_fmt',
          'yuv420p',
          '-r',
          String(fps),
          '-g',
          String(fps * 2),
          '-c:a',
          'aac',
          '-b:a',
          `${encoder.audioBitrateK}k`,
          '-ar',
          String(SAMPLE_RATE),
          '-ac',
          '2',
          '-threads',
          threads,
          '-filter_complex_threads',
          threads,
          '-t',
          n(totalS),
          '-map_metadata',
          '-1',
          '-map_chapters',
          '-1',
          '-movflags',
          '+faststart',
          '-f',
          'mp4',
        ],
      },
      {
        path: POSTER_FILE,
        options: ['-map', '[vposter]', '-frames:v', '1', '-q:v', '3', '-f', 'image2', '-update', '1'],
      },
    ],
  };
  return { command, durationS: totalS, textFiles, outputFile: OUTPUT_FILE, posterFile: POSTER_FILE };
}
