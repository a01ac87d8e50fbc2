import type { Hono } from 'hono';
import type { Database } from '../../../shared/db/index.ts';
import { type AppEnv, pageOf, parseInput, requireBearer } from '../../../shared/http/index.ts';
import { listedMessageView } from '../message-view.ts';
import { ContactParams, ContactTimelineQuery, ListMessagesQuery } from '../schemas.ts';
import { listMessages, type MessageListFilter } from '../store.ts';

export interface MessageListDeps {
  db: Database;
  apiKey: string;
}

/**
 * GET /messages (in and out, filtered) and GET /contacts/:waId/messages (one contact's conversation):
 * newest first, `{ items, nextCursor }`.
 */
export function registerMessageListRoutes(app: Hono<AppEnv>, deps: MessageListDeps): void {
  const auth = requireBearer(deps.apiKey);
  const page = async (filter: Omit<MessageListFilter, 'limit'>, limit: number) => {
    const rows = await listMessages(deps.db, { ...filter, limit: limit + 1 });
    return pageOf(rows, limit, (row) => ({ createdAt: row.cursorAt, id: row.id }), listedMessageView);
  };

  app.get('/messages', auth, async function listMessagesRoute(c) {
    const { cursor, limit, contact, ...filters } = parseInput(ListMessagesQuery, c.req.query(), 'query');
    return c.json(await page({ ...filters, waId: contact, before: cursor }, limit));
  });

  app.get('/contacts/:waId/messages', auth, async function contactTimeline(c) {
    const { waId } = parseInput(ContactParams, c.req.param(), 'params');
    const { cursor, limit, ...filters } = parseInput(ContactTimelineQuery, c.req.query(), 'query');
    return c.json(await page({ ...filters, waId, before: cursor }, limit));
  });
}
