import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { AppEnv } from './app-env.ts';
import type { OpenApiDocument } from './openapi-document.ts';
import { problem } from './problem.ts';
import { requestLogger } from './request-context.ts';

/** Files of the API reference page, served under /docs/. */
export type DocsAssetLoader = (name: DocsAssetName) => Promise<Uint8Array>;

const DOCS_ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;
export type DocsAssetName = keyof typeof DOCS_ASSETS;

/**
 * Swagger UI's files from the installed `swagger-ui-dist` package: the page needs no CDN and no
 * internet. Resolved on first use, so a runtime without the package still serves /openapi.json.
 */
export const swaggerUiFromNodeModules: DocsAssetLoader = async (name) => {
  const dir = createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js')() as string;
  return new Uint8Array(await readFile(join(dir, name)));
};

// Relative URLs: the page works under a mount prefix too (the edge serves it at /<function>/docs).
function docsPage(title: string): string {
  const escaped = title.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escaped} API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true });
</script>
</body>
</html>
`;
}

export interface OpenApiRoutesOptions {
  /** Where the reference page's files come from; default: node_modules. */
  docsAssets?: DocsAssetLoader;
}

/**
 * GET /openapi.json (the document), GET /docs (Swagger UI) and its two files under /docs/. Public:
 * the document holds no secrets, and callers need it before they have a key.
 *
 * @example
 * registerOpenApiRoutes(app, createOpenApiDocument({ title: 'voice-bridge', version: '1', paths }));
 */
export function registerOpenApiRoutes(
  app: Hono<AppEnv>,
  document: OpenApiDocument,
  options: OpenApiRoutesOptions = {},
): void {
  const body = JSON.stringify(document);
  const page = docsPage(document.info.title);
  const load = options.docsAssets ?? swaggerUiFromNodeModules;
  const cache = new Map<DocsAssetName, Promise<Uint8Array>>();

  app.get('/openapi.json', (c) => c.body(body, 200, { 'content-type': 'application/json' }));
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/:file', async (c) => {
    const file = c.req.param('file');
    if (!Object.hasOwn(DOCS_ASSETS, file)) {
      return problem(c, { status: 404, title: 'Not Found', detail: `no file ${file} under /docs/` });
    }
    const name = file as DocsAssetName;
    let bytes: Uint8Array;
    try {
      if (!cache.has(name)) cache.set(name, load(name));
      bytes = await cache.get(name)!;
    } catch (error) {
      cache.delete(name);
      requestLogger(c).warn({ err: error, file: name }, 'API reference file unavailable');
      return problem(c, {
        status: 503,
        title: 'Service Unavailable',
        detail: `the API reference page is unavailable here (${name}); /openapi.json is`,
        headers: { 'Retry-After': '60' },
      });
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': DOCS_ASSETS[name],
      'cache-control': 'public, max-age=86400',
    });
  });
}
