import type { Database } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { DependencyError } from '../../shared/resilience/index.ts';
import type { AgentClient } from './agent-client.ts';
import { toGraphPayload } from './graph-message-payload.ts';
import type { OutboxSender } from './outbox-sender.ts';
import { getConversation, getInbound, setAgentState } from './store.ts';

export interface AgentReplierDeps {
  db: Database;
  logger: Logger;
  /** The agent call, already behind its own circuit breaker. */
  ask: AgentClient['ask'];
  /** Read receipt + typing indicator for the message being answered, behind its own breaker. */
  markReadAndTyping?: (phoneNumberId: string, wamid: string) => Promise<void>;
  sender: OutboxSender;
}

function isRetryable(error: unknown): boolean {
  if (error instanceof DependencyError) return error.retryable;
  return true; // breaker open/timeout, database trouble: the next attempt may do better
}

/**
 * Hands one stored inbound message to the agent and sends its reply through the outbox. Runs
 * from the queue; a reply is stored once per inbound message, so a rerun never answers twice.
 */
export function createAgentReplier(deps: AgentReplierDeps) {
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
    // Best effort: a missing blue tick or typing bubble must not hold the reply back.
    await deps.markReadAndTyping?.(inbound.phoneNumberId, inbound.wamid).catch((error: unknown) => {
      deps.logger.warn({ err: error, inboundId }, 'read receipt / typing indicator not sent');
    });

    let reply: string | null;
    try {
      ({ reply } = await deps.ask({
        from: `+${inbound.fromWaId}`,
        text: inbound.text,
        messageId: inbound.wamid,
        type: inbound.type,
        replyId: inbound.replyId,
        contactName: inbound.contactName,
        phoneNumberId: inbound.phoneNumberId,
        receivedAt: inbound.createdAt.toISOString(),
      }));
    } catch (error) {
      if (isRetryable(error) && !options.lastAttempt) throw error;
      deps.logger.warn({ err: error, inboundId }, 'agent hook failed; no reply sent');
      await setAgentState(deps.db, inboundId, 'failed');
      return;
    }

    if (reply) {
      const to = `+${inbound.fromWaId}`;
      const request = { to, type: 'text' as const, text: { body: reply } };
      const { row } = await deps.sender.submit({
        idempotencyKey: null,
        requestHash: null,
        phoneNumberId: inbound.phoneNumberId,
        to,
        type: 'text',
        request,
        graphPayload: toGraphPayload(request),
        replyToInboundId: inbound.id,
      });
      // Mark done before sending: the reply is durable now and the outbox owns its delivery.
      await setAgentState(deps.db, inboundId, 'done');
      await deps.sender.attempt(row.id, { mode: 'inline' });
      return;
    }
    await setAgentState(deps.db, inboundId, 'done');
  };
}
