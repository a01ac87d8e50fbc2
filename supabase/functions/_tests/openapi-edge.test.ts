/**
 * The OpenAPI routes under Deno, mounted as Supabase mounts a function: the same document at
 * /<name>/openapi.json, and Swagger UI at /<name>/docs loading its files by relative URLs under the
 * mount. Run by scripts/deno-check.ts (`deno test`) with the other edge wiring tests.
 */
import assert from 'node:assert/strict';
import type { Hono } from 'hono';
import type { Database } from '../../../shared/db/index.ts';
import { createOpenApiDocument, createService } from '../../../shared/http/index.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { mountAtFunctionPath } from '../_shared/mount-at-function-path.ts';

const db: Database = {
  kind: 'postgres',
  query: async () => [],
  execScript: async () => {},
  transaction: (fn) => fn({ query: async () => [], execScript: async () => {} }),
  ping: async () => {},
  close: async () => {},
};

Deno.test('mounted under /<name>: /openapi.json and /docs with its files', async () => {
  const document = createOpenApiDocument({ title: 'edge-openapi', version: '1', paths: {} });
  const app = createService({
    name: 'edge-openapi',
    db,
    logger: createLogger({ service: 'edge-openapi', level: 'silent' }),
    metrics: createMetrics({ service: 'edge-openapi' }),
    openApi: document,
  }) as unknown as Hono;
  const { fetch } = mountAtFunctionPath('edge-openapi', app);

  const json = await fetch(new Request('http://edge.local/edge-openapi/openapi.json'));
  assert.equal(json.status, 200);
  assert.deepEqual(await json.json(), JSON.parse(JSON.stringify(document)));

  const pageUrl = 'http://edge.local/edge-openapi/docs';
  const page = await fetch(new Request(pageUrl));
  assert.equal(page.status, 200);
  const html = await page.text();
  const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], pageUrl).href);
  assert.equal(files.length, 2);
  for (const file of files) {
    assert.ok(file.startsWith('http://edge.local/edge-openapi/docs/'), file);
    const response = await fetch(new Request(file));
    assert.equal(response.status, 200, file);
    await response.arrayBuffer();
  }
});
