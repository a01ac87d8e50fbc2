import { z } from 'zod';
import { pageQueryShape, SinceParam } from '../../shared/http/index.ts';
import { hostIsAllowed } from './inputs/host-allowlist.ts';
import { safeZoneViolation, textBox } from './timeline/safe-zones.ts';
import { mp4Language, parseSubtitles, SubtitleError } from './timeline/subtitle-cues.ts';

/** Request limits, all configurable (see config.ts); the schema is built from them. */
export interface RenderLimits {
  maxClips: number;
  maxDurationS: number;
  maxWidth: number;
  maxHeight: number;
  maxCaptions: number;
  maxCaptionChars: number;
  /** Hosts an https `src` may name: `cdn.example.com` or `*.example.com`. */
  allowedHosts: string[];
}

export const ASSET_SRC_PREFIX = 'asset:';
export const LUT_SRC_PREFIX = 'lut:';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Control characters other than a newline have no business in a caption (and some terminals
// and renderers interpret them); the text otherwise reaches ffmpeg only through a file.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARS_RE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

export type MediaSource = { kind: 'asset'; assetId: string } | { kind: 'url'; url: URL };

/** What a validated `src` names; the schema has already refused everything else. */
export function parseMediaSource(src: string): MediaSource {
  if (src.startsWith(ASSET_SRC_PREFIX))
    return { kind: 'asset', assetId: src.slice(ASSET_SRC_PREFIX.length).toLowerCase() };
  return { kind: 'url', url: new URL(src) };
}

function mediaSourceSchema(allowedHosts: string[]) {
  return z
    .string()
    .min(1)
    .max(2048)
    .superRefine((src, ctx) => {
      if (src.startsWith(ASSET_SRC_PREFIX)) {
        if (!UUID_RE.test(src.slice(ASSET_SRC_PREFIX.length))) {
          ctx.addIssue({ code: 'custom', message: 'asset reference must be asset:<uuid> from POST /assets' });
        }
        return;
      }
      let url: URL;
      try {
        url = new URL(src);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an https URL or asset:<id>' });
        return;
      }
      if (url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: 'only https URLs are accepted' });
      } else if (url.username || url.password) {
        ctx.addIssue({ code: 'custom', message: 'URLs with credentials are not accepted' });
      } else if (!hostIsAllowed(url.hostname, allowedHosts)) {
        ctx.addIssue({ code: 'custom', message: `host ${url.hostname} is not in RENDER_ALLOWED_HOSTS` });
      }
    });
}

const seconds = (max: number) => z.number().finite().min(0).max(max);
const fraction = z.number().finite().min(0).max(1);
const HexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour');

/** ffmpeg `xfade` transitions offered between clips. */
export const TRANSITION_TYPES = [
  'fade',
  'fadeblack',
  'fadewhite',
  'dissolve',
  'wipeleft',
  'wiperight',
  'wipeup',
  'wipedown',
  'slideleft',
  'slideright',
  'slideup',
  'slidedown',
  'smoothleft',
  'smoothright',
  'circleopen',
  'circleclose',
  'radial',
  'pixelize',
] as const;

export const MAX_OVERLAYS = 20;
export const MAX_TRACKS = 4;
export const MAX_SUBTITLE_TRACKS = 10;
export const MAX_RENDITIONS = 3;
const MAX_SUBTITLE_CUES = 500;

/**
 * The declarative render request. Everything ffmpeg later sees is derived from these validated
 * numbers and enums; strings (sources, captions) never reach a filter graph or a command line.
 */
export function createRenderSpecSchema(limits: RenderLimits) {
  const src = mediaSourceSchema(limits.allowedHosts);
  // Into the next clip: the two overlap by `duration` seconds.
  const Transition = z.strictObject({
    type: z.enum(TRANSITION_TYPES).default('fade'),
    duration: z.number().finite().min(0.05).max(5).default(0.5),
  });
  const ImageClip = z.strictObject({
    type: z.literal('image'),
    src,
    duration: z.number().finite().positive().max(limits.maxDurationS),
    // Ken Burns: a slow zoom (in or out), or a zoom with a pan across the picture.
    effect: z.enum(['zoom-in', 'zoom-out', 'ken-burns', 'none']).default('none'),
    transition: Transition.optional(),
  });
  const VideoClip = z.strictObject({
    type: z.literal('video'),
    src,
    /** Playback speed: 2 plays the trimmed range in half the time (its sound is not kept). */
    speed: z.number().finite().min(0.25).max(4).optional(),
    transition: Transition.optional(),
    trim: z
      .strictObject({ start: seconds(3600).default(0), end: seconds(3600).optional() })
      .refine((t) => t.end === undefined || t.end > t.start, {
        message: 'end must be after start',
        path: ['end'],
      })
      .optional(),
  });
  const Text = z
    .string()
    .min(1)
    .max(limits.maxCaptionChars)
    .refine((t) => !CONTROL_CHARS_RE.test(t), { message: 'control characters are not allowed' })
    .refine((t) => t.trim().length > 0, { message: 'must not be blank' });
  const Caption = z
    .strictObject({
      text: Text,
      start: seconds(limits.maxDurationS),
      end: seconds(limits.maxDurationS),
      position: z.enum(['top', 'center', 'bottom']).default('bottom'),
    })
    .refine((c) => c.end > c.start, { message: 'end must be after start', path: ['end'] });
  // Positions and sizes are fractions of the frame (x, y: top-left corner), so one spec fits any size.
  const timing = {
    start: seconds(limits.maxDurationS).default(0),
    end: seconds(limits.maxDurationS).optional(),
  };
  const boxSide = z.number().finite().min(0.01).max(1);
  const ImageOverlay = z.strictObject({
    type: z.literal('image'),
    src,
    x: fraction,
    y: fraction,
    /** Width as a fraction of the frame's. */
    width: boxSide,
    /**
     * Height as a fraction of the frame's: the image is fitted inside width × height (aspect kept,
     * centred). Required for a URL (its size is unknown until it is downloaded); without it an uploaded
     * image's height follows its aspect.
     */
    height: boxSide.optional(),
    opacity: fraction.default(1),
    ...timing,
  });
  const TextOverlay = z.strictObject({
    type: z.literal('text'),
    text: Text,
    x: fraction,
    y: fraction,
    /** Font size as a fraction of the frame's height. */
    fontSize: z.number().finite().min(0.02).max(0.2).default(0.05),
    color: HexColor.default('#ffffff'),
    box: z.strictObject({ color: HexColor.default('#000000'), opacity: fraction.default(0.6) }).optional(),
    ...timing,
  });
  // Clips of a track above the main one (picture-in-picture): each placed at its own `start` on the
  // output's timeline, with in/out points (trim) and speed like a main clip; no transitions.
  const start = seconds(limits.maxDurationS);
  const TrackClip = z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('image'),
      src,
      /** When the clip appears in the output, seconds. */
      start,
      duration: z.number().finite().positive().max(limits.maxDurationS),
    }),
    z.strictObject({
      type: z.literal('video'),
      src,
      start,
      speed: VideoClip.shape.speed,
      trim: VideoClip.shape.trim,
    }),
  ]);
  const Track = z.strictObject({
    /** The box the track's pictures are fitted into (aspect kept, centred): fractions of the frame. */
    x: fraction,
    y: fraction,
    width: boxSide,
    height: boxSide,
    opacity: fraction.default(1),
    /** In time order; a clip is cut where the next one starts, and at the output's end. */
    clips: z.array(TrackClip).min(1).max(limits.maxClips),
  });
  const VoiceOver = z.strictObject({
    src,
    volume: z.number().finite().min(0).max(4).default(1),
    /** When the voice starts in the output, seconds. */
    start: seconds(limits.maxDurationS).default(0),
  });
  const Subtitles = z.strictObject({
    /** BCP 47 primary language (`rw`, `en`, `fr-CA`, or ISO 639-2 `kin`): the track's language tag. */
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/, 'a language tag such as rw, en or fr-CA')
      .refine((tag) => mp4Language(tag) !== null, { message: 'unknown language' }),
    format: z.enum(['srt', 'vtt']),
    /** The file's text (SRT or WebVTT), inline. */
    content: z.string().min(1).max(200_000),
    /** `soft`: a subtitle track players can switch; `burn`: drawn into the picture (one track at most). */
    mode: z.enum(['soft', 'burn']).default('soft'),
  });
  const evenDimension = (max: number) =>
    z
      .number()
      .int()
      .min(16)
      .max(max)
      .refine((n) => n % 2 === 0, { message: 'must be even (H.264 4:2:0)' });

  return z
    .strictObject({
      /** Client-chosen render id: sending the same document again is a replay, another body a 409. */
      id: z.uuid({ error: 'must be a uuid' }).optional(),
      output: z.strictObject({
        width: evenDimension(limits.maxWidth),
        height: evenDimension(limits.maxHeight),
        fps: z.number().int().min(1).max(60).default(30),
        format: z.literal('mp4').default('mp4'),
      }),
      clips: z
        .array(z.discriminatedUnion('type', [ImageClip, VideoClip]))
        .min(1)
        .max(limits.maxClips),
      audio: z
        .strictObject({
          src,
          volume: z.number().finite().min(0).max(4).default(1),
          fadeOut: seconds(30).default(0),
          fadeIn: seconds(30).optional(),
          /** Lower the music while the voice-over speaks (default on when there is one). */
          ducking: z.boolean().optional(),
        })
        .optional(),
      voiceOver: VoiceOver.optional(),
      /** Tracks composited over the main clips, in order (later ones on top): picture-in-picture. */
      tracks: z.array(Track).max(MAX_TRACKS).optional(),
      overlays: z
        .array(z.discriminatedUnion('type', [ImageOverlay, TextOverlay]))
        .max(MAX_OVERLAYS)
        .optional(),
      captions: z.array(Caption).max(limits.maxCaptions).optional(),
      subtitles: z.array(Subtitles).max(MAX_SUBTITLE_TRACKS).optional(),
      /** The same video at other sizes (e.g. 16:9 beside a 9:16 output), each in its own safe zones. */
      renditions: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,19}$/, 'lowercase letters, digits and dashes'),
            width: evenDimension(limits.maxWidth),
            height: evenDimension(limits.maxHeight),
          }),
        )
        .max(MAX_RENDITIONS)
        .optional(),
      /** Brand look: a 3D LUT from POST /luts applied to the footage (under overlays and captions). */
      look: z
        .strictObject({
          lut: z
            .string()
            .regex(
              /^lut:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
              'lut:<id> from POST /luts',
            ),
        })
        .optional(),
      /** A thumbnail sprite: a frame every `everyS` seconds, `width` px wide, `columns` per row. */
      thumbnails: z
        .strictObject({
          everyS: z.number().finite().min(0.2).max(60).default(1),
          width: z.number().int().min(16).max(320).default(160),
          columns: z.number().int().min(1).max(10).default(5),
        })
        .optional(),
      callbackUrl: z
        .url({ protocol: /^https$/, error: 'must be an https URL' })
        .max(2048)
        .optional(),
    })
    .superRefine((spec, ctx) => {
      spec.clips.forEach((clip, i) => {
        if (!clip.transition) return;
        if (i === spec.clips.length - 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['clips', i, 'transition'],
            message: 'the last clip has no next clip to transition into',
          });
          return;
        }
        const next = spec.clips[i + 1];
        const shortest = Math.min(
          clip.type === 'image' ? clip.duration : Number.POSITIVE_INFINITY,
          next.type === 'image' ? next.duration : Number.POSITIVE_INFINITY,
        );
        if (clip.transition.duration >= shortest) {
          ctx.addIssue({
            code: 'custom',
            path: ['clips', i, 'transition', 'duration'],
            message: `must be shorter than the clips it joins (${shortest}s)`,
          });
        }
      });
      const names = (spec.renditions ?? []).map((r) => r.name);
      names.forEach((name, k) => {
        if (names.indexOf(name) !== k) {
          ctx.addIssue({ code: 'custom', path: ['renditions', k, 'name'], message: `${name} is used twice` });
        }
      });
      const frames = [spec.output, ...(spec.renditions ?? [])];
      spec.overlays?.forEach((overlay, i) => {
        if (overlay.end !== undefined && overlay.end <= overlay.start) {
          ctx.addIssue({ code: 'custom', path: ['overlays', i, 'end'], message: 'end must be after start' });
        }
        if (
          overlay.type === 'image' &&
          overlay.height === undefined &&
          !overlay.src.startsWith(ASSET_SRC_PREFIX)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['overlays', i, 'height'],
            message: 'required for an image from a URL: its size is not known before it is downloaded',
          });
        }
        // Every size the overlay is drawn at keeps it inside that size's zone. An image without a
        // height is as tall as its aspect makes it: the route checks that from the asset's probe.
        const refusal = safeZoneViolation(frames, (frame) => ({
          x: overlay.x,
          y: overlay.y,
          ...(overlay.type === 'text'
            ? textBox(overlay.text, overlay.fontSize, frame)
            : { width: overlay.width, height: overlay.height ?? 0 }),
        }));
        if (refusal) ctx.addIssue({ code: 'custom', path: ['overlays', i], message: refusal });
      });
      const mainS = knownDurationS(spec.clips);
      const mainKnown = spec.clips.every((c) => c.type === 'image' || c.trim?.end !== undefined);
      spec.tracks?.forEach((track, t) => {
        const refusal = safeZoneViolation(frames, () => track);
        if (refusal) ctx.addIssue({ code: 'custom', path: ['tracks', t], message: refusal });
        track.clips.forEach((clip, k) => {
          const previous = track.clips[k - 1];
          const previousEnd = previous ? previous.start + (trackClipLengthS(previous) ?? 0) : 0;
          if (previous && clip.start < previousEnd) {
            ctx.addIssue({
              code: 'custom',
              path: ['tracks', t, 'clips', k, 'start'],
              message: `must not be before the previous clip ends (${Math.round(previousEnd * 1000) / 1000}s)`,
            });
          }
          if (mainKnown && clip.start >= mainS) {
            ctx.addIssue({
              code: 'custom',
              path: ['tracks', t, 'clips', k, 'start'],
              message: `must be before the output ends (${mainS}s)`,
            });
          }
        });
      });
      spec.subtitles?.forEach((track, i) => {
        try {
          const cues = parseSubtitles(track.content, track.format);
          if (cues.length > MAX_SUBTITLE_CUES) throw new SubtitleError(`more than ${MAX_SUBTITLE_CUES} cues`);
          const bad = cues.findIndex(
            (c) => CONTROL_CHARS_RE.test(c.text) || c.text.length > limits.maxCaptionChars,
          );
          if (bad >= 0)
            throw new SubtitleError(
              `cue ${bad + 1}: control characters or over ${limits.maxCaptionChars} characters`,
            );
        } catch (error) {
          if (!(error instanceof SubtitleError)) throw error;
          ctx.addIssue({
            code: 'custom',
            path: ['subtitles', i, 'content'],
            message: `${track.format}: ${error.message}`,
          });
        }
      });
      if ((spec.subtitles ?? []).filter((t) => t.mode === 'burn').length > 1) {
        ctx.addIssue({ code: 'custom', path: ['subtitles'], message: 'at most one track can be burned in' });
      }
      const known = knownDurationS(spec.clips);
      if (known > limits.maxDurationS) {
        ctx.addIssue({
          code: 'custom',
          path: ['clips'],
          message: `total duration ${known}s exceeds RENDER_MAX_DURATION_S (${limits.maxDurationS}s)`,
        });
      }
    });
}

/** Duration known before probing: images, and videos trimmed with an end, less transition overlaps. */
function knownDurationS(
  clips: {
    type: string;
    duration?: number;
    speed?: number;
    trim?: { start: number; end?: number };
    transition?: { duration: number };
  }[],
) {
  let total = 0;
  for (const clip of clips) {
    if (clip.type === 'image') total += clip.duration ?? 0;
    else if (clip.trim?.end !== undefined) total += (clip.trim.end - clip.trim.start) / (clip.speed ?? 1);
    total -= clip.transition?.duration ?? 0;
  }
  return Math.round(total * 1000) / 1000;
}

/** A track clip's length when known before probing: an image's duration, a video trimmed with an end. */
function trackClipLengthS(clip: {
  type: string;
  duration?: number;
  speed?: number;
  trim?: { start: number; end?: number };
}): number | null {
  if (clip.type === 'image') return clip.duration ?? null;
  if (clip.trim?.end === undefined) return null;
  return (clip.trim.end - clip.trim.start) / (clip.speed ?? 1);
}

export type RenderSpecSchema = ReturnType<typeof createRenderSpecSchema>;
export type RenderSpec = z.infer<RenderSpecSchema>;
export type RenderClip = RenderSpec['clips'][number];
export type RenderCaption = NonNullable<RenderSpec['captions']>[number];
export type RenderOverlay = NonNullable<RenderSpec['overlays']>[number];
export type RenderTrack = NonNullable<RenderSpec['tracks']>[number];

export const IdParams = z.object({ id: z.uuid({ error: 'must be a uuid' }) });

export const IdempotencyKeyHeader = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const OutputQuery = z.object({
  expires: z.coerce.number().int().positive().optional(),
  sig: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/)
    .optional(),
});

const RENDER_STATUSES = ['queued', 'processing', 'completed', 'failed', 'canceled'] as const;

/** GET /renders: filters and the page. Unknown parameters are refused, so a typo never lists everything. */
export const ListRendersQuery = z.strictObject({
  status: z.enum(RENDER_STATUSES).optional(),
  since: SinceParam.optional(),
  ...pageQueryShape,
});

// What our API answers (render-view.ts, asset-routes.ts build these; the OpenAPI document is generated from them)

const isoTime = z.iso.datetime();

export const RenderViewSchema = z.object({
  id: z.uuid(),
  status: z.enum(RENDER_STATUSES),
  progress: z.int().min(0).max(100),
  attempts: z.int().min(0),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  timings: z.object({
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    queuedMs: z.number().nullable(),
    processingMs: z.number().nullable(),
    lastAttempt: z.record(z.string(), z.number()),
  }),
  output: z
    .object({
      url: z.url(),
      posterUrl: z.url(),
      contentType: z.literal('video/mp4'),
      durationS: z.number(),
      sizeBytes: z.number(),
      width: z.int(),
      height: z.int(),
      videoCodec: z.string(),
      audioCodec: z.string(),
      renditions: z.array(
        z.object({ name: z.string(), url: z.url(), width: z.int(), height: z.int(), sizeBytes: z.number() }),
      ),
      sprite: z
        .object({
          url: z.url(),
          columns: z.int(),
          rows: z.int(),
          tileWidth: z.int(),
          everyS: z.number(),
        })
        .nullable(),
    })
    .nullable(),
  callback: z
    .object({
      url: z.string(),
      status: z.enum(['none', 'pending', 'delivered', 'failed']),
      attempts: z.int(),
      error: z.string().nullable(),
      deliveredAt: isoTime.nullable(),
    })
    .nullable(),
  links: z.object({ self: z.string(), events: z.string() }),
});

export const LutViewSchema = z.object({
  id: z.uuid(),
  src: z.string().meta({ description: 'Use as a spec’s `look.lut`.' }),
  size: z.int(),
  sha256: z.string(),
  createdAt: isoTime,
});

export const AssetViewSchema = z.object({
  id: z.uuid(),
  src: z.string().meta({ description: 'Use as a clip’s or the audio’s `src`.' }),
  kind: z.enum(['image', 'video', 'audio']),
  mimeType: z.string(),
  sizeBytes: z.int(),
  sha256: z.string(),
  createdAt: isoTime,
});

/** The body of a render callback (Standard Webhooks): callbacks/standard-webhook-sender.ts. */
export const RenderCallbackSchema = z.object({
  type: z.enum(['render.completed', 'render.failed']),
  timestamp: isoTime,
  data: RenderViewSchema,
});

/** The queue payload: the render row holds everything else. */
export interface RenderJobData {
  renderId: string;
}

export interface CallbackJobData {
  renderId: string;
  event: 'render.completed' | 'render.failed';
}
