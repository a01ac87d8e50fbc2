import { stat, writeFile } from 'node:fs/promises';
import type { Logger } from '../../../shared/observability/index.ts';
import type { AssetKind } from '../inputs/asset-sniff.ts';
import { type FetchInput, kindFits } from '../inputs/input-fetcher.ts';
import { asRenderFailure, RenderFailure } from '../render-failure.ts';
import { LUT_SRC_PREFIX, parseMediaSource, type RenderSpec } from '../schemas.ts';
import {
  ObjectNotFoundError,
  type ObjectStorage,
  objectKeys,
  StorageError,
} from '../storage/object-storage.ts';
import type { RenderRow, VideoStore } from '../store.ts';
import type { TempWorkspaces, Workspace } from '../temp-workspace.ts';
import type { EncodeSlots, ReleaseSlot } from './encode-slots.ts';
import { FfmpegError, type MediaTools, type ProbeResult } from './ffmpeg.ts';
import { checkEncodedOutput, mediaInfoFor, readMedia } from './probe.ts';
import { buildRenderPlan, type EncoderSettings, type PlannedInput } from './render-plan.ts';

export interface RenderAttemptSettings {
  maxDurationS: number;
  /** RENDER_MAX_INPUT_PIXELS. */
  maxInputPixels: number;
  encoder: EncoderSettings;
  fontFile: string;
  jobTimeoutMs: number;
  /** Least time between two progress writes. */
  progressIntervalMs: number;
  /** How often a running attempt looks for a cancel written by the API (another process). */
  cancelPollMs: number;
}

export interface RenderAttemptDeps {
  store: VideoStore;
  storage: ObjectStorage;
  tools: MediaTools;
  fetchInput: FetchInput;
  workspaces: TempWorkspaces;
  logger: Logger;
  workerId: string;
  settings: RenderAttemptSettings;
  /** The worker's ffmpeg slots; without them the attempt encodes at once. */
  encodeSlots?: EncodeSlots;
}

export type AttemptOutcome =
  | { kind: 'skipped' }
  | { kind: 'completed'; row: RenderRow }
  | { kind: 'canceled' }
  | { kind: 'requeued' }
  | { kind: 'failed'; failure: RenderFailure; final: boolean };

type StopReason = 'canceled' | 'timeout' | 'shutdown';

/** Downloads and probes running at once for one render. */
const INPUT_PARALLELISM = 3;

/**
 * Runs `task` over `items`, `limit` at a time. The first failure aborts the others, and the
 * call returns only once every started task has settled: nothing may still be writing into the
 * workspace when it is removed.
 */
async function settleAll<T>(
  items: T[],
  limit: number,
  signal: AbortSignal,
  task: (item: T, index: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const local = new AbortController();
  const taskSignal = AbortSignal.any([signal, local.signal]);
  let next = 0;
  let firstError: unknown;
  const lane = async () => {
    while (next < items.length && !taskSignal.aborted) {
      const index = next++;
      try {
        await task(items[index], index, taskSignal);
      } catch (error) {
        firstError ??= error;
        local.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (firstError !== undefined) throw firstError;
  if (signal.aborted) throw signal.reason;
}

// Resource trouble on the worker, not a property of the request: worth another attempt.
const TRANSIENT_FFMPEG =
  /No space left|Cannot allocate memory|Resource temporarily unavailable|Too many open files/i;

function ffmpegFailure(error: FfmpegError): RenderFailure {
  const detail = error.stderrTail ? `: ${error.stderrTail.split('\n').slice(-3).join(' | ')}` : '';
  if (error.kind === 'signal') {
    return new RenderFailure('render_killed', `${error.message}${detail}`, { retryable: true, cause: error });
  }
  if (error.kind === 'spawn') {
    return new RenderFailure('render_failed', `ffmpeg could not run: ${error.message}`, {
      retryable: true,
      cause: error,
    });
  }
  return new RenderFailure('render_failed', `${error.message}${detail}`, {
    retryable: TRANSIENT_FFMPEG.test(error.stderrTail),
    cause: error,
  });
}

/**
 * One attempt at one render: claim the row, fetch and probe the inputs into a private temp
 * directory, run ffmpeg (video and poster in one pass), check the output from ffmpeg's own report, store both, settle the
 * row. Whatever happens, the temp directory is removed before this returns, and only after every
 * child process has exited.
 */
export async function runRenderAttempt(
  deps: RenderAttemptDeps,
  job: { renderId: string; jobId: string; retryCount: number; isLastAttempt: boolean },
  shutdownSignal: AbortSignal,
): Promise<AttemptOutcome> {
  const { store, storage, tools, settings, workerId } = deps;
  const log = deps.logger.child({ renderId: job.renderId, attempt: job.retryCount + 1 });
  const claimed = await store.claimRender(job.renderId, workerId, {
    id: job.jobId,
    retryCount: job.retryCount,
  });
  if (!claimed) return { kind: 'skipped' };

  // The workspace first: the timers below are cleared in the `finally` that follows it, so a failed mkdir
  // must not leave them running. Its failure is this attempt's failure (retryable).
  let workspace: Workspace;
  try {
    workspace = await deps.workspaces.create(`${job.renderId}-${job.retryCount}`);
  } catch (error) {
    const failure = asRenderFailure(error);
    const final = job.isLastAttempt;
    const row = await store.failAttempt(job.renderId, workerId, {
      code: failure.code,
      message: `temp directory: ${failure.message}`,
      final,
      timings: {},
    });
    if (!row) return { kind: 'canceled' };
    log.warn({ err: failure.message, final }, 'render attempt failed: no temp directory');
    return { kind: 'failed', failure, final };
  }

  const stop = new AbortController();
  let reason: StopReason | undefined;
  const halt = (why: StopReason) => {
    if (reason) return;
    reason = why;
    stop.abort(new Error(why));
  };
  let timeout = setTimeout(() => halt('timeout'), settings.jobTimeoutMs);
  const timerStarted = Date.now();
  const onShutdown = () => halt('shutdown');
  if (shutdownSignal.aborted) onShutdown();
  shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  let polling = false;
  // Each progress write answers with the row's status too: poll only when none went out lately.
  let lastWrite = 0;
  const cancelPoll = setInterval(async () => {
    if (polling || Date.now() - lastWrite < settings.cancelPollMs) return;
    polling = true;
    try {
      const current = await store.getStatus(job.renderId);
      if (current?.status !== 'processing' || current.worker_id !== workerId) halt('canceled');
    } catch (error) {
      log.warn({ err: error }, 'cancel poll failed');
    } finally {
      polling = false;
    }
  }, settings.cancelPollMs);

  const timings: Record<string, number> = {};
  const started = Date.now();
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[`${name}Ms`] = (timings[`${name}Ms`] ?? 0) + (Date.now() - t0);
    }
  };
  const uploaded: string[] = [];

  try {
    const spec = claimed.spec as RenderSpec;
    const signal = stop.signal;

    // Each distinct source once, even when several clips use the same image; a few at a time.
    const overlayImages = (spec.overlays ?? []).flatMap((o) => (o.type === 'image' ? [o.src] : []));
    const sources = [
      ...new Set([
        ...spec.clips.map((c) => c.src),
        ...(spec.tracks ?? []).flatMap((track) => track.clips.map((c) => c.src)),
        ...(spec.audio ? [spec.audio.src] : []),
        ...(spec.voiceOver ? [spec.voiceOver.src] : []),
        ...overlayImages,
      ]),
    ];
    const fetched = new Map<string, Awaited<ReturnType<FetchInput>>>();
    await timed('download', async () => {
      // Every uploaded asset's row in one round trip.
      const assetIds = sources.flatMap((src) => {
        const source = parseMediaSource(src);
        return source.kind === 'asset' ? [source.assetId] : [];
      });
      const assets = new Map((await store.getAssets(assetIds)).map((asset) => [asset.id, asset]));
      await settleAll(sources, INPUT_PARALLELISM, signal, async (src, i, taskSignal) => {
        const source = parseMediaSource(src);
        const asset = source.kind === 'asset' ? (assets.get(source.assetId) ?? null) : undefined;
        fetched.set(src, await deps.fetchInput(src, i, workspace, `source ${i}`, taskSignal, asset));
      });
    });

    // Every input is probed before ffmpeg sees it: downloads here, uploaded assets at upload time
    // (their bytes are immutable, so that reading is reused). Then each use is checked for its role.
    const readings = new Map<string, ProbeResult>();
    await timed('probe', () =>
      settleAll(sources, INPUT_PARALLELISM, signal, async (src, i, taskSignal) => {
        const input = fetched.get(src)!;
        readings.set(
          src,
          input.probe ?? (await readMedia(tools, workspace.path(input.file), `source ${i}`, taskSignal)),
        );
      }),
    );
    const plannedInput = (src: string, role: AssetKind, label: string): PlannedInput => {
      const input = fetched.get(src)!;
      if (!kindFits(role, input.type.kind)) {
        throw new RenderFailure('invalid_input', `${label}: expected ${role}, got ${input.type.mime}`, {
          retryable: false,
        });
      }
      return {
        file: input.file,
        info: mediaInfoFor(readings.get(src)!, role, label, settings.maxInputPixels),
      };
    };
    const planned = {
      clips: spec.clips.map((clip, i) => plannedInput(clip.src, clip.type, `clips.${i}`)),
      audio: spec.audio ? plannedInput(spec.audio.src, 'audio', 'audio') : undefined,
      voiceOver: spec.voiceOver ? plannedInput(spec.voiceOver.src, 'audio', 'voiceOver') : undefined,
      overlays: (spec.overlays ?? []).map((o, i) =>
        o.type === 'image' ? plannedInput(o.src, 'image', `overlays.${i}`) : null,
      ),
      tracks: (spec.tracks ?? []).map((track, t) =>
        track.clips.map((clip, k) => plannedInput(clip.src, clip.type, `tracks.${t}.clips.${k}`)),
      ),
    };

    // The LUT is our own rewrite of an uploaded .cube (POST /luts), fetched under our name.
    const lutFile = spec.look ? 'look.cube' : undefined;
    if (spec.look && lutFile) {
      const lutId = spec.look.lut.slice(LUT_SRC_PREFIX.length).toLowerCase();
      await timed('download', async () => {
        try {
          await storage.fetchToFile(objectKeys.lut(lutId), workspace.path(lutFile), { signal });
        } catch (error) {
          if (error instanceof ObjectNotFoundError) {
            throw new RenderFailure('invalid_input', `look.lut: LUT ${lutId} is gone`, { retryable: false });
          }
          throw new RenderFailure('storage_failed', `look.lut: ${(error as Error).message}`, {
            retryable: true,
            cause: error,
          });
        }
      });
    }
    const plan = buildRenderPlan({
      lutFile,
      spec,
      clips: planned.clips,
      audio: planned.audio,
      voiceOver: planned.voiceOver,
      overlays: planned.overlays,
      tracks: planned.tracks,
      maxDurationS: settings.maxDurationS,
      encoder: settings.encoder,
      fontFile: settings.fontFile,
    });
    for (const text of plan.textFiles)
      await writeFile(workspace.path(text.name), text.content, { mode: 0o600 });

    // A prefetched render is ready before an encoder is free: it waits here, its job timer paused (the
    // wait is the other render's time), and starts the moment one frees up, unless it was canceled
    // meanwhile (the cancel poll may not have seen that yet).
    let releaseSlot: ReleaseSlot = () => {};
    const slots = deps.encodeSlots;
    if (slots) {
      const free = slots.tryAcquire();
      if (free) releaseSlot = free;
      else {
        const spentMs = Date.now() - timerStarted;
        clearTimeout(timeout);
        releaseSlot = await timed('wait', () => slots.acquire(signal));
        timeout = setTimeout(() => halt('timeout'), Math.max(0, settings.jobTimeoutMs - spentMs));
        const current = await store.getStatus(job.renderId).catch(() => null);
        if (current && (current.status !== 'processing' || current.worker_id !== workerId)) halt('canceled');
        if (signal.aborted) {
          releaseSlot();
          throw signal.reason;
        }
      }
    }
    let lastPercent = 0;
    const run = await timed('render', () =>
      tools.run(plan.command, {
        cwd: workspace.dir,
        signal,
        onProgress: (seconds) => {
          const percent = Math.min(99, Math.floor((seconds / plan.durationS) * 100));
          const now = Date.now();
          if (percent <= lastPercent || now - lastWrite < settings.progressIntervalMs) return;
          lastPercent = percent;
          lastWrite = now;
          store
            .updateProgress(job.renderId, workerId, percent)
            .then((status) => {
              if (status !== 'processing') halt('canceled');
            })
            .catch((error) => log.warn({ err: error }, 'progress write failed'));
        },
      }),
    ).finally(releaseSlot); // the next render encodes while this one is checked and stored
    if (signal.aborted) throw signal.reason;
    // ffmpeg's exit and its final stats prove the output; a second ffprobe pass cost as much as a
    // third of a short render (see the bench), so only the file sizes are read here.
    const [outputStat, posterStat] = await Promise.all([
      stat(workspace.path(plan.outputFile)).catch(() => null),
      stat(workspace.path(plan.posterFile)).catch(() => null),
    ]);
    const output = checkEncodedOutput(
      {
        durationS: plan.durationS,
        width: spec.output.width,
        height: spec.output.height,
        fps: spec.output.fps,
      },
      { encodedS: run.encodedS, sizeBytes: outputStat?.size ?? 0 },
    );
    if (!posterStat?.size) {
      throw new RenderFailure('render_failed', 'ffmpeg wrote no poster frame', { retryable: false });
    }

    // Every other file of the render exists and is not empty (ffmpeg wrote them in the same run).
    const extraSizes = await Promise.all(
      [...plan.renditions.map((r) => r.file), ...(plan.sprite ? [plan.sprite.file] : [])].map(
        async (file) => (await stat(workspace.path(file)).catch(() => null))?.size ?? 0,
      ),
    );
    if (extraSizes.some((size) => size === 0)) {
      throw new RenderFailure('render_failed', 'ffmpeg left a rendition or the sprite empty', {
        retryable: false,
      });
    }

    const outputKey = objectKeys.output(job.renderId);
    const posterKey = objectKeys.poster(job.renderId);
    const renditions = plan.renditions.map((r, k) => ({
      name: r.name,
      key: objectKeys.rendition(job.renderId, r.name),
      width: r.width,
      height: r.height,
      sizeBytes: extraSizes[k],
    }));
    const sprite = plan.sprite
      ? {
          key: objectKeys.sprite(job.renderId),
          columns: plan.sprite.columns,
          rows: plan.sprite.rows,
          tileWidth: plan.sprite.tileWidth,
          everyS: plan.sprite.everyS,
        }
      : null;
    const files: [string, string, string][] = [
      [outputKey, plan.outputFile, 'video/mp4'],
      [posterKey, plan.posterFile, 'image/jpeg'],
      ...plan.renditions.map((r, k): [string, string, string] => [renditions[k].key, r.file, 'video/mp4']),
      ...(sprite && plan.sprite
        ? [[sprite.key, plan.sprite.file, 'image/jpeg'] as [string, string, string]]
        : []),
    ];
    await timed('upload', async () => {
      try {
        for (const [key, file, type] of files) {
          await storage.put(key, workspace.path(file), type);
          uploaded.push(key);
        }
      } catch (error) {
        throw new RenderFailure('storage_failed', (error as Error).message, {
          retryable: error instanceof StorageError,
          cause: error,
        });
      }
    });
    if (signal.aborted) throw signal.reason;
    timings.totalMs = Date.now() - started;
    const row = await store.completeRender(
      job.renderId,
      workerId,
      { outputKey, posterKey, ...output, renditions, sprite },
      timings,
    );
    if (!row) {
      // Canceled between the last poll and now: the cancel wins, the files go.
      await storage.remove(uploaded).catch(() => {});
      return { kind: 'canceled' };
    }
    log.info({ timings, durationS: output.durationS, sizeBytes: output.sizeBytes }, 'render completed');
    return { kind: 'completed', row };
  } catch (error) {
    timings.totalMs = Date.now() - started;
    if (uploaded.length > 0) await storage.remove(uploaded).catch(() => {});
    if (reason === 'canceled') {
      log.info('render canceled while running');
      return { kind: 'canceled' };
    }
    if (reason === 'shutdown') {
      await store.failAttempt(job.renderId, workerId, {
        code: 'shutdown',
        message: 'worker shut down during the render; requeued',
        final: false,
        timings,
      });
      log.info('render interrupted by shutdown; requeued');
      return { kind: 'requeued' };
    }
    const failure =
      reason === 'timeout'
        ? new RenderFailure(
            'render_timeout',
            `render exceeded RENDER_JOB_TIMEOUT_S (${settings.jobTimeoutMs / 1000}s)`,
            {
              retryable: false,
            },
          )
        : error instanceof FfmpegError
          ? ffmpegFailure(error)
          : asRenderFailure(error);
    const final = !failure.retryable || job.isLastAttempt;
    const row = await store.failAttempt(job.renderId, workerId, {
      code: failure.code,
      message: failure.message,
      final,
      timings,
    });
    if (!row) return { kind: 'canceled' };
    log.warn(
      { code: failure.code, err: failure, retryable: failure.retryable, final },
      'render attempt failed',
    );
    return { kind: 'failed', failure, final };
  } finally {
    clearTimeout(timeout);
    clearInterval(cancelPoll);
    shutdownSignal.removeEventListener('abort', onShutdown);
    await workspace.dispose();
  }
}
