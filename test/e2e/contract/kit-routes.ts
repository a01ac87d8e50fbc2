import { expect } from 'vitest';
import type { Contract } from '../../support/openapi-contract.ts';

/** The kit's routes every service serves: /health, /ready, /metrics, /openapi.json, /docs and its files. */
export async function checkKitRoutes(url: string, contract: Contract): Promise<void> {
  for (const path of ['/health', '/ready', '/metrics', '/openapi.json']) {
    const response = await fetch(`${url}${path}`);
    expect(response.status, path).toBe(200);
    await contract.check('GET', path, response);
  }
  const page = await fetch(`${url}/docs`);
  expect(page.status).toBe(200);
  const html = (await contract.check('GET', '/docs', page)).body as string;
  // Offline: the page loads only files this service serves, never a CDN.
  const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  expect(sources.sort()).toEqual(['docs/swagger-ui-bundle.js', 'docs/swagger-ui.css']);
  for (const file of sources) {
    const response = await fetch(new URL(file, `${url}/docs`));
    expect(response.status, file).toBe(200);
    await contract.check('GET', '/docs/{file}', response);
  }
  const unknown = await fetch(`${url}/docs/package.json`);
  expect(unknown.status).toBe(404);
  await contract.check('GET', '/docs/{file}', unknown);
}
