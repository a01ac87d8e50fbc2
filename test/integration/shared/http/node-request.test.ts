import { request as httpRequest } from 'node:http';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxBody, readBodyBytes, readBodyText, requestHeader } from '../../../../shared/http/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';

const LIMIT = 64;

/** A raw HTTP/1.1 request, so the test chooses Content-Length or chunked framing itself. */
function send(
  url: string,
  options: { path: string; headers?: Record<string, string>; chunks: string[]; chunked: boolean },
): Promise<{ status: number; body: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const whole = options.chunks.join('');
    const headers: Record<string, string> = { ...options.headers };
    if (!options.chunked) headers['content-length'] = String(Buffer.byteLength(whole));
    const req = httpRequest(`${url}${options.path}`, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(parts).toString('utf8'),
          contentType: res.headers['content-type'],
        }),
      );
    });
    // A server that answers 413 early may reset the socket while we still write: that answer counts.
    req.on('error', reject);
    if (options.chunked) req.setHeader('transfer-encoding', 'chunked');
    for (const chunk of options.chunks) req.write(chunk);
    req.end();
  });
}

describe('request body and headers read from Node over a real socket', () => {
  let server: TestServer;

  beforeAll(async () => {
    const app = new Hono();
    app.post('/bytes', maxBody(LIMIT), async (c) => {
      const bytes = await readBodyBytes(c);
      // Read again, and through Hono, after the direct read: the same bytes every way.
      const again = await readBodyText(c);
      const viaHono = await c.req.text();
      return c.json({
        length: bytes.byteLength,
        text: again,
        same: again === viaHono,
        // The direct path leaves the bytes where node-server looks when it builds the web Request.
        direct: Buffer.isBuffer((c.env as { incoming: { rawBody?: Buffer } }).incoming.rawBody),
        signature: requestHeader(c, 'X-Signature') ?? null,
      });
    });
    // Code that reads the raw web Request after the kit read the socket gets the same bytes.
    app.post('/raw', maxBody(LIMIT), async (c) => {
      const text = await readBodyText(c);
      return c.json({ same: text === (await c.req.raw.text()) });
    });
    app.post('/json', maxBody(LIMIT), async (c) => {
      await readBodyBytes(c);
      return c.json({ parsed: await c.req.json() });
    });
    server = await listen(app);
  });
  afterAll(() => server.close());

  it('reads a Content-Length body and the headers without losing a byte', async () => {
    const res = await send(server.url, {
      path: '/bytes',
      headers: { 'x-signature': 'sha256=abc', 'content-type': 'text/plain' },
      chunks: ['héllo ', 'wörld'],
      chunked: false,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      length: Buffer.byteLength('héllo wörld'),
      text: 'héllo wörld',
      same: true,
      direct: true,
      signature: 'sha256=abc',
    });
  });

  it('reads a chunked body under the limit through the streamed path', async () => {
    const res = await send(server.url, { path: '/bytes', chunks: ['abc', 'def', 'ghi'], chunked: true });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      length: 9,
      text: 'abcdefghi',
      same: true,
      direct: false,
      signature: null,
    });
  });

  it('refuses a declared length past the limit with 413 problem+json', async () => {
    const res = await send(server.url, { path: '/bytes', chunks: ['x'.repeat(LIMIT + 1)], chunked: false });
    expect(res.status).toBe(413);
    expect(res.contentType).toContain('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 413, limit: LIMIT });
  });

  it('cuts off a chunked body past the limit with 413', async () => {
    const res = await send(server.url, {
      path: '/bytes',
      chunks: Array.from({ length: 10 }, () => 'y'.repeat(16)),
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect(res.contentType).toContain('application/problem+json');
  });

  it('leaves the raw Request readable after a direct read', async () => {
    const res = await send(server.url, { path: '/raw', chunks: ['abc', 'déf'], chunked: false });
    expect(JSON.parse(res.body)).toEqual({ same: true });
  });

  it('lets c.req.json() parse a body the kit already read', async () => {
    const res = await send(server.url, {
      path: '/json',
      headers: { 'content-type': 'application/json' },
      chunks: ['{"a":', '[1,2]}'],
      chunked: false,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ parsed: { a: [1, 2] } });
  });

  it('works off Node too (app.request builds a web Request)', async () => {
    const app = new Hono();
    app.post('/', maxBody(LIMIT), async (c) =>
      c.json({ text: await readBodyText(c), h: requestHeader(c, 'x-h') ?? null }),
    );
    const res = await app.request('/', { method: 'POST', body: 'plain', headers: { 'x-h': '1' } });
    expect(await res.json()).toEqual({ text: 'plain', h: '1' });
    const big = await app.request('/', { method: 'POST', body: 'z'.repeat(LIMIT + 1) });
    expect(big.status).toBe(413);
  });
});
