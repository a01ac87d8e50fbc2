import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../../../../shared/db/index.ts';
import {
  createOpenApiDocument,
  createService,
  jsonContent,
  jsonSchema,
  ProblemError,
  parametersOf,
  problems,
} from '../../../../shared/http/index.ts';
import { createLogger } from '../../../../shared/observability/logger.ts';
import { createMetrics } from '../../../../shared/observability/metrics.ts';
import { createTestDatabase } from '../../../support/database.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import { validateOpenApiDocument } from '../../../support/openapi-contract.ts';

const logger = createLogger({ service: 'kit-openapi-test', level: 'silent' });
const Widget = z.object({ id: z.uuid(), size: z.int().min(1).default(1) });

const document = createOpenApiDocument({
  title: 'kit <test>',
  version: '1',
  schemas: { Widget },
  paths: {
    '/widgets/{id}': {
      get: {
        operationId: 'getWidget',
        parameters: parametersOf(z.object({ id: z.uuid() }), 'path'),
        responses: {
          200: { description: 'A widget.', content: jsonContent(jsonSchema(Widget)) },
          ...problems(404),
        },
      },
    },
  },
});

describe('OpenAPI routes from the kit', () => {
  let db: Database;
  let served: TestServer;
  let failing: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    const make = (options: Partial<Parameters<typeof createService>[0]>) =>
      createService({
        name: 'kit-openapi-test',
        db,
        logger,
        metrics: createMetrics({ service: 'k' }),
        ...options,
      });
    served = await listen(make({ openApi: document }));
    failing = await listen(
      make({
        openApi: document,
        docsAssets: async () => {
          throw new Error('not installed here');
        },
      }),
    );
    const withProblem = make({});
    withProblem.get('/conflict', () => {
      throw new ProblemError({
        status: 409,
        title: 'Conflict',
        extensions: { status: 'completed', state: 'x' },
      });
    });
    plain = await listen(withProblem);
  });
  afterAll(async () => {
    await Promise.all([served.close(), failing.close(), plain.close()]);
    await db.close();
  });

  it('builds a valid OpenAPI 3.1 document with the kit’s routes and components', async () => {
    await validateOpenApiDocument(document);
    expect(Object.keys(document.paths).sort()).toEqual(
      ['/docs', '/docs/{file}', '/health', '/metrics', '/openapi.json', '/ready', '/widgets/{id}'].sort(),
    );
    // Requests are documented as input (a default makes a field optional), responses as output.
    expect(jsonSchema(Widget, 'input').required).toEqual(['id']);
    expect(jsonSchema(Widget, 'output').required).toEqual(['id', 'size']);
    expect(Object.keys(document.components.securitySchemes as object)).toEqual(
      expect.arrayContaining(['bearerApiKey', 'metaSignature', 'twilioSignature']),
    );
  });

  it('serves the document and an offline Swagger UI', async () => {
    const json = await fetch(`${served.url}/openapi.json`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual(JSON.parse(JSON.stringify(document)));
    const page = await fetch(`${served.url}/docs`);
    const html = await page.text();
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('kit &#60;test&#62; API reference');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${served.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('text/javascript');
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    const missing = await fetch(`${served.url}/docs/..%2Fpackage.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('still serves the document where the reference page’s files are missing', async () => {
    expect((await fetch(`${failing.url}/openapi.json`)).status).toBe(200);
    const file = await fetch(`${failing.url}/docs/swagger-ui.css`);
    expect(file.status).toBe(503);
    expect(file.headers.get('content-type')).toBe('application/problem+json');
  });

  it('serves nothing without a document', async () => {
    expect((await fetch(`${plain.url}/openapi.json`)).status).toBe(404);
    expect((await fetch(`${plain.url}/docs`)).status).toBe(404);
  });

  it('keeps a problem’s own members when an extension has the same name', async () => {
    const response = await fetch(`${plain.url}/conflict`);
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ status: 409, title: 'Conflict', state: 'x' });
  });
});
