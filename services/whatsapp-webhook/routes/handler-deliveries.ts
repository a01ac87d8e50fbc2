import type { Hono } from 'hono';
import type { Database } from '../../../shared/db/index.ts';
import {
  type AppEnv,
  encodeCursor,
  pageOf,
  parseInput,
  problem,
  readJsonBody,
  requestLogger,
  requireBearer,
} from '../../../shared/http/index.ts';
import type { DeliveryReplayer } from '../delivery-replay.ts';
import { deadLetterView, handlerDeliveryView, routeView } from '../delivery-view.ts';
import type { MessageRouter } from '../message-router.ts';
import {
  IdParams,
  ListDeadLettersQuery,
  ListHandlerDeliveriesQuery,
  ReplayHandlerDeliveriesRequest,
} from '../schemas.ts';
import { getDeadLetter, getHandlerDelivery, listDeadLetters, listHandlerDeliveries } from '../store.ts';

export interface HandlerDeliveryRouteDeps {
  db: Database;
  replay: DeliveryReplayer;
  router: MessageRouter;
  apiKey: string;
}

/**
 * The routes (GET /routes), the deliveries to their handlers (GET /handler-deliveries, replay by id or
 * window) and the dead letters (GET /dead-letters, POST /dead-letters/:id/replay). A replay answers 202
 * when it put the delivery back in the queue and 200 when there was nothing to do (already delivered,
 * already on its way, or that letter replayed before): repeating it never sends twice.
 */
export function registerHandlerDeliveryRoutes(app: Hono<AppEnv>, deps: HandlerDeliveryRouteDeps): void {
  const auth = requireBearer(deps.apiKey);
  const cursorOf = (r: { cursorAt: string; id: string }) => ({ createdAt: r.cursorAt, id: r.id });

  app.get('/routes', auth, function listRoutes(c) {
    return c.json({ items: deps.router.routes.map(routeView) });
  });

  app.get('/handler-deliveries', auth, async function listDeliveries(c) {
    const { cursor, limit, ...filters } = parseInput(ListHandlerDeliveriesQuery, c.req.query(), 'query');
    const rows = await listHandlerDeliveries(deps.db, { ...filters, before: cursor, limit: limit + 1 });
    return c.json(pageOf(rows, limit, cursorOf, handlerDeliveryView));
  });

  app.post('/handler-deliveries/replay', auth, async function replayHandlerDeliveriesSince(c) {
    const { since, until, route, limit, cursor } = await readJsonBody(c, ReplayHandlerDeliveriesRequest);
    const { replayed, last } = await deps.replay.handlerDeliveriesIn(
      { since, until, route, after: cursor },
      limit,
    );
    requestLogger(c).info({ since, until, route, replayed }, 'dead handler deliveries replayed');
    return c.json({ replayed, nextCursor: last ? encodeCursor(last) : null });
  });

  app.post('/handler-deliveries/:id/replay', auth, async function replayHandlerDelivery(c) {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    if (!(await getHandlerDelivery(deps.db, id))) {
      return problem(c, { status: 404, title: 'Not Found', detail: `no handler delivery ${id}` });
    }
    const queued = await deps.replay.handlerDelivery(id);
    const row = await getHandlerDelivery(deps.db, id);
    if (queued) requestLogger(c).info({ deliveryId: id }, 'handler delivery replayed');
    return c.json(handlerDeliveryView(row!), queued ? 202 : 200);
  });

  app.get('/dead-letters', auth, async function listLetters(c) {
    const { cursor, limit, ...filters } = parseInput(ListDeadLettersQuery, c.req.query(), 'query');
    const rows = await listDeadLetters(deps.db, { ...filters, before: cursor, limit: limit + 1 });
    return c.json(pageOf(rows, limit, cursorOf, deadLetterView));
  });

  app.post('/dead-letters/:id/replay', auth, async function replayDeadLetter(c) {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    if (!(await getDeadLetter(deps.db, id))) {
      return problem(c, { status: 404, title: 'Not Found', detail: `no dead letter ${id}` });
    }
    const queued = await deps.replay.deadLetter(id);
    const row = await getDeadLetter(deps.db, id);
    if (queued) requestLogger(c).info({ letterId: id, deliveryId: row?.deliveryId }, 'dead letter replayed');
    return c.json(deadLetterView(row!), queued ? 202 : 200);
  });
}
