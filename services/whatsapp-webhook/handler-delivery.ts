import type { Database } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { DependencyError } from '../../shared/resilience/index.ts';
import type { HandlerAnswer, HandlerEvent } from './handler-client.ts';
import type { MessageRouter } from './message-router.ts';
import { HandlerAnswerBody, type HandlerEventData, MESSAGE_RECEIVED } from './schemas.ts';
import {
  applyHandlerStickiness,
  getHandlerDelivery,
  getInboundWithPayload,
  markHandlerDead,
  markHandlerDelivered,
  recordHandlerAttempt,
} from './store.ts';

export interface HandlerDelivererDeps {
  db: Database;
  logger: Logger;
  router: MessageRouter;
  /** Each route's POST, already behind its own circuit breaker. */
  post: (route: string, event: HandlerEvent) => Promise<HandlerAnswer>;
}

/** Why an attempt failed, for the delivery row and its dead letter; and whether to try again. */
function describeFailure(error: unknown): { status: number | null; error: string; retryable: boolean } {
  if (error instanceof DependencyError) {
    return { status: error.status ?? null, error: error.message, retryable: error.retryable };
  }
  if ((error as { code?: string } | null)?.code === 'EOPENBREAKER') {
    return { status: null, error: 'circuit breaker open', retryable: true };
  }
  return { status: null, error: error instanceof Error ? error.message : String(error), retryable: true };
}

/**
 * One attempt to deliver a routed message to its handler (the `whatsapp-handler` queue's work). A
 * failure is rethrown for pg-boss to retry with backoff; the last attempt (or a 410, or a route no
 * longer configured) ends in a dead letter instead. A 2xx settles the delivery and applies the
 * handler's stickiness answer in one transaction. Settled deliveries are left alone, so a duplicate
 * job sends nothing.
 */
export function createHandlerDeliverer(deps: HandlerDelivererDeps) {
  return async function deliverToHandler(
    deliveryId: string,
    options: { lastAttempt: boolean },
  ): Promise<void> {
    const delivery = await getHandlerDelivery(deps.db, deliveryId);
    if (delivery?.status !== 'pending') return;
    const log = deps.logger.child({ deliveryId, route: delivery.route });
    const route = deps.router.get(delivery.route);
    const message = await getInboundWithPayload(deps.db, delivery.inboundId);
    if (!route || !message) {
      const reason = route ? 'the message no longer exists' : `route ${delivery.route} is not configured`;
      await markHandlerDead(deps.db, deliveryId, { status: null, error: reason, attempted: false });
      log.warn({ reason }, 'handler delivery dead-lettered');
      return;
    }

    const data: HandlerEventData = {
      deliveryId: delivery.id,
      route: delivery.route,
      match: { kind: delivery.matchKind, value: delivery.matchValue },
      message: {
        id: message.id,
        wamid: message.wamid,
        from: message.fromWaId ? `+${message.fromWaId}` : null,
        waId: message.fromWaId,
        contactName: message.contactName,
        phoneNumberId: message.phoneNumberId,
        type: message.type,
        text: message.text,
        replyId: message.replyId,
        mediaId: message.mediaId,
        mediaMimeType: message.mediaMimeType,
        caption: message.caption,
        contextWamid: message.contextWamid,
        sentAt: message.sentAt?.toISOString() ?? null,
        receivedAt: message.createdAt.toISOString(),
        payload: message.payload,
      },
    };
    const event: HandlerEvent = {
      id: delivery.id,
      type: MESSAGE_RECEIVED,
      timestamp: message.createdAt,
      data,
    };

    let answer: HandlerAnswer;
    try {
      answer = await deps.post(route.name, event);
    } catch (error) {
      const failure = describeFailure(error);
      if (options.lastAttempt || !failure.retryable) {
        const letter = await markHandlerDead(deps.db, deliveryId, { ...failure, attempted: true });
        log.warn(
          { letterId: letter, status: failure.status, reason: failure.error },
          'handler delivery dead-lettered',
        );
        return;
      }
      await recordHandlerAttempt(deps.db, deliveryId, failure);
      log.info({ status: failure.status, reason: failure.error }, 'handler delivery failed; retrying');
      throw error;
    }

    const parsed = HandlerAnswerBody.safeParse(answer.body ?? {});
    if (!parsed.success) log.warn('handler answer ignored: sticky/ttlSeconds malformed');
    const { sticky, ttlSeconds } = parsed.success ? parsed.data : {};
    await deps.db.transaction(async (tx) => {
      const delivered = await markHandlerDelivered(tx, deliveryId, answer.status);
      if (!delivered || sticky === undefined) return;
      await applyHandlerStickiness(tx, {
        inboundId: message.id,
        route: route.name,
        claim: sticky ? { ttlSeconds: ttlSeconds ?? route.stickyTtlSeconds } : null,
      });
    });
  };
}

export type HandlerDeliverer = ReturnType<typeof createHandlerDeliverer>;
