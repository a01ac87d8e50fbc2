import type { Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, pageOf, parseInput } from '../../../shared/http/index.ts';
import type { OutputUrlSigner } from '../output-url-signer.ts';
import { toRenderView } from '../render-view.ts';
import { ListRendersQuery } from '../schemas.ts';
import type { VideoStore } from '../store.ts';

export interface RenderListDeps {
  store: VideoStore;
  signer: OutputUrlSigner;
  publicUrl: string;
  /** Authentication + the read rate limit. */
  readGuard: MiddlewareHandler<AppEnv>;
}

/** GET /renders: newest first, `{ items, nextCursor }`, each item as GET /renders/:id shows it. */
export function registerRenderList(app: Hono<AppEnv>, deps: RenderListDeps): void {
  app.get('/renders', deps.readGuard, async function listRenders(c) {
    const { cursor, limit, ...filters } = parseInput(ListRendersQuery, c.req.query(), 'query');
    const rows = await deps.store.listRenders({ ...filters, before: cursor, limit: limit + 1 });
    return c.json(
      pageOf(
        rows,
        limit,
        (row) => ({ createdAt: row.cursorAt, id: row.id }),
        (row) => toRenderView(row, deps.signer, deps.publicUrl),
      ),
    );
  });
}
