import { demuxerForFile } from '../inputs/asset-sniff.ts';
import { RenderFailure } from '../render-failure.ts';
import type { RenderSpec } from '../schemas.ts';
import { safeZoneFor, safeZoneViolation } from '../timeline/safe-zones.ts';
import { mp4Language, parseSubtitles, toSrt } from '../timeline/subtitle-cues.ts';
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
  voiceOver?: PlannedInput;
  /** Aligned with `spec.overlays`: the image of an image overlay, null for a text overlay. */
  overlays?: (PlannedInput | null)[];
  /** Aligned with `spec.tracks[t].clips[k]`. */
  tracks?: PlannedInput[][];
  maxDurationS: number;
  encoder: EncoderSettings;
  /** Absolute path of the caption font (config, checked at start). */
  fontFile: string;
  /** The brand-look LUT in the workspace (`look.cube`, written by us), when the spec has a look. */
  lutFile?: string;
}

export interface RenderPlan {
  /** One ffmpeg run writing the video and its poster frame (no second decode, no second process). */
  command: FfmpegCommandSpec;
  durationS: number;
  /** Caption texts, written by the job into the workspace before ffmpeg runs (drawtext textfile=). */
  textFiles: { name: string; content: string }[];
  outputFile: string;
  posterFile: string;
  /** Extra sizes of the same video (`spec.renditions`), written by the same run. */
  renditions: { name: string; file: string; width: number; height: number }[];
  /** The thumbnail sprite (`spec.thumbnails`): one JPEG of tiles, every `everyS` seconds. */
  sprite: { file: string; columns: number; rows: number; tileWidth: number; everyS: number } | null;
}

export const OUTPUT_FILE = 'output.mp4';
export const POSTER_FILE = 'poster.jpg';
export const SPRITE_FILE = 'sprite.jpg';
const SAMPLE_RATE = 44_100;
/** Social platforms normalise to about −14 LUFS; we deliver there so they leave the mix alone. */
export const TARGET_LUFS = -14;

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
    return Math.round(((end - start) / (clip.speed ?? 1)) * 1000) / 1000;
  });
}

/** A track clip as shown: from `startS` for `shownS` seconds of output. */
export interface TrackClipTiming {
  clip: number;
  startS: number;
  shownS: number;
}

/**
 * When each track clip is on screen: its length (an image's duration, a video's trimmed and probed
 * length at its speed), cut where the next clip of its track starts and at the output's end. A clip
 * that starts after the end is not shown.
 */
export function trackClipTimings(
  spec: RenderSpec,
  tracks: PlannedInput[][],
  totalS: number,
): TrackClipTiming[][] {
  return (spec.tracks ?? []).map((track, t) =>
    track.clips.flatMap((clip, k) => {
      let lengthS: number;
      if (clip.type === 'image') lengthS = clip.duration;
      else {
        const available = tracks[t]?.[k]?.info.durationS ?? 0;
        const start = clip.trim?.start ?? 0;
        if (start >= available) {
          throw new RenderFailure(
            'invalid_input',
            `tracks.${t}.clips.${k}: trim.start ${start}s is past the video's end (${available}s)`,
            { retryable: false },
          );
        }
        lengthS = (Math.min(clip.trim?.end ?? available, available) - start) / (clip.speed ?? 1);
      }
      const endS = Math.min(clip.start + lengthS, track.clips[k + 1]?.start ?? totalS, totalS);
      const shownS = Math.round((endS - clip.start) * 1000) / 1000;
      return shownS > 0 ? [{ clip: k, startS: clip.start, shownS }] : [];
    }),
  );
}

/** A size in pixels from a fraction of the frame, even (H.264 4:2:0 and centring). */
function evenPx(fraction: number, size: number): number {
  return Math.max(2, Math.round((fraction * size) / 2) * 2);
}

/** Seconds the clips overlap in transitions (each one shortens the output by its duration). */
function transitionOverlapS(spec: RenderSpec, durations: number[]): number {
  let total = 0;
  spec.clips.forEach((clip, i) => {
    if (!clip.transition || i === spec.clips.length - 1) return;
    const shortest = Math.min(durations[i], durations[i + 1]);
    if (clip.transition.duration >= shortest) {
      throw new RenderFailure(
        'invalid_input',
        `clips.${i}.transition.duration: must be shorter than the clips it joins (${shortest}s)`,
        { retryable: false },
      );
    }
    total += clip.transition.duration;
  });
  return total;
}

/** zoompan expressions per image effect; `step` is the zoom added per output frame. */
function kenBurns(effect: 'zoom-in' | 'zoom-out' | 'ken-burns', frames: number): string {
  const step = n(0.2 / frames);
  const centre = `x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'`;
  if (effect === 'zoom-in') return `z='min(1+${step}*on,1.2)':${centre}`;
  if (effect === 'zoom-out') return `z='max(1.2-${step}*on,1)':${centre}`;
  // Zoom in while drifting from the left edge to the right one.
  return `z='min(1+${step}*on,1.2)':x='(iw-iw/zoom)*on/${Math.max(1, frames - 1)}':y='ih/2-(ih/zoom/2)'`;
}

/** `#rrggbb` → ffmpeg's `0xrrggbb` (validated by the schema). */
function ffColor(hex: string): string {
  if (!/^#[0-9a-fA-F]{6}$/.test(hex)) throw new Error(`bad colour in render plan: ${hex}`);
  return `0x${hex.slice(1)}`;
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
  const overlapS = transitionOverlapS(spec, durations);
  const totalS = Math.round((durations.reduce((a, b) => a + b, 0) - overlapS) * 1000) / 1000;
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

  const trackTimings = trackClipTimings(spec, input.tracks ?? [], totalS);
  const inputs: FfmpegInput[] = [];
  const graph: string[] = [];
  // Each input is read by the demuxer of its sniffed type (named by its extension), nothing else.
  const pinned = (file: string) => {
    const demuxer = demuxerForFile(file);
    if (!demuxer) throw new Error(`input without a type we accept: ${file}`);
    return pinnedInputOptions(demuxer);
  };

  const textFiles: RenderPlan['textFiles'] = [];
  const inputIndexes = new Map<string, number>();
  // Each file is one ffmpeg input however many pictures use it (ffmpeg feeds every use).
  const inputOnce = (key: string, spec: FfmpegInput): number => {
    let index = inputIndexes.get(key);
    if (index === undefined) {
      index = inputs.length;
      inputs.push(spec);
      inputIndexes.set(key, index);
    }
    return index;
  };
  const shown = (start: number, end: number | undefined) =>
    `enable='between(t,${n(start)},${n(Math.min(end ?? totalS, totalS))})'`;
  // A burned subtitle track is drawn like captions; soft tracks become MP4 subtitle streams below.
  const burned = spec.subtitles?.find((track) => track.mode === 'burn');
  const captions = [
    ...(spec.captions ?? []),
    ...(burned
      ? parseSubtitles(burned.content, burned.format).map((cue) => ({
          text: cue.text,
          start: Math.min(cue.startS, totalS),
          end: Math.min(cue.endS, totalS),
          position: 'bottom' as const,
        }))
      : []),
  ];

  /**
   * The whole picture at one size: clips fitted to W×H and joined, overlays, captions. `t` prefixes
   * its labels and text files, so several sizes share one graph and one decode of each input.
   */
  function composePicture(W: number, H: number, t: string): string {
    const zone = safeZoneFor(W, H);
    spec.clips.forEach((clip, i) => {
      const file = input.clips[i].file;
      assertFilterSafePath(file);
      const d = durations[i];
      const frames = Math.max(1, Math.round(d * fps));
      const tail = `format=yuv420p,trim=duration=${n(d)},setpts=PTS-STARTPTS[${t}v${i}]`;
      if (clip.type === 'image' && clip.effect !== 'none') {
        // One decoded frame; zoompan emits `frames` frames from it (looping the input would multiply them).
        const index = inputOnce(`clip-${i}`, {
          path: file,
          options: [...pinned(file), '-framerate', '1'],
        });
        graph.push(
          `[${index}:v]${fitToFrame(W, H)},zoompan=${kenBurns(clip.effect, frames)}` +
            `:d=${frames}:s=${W}x${H}:fps=${fps},setsar=1,${tail}`,
        );
      } else if (clip.type === 'image') {
        const index = inputOnce(`clip-${i}`, {
          path: file,
          options: [...pinned(file), '-loop', '1', '-framerate', String(fps), '-t', n(d)],
        });
        graph.push(`[${index}:v]${fitToFrame(W, H)},fps=${fps},${tail}`);
      } else {
        const start = clip.trim?.start ?? 0;
        const speed = clip.speed ?? 1;
        const index = inputOnce(`clip-${i}`, {
          path: file,
          options: [...pinned(file), ...(start > 0 ? ['-ss', n(start)] : []), '-t', n(d * speed)],
        });
        // Retimed before fps=, so a faster clip drops frames and a slower one repeats them.
        const retime = speed === 1 ? '' : `setpts=(PTS-STARTPTS)/${n(speed)},`;
        graph.push(`[${index}:v]${fitToFrame(W, H)},${retime}fps=${fps},${tail}`);
      }
    });

    let videoOut = `${t}vcat`;
    if (overlapS === 0) {
      const labels = spec.clips.map((_, i) => `[${t}v${i}]`).join('');
      graph.push(`${labels}concat=n=${spec.clips.length}:v=1:a=0[${videoOut}]`);
    } else {
      // Pairwise: xfade where the earlier clip asks for a transition (starting `duration` before the
      // joined part ends), a plain two-part concat elsewhere.
      let joined = `${t}v0`;
      let endS = durations[0];
      for (let i = 1; i < spec.clips.length; i++) {
        const transition = spec.clips[i - 1].transition;
        const label = i === spec.clips.length - 1 ? videoOut : `${t}vj${i}`;
        if (transition) {
          endS -= transition.duration;
          graph.push(
            `[${joined}][${t}v${i}]xfade=transition=${transition.type}:duration=${n(transition.duration)}` +
              `:offset=${n(endS)}[${label}]`,
          );
        } else {
          graph.push(`[${joined}][${t}v${i}]concat=n=2:v=1:a=0[${label}]`);
        }
        endS += durations[i];
        joined = label;
      }
    }

    // Tracks over the main clips (picture-in-picture): each clip fitted into its track's box (aspect
    // kept, centred), shifted to its start and shown until it is cut. Footage, so graded below.
    (spec.tracks ?? []).forEach((track, p) => {
      const boxW = evenPx(track.width, W);
      const boxH = evenPx(track.height, H);
      const x = `${Math.round(track.x * W)}+(${boxW}-w)/2`;
      const y = `${Math.round(track.y * H)}+(${boxH}-h)/2`;
      for (const { clip: k, startS, shownS } of trackTimings[p]) {
        const clip = track.clips[k];
        const file = input.tracks?.[p]?.[k]?.file;
        if (!file) throw new Error(`tracks.${p}.clips.${k}: input missing from the plan`);
        assertFilterSafePath(file);
        const speed = clip.type === 'video' ? (clip.speed ?? 1) : 1;
        const trimStart = clip.type === 'video' ? (clip.trim?.start ?? 0) : 0;
        const index = inputOnce(`track-${p}-${k}`, {
          path: file,
          options:
            clip.type === 'image'
              ? [...pinned(file), '-loop', '1', '-framerate', String(fps), '-t', n(shownS)]
              : [...pinned(file), ...(trimStart > 0 ? ['-ss', n(trimStart)] : []), '-t', n(shownS * speed)],
        });
        const retime = speed === 1 ? '' : `setpts=(PTS-STARTPTS)/${n(speed)},`;
        const alpha = track.opacity < 1 ? `format=rgba,colorchannelmixer=aa=${n(track.opacity)},` : '';
        const label = `${t}tr${p}c${k}`;
        graph.push(
          `[${index}:v]scale=${boxW}:${boxH}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,` +
            `${retime}fps=${fps},${alpha}trim=duration=${n(shownS)},setpts=PTS-STARTPTS+${n(startS)}/TB[${label}]`,
          `[${videoOut}][${label}]overlay=x=${x}:y=${y}:eof_action=pass:${shown(startS, startS + shownS)}[${label}out]`,
        );
        videoOut = `${label}out`;
      }
    });

    // The brand look grades the footage; logos and text above it keep their own colours.
    if (input.lutFile) {
      assertFilterSafePath(input.lutFile);
      graph.push(`[${videoOut}]lut3d=file=${input.lutFile}:interp=tetrahedral,format=yuv420p[${t}vlook]`);
      videoOut = `${t}vlook`;
    }

    // Overlays, in spec order (later ones on top), each shown from its start to its end.
    (spec.overlays ?? []).forEach((overlay, i) => {
      const out = `${t}vov${i}`;
      if (overlay.type === 'image') {
        const planned = input.overlays?.[i];
        if (!planned) throw new Error(`overlays.${i}: image input missing from the plan`);
        assertFilterSafePath(planned.file);
        const w = evenPx(overlay.width, W);
        const x = Math.round(overlay.x * W);
        const y = Math.round(overlay.y * H);
        let fit: string;
        let place: string;
        if (overlay.height !== undefined) {
          // Fitted inside the box the spec gave (and the schema checked): whatever the image's size.
          const h = evenPx(overlay.height, H);
          fit = `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2`;
          place = `x=${x}+(${w}-w)/2:y=${y}+(${h}-h)/2`;
        } else {
          // As tall as its aspect makes it: checked at submit from the asset's probe; again here.
          const aspect = (planned.info.height ?? 1) / (planned.info.width ?? 1);
          const refusal = safeZoneViolation([{ width: W, height: H }], () => ({
            x: overlay.x,
            y: overlay.y,
            width: overlay.width,
            height: (w * aspect) / H,
          }));
          if (refusal)
            throw new RenderFailure('invalid_input', `overlays.${i}: ${refusal}`, { retryable: false });
          fit = `scale=${w}:-2`;
          place = `x=${x}:y=${y}`;
        }
        const index = inputOnce(`overlay-${i}`, {
          path: planned.file,
          options: [...pinned(planned.file), '-loop', '1', '-framerate', String(fps), '-t', n(totalS)],
        });
        graph.push(
          `[${index}:v]${fit},format=rgba,colorchannelmixer=aa=${n(overlay.opacity)}[${t}ovimg${i}]`,
          `[${videoOut}][${t}ovimg${i}]overlay=${place}:eof_action=pass:${shown(overlay.start, overlay.end)}[${out}]`,
        );
      } else {
        const name = `${t}overlay-${i}.txt`;
        textFiles.push({ name, content: overlay.text });
        const size = Math.max(8, Math.round(overlay.fontSize * H));
        const box = overlay.box
          ? `:box=1:boxcolor=${ffColor(overlay.box.color)}@${n(overlay.box.opacity)}:boxborderw=${Math.max(1, Math.round(size / 4))}`
          : '';
        graph.push(
          `[${videoOut}]drawtext=fontfile=${input.fontFile}:textfile=${name}:expansion=none:fontsize=${size}` +
            `:fontcolor=${ffColor(overlay.color)}${box}:x=${Math.round(overlay.x * W)}:y=${Math.round(overlay.y * H)}` +
            `:${shown(overlay.start, overlay.end)}[${out}]`,
        );
      }
      videoOut = out;
    });

    if (captions.length > 0) {
      const fontSize = Math.max(10, Math.round(H / 16));
      const border = Math.max(1, Math.round(fontSize / 12));
      // Inside the aspect ratio's safe zone by construction: wrapped to its width, placed in its height.
      const maxChars = Math.floor((W * (1 - zone.left - zone.right)) / (fontSize * 0.6));
      const y = {
        top: `h*${n(zone.top)}`,
        center: '(h-text_h)/2',
        bottom: `h-text_h-h*${n(zone.bottom)}`,
      } as const;
      const x = `${Math.round(W * zone.left)}+(${Math.round(W * (1 - zone.left - zone.right))}-text_w)/2`;
      const draws = captions.map((caption, i) => {
        const name = `${t}caption-${i}.txt`;
        textFiles.push({ name, content: wrapCaption(caption.text, maxChars) });
        return (
          `drawtext=fontfile=${input.fontFile}:textfile=${name}:expansion=none:fontsize=${fontSize}` +
          `:fontcolor=white:borderw=${border}:bordercolor=black:x=${x}:y=${y[caption.position]}` +
          `:enable='between(t,${n(caption.start)},${n(caption.end)})'`
        );
      });
      graph.push(`[${videoOut}]${draws.join(',')}[${t}vcap]`);
      videoOut = `${t}vcap`;
    }
    return videoOut;
  }

  const videoOut = composePicture(W, H, '');

  const audioChain = (index: number, volume: number) =>
    `[${index}:a]aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,volume=${n(volume)}`;
  const fitAudio = `apad,atrim=duration=${n(totalS)},asetpts=PTS-STARTPTS`;
  const sounds: string[] = [];
  if (spec.audio && input.audio) {
    assertFilterSafePath(input.audio.file);
    const index = inputs.length;
    inputs.push({ path: input.audio.file, options: [...pinned(input.audio.file), '-t', n(totalS)] });
    graph.push(`${audioChain(index, spec.audio.volume)},${fitAudio}[music]`);
    sounds.push('music');
  }
  if (spec.voiceOver && input.voiceOver) {
    assertFilterSafePath(input.voiceOver.file);
    const index = inputs.length;
    const startS = Math.min(spec.voiceOver.start, totalS);
    inputs.push({
      path: input.voiceOver.file,
      options: [...pinned(input.voiceOver.file), '-t', n(totalS - startS)],
    });
    const delayMs = Math.round(startS * 1000);
    graph.push(
      `${audioChain(index, spec.voiceOver.volume)}${delayMs > 0 ? `,adelay=delays=${delayMs}:all=1` : ''},${fitAudio}[voice]`,
    );
    sounds.push('voice');
  }
  if (sounds.length === 0) {
    // Players and WhatsApp expect a soundtrack; silence keeps the output shape constant.
    graph.push(`anullsrc=channel_layout=stereo:sample_rate=${SAMPLE_RATE},atrim=duration=${n(totalS)}[aout]`);
  } else {
    let mix = sounds[0];
    if (sounds.length === 2) {
      if (spec.audio?.ducking ?? true) {
        // The voice keys a compressor on the music: the music drops while someone speaks.
        graph.push('[voice]asplit=2[voicemix][voicekey]');
        graph.push(
          '[music][voicekey]sidechaincompress=threshold=0.03:ratio=10:attack=20:release=350[ducked]',
        );
        graph.push('[ducked][voicemix]amix=inputs=2:duration=first:normalize=0[mix]');
      } else {
        graph.push('[music][voice]amix=inputs=2:duration=first:normalize=0[mix]');
      }
      mix = 'mix';
    }
    // Fades after normalisation, which would otherwise lift them back up.
    const fadeIn = Math.min(spec.audio?.fadeIn ?? 0, totalS);
    const fadeOut = Math.min(spec.audio?.fadeOut ?? 0, totalS);
    graph.push(
      `[${mix}]loudnorm=I=${TARGET_LUFS}:TP=-1.5:LRA=11,aresample=${SAMPLE_RATE},${fitAudio}` +
        (fadeIn > 0 ? `,afade=t=in:st=0:d=${n(fadeIn)}` : '') +
        (fadeOut > 0 ? `,afade=t=out:st=${n(totalS - fadeOut)}:d=${n(fadeOut)}` : '') +
        '[aout]',
    );
  }

  const subtitleMaps: string[] = [];
  (spec.subtitles ?? [])
    .filter((track) => track.mode === 'soft')
    .forEach((track, k) => {
      const name = `subtitles-${k}.srt`;
      textFiles.push({ name, content: toSrt(parseSubtitles(track.content, track.format)) });
      const index = inputs.length;
      // Our own SRT, read by the srt demuxer alone.
      inputs.push({ path: name, options: pinnedInputOptions('srt') });
      subtitleMaps.push(
        '-map',
        `${index}:s`,
        `-metadata:s:s:${k}`,
        `language=${mp4Language(track.language)}`,
        `-disposition:s:${k}`,
        k === 0 ? 'default' : '0',
      );
    });

  // The poster is a frame of the finished picture (captions included) about a second in, chosen
  // by frame number so it exists however short the video is.
  const totalFrames = Math.max(1, Math.round(totalS * fps));
  const posterFrame = Math.min(totalFrames - 1, Math.floor(Math.min(1, totalS / 3) * fps));
  const thumbnails = spec.thumbnails;
  graph.push(`[${videoOut}]split=${thumbnails ? 3 : 2}[vmain][vsplit]${thumbnails ? '[vsprite]' : ''}`);
  graph.push(`[vsplit]select='gte(n,${posterFrame})',setpts=PTS-STARTPTS[vposter]`);
  let sprite: RenderPlan['sprite'] = null;
  if (thumbnails) {
    const tiles = Math.max(1, Math.ceil(totalS / thumbnails.everyS));
    const columns = Math.min(thumbnails.columns, tiles);
    const rows = Math.ceil(tiles / columns);
    sprite = { file: SPRITE_FILE, columns, rows, tileWidth: thumbnails.width, everyS: thumbnails.everyS };
    graph.push(
      `[vsprite]fps=1/${n(thumbnails.everyS)},scale=${thumbnails.width}:-2,tile=${columns}x${rows}[vspritetiles]`,
    );
  }

  const renditions = (spec.renditions ?? []).map((r, k) => ({
    name: r.name,
    file: `rendition-${r.name}.mp4`,
    width: r.width,
    height: r.height,
    label: composePicture(r.width, r.height, `r${k}`),
  }));
  // One mix for every file: a filter output feeds one consumer, so the audio is split.
  const audioLabels = ['aout', ...renditions.map((_, k) => `aout${k}`)];
  if (renditions.length > 0)
    graph.push(`[aout]asplit=${audioLabels.length}${audioLabels.map((l) => `[${l}x]`).join('')}`);
  const audioOf = (k: number) => (renditions.length > 0 ? `[${audioLabels[k]}x]` : '[aout]');

  const threads = String(Math.max(1, encoder.threads));
  const mp4 = (video: string, audio: string): string[] => [
    '-map',
    video,
    '-map',
    audio,
    ...subtitleMaps,
    ...(subtitleMaps.length > 0 ? ['-c:s', 'mov_text'] : []),
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
  ];
  const still = (label: string) => [
    '-map',
    label,
    '-frames:v',
    '1',
    '-q:v',
    '3',
    '-f',
    'image2',
    '-update',
    '1',
  ];
  const command: FfmpegCommandSpec = {
    inputs,
    filterGraph: graph.join(';'),
    outputs: [
      { path: OUTPUT_FILE, options: mp4('[vmain]', audioOf(0)) },
      { path: POSTER_FILE, options: still('[vposter]') },
      ...renditions.map((r, k) => ({ path: r.file, options: mp4(`[${r.label}]`, audioOf(k + 1)) })),
      ...(sprite ? [{ path: SPRITE_FILE, options: still('[vspritetiles]') }] : []),
    ],
  };
  return {
    command,
    durationS: totalS,
    textFiles,
    outputFile: OUTPUT_FILE,
    posterFile: POSTER_FILE,
    renditions: renditions.map(({ label: _label, ...r }) => r),
    sprite,
  };
}
