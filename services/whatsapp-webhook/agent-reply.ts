import type { Database } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { DependencyError } from '../../shared/resilience/index.ts';
import type { AgentClient } from './agent-client.ts';
import { toGraphPayload } from './graph-message-payload.ts';
import type { OutboxSender } from './outbox-sender.ts';
import {
  getConversation,
  getInbound,
  type InboundRow,
  pendingAgentMessages,
  setAgentState,
  settleAgentMessages,
} from './store.ts';

export interface AgentReplierDeps {
  db: Database;
  logger: Logger;
  /** The agent call, already behind its own circuit breaker. */
  ask: AgentClient['ask'];
  /** Read receipt + typing indicator for the message being answered, behind its own breaker. */
  markReadAndTyping?: (phoneNumberId: string, wamid: string) => Promise<void>;
  sender: OutboxSender;
  /** The longest a contact's oldest unanswered message waits while newer ones keep arriving. */
  maxWaitMs?: number;
}

function isRetryable(error: unknown): boolean {
  if (error instanceof DependencyError) return error.retryable;
  return true; // breaker open/timeout, database trouble: the next attempt may do better
}

/**
 * Answers a contact's unanswered messages with one agent call and sends its reply through the outbox.
 * Runs from the queue, each message's job starting a debounce after it arrived: the job of the newest
 * message answers the whole burst, older ones step aside; a message arriving while the agent thinks
 * cancels that reply (the newer job answers everything). Past `maxWaitMs` for the oldest message the
 * reply goes anyway. A reply is stored once per inbound message, so a rerun never answers twice.
 */
export function createAgentReplier(deps: AgentReplierDeps) {
  const maxWaitMs = deps.maxWaitMs ?? 0;
  const waitedTooLong = (oldest: InboundRow) => Date.now() - oldest.createdAt.getTime() >= maxWaitMs;

  return async function replyToInbound(inboundId: string, options: { lastAttempt: boolean }): Promise<void> {
    const inbound = await getInbound(deps.db, inboundId);
    if (inbound?.agentState !== 'pending' || !inbound.text || !inbound.fromWaId) return;
    const conversation = await getConversation(deps.db, inbound.fromWaId, 24);
    if (conversation?.handoff) {
      await setAgentState(deps.db, inboundId, 'handoff');
      return;
    }
    if (conversation?.optedOutAt) {
      await setAgentState(deps.db, inboundId, 'done');
      return;
    }

    const burst = (await pendingAgentMessages(deps.db, inbound.fromWaId)).filter((m) => m.text !== null);
    if (burst.length === 0) return;
    const latest = burst[burst.length - 1];
    // A newer message's job (starting later) answers this one with it.
    if (latest.id !== inbound.id && !waitedTooLong(burst[0])) return;

    // Best effort: a missing blue tick or typing bubble must not hold the reply back.
    await deps.markReadAndTyping?.(latest.phoneNumberId, latest.wamid).catch((error: unknown) => {
      deps.logger.warn({ err: error, inboundId }, 'read receipt / typing indicator not sent');
    });

    const ids = burst.map((m) => m.id);
    let reply: string | null;
    try {
      ({ reply } = await deps.ask({
        from: `+${latest.fromWaId}`,
        text: burst.map((m) => m.text).join('\n'),
        messages: burst.map((m) => ({
          messageId: m.wamid,
          text: m.text!,
          type: m.type,
          replyId: m.replyId,
          receivedAt: m.createdAt.toISOString(),
        })),
        messageId: latest.wamid,
        type: latest.type,
        replyId: latest.replyId,
        contactName: latest.contactName,
        phoneNumberId: latest.phoneNumberId,
        receivedAt: latest.createdAt.toISOString(),
      }));
    } catch (error) {
      if (isRetryable(error) && !options.lastAttempt) throw error;
      deps.logger.warn({ err: error, inboundId }, 'agent hook failed; no reply sent');
      await settleAgentMessages(deps.db, ids, 'failed');
      return;
    }

    const now = await pendingAgentMessages(deps.db, inbound.fromWaId);
    if (now.filter((m) => ids.includes(m.id)).length < ids.length) {
      // A newer message's job has answered these meanwhile (its burst held them too).
      deps.logger.info({ inboundId }, 'agent reply dropped: already answered with a newer message');
      return;
    }
    if (now.some((m) => !ids.includes(m.id)) && !waitedTooLong(burst[0])) {
      deps.logger.info(
        { inboundId },
        'agent reply dropped: the contact wrote again; the newer message answers all',
      );
      return;
    }

    if (reply) {
      const to = `+${latest.fromWaId}`;
      const request = { to, type: 'text' as const, text: { body: reply } };
      const { row } = await deps.sender.submit({
        idempotencyKey: null,
        requestHash: null,
        phoneNumberId: latest.phoneNumberId,
        to,
        type: 'text',
        request,
        graphPayload: toGraphPayload(request),
        replyToInboundId: latest.id,
      });
      // Mark done before sending: the reply is durable now and the outbox owns its delivery.
      await settleAgentMessages(deps.db, ids, 'done');
      await deps.sender.attempt(row.id, { mode: 'inline' });
      return;
    }
    await settleAgentMessages(deps.db, ids, 'done');
  };
}
