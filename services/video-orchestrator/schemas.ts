import { z } from 'zod';
import { pageQueryShape, SinceParam } from '../../shared/http/index.ts';
import { hostIsAllowed } from './inputs/host-allowlist.ts';

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

/**
 * The declarative render request. Everything ffmpeg later sees is derived from these validated
 * numbers and enums; strings (sources, captions) never reach a filter graph or a command line.
 */
export function createRenderSpecSchema(limits: RenderLimits) {
  const src = mediaSourceSchema(limits.allowedHosts);
  const ImageClip = z.strictObject({
    type: z.literal('image'),
    src,
    duration: z.number().finite().positive().max(limits.maxDurationS),
    effect: z.enum(['zoom-in', 'none']).default('none'),
  });
  const VideoClip = z.strictObject({
    type: z.literal('video'),
    src,
    trim: z
      .strictObject({ start: seconds(3600).default(0), end: seconds(3600).optional() })
      .refine((t) => t.end === undefined || t.end > t.start, {
        message: 'end must be after start',
        path: ['end'],
      })
      .optional(),
  });
  const Caption = z
    .strictObject({
      text: z
        .string()
        .min(1)
        .max(limits.maxCaptionChars)
        .refine((t) => !CONTROL_CHARS_RE.test(t), { message: 'control characters are not allowed' })
        .refine((t) => t.trim().length > 0, { message: 'must not be blank' }),
      start: seconds(limits.maxDurationS),
      end: seconds(limits.maxDurationS),
      position: z.enum(['top', 'center', 'bottom']).default('bottom'),
    })
    .refine((c) => c.end > c.start, { message: 'end must be after start', path: ['end'] });
  const evenDimension = (max: number) =>
    z
      .number()
      .int()
      .min(16)
      .max(max)
      .refine((n) => n % 2 === 0, { message: 'must be even (H.264 4:2:0)' });

  return z
    .strictObject({
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
        })
        .optional(),
      captions: z.array(Caption).max(limits.maxCaptions).optional(),
      callbackUrl: z
        .url({ protocol: /^https$/, error: 'must be an https URL' })
        .max(2048)
        .optional(),
    })
    .superRefine((spec, ctx) => {
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

/** Duration known before probing: images, and videos trimmed with an end. */
function knownDurationS(
  clips: { type: string; duration?: number; trim?: { start: number; end?: number } }[],
) {
  let total = 0;
  for (const clip of clips) {
    if (clip.type === 'image') total += clip.duration ?? 0;
    else if (clip.trim?.end !== undefined) total += clip.trim.end - clip.trim.start;
  }
  return Math.round(total * 1000) / 1000;
}

export type RenderSpecSchema = ReturnType<typeof createRenderSpecSchema>;
export type RenderSpec = z.infer<RenderSpecSchema>;
export type RenderClip = RenderSpec['clips'][number];
export type RenderCaption = NonNullable<RenderSpec['captions']>[number];

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
