import type { Hono } from 'hono';
import { type Database, WriterOverloadedError } from '../../../shared/db/index.ts';
import {
  type AppEnv,
  encodeCursor,
  pageOf,
  parseInput,
  problem,
  readJsonBody,
  requestLogger,
  requireBearer,
  storeUnavailable,
} from '../../../shared/http/index.ts';
import type { DeliveryReplayer } from '../delivery-replay.ts';
import { webhookDeliveryView } from '../delivery-view.ts';
import { IdParams, ListWebhookDeliveriesQuery, ReplayWebhookDeliveriesRequest } from '../schemas.ts';
import { listWebhookDeliveries } from '../store.ts';

export interface DeliveryRouteDeps {
  db: Database;
  replay: DeliveryReplayer;
  apiKey: string;
}

/**
 * The verified webhook deliveries we keep raw, and their replay through the same ingest:
 * GET /deliveries, POST /deliveries/:id/replay, POST /deliveries/replay (a window, a page per call).
 */
export function registerDeliveryRoutes(app: Hono<AppEnv>, deps: DeliveryRouteDeps): void {
  const auth = requireBearer(deps.apiKey);

  app.get('/deliveries', auth, async function listDeliveries(c) {
    const { cursor, limit, since } = parseInput(ListWebhookDeliveriesQuery, c.req.query(), 'query');
    const rows = await listWebhookDeliveries(deps.db, { since, before: cursor, limit: limit + 1 });
    return c.json(pageOf(rows, limit, (r) => ({ createdAt: r.cursorAt, id: r.id }), webhookDeliveryView));
  });

  app.post('/deliveries/replay', auth, async function replayDeliveriesSince(c) {
    const { since, until, limit, cursor } = await readJsonBody(c, ReplayWebhookDeliveriesRequest);
    try {
      const { totals, last } = await deps.replay.webhookDeliveriesIn({ since, until, after: cursor }, limit);
      requestLogger(c).info({ since, until, ...totals }, 'webhook deliveries replayed');
      return c.json({ ...totals, nextCursor: last ? encodeCursor(last) : null });
    } catch (error) {
      if (error instanceof WriterOverloadedError) return storeUnavailable(c, error, 'replayed delivery');
      throw error;
    }
  });

  app.post('/deliveries/:id/replay', auth, async function replayDelivery(c) {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    let counts: Awaited<ReturnType<DeliveryReplayer['webhookDelivery']>>;
    try {
      counts = await deps.replay.webhookDelivery(id);
    } catch (error) {
      if (error instanceof WriterOverloadedError) return storeUnavailable(c, error, 'replayed delivery');
      throw error;
    }
    if (!counts) return problem(c, { status: 404, title: 'Not Found', detail: `no stored delivery ${id}` });
    requestLogger(c).info({ deliveryId: id, ...counts }, 'webhook delivery replayed');
    return c.json({ id, ...counts });
  });
}
