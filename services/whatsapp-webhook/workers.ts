import { PermanentJobError } from '../../shared/queue/index.ts';
import type { WhatsAppComponents, WhatsAppDeps } from './components.ts';
import { QUEUES } from './jobs.ts';
import { RetryLaterError } from './outbox-sender.ts';
import { AgentJob, HandlerJob, MediaJob, SendJob } from './schemas.ts';
import { markHandlerDead } from './store.ts';

function parseJob<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  data: unknown,
) {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new PermanentJobError('job data is malformed');
  return parsed.data;
}

/**
 * Registers the queue handlers: outbound retries, agent replies, handler deliveries, media downloads. The queues must
 * exist (createWhatsAppQueues) first. Stopping is the queue's `stop()`.
 */
export async function startWorkers(deps: WhatsAppDeps & { components: WhatsAppComponents }): Promise<void> {
  const { queue, components, settings } = deps;
  const concurrency = settings.workerConcurrency;

  await queue.work(QUEUES.send, { concurrency }, async (job) => {
    const { messageId } = parseJob(SendJob, job.data);
    try {
      await components.sender.attempt(messageId, { mode: 'worker', lastAttempt: job.isLastAttempt });
    } catch (error) {
      // Out of retries while another sender held the message or throughput was full: the message
      // is still queued, so it gets a fresh job rather than being stranded.
      if (error instanceof RetryLaterError && job.isLastAttempt) {
        await queue.send(QUEUES.send, { messageId }, { startAfter: settings.sendRetry.retryDelaySeconds });
        return;
      }
      throw error;
    }
  });

  const { replyToInbound, downloadInboundMedia } = components;
  if (replyToInbound) {
    await queue.work(QUEUES.agent, { concurrency }, async (job) => {
      const { inboundId } = parseJob(AgentJob, job.data);
      await replyToInbound(inboundId, { lastAttempt: job.isLastAttempt });
    });
  }
  const { deliverToHandler } = components;
  if (deliverToHandler) {
    await queue.work(QUEUES.handler, { concurrency }, async (job) => {
      const { deliveryId } = parseJob(HandlerJob, job.data);
      await deliverToHandler(deliveryId, { lastAttempt: job.isLastAttempt });
    });
    // pg-boss gave up on a job the worker never settled (its process died in the last attempt).
    await queue.work(QUEUES.handlerGaveUp, { concurrency: 1 }, async (job) => {
      const { deliveryId } = parseJob(HandlerJob, job.data);
      await markHandlerDead(deps.db, deliveryId, {
        status: null,
        error: 'the delivery job failed for good before its outcome was recorded',
        attempted: false,
      });
    });
  }
  if (downloadInboundMedia) {
    await queue.work(QUEUES.media, { concurrency: Math.max(1, Math.floor(concurrency / 2)) }, async (job) => {
      const { inboundId } = parseJob(MediaJob, job.data);
      await downloadInboundMedia(inboundId, { lastAttempt: job.isLastAttempt });
    });
  }
}
