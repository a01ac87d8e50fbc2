import type { Queue } from '../../shared/queue/index.ts';

export const RENDER_QUEUE = 'video-renders';
/** Jobs whose retries ran out land here; its handler makes sure the render reads `failed`. */
export const RENDER_DEAD_LETTER_QUEUE = 'video-renders-dead';
export const CALLBACK_QUEUE = 'video-callbacks';

export interface RenderQueueSettings {
  retryLimit: number;
  retryDelayS: number;
  jobTimeoutMs: number;
  /** How many renders' time a prefetched job may wait for an encoder (0 without prefetch). */
  rendersAheadOfPrefetched: number;
  callbackRetryLimit: number;
  callbackRetryDelayS: number;
}

/**
 * Creates (or updates) the queues; the API process calls it too, since it sends. pg-boss's own
 * expiry is set past our job timeout (and a prefetched job's wait for the renders ahead of it): we
 * stop ffmpeg first, pg-boss only takes over when the worker is gone.
 */
export async function setupRenderQueues(queue: Queue, settings: RenderQueueSettings): Promise<void> {
  await queue.createQueue(RENDER_QUEUE, {
    retryLimit: settings.retryLimit,
    retryDelay: settings.retryDelayS,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: Math.ceil(settings.jobTimeoutMs / 1000) * (1 + settings.rendersAheadOfPrefetched) + 60,
    deadLetter: RENDER_DEAD_LETTER_QUEUE,
    // A submitted render starts now, not at the worker's next poll.
    notify: true,
  });
  await queue.createQueue(CALLBACK_QUEUE, {
    retryLimit: settings.callbackRetryLimit,
    retryDelay: settings.callbackRetryDelayS,
    retryBackoff: true,
    retryDelayMax: 900,
    expireInSeconds: 120,
  });
}
