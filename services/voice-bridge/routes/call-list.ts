import type { Hono } from 'hono';
import { pageOf, parseInput, requireBearer } from '../../../shared/http/index.ts';
import { ListCallsQuery } from '../schemas.ts';
import type { VoiceStore } from '../store.ts';
import { callView } from './outbound-calls.ts';
import type { VoiceEnv } from './twilio-webhook-auth.ts';

export interface CallListOptions {
  store: VoiceStore;
  apiKey: string;
}

/** GET /calls: newest first, `{ items, nextCursor }`, filtered by status, direction, to and since. */
export function mountCallList(app: Hono<VoiceEnv>, options: CallListOptions): void {
  app.get('/calls', requireBearer(options.apiKey), async function listCalls(c) {
    const { cursor, limit, ...filters } = parseInput(ListCallsQuery, c.req.query(), 'query');
    const rows = await options.store.listCalls({
      ...filters,
      before: cursor,
      limit: limit + 1,
    });
    return c.json(pageOf(rows, limit, (row) => ({ createdAt: row.cursorAt, id: row.id }), callView));
  });
}
