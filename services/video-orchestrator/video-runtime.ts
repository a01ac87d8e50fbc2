import { type Database, groupCommitSettings, openDatabase } from '../../shared/db/index.ts';
import { type Logger, observeGroupCommit, type ServiceMetrics } from '../../shared/observability/index.ts';
import { type Queue, startQueue } from '../../shared/queue/index.ts';
import {
  createRenderQueueSettings,
  createVideoComponents,
  renderAttemptSettings,
  type VideoComponentOverrides,
  type VideoComponents,
} from './components.ts';
import type { VideoConfig } from './config.ts';
import { setupRenderQueues } from './queues.ts';
import { type RenderChanges, startRenderChanges } from './render-changes.ts';
import { createRenderMetrics, type RenderMetrics } from './render-metrics.ts';
import { createVideoStore, type VideoStore } from './store.ts';
import { createRenderWorker, type RenderWorker } from './worker.ts';

export interface VideoRuntime {
  db: Database;
  queue: Queue;
  store: VideoStore;
  components: VideoComponents;
  renderMetrics: RenderMetrics;
  /** Render change notices for the API's event streams. */
  renderChanges: RenderChanges;
  worker: RenderWorker | null;
  /**
   * Worker first (running renders get `graceMs`, then are stopped and requeued), then the queue,
   * then connections. Idempotent.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

export interface VideoRuntimeOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Run render workers in this process (always in embedded mode: PGlite is one process's). */
  withWorker: boolean;
  overrides?: VideoComponentOverrides;
  /** An already open database (tests); otherwise opened from config and closed with the runtime. */
  db?: Database;
  /** LISTEN for render changes, for the API's event streams (default true; a worker-only process has none). */
  followRenderChanges?: boolean;
}

/**
 * Database, queue, store, components and (optionally) the worker, wired from config. Shared by
 * main.ts, worker-main.ts, the bench and end-to-end tests, so they all run the same wiring.
 *
 * @example
 * const runtime = await startVideoRuntime(config, { logger, metrics, withWorker: !config.DATABASE_URL });
 */
export async function startVideoRuntime(
  config: VideoConfig,
  options: VideoRuntimeOptions,
): Promise<VideoRuntime> {
  const { logger } = options;
  const ownsDb = !options.db;
  const db =
    options.db ??
    (await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.serviceDataDir,
      prepare: config.DATABASE_PREPARE,
      max: config.DATABASE_POOL_MAX,
      schema: config.VIDEO_DB_SCHEMA,
      migrate: true,
    }));
  // pg-boss supervision (expiry of jobs whose worker vanished) runs where workers run.
  const queue = await startQueue(db, { logger, metrics: options.metrics, supervise: options.withWorker });
  const queueSettings = createRenderQueueSettings(config);
  await setupRenderQueues(queue, queueSettings);
  const store = createVideoStore(db, {
    groupCommit: groupCommitSettings(config),
    observe: observeGroupCommit(options.metrics),
  });
  const components = createVideoComponents(config, store, options.overrides);
  const renderMetrics = createRenderMetrics(options.metrics);
  // pg-boss's database adapter LISTENs on a connection of its own (reconnecting, heartbeat), on PGlite too.
  const bossDb = queue.boss.getDb();
  const renderChanges = await startRenderChanges(
    (options.followRenderChanges ?? true) ? bossDb.listen?.bind(bossDb) : undefined,
    logger,
  );
  let worker: RenderWorker | null = null;
  // Uploads stage in temp directories too: an API process that died mid-upload leaves one behind, and
  // an API-only deployment has no worker to sweep it.
  if (!options.withWorker) {
    const swept = await components.workspaces.sweepOrphans();
    if (swept.length > 0) logger.info({ swept }, 'removed temp directories left by dead processes');
  }
  if (options.withWorker) {
    worker = createRenderWorker({
      queue,
      store,
      storage: components.storage,
      tools: components.tools,
      fetchInput: components.fetchInput,
      workspaces: components.workspaces,
      callbacks: components.callbacks,
      signer: components.signer,
      publicUrl: config.publicUrl,
      logger,
      metrics: renderMetrics,
      identity: components.identity,
      settings: {
        ...renderAttemptSettings(config),
        ...queueSettings,
        concurrency: config.concurrency,
        prefetch: config.RENDER_PREFETCH,
      },
    });
    await worker.start();
  }
  let closing: Promise<void> | undefined;
  return {
    db,
    queue,
    store,
    components,
    renderMetrics,
    renderChanges,
    worker,
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs ?? config.SHUTDOWN_GRACE_MS;
        await worker?.stop({ graceMs });
        await renderChanges.close();
        await queue.stop({ graceful: true, timeoutMs: 5000 });
        await components.close();
        if (ownsDb) await db.close();
      })();
      return closing;
    },
  };
}
