import { rmdir } from 'node:fs/promises';
import { type Logger, recordRenderStatus } from '../../shared/observability/index.ts';
import { PermanentJobError, type Queue, type QueueJob } from '../../shared/queue/index.ts';
import { CallbackError, type CallbackSender } from './callbacks/standard-webhook-sender.ts';
import type { FetchInput } from './inputs/input-fetcher.ts';
import type { OutputUrlSigner } from './output-url-signer.ts';
import {
  CALLBACK_QUEUE,
  RENDER_DEAD_LETTER_QUEUE,
  RENDER_QUEUE,
  type RenderQueueSettings,
} from './queues.ts';
import { createEncodeSlots } from './render/encode-slots.ts';
import type { MediaTools } from './render/ffmpeg.ts';
import { type RenderAttemptSettings, runRenderAttempt } from './render/render-job.ts';
import type { RenderMetrics } from './render-metrics.ts';
import { toRenderView } from './render-view.ts';
import type { CallbackJobData, RenderJobData } from './schemas.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import type { VideoStore } from './store.ts';
import type { TempWorkspaces } from './temp-workspace.ts';
import { parseWorkerId, processIsAlive, type WorkerIdentity } from './worker-identity.ts';

export interface RenderWorkerDeps {
  queue: Queue;
  store: VideoStore;
  storage: ObjectStorage;
  tools: MediaTools;
  fetchInput: FetchInput;
  workspaces: TempWorkspaces;
  callbacks: CallbackSender;
  signer: OutputUrlSigner;
  publicUrl: string;
  logger: Logger;
  metrics?: RenderMetrics;
  identity: WorkerIdentity;
  settings: RenderAttemptSettings &
    RenderQueueSettings & {
      /** ffmpeg runs at once (RENDER_CONCURRENCY). */
      concurrency: number;
      /** Renders held beyond that, prepared while the others encode (RENDER_PREFETCH). */
      prefetch: number;
      pollingIntervalSeconds?: number;
    };
  isAlive?: (pid: number) => boolean;
}

export interface RenderWorker {
  readonly id: string;
  start(): Promise<void>;
  /**
   * Stops taking jobs, lets running renders finish for up to `graceMs`, then stops the rest
   * (ffmpeg killed, temp files removed) and puts them back in the queue. Does not stop the queue.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  activeCount(): number;
}

/**
 * The render worker: pg-boss jobs → render attempts, plus the dead-letter and callback queues.
 *
 * @example
 * const worker = createRenderWorker(deps);
 * await worker.start();
 * // on shutdown
 * await worker.stop({ graceMs: 10_000 });
 */
export function createRenderWorker(deps: RenderWorkerDeps): RenderWorker {
  const { queue, store, logger, settings, identity } = deps;
  const isAlive = deps.isAlive ?? processIsAlive;
  const active = new Map<string, { shutdown: AbortController; done: Promise<unknown> }>();
  const encodeSlots = createEncodeSlots(settings.concurrency);
  let draining = false;
  let stopping: Promise<void> | undefined;

  async function enqueueCallback(renderId: string, event: CallbackJobData['event']) {
    try {
      await queue.send<CallbackJobData>(
        CALLBACK_QUEUE,
        { renderId, event },
        { dedupeKey: `${renderId}:${event}` },
      );
    } catch (error) {
      logger.error({ renderId, err: error }, 'could not enqueue the callback');
    }
  }

  /**
   * pg-boss sleeps out the rest of its polling interval after a job shorter than that interval, so
   * a backlog of short renders would leave the worker idle between them. Waking this queue's
   * workers from inside the handler makes them fetch again at once; an empty fetch falls back to
   * normal polling. (The kit does not expose pg-boss's notify/burst options yet.)
   */
  function wakeRenderWorkers(): void {
    if (draining) return;
    for (const wip of queue.boss.getWipData()) {
      if (wip.name === RENDER_QUEUE) queue.boss.notifyWorker(wip.id);
    }
  }

  async function handleRender(job: QueueJob<RenderJobData>): Promise<void> {
    const { renderId } = job.data;
    if (draining) throw new Error('worker is shutting down');
    const shutdown = new AbortController();
    const started = Date.now();
    deps.metrics?.active.inc();
    const attempt = runRenderAttempt(
      {
        store,
        storage: deps.storage,
        tools: deps.tools,
        fetchInput: deps.fetchInput,
        workspaces: deps.workspaces,
        logger,
        workerId: identity.id,
        settings,
        encodeSlots,
      },
      { renderId, jobId: job.id, retryCount: job.retryCount, isLastAttempt: job.isLastAttempt },
      shutdown.signal,
    );
    active.set(job.id, { shutdown, done: attempt.catch(() => {}) });
    let outcomeLabel = 'error';
    try {
      const outcome = await attempt;
      outcomeLabel = outcome.kind === 'failed' ? (outcome.final ? 'failed' : 'retry') : outcome.kind;
      switch (outcome.kind) {
        case 'completed':
          if (deps.metrics) recordRenderStatus(deps.metrics, 'completed', outcome.row.created_at);
          if (outcome.row.callback_url) await enqueueCallback(renderId, 'render.completed');
          return;
        case 'skipped':
        case 'canceled':
          return;
        case 'requeued':
          // A fresh job: an interrupted attempt should not use up the render's retries.
          await queue.send<RenderJobData>(
            RENDER_QUEUE,
            { renderId },
            { dedupeKey: `${renderId}:requeue:${job.id}:${job.retryCount}` },
          );
          return;
        case 'failed': {
          if (outcome.final) {
            const row = await store.getRender(renderId);
            if (deps.metrics) recordRenderStatus(deps.metrics, 'failed', row?.created_at);
            if (row?.callback_url) await enqueueCallback(renderId, 'render.failed');
          }
          // Not retryable: completes the queue job (the row says failed). Retryable: the queue's
          // backoff runs it again, or, on the last attempt, moves it to the dead-letter queue.
          if (!outcome.failure.retryable) throw new PermanentJobError(outcome.failure.message);
          throw outcome.failure;
        }
      }
    } finally {
      active.delete(job.id);
      wakeRenderWorkers();
      deps.metrics?.active.dec();
      deps.metrics?.attempts.inc({ outcome: outcomeLabel });
      deps.metrics?.attemptDuration.observe({ outcome: outcomeLabel }, (Date.now() - started) / 1000);
    }
  }

  async function handleDeadLetter(job: QueueJob<RenderJobData>): Promise<void> {
    const row = await store.failDeadLettered(job.data.renderId);
    if (row) {
      if (deps.metrics) recordRenderStatus(deps.metrics, 'failed', row.created_at);
      logger.warn({ renderId: row.id }, 'render failed: the queue gave up on it');
      if (row.callback_url) await enqueueCallback(row.id, 'render.failed');
    }
  }

  async function handleCallback(job: QueueJob<CallbackJobData>): Promise<void> {
    const row = await store.getRender(job.data.renderId);
    if (!row?.callback_url) return;
    const view = toRenderView(row, deps.signer, deps.publicUrl);
    try {
      await deps.callbacks.send(row.callback_url, {
        id: `msg_${row.id}_${job.data.event.replace('render.', '')}`,
        type: job.data.event,
        data: view,
      });
      await store.recordCallback(row.id, { status: 'delivered' });
    } catch (error) {
      const retryable = error instanceof CallbackError ? error.retryable : true;
      const final = !retryable || job.isLastAttempt;
      await store.recordCallback(row.id, {
        status: final ? 'failed' : 'pending',
        error: (error as Error).message,
      });
      if (!retryable) throw new PermanentJobError((error as Error).message);
      throw error;
    }
  }

  /**
   * A worker of this host that died mid-render (killed, OOM, power) left its row `processing` and
   * its pg-boss job `active` until expiry. We know its pid: if that process is gone (or has our pid:
   * a restarted container), fail its attempt now so the queue's retry picks the render up at once.
   */
  async function recoverOrphanedAttempts(): Promise<void> {
    const rows = await store.listProcessingOnHost(`${identity.host}--`);
    for (const row of rows) {
      const owner = parseWorkerId(row.worker_id);
      if (!owner || owner.host !== identity.host || row.worker_id === identity.id) continue;
      if (owner.pid !== identity.pid && isAlive(owner.pid)) continue;
      const retryCount = row.queue_retry_count ?? 0;
      const final = retryCount >= settings.retryLimit;
      const settled = await store.failAttempt(row.id, row.worker_id!, {
        code: 'worker_lost',
        message: 'the worker running this render stopped mid-job',
        final,
        timings: {},
      });
      if (row.queue_job_id) {
        await queue.boss
          .fail(RENDER_QUEUE, [{ id: row.queue_job_id, retryCount }], { message: 'worker lost' })
          .catch((error: Error) =>
            logger.warn({ renderId: row.id, err: error }, 'could not fail the orphaned job'),
          );
      }
      logger.warn(
        { renderId: row.id, deadWorker: row.worker_id, final },
        'recovered a render from a dead worker',
      );
      if (settled && final && settled.callback_url) await enqueueCallback(row.id, 'render.failed');
    }
  }

  return {
    id: identity.id,
    async start() {
      const swept = await deps.workspaces.sweepOrphans();
      if (swept.length > 0) logger.info({ swept }, 'removed temp directories left by dead workers');
      await recoverOrphanedAttempts();
      const polling = settings.pollingIntervalSeconds;
      await queue.work<RenderJobData>(
        RENDER_QUEUE,
        { concurrency: settings.concurrency + settings.prefetch, pollingIntervalSeconds: polling },
        handleRender,
      );
      await queue.work<RenderJobData>(
        RENDER_DEAD_LETTER_QUEUE,
        { concurrency: 1, pollingIntervalSeconds: polling },
        handleDeadLetter,
      );
      await queue.work<CallbackJobData>(
        CALLBACK_QUEUE,
        { concurrency: 2, pollingIntervalSeconds: polling },
        handleCallback,
      );
      logger.info(
        {
          workerId: identity.id,
          concurrency: settings.concurrency,
          prefetch: settings.prefetch,
          ffmpegThreads: settings.encoder.threads,
        },
        'render worker started',
      );
    },
    stop(options = {}) {
      stopping ??= drainAndStop(options.graceMs ?? 10_000);
      return stopping;
    },
    activeCount: () => active.size,
  };

  async function drainAndStop(graceMs: number): Promise<void> {
    draining = true;
    // Stop fetching; jobs in hand keep running (pg-boss waits for their handlers).
    await Promise.all(
      [RENDER_QUEUE, RENDER_DEAD_LETTER_QUEUE, CALLBACK_QUEUE].map((name) =>
        queue.boss.offWork(name, { wait: false }).catch(() => {}),
      ),
    );
    const all = () => Promise.all([...active.values()].map((a) => a.done));
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (expired && active.size > 0) {
      logger.warn({ renders: active.size }, 'grace period over: stopping renders and requeueing them');
      for (const entry of active.values()) entry.shutdown.abort();
      await all();
    }
    await rmdir(deps.workspaces.root).catch(() => {});
  }
}
