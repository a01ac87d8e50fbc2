import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, ProblemError, parseInput } from '../../../shared/http/index.ts';
import { IdParams, LUT_SRC_PREFIX } from '../schemas.ts';
import { type ObjectStorage, objectKeys } from '../storage/object-storage.ts';
import type { LutRow, VideoStore } from '../store.ts';
import type { TempWorkspaces } from '../temp-workspace.ts';
import { CubeLutError, parseCubeLut, toCube } from '../timeline/cube-lut.ts';

export interface LutRouteDeps {
  store: VideoStore;
  storage: ObjectStorage;
  workspaces: TempWorkspaces;
  writeGuard: MiddlewareHandler<AppEnv>;
  readGuard: MiddlewareHandler<AppEnv>;
}

const lutView = (row: LutRow) => ({
  id: row.id,
  src: `${LUT_SRC_PREFIX}${row.id}`,
  size: row.size,
  sha256: row.sha256,
  createdAt: new Date(row.createdAt).toISOString(),
});

/**
 * POST /luts: a `.cube` 3D LUT as the request body (text). It is parsed and stored as our own
 * rewrite of the numbers, so the file ffmpeg's lut3d reads never holds client text. GET /luts/:id.
 */
export function registerLutRoutes(app: Hono<AppEnv>, deps: LutRouteDeps): void {
  app.post('/luts', deps.writeGuard, async (c) => {
    let cube: string;
    try {
      cube = toCube(parseCubeLut(await c.req.text()));
    } catch (error) {
      if (!(error instanceof CubeLutError)) throw error;
      throw new ProblemError({
        status: 422,
        title: 'Unprocessable LUT',
        detail: error.message,
        errors: [{ field: 'body', message: error.message }],
      });
    }
    const id = randomUUID();
    const key = objectKeys.lut(id);
    const workspace = await deps.workspaces.create(`lut-${id}`);
    try {
      const staged = workspace.path('look.cube');
      await writeFile(staged, cube, { mode: 0o600 });
      await deps.storage.put(key, staged, 'text/plain');
    } finally {
      await workspace.dispose();
    }
    const row = await deps.store.insertLut({
      id,
      size: parseCubeLut(cube).size,
      storageKey: key,
      sha256: createHash('sha256').update(cube).digest('hex'),
    });
    return c.json(lutView(row), 201, { Location: `/luts/${id}` });
  });

  app.get('/luts/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const row = await deps.store.getLut(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no LUT ${id}` });
    return c.json(lutView(row));
  });
}
