import type { Hono } from 'hono';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../../shared/db/index.ts';
import {
  type AppEnv,
  parseInput,
  problem,
  readJsonBody,
  requestLogger,
  requireBearer,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { type RateLimitPolicy, rateLimit } from '../../../shared/resilience/index.ts';
import { ContactParams, HandoffRequest } from '../schemas.ts';
import { type ConversationRow, getConversation, setHandoff } from '../store.ts';

export interface ConversationRouteDeps {
  db: Database;
  metrics: ServiceMetrics;
  apiKey: string;
  serviceWindowHours: number;
  rateLimitPolicy: RateLimitPolicy;
  rateLimiter: RateLimiterAbstract;
  trustProxy?: string;
}

function conversationView(row: ConversationRow) {
  return {
    waId: row.waId,
    name: row.name,
    window: {
      open: row.windowOpen,
      lastInboundAt: row.lastInboundAt?.toISOString() ?? null,
      closesAt: row.windowClosesAt?.toISOString() ?? null,
    },
    optedOut: row.optedOutAt !== null,
    optedOutAt: row.optedOutAt?.toISOString() ?? null,
    handoff: row.handoff,
  };
}

/**
 * GET /contacts/:waId/conversation (window, opt-out, handoff) and PATCH it with `{ handoff }`: true
 * pauses the agent for a human, false resumes it.
 */
export function registerConversationRoutes(app: Hono<AppEnv>, deps: ConversationRouteDeps): void {
  const auth = requireBearer(deps.apiKey);
  const limit = rateLimit({
    policy: deps.rateLimitPolicy,
    limiter: deps.rateLimiter,
    metrics: deps.metrics,
    trustProxy: deps.trustProxy,
  });

  app.get('/contacts/:waId/conversation', auth, limit, async function getConversationState(c) {
    const { waId } = parseInput(ContactParams, c.req.param(), 'params');
    const row = await getConversation(deps.db, waId, deps.serviceWindowHours);
    if (!row) return problem(c, { status: 404, title: 'Not Found', detail: `no contact ${waId}` });
    return c.json(conversationView(row));
  });

  app.patch('/contacts/:waId/conversation', auth, limit, async function setConversationHandoff(c) {
    const { waId } = parseInput(ContactParams, c.req.param(), 'params');
    const { handoff } = await readJsonBody(c, HandoffRequest);
    const row = await setHandoff(deps.db, waId, handoff, deps.serviceWindowHours);
    requestLogger(c).info(
      { handoff },
      handoff ? 'conversation handed to a human' : 'conversation back to the agent',
    );
    return c.json(conversationView(row));
  });
}
