import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StorageSimulator {
  url: string;
  objects: Map<string, { body: Buffer; contentType: string }>;
  requests: { method: string; path: string }[];
  /** Fail the next n uploads with a 503 (a storage outage). */
  failUploads(n: number): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The handful of Supabase Storage routes supabase-js calls for us (upload, download, sign,
 * remove), enough to run the adapter for real over HTTP. A simulator of a SaaS we cannot run in
 * CI, not a reimplementation: it answers errors the way Storage does (400 with statusCode "404").
 */
export async function startStorageSimulator(options: {
  serviceKey: string;
  bucket: string;
}): Promise<StorageSimulator> {
  const objects = new Map<string, { body: Buffer; contentType: string }>();
  const tokens = new Map<string, string>();
  const requests: { method: string; path: string }[] = [];
  let failing = 0;
  const notFound = (res: ServerResponse) =>
    json(res, 400, { statusCode: '404', error: 'not_found', message: 'Object not found' });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? '', path });
    const signed = /^\/storage\/v1\/object\/sign\/([^/]+)\/(.+)$/.exec(path);
    if (req.method === 'GET' && signed) {
      const key = `${signed[1]}/${signed[2]}`;
      const object = objects.get(key);
      if (!object || tokens.get(url.searchParams.get('token') ?? '') !== key) return notFound(res);
      res.writeHead(200, { 'content-type': object.contentType, 'content-length': object.body.length });
      res.end(object.body);
      return;
    }
    if (req.headers.authorization !== `Bearer ${options.serviceKey}`) {
      return json(res, 403, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
    }
    if (req.method === 'POST' && signed) {
      const key = `${signed[1]}/${signed[2]}`;
      if (!objects.has(key)) return notFound(res);
      const token = randomUUID();
      tokens.set(token, key);
      return json(res, 200, { signedURL: `/object/sign/${key}?token=${token}` });
    }
    const object = /^\/storage\/v1\/object\/([^/]+)\/(.+)$/.exec(path);
    if (object && object[1] !== options.bucket)
      return json(res, 400, { statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' });
    if (req.method === 'POST' && object) {
      const body = await readBody(req);
      if (failing > 0) {
        failing--;
        return json(res, 503, { statusCode: '503', error: 'unavailable', message: 'storage is down' });
      }
      const key = `${object[1]}/${object[2]}`;
      if (objects.has(key) && req.headers['x-upsert'] !== 'true') {
        return json(res, 400, {
          statusCode: '409',
          error: 'Duplicate',
          message: 'The resource already exists',
        });
      }
      objects.set(key, {
        body,
        contentType: String(req.headers['content-type'] ?? 'application/octet-stream'),
      });
      return json(res, 200, { Key: key, Id: randomUUID() });
    }
    if (req.method === 'GET' && object) {
      const stored = objects.get(`${object[1]}/${object[2]}`);
      if (!stored) return notFound(res);
      res.writeHead(200, { 'content-type': stored.contentType, 'content-length': stored.body.length });
      res.end(stored.body);
      return;
    }
    const bucket = /^\/storage\/v1\/object\/([^/]+)$/.exec(path);
    if (req.method === 'DELETE' && bucket) {
      const { prefixes } = JSON.parse((await readBody(req)).toString() || '{}') as { prefixes?: string[] };
      const removed = (prefixes ?? []).filter((p) => objects.delete(`${bucket[1]}/${p}`));
      return json(
        res,
        200,
        removed.map((name) => ({ name })),
      );
    }
    json(res, 404, { statusCode: '404', error: 'not_found', message: `no route ${req.method} ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    failUploads: (n) => {
      failing = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
