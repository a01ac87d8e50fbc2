/**
 * `npm run db:migrate`: applies supabase/migrations to DATABASE_URL, or, without it, to each
 * service's embedded database under DATA_DIR (they also migrate themselves at start).
 */

import { join } from 'node:path';
import { z } from 'zod';
import { SERVICE_NAMES } from '../services/manifest.js';
import { baseEnvShape, loadConfigOrExit } from '../shared/config/index.ts';
import { fromPostgresJs, migrate } from '../shared/db/index.ts';
import { fromPglite, openPglite } from '../shared/db/pglite-adapter.ts';

const config = loadConfigOrExit('db:migrate', z.object(baseEnvShape));

const url = config.DATABASE_URL;
const targets = url
  ? [
      {
        label: 'DATABASE_URL',
        open: async () => fromPostgresJs({ url, prepare: config.DATABASE_PREPARE, max: 1 }),
      },
    ]
  : SERVICE_NAMES.map((name) => ({
      label: `embedded ${name}`,
      open: async () => fromPglite(await openPglite(join(config.DATA_DIR, name, 'pgdata'))),
    }));

for (const target of targets) {
  const db = await target.open();
  const applied = await migrate(db);
  await db.close();
  process.stdout.write(
    `${target.label}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`,
  );
}
