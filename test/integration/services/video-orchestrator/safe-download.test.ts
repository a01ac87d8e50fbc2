import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAllowedForTests } from '../../../../services/video-orchestrator/inputs/address-policy.ts';
import {
  createSafeDownloader,
  DownloadError,
} from '../../../../services/video-orchestrator/inputs/safe-download.ts';
import { listFiles } from '../../../support/video-orchestrator/temp-files.ts';
import {
  createTestCertificate,
  fakeLookup,
  startHttpsServer,
  type TestCertificate,
  type TestHttpsServer,
} from '../../../support/video-orchestrator/tls-server.ts';

const BODY = Buffer.alloc(20_000, 7);

describe('safe downloader (SSRF guard)', () => {
  let cert: TestCertificate;
  let server: TestHttpsServer;
  let dir: string;
  let hits = 0;
  let counter = 0;
  const dest = () => join(dir, `file-${counter++}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'video-dl-'));
    cert = await createTestCertificate(['media.test', 'cdn.media.test', 'private.test', 'other.test']);
    server = await startHttpsServer(cert, (req, res) => {
      hits++;
      const url = new URL(req.url ?? '/', 'https://x');
      const port = server.port;
      switch (url.pathname) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': BODY.length });
          res.end(BODY);
          return;
        case '/chunked-big':
          res.writeHead(200, { 'content-type': 'video/mp4' });
          for (let i = 0; i < 10; i++) res.write(Buffer.alloc(10_000, 1));
          res.end();
          return;
        case '/declared-big':
          res.writeHead(200, { 'content-length': '999999999' });
          res.end();
          return;
        case '/redirect-ok':
          res.writeHead(302, { location: '/ok' });
          res.end();
          return;
        case '/redirect-loopback':
          res.writeHead(302, { location: `https://127.0.0.1:${port}/ok` });
          res.end();
          return;
        case '/redirect-private':
          res.writeHead(301, { location: `https://private.test:${port}/ok` });
          res.end();
          return;
        case '/redirect-disallowed':
          res.writeHead(307, { location: `https://other.test:${port}/ok` });
          res.end();
          return;
        case '/redirect-file':
          res.writeHead(302, { location: 'file:///etc/passwd' });
          res.end();
          return;
        case '/redirect-http':
          res.writeHead(302, { location: `http://media.test:${port}/ok` });
          res.end();
          return;
        case '/loop':
          res.writeHead(302, { location: '/loop' });
          res.end();
          return;
        case '/slow':
          res.writeHead(200, { 'content-type': 'video/mp4' });
          res.write(Buffer.alloc(100, 1));
          return; // never ends
        case '/unavailable':
          res.writeHead(503);
          res.end();
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  });

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  // media.test resolves to loopback; the test policy allows loopback (like a CDN would be public).
  const lookup = fakeLookup({
    'media.test': ['127.0.0.1'],
    'cdn.media.test': ['127.0.0.1'],
    'private.test': ['10.1.2.3'],
    'mixed.test': ['127.0.0.1', '192.168.1.10'],
    'other.test': ['127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:10.0.0.1'],
  });
  const allowedHosts = [
    'media.test',
    '*.media.test',
    'private.test',
    'mixed.test',
    'metadata.test',
    'mapped.test',
  ];
  const testDownloader = (extra: Partial<Parameters<typeof createSafeDownloader>[0]> = {}) =>
    createSafeDownloader({
      allowedHosts,
      maxBytes: 50_000,
      timeoutMs: 3000,
      lookup,
      addressPolicy: loopbackAllowedForTests,
      ca: cert.cert,
      ...extra,
    });

  async function refusal(promise: Promise<unknown>): Promise<DownloadError> {
    const error = await promise.then(
      () => {
        throw new Error('expected the download to be refused');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadError);
    return error as DownloadError;
  }

  it('downloads from an allowed host over https, pinned to the checked address', async () => {
    const downloader = testDownloader();
    const path = dest();
    const result = await downloader.download(`https://media.test:${server.port}/ok`, path);
    expect(result.bytes).toBe(BODY.length);
    expect(await readFile(path)).toEqual(BODY);
    const viaWildcard = await downloader.download(
      `https://cdn.media.test:${server.port}/redirect-ok`,
      dest(),
    );
    expect(viaWildcard.finalUrl).toBe(`https://cdn.media.test:${server.port}/ok`);
    await downloader.close();
  });

  it('refuses loopback with the default policy (the allowed host resolves to 127.0.0.1)', async () => {
    const downloader = createSafeDownloader({ allowedHosts, maxBytes: 50_000, lookup, ca: cert.cert });
    const before = hits;
    const error = await refusal(downloader.download(`https://media.test:${server.port}/ok`, dest()));
    expect(error.code).toBe('address_refused');
    expect(error.retryable).toBe(false);
    expect(hits).toBe(before);
    await downloader.close();
  });

  it.each([
    ['private range', 'private.test'],
    ['one private address among public ones', 'mixed.test'],
    ['link-local metadata endpoint', 'metadata.test'],
    ['IPv4-mapped private address', 'mapped.test'],
  ])('refuses a host resolving to a %s, without connecting', async (_label, host) => {
    const downloader = testDownloader();
    const before = hits;
    const error = await refusal(downloader.download(`https://${host}:${server.port}/ok`, dest()));
    expect(error.code).toBe('address_refused');
    expect(hits).toBe(before);
    await downloader.close();
  });

  it.each([
    ['loopback IP literal', 'https://127.0.0.1/ok'],
    ['IPv6 loopback literal', 'https://[::1]/ok'],
    ['metadata IP literal', 'https://169.254.169.254/latest/meta-data/'],
    ['file: URL', 'file:///etc/passwd'],
    ['plain http', 'http://media.test/ok'],
    ['host not on the allowlist', 'https://evil.example/ok'],
    ['credentials in the URL', 'https://user:pw@media.test/ok'],
    ['localhost', 'https://localhost/ok'],
  ])('refuses %s (default policy, even when the allowlist names it)', async (_label, url) => {
    const downloader = createSafeDownloader({
      allowedHosts: [...allowedHosts, '127.0.0.1', '[::1]', '169.254.169.254', 'localhost'],
      maxBytes: 50_000,
      timeoutMs: 3000,
      lookup: fakeLookup({ localhost: ['127.0.0.1', '::1'], 'media.test': ['93.184.216.34'] }),
      ca: cert.cert,
    });
    const before = hits;
    const error = await refusal(downloader.download(url, dest()));
    expect(['not_allowed', 'address_refused']).toContain(error.code);
    expect(error.retryable).toBe(false);
    expect(hits).toBe(before);
    await downloader.close();
  });

  it.each([
    // The test policy lets media.test (loopback) through, so here the allowlist is what refuses.
    ['to a loopback IP', '/redirect-loopback', 'not_allowed'],
    ['to a host resolving to a private address', '/redirect-private', 'address_refused'],
    ['to a host off the allowlist', '/redirect-disallowed', 'not_allowed'],
    ['to a file: URL', '/redirect-file', 'not_allowed'],
    ['to plain http', '/redirect-http', 'not_allowed'],
    ['in a loop', '/loop', 'too_many_redirects'],
  ])('re-checks every redirect: refuses one %s', async (_label, path, code) => {
    const downloader = testDownloader();
    const error = await refusal(downloader.download(`https://media.test:${server.port}${path}`, dest()));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(false);
    await downloader.close();
  });

  it('caps the size: by Content-Length up front and while streaming, leaving no partial file', async () => {
    const downloader = testDownloader();
    const declared = await refusal(
      downloader.download(`https://media.test:${server.port}/declared-big`, dest()),
    );
    expect(declared.code).toBe('too_large');
    const streamed = await refusal(
      downloader.download(`https://media.test:${server.port}/chunked-big`, dest()),
    );
    expect(streamed.code).toBe('too_large');
    const leftovers = (await listFiles(dir)).filter((f) => !/file-(0|1)$/.test(f));
    expect(leftovers).toEqual([]);
    await downloader.close();
  });

  it('times out a download that stalls (retryable), and retries make sense for 503', async () => {
    const downloader = testDownloader({ timeoutMs: 500 });
    const slow = await refusal(downloader.download(`https://media.test:${server.port}/slow`, dest()));
    expect(slow.code).toBe('timeout');
    expect(slow.retryable).toBe(true);
    const unavailable = await refusal(
      downloader.download(`https://media.test:${server.port}/unavailable`, dest()),
    );
    expect(unavailable.code).toBe('http_status');
    expect(unavailable.retryable).toBe(true);
    const missing = await refusal(downloader.download(`https://media.test:${server.port}/missing`, dest()));
    expect(missing.retryable).toBe(false);
    await downloader.close();
  });
});
