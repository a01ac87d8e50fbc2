import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
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

const RenditionName = /^[a-z0-9][a-z0-9-]{0,19}$/;

/**
 * GET /renders/:id/output, /poster, /sprite and /renditions/:name: the file itself with range requests (filesystem store)
 * or a redirect to a short-lived signed URL (Supabase Storage). Authorized by the API key or by
 * the signed link from the render view (`?expires=…&sig=…`), which can be handed to WhatsApp.
 */
export function registerOutputRoutes(app: Hono<AppEnv>, deps: OutputRouteDeps): void {
  const bearer = requireBearer(deps.apiKey);
  const kindOf = (c: Context<AppEnv>): OutputKind | null => {
    const path = c.req.path;
    const name = c.req.param('name');
    if (name !== undefined) return RenditionName.test(name) ? `renditions/${name}` : null;
    const last = path.slice(path.lastIndexOf('/') + 1);
    return last === 'output' || last === 'poster' || last === 'sprite' ? last : null;
  };
  const signedOrBearer: MiddlewareHandler<AppEnv> = async function signedOrBearer(c, next) {
    const query = OutputQuery.safeParse(c.req.query());
    const id = c.req.param('id') ?? '';
    const kind = kindOf(c);
    if (kind && query.success && deps.signer.verify(id, kind, query.data.expires, query.data.sig))
      return next();
    return bearer(c, next);
  };
  const serve: Handler<AppEnv> = async (c) => {
    const { id } = parseInput(IdParams, { id: c.req.param('id') }, 'params');
    const kind = kindOf(c);
    const row = await deps.store.getRender(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
    if (row.status !== 'completed') {
      throw new ProblemError({
        status: 409,
        title: 'Conflict',
        detail: `the render is ${row.status}; its ${kind} exists once it is completed`,
        extensions: { renderStatus: row.status },
      });
    }
    const key = !kind
      ? null
      : kind === 'output'
        ? row.output_key
        : kind === 'poster'
          ? row.poster_key
          : kind === 'sprite'
            ? (row.sprite?.key ?? null)
            : (row.renditions.find((r) => `renditions/${r.name}` === kind)?.key ?? null);
    if (!key)
      throw new ProblemError({
        status: 404,
        title: 'Not Found',
        detail: `render ${id} has no ${kind ?? 'such file'}`,
      });
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
    const video = key.endsWith('.mp4');
    const answer = fileRangeAnswer({
      path: location.path,
      size: location.size,
      contentType: video ? 'video/mp4' : 'image/jpeg',
      range: c.req.header('range'),
      ifRange: c.req.header('if-range'),
      etag,
    });
    const filename = `render-${row.id}${kind === 'output' ? '' : `-${kind!.replace('renditions/', '')}`}.${video ? 'mp4' : 'jpg'}`;
    const headers = {
      ...answer.headers,
      'content-disposition': `inline; filename="${filename}"`,
    };
    return answer.body ? c.body(answer.body, answer.status, headers) : c.body(null, answer.status, headers);
  };
  for (const kind of ['output', 'poster', 'sprite'] as const) {
    app.get(`/renders/:id/${kind}`, signedOrBearer, deps.guard, serve);
  }
  app.get('/renders/:id/renditions/:name', signedOrBearer, deps.guard, serve);
}
