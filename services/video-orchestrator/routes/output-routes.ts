import type { Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, ProblemError, parseInput, requireBearer } from '../../../shared/http/index.ts';
import { fileRangeAnswer } from '../file-range-response.ts';
import type { OutputKind, OutputUrlSigner } from '../output-url-signer.ts';
import { IdParams, OutputQuery } from '../schemas.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { VideoStore } from '../store.ts';

export interface OutputRouteDeps {
  store: VideoStore;
  storage: ObjectStorage;
  signer: OutputUrlSigner;
  apiKey: string;
  /** Run after authentication (rate limit). */
  guard: MiddlewareHandler<AppEnv>;
  /** Lifetime of a storage-signed URL we redirect to. */
  redirectTtlSeconds?: number;
}

const CONTENT_TYPES: Record<OutputKind, string> = { output: 'video/mp4', poster: 'image/jpeg' };

/**
 * GET /renders/:id/output and /poster: the file itself with range requests (filesystem store)
 * or a redirect to a short-lived signed URL (Supabase Storage). Authorized by the API key or by
 * the signed link from the render view (`?expires=…&sig=…`), which can be handed to WhatsApp.
 */
export function registerOutputRoutes(app: Hono<AppEnv>, deps: OutputRouteDeps): void {
  const bearer = requireBearer(deps.apiKey);
  for (const kind of ['output', 'poster'] as const) {
    const signedOrBearer: MiddlewareHandler<AppEnv> = async function signedOrBearer(c, next) {
      const query = OutputQuery.safeParse(c.req.query());
      const id = c.req.param('id') ?? '';
      if (query.success && deps.signer.verify(id, kind, query.data.expires, query.data.sig)) return next();
      return bearer(c, next);
    };
    app.get(`/renders/:id/${kind}`, signedOrBearer, deps.guard, async (c) => {
      const { id } = parseInput(IdParams, c.req.param(), 'params');
      const row = await deps.store.getRender(id);
      if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
      const key = kind === 'output' ? row.output_key : row.poster_key;
      if (row.status !== 'completed' || !key) {
        throw new ProblemError({
          status: 409,
          title: 'Conflict',
          detail: `the render is ${row.status}; its ${kind} exists once it is completed`,
          extensions: { renderStatus: row.status },
        });
      }
      const location = await deps.storage.locate(key, { expiresInSeconds: deps.redirectTtlSeconds ?? 300 });
      if (!location)
        throw new ProblemError({
          status: 410,
          title: 'Gone',
          detail: `the ${kind} file is no longer stored`,
        });
      if (location.kind === 'url') return c.redirect(location.url, 302);
      const etag = `"${row.id}-${kind}-${location.size}"`;
      if (c.req.header('if-none-match') === etag) return c.body(null, 304, { etag });
      const answer = fileRangeAnswer({
        path: location.path,
        size: location.size,
        contentType: CONTENT_TYPES[kind],
        range: c.req.header('range'),
        ifRange: c.req.header('if-range'),
        etag,
      });
      const ext = kind === 'output' ? 'mp4' : 'jpg';
      const headers = {
        ...answer.headers,
        'content-disposition': `inline; filename="render-${row.id}.${ext}"`,
      };
      return answer.body ? c.body(answer.body, answer.status, headers) : c.body(null, answer.status, headers);
    });
  }
}
