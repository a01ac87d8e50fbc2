import type { Queue } from '../../shared/queue/index.ts';

/** The durable queues of this service; names are pg-boss queue names. */
export const QUEUES = {
  /** Outbound messages to (re)send through the Graph API. */
  send: 'whatsapp-send',
  /** Inbound text/interactive messages for the agent hook. */
  agent: 'whatsapp-agent',
  /** Inbound media to download from Meta. */
  media: 'whatsapp-media',
  /** Routed inbound messages to POST to their handler (Standard Webhooks). */
  handler: 'whatsapp-handler',
  /**
   * Handler jobs pg-boss gave up on without the worker recording it (a process died in the last
   * attempt): their deliveries become dead letters from here.
   */
  handlerGaveUp: 'whatsapp-handler-gave-up',
} as const;

export interface QueueRetrySettings {
  /** Attempts after the first. */
  retryLimit: number;
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
}

/** Creates (or updates) the queues; every process that sends or works must run it once. */
export async function createWhatsAppQueues(
  queue: Queue,
  send: QueueRetrySettings,
  handler: QueueRetrySettings,
): Promise<void> {
  await queue.createQueue(QUEUES.send, {
    retryLimit: send.retryLimit,
    retryDelay: send.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: send.retryDelayMaxSeconds,
    expireInSeconds: 120,
  });
  const hook = { retryLimit: 5, retryDelay: 5, retryBackoff: true, retryDelayMax: 300, expireInSeconds: 300 };
  await queue.createQueue(QUEUES.agent, hook);
  await queue.createQueue(QUEUES.media, hook);
  await queue.createQueue(QUEUES.handler, {
    retryLimit: handler.retryLimit,
    retryDelay: handler.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: handler.retryDelayMaxSeconds,
    expireInSeconds: 120,
    notify: true,
    deadLetter: QUEUES.handlerGaveUp,
  });
}
