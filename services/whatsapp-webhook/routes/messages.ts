import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../../shared/db/index.ts';
import {
  type AppEnv,
  type ProblemInit,
  parseInput,
  problem,
  readJsonBody,
  requestLogger,
  requireBearer,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { type RateLimitPolicy, rateLimit } from '../../../shared/resilience/index.ts';
import type { ConversationSettings } from '../config.ts';
import { decideSend, waIdOf } from '../conversation-policy.ts';
import { historyView, messageView } from '../message-view.ts';
import type { AttemptResult, OutboxSender } from '../outbox-sender.ts';
import { IdempotencyKey, MessageIdParams, SendMessageRequest } from '../schemas.ts';
import {
  getConversation,
  getOutbound,
  getOutboundHistory,
  type OutboundRow,
  saveFirstResponse,
} from '../store.ts';

export interface MessageRouteDeps {
  db: Database;
  sender: OutboxSender;
  metrics: ServiceMetrics;
  apiKey: string;
  phoneNumberId: string;
  /** The customer-service window, opt-out and the window template. */
  conversations: ConversationSettings;
  rateLimitPolicy: RateLimitPolicy;
  rateLimiter: RateLimiterAbstract;
  trustProxy?: string;
}

interface Answer {
  status: ContentfulStatusCode;
  body: unknown;
}

/** The `status` label of whatsapp_messages_total for a new message's first answer. */
const STATUS_BY_ANSWER: Partial<Record<number, string>> = { 201: 'sent', 202: 'queued' };

/** 201 sent, 202 queued for retry, 422 rejected by Meta for good. */
function answerFor(c: Context<AppEnv>, result: AttemptResult): Answer {
  const view = messageView(result.row);
  if (result.outcome === 'sent') return { status: 201, body: view };
  if (result.outcome === 'queued') return { status: 202, body: { ...view, status: 'queued' } };
  const init: ProblemInit = {
    status: 422,
    title: 'Message rejected by WhatsApp',
    detail: result.row.errorMessage ?? 'the Graph API refused the message',
    extensions: { id: view.id, status: 'failed', error: view.error },
  };
  return { status: 422, body: problemBody(c, init) };
}

function problemBody(c: Context<AppEnv>, init: ProblemInit): unknown {
  return {
    type: 'about:blank',
    title: init.title,
    status: init.status,
    detail: init.detail,
    ...(init.extensions ?? {}),
    instance: c.req.path,
  };
}

function respond(c: Context<AppEnv>, answer: Answer, replayed: boolean, id: string): Response {
  const headers: Record<string, string> = {
    'content-type': answer.status >= 400 ? 'application/problem+json' : 'application/json',
    location: `/messages/${id}`,
  };
  if (replayed) headers['idempotent-replayed'] = 'true';
  return c.body(JSON.stringify(answer.body), answer.status, headers);
}

/** After this long without a saved answer, the first request is taken to have died. */
const STALE_IN_FLIGHT_MS = 30_000;

function outcomeOf(row: OutboundRow): AttemptResult['outcome'] {
  return row.status === 'queued' ? 'queued' : row.status === 'failed' ? 'failed' : 'sent';
}

function requestHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/**
 * POST /messages (send through the outbox, within WhatsApp's conversation rules: see decideSend) and
 * GET /messages/:id (with status history).
 */
export function registerMessageRoutes(app: Hono<AppEnv>, deps: MessageRouteDeps): void {
  const auth = requireBearer(deps.apiKey);
  const limit = rateLimit({
    policy: deps.rateLimitPolicy,
    limiter: deps.rateLimiter,
    metrics: deps.metrics,
    trustProxy: deps.trustProxy,
  });

  app.post('/messages', auth, limit, async function sendMessage(c) {
    const key = c.req.header('idempotency-key');
    const idempotencyKey = key === undefined ? null : parseInput(IdempotencyKey, key, 'headers');
    const request = await readJsonBody(c, SendMessageRequest);
    const hash = requestHash(request);
    const conversation = await getConversation(
      deps.db,
      waIdOf(request.to),
      deps.conversations.serviceWindowHours,
    );
    const decision = decideSend(request, conversation, deps.conversations);
    if (decision.kind === 'refuse') return problem(c, decision.problem);

    let stored: { row: OutboundRow; created: boolean };
    try {
      stored = await deps.sender.submit({
        idempotencyKey,
        requestHash: hash,
        phoneNumberId: deps.phoneNumberId,
        to: request.to,
        type: decision.type,
        request,
        graphPayload: decision.graphPayload,
        replyToInboundId: null,
        windowFallback: decision.windowFallback,
        note: decision.note,
      });
    } catch (error) {
      requestLogger(c).error({ err: error }, 'message not stored');
      return problem(c, {
        status: 503,
        title: 'Service Unavailable',
        detail: 'the message could not be stored; nothing was sent',
        headers: { 'Retry-After': '5' },
      });
    }

    const { row, created } = stored;
    if (!created) {
      if (row.requestHash !== hash) {
        return problem(c, {
          status: 422,
          title: 'Idempotency-Key reused',
          detail: 'this Idempotency-Key was used for a different request',
          errors: [{ field: 'headers.idempotency-key', message: 'already used with another body' }],
        });
      }
      if (row.responseStatus === null && Date.now() - row.createdAt.getTime() > STALE_IN_FLIGHT_MS) {
        // The first request died before saving its answer: answer from where the message is now.
        return respond(c, answerFor(c, { outcome: outcomeOf(row), row }), true, row.id);
      }
      if (row.responseStatus === null) {
        return problem(c, {
          status: 409,
          title: 'Conflict',
          detail: 'a request with this Idempotency-Key is still being processed',
          headers: { 'Retry-After': '1' },
        });
      }
      return respond(
        c,
        { status: row.responseStatus as ContentfulStatusCode, body: row.responseBody },
        true,
        row.id,
      );
    }

    let answer: Answer;
    try {
      answer = answerFor(c, await deps.sender.attempt(row.id, { mode: 'inline' }));
    } catch (error) {
      // Stored with its retry job already: the queue sends it even though this attempt broke.
      requestLogger(c).error({ err: error, messageId: row.id }, 'inline send attempt failed');
      answer = { status: 202, body: { ...messageView(row), status: 'queued' } };
    }
    deps.metrics.whatsappMessages.inc({
      direction: 'out',
      type: request.type,
      status: STATUS_BY_ANSWER[answer.status] ?? 'failed',
    });
    if (idempotencyKey !== null) {
      await saveFirstResponse(deps.db, row.id, answer.status, answer.body).catch((error: unknown) => {
        requestLogger(c).error({ err: error, messageId: row.id }, 'idempotent response not saved');
      });
    }
    return respond(c, answer, false, row.id);
  });

  app.get('/messages/:id', auth, limit, async function getMessage(c) {
    const { id } = parseInput(MessageIdParams, c.req.param(), 'params');
    const row = await getOutbound(deps.db, id);
    if (!row) return problem(c, { status: 404, title: 'Not Found', detail: `no message ${id}` });
    const history = await getOutboundHistory(deps.db, row.id, row.wamid);
    return c.json({ ...messageView(row), history: history.map(historyView) });
  });
}
