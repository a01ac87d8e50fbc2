import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Dispatcher, request } from 'undici';
import { type AddressPolicy, publicAddressesOnly } from './address-policy.ts';
import { hostIsAllowed } from './host-allowlist.ts';
import {
  assertLiteralAddressAllowed,
  createPinnedAgent,
  isAddressRefused,
  type LookupAll,
} from './pinned-agent.ts';

export type DownloadErrorCode =
  | 'not_allowed'
  | 'address_refused'
  | 'too_large'
  | 'http_status'
  | 'too_many_redirects'
  | 'timeout'
  | 'network';

/** `retryable`: the same request may succeed later (5xx, timeouts, connection errors). */
export class DownloadError extends Error {
  readonly code: DownloadErrorCode;
  readonly retryable: boolean;
  constructor(code: DownloadErrorCode, message: string, retryable: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = 'DownloadError';
    this.code = code;
    this.retryable = retryable;
  }
}

export interface SafeDownloaderOptions {
  allowedHosts: string[];
  maxBytes: number;
  /** Whole download, redirects included. */
  timeoutMs?: number;
  maxRedirects?: number;
  addressPolicy?: AddressPolicy;
  lookup?: LookupAll;
  /** Extra trusted CA (tests with a self-signed https server). */
  ca?: string | Buffer;
}

export interface DownloadResult {
  bytes: number;
  finalUrl: string;
}

export interface SafeDownloader {
  /** Streams `url` into `destPath` (created, never overwritten) or throws DownloadError. */
  download(url: string | URL, destPath: string, options?: { signal?: AbortSignal }): Promise<DownloadResult>;
  close(): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Downloads hostile URLs: https only, host on the allowlist, every address checked after DNS and
 * pinned for the connection, every redirect re-checked the same way, size capped while streaming,
 * one deadline for the whole thing.
 *
 * @example
 * const downloader = createSafeDownloader({ allowedHosts: ['cdn.example.com'], maxBytes: 50e6 });
 * await downloader.download('https://cdn.example.com/a.jpg', join(dir, 'input-0'), { signal });
 */
export function createSafeDownloader(options: SafeDownloaderOptions): SafeDownloader {
  const policy = options.addressPolicy ?? publicAddressesOnly;
  const maxRedirects = options.maxRedirects ?? 3;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const agent = createPinnedAgent({ addressPolicy: policy, lookup: options.lookup, ca: options.ca });

  function checkUrl(url: URL): void {
    if (url.protocol !== 'https:')
      throw new DownloadError('not_allowed', `${url.protocol} URLs are not fetched`, false);
    if (url.username || url.password)
      throw new DownloadError('not_allowed', 'URLs with credentials are not fetched', false);
    if (!hostIsAllowed(url.hostname, options.allowedHosts)) {
      throw new DownloadError('not_allowed', `host ${url.hostname} is not in RENDER_ALLOWED_HOSTS`, false);
    }
    try {
      assertLiteralAddressAllowed(url.hostname, policy);
    } catch (error) {
      throw new DownloadError('address_refused', (error as Error).message, false, error);
    }
  }

  function classify(error: unknown, signal: AbortSignal, external?: AbortSignal): DownloadError {
    if (error instanceof DownloadError) return error;
    if (isAddressRefused(error)) {
      const refusal = findRefusal(error);
      return new DownloadError('address_refused', refusal ?? 'address refused', false, error);
    }
    if (external?.aborted) return new DownloadError('network', 'download aborted', true, error);
    if (signal.aborted) return new DownloadError('timeout', `download exceeded ${timeoutMs} ms`, true, error);
    const message = error instanceof Error ? error.message : String(error);
    return new DownloadError('network', `download failed: ${message}`, true, error);
  }

  async function fetchOnce(url: URL, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    return request(url, {
      method: 'GET',
      dispatcher: agent,
      signal,
      headers: { 'user-agent': 'easymo-video-orchestrator/1', accept: '*/*' },
    });
  }

  async function download(input: string | URL, destPath: string, callOptions: { signal?: AbortSignal } = {}) {
    const external = callOptions.signal;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = external ? AbortSignal.any([external, deadline]) : deadline;
    let url: URL;
    try {
      url = new URL(input);
    } catch (error) {
      throw new DownloadError('not_allowed', 'not a URL', false, error);
    }
    try {
      for (let redirects = 0; ; redirects++) {
        checkUrl(url);
        const response = await fetchOnce(url, signal);
        if (REDIRECT_STATUSES.has(response.statusCode)) {
          await response.body.dump();
          const location = response.headers.location;
          if (typeof location !== 'string')
            throw new DownloadError('http_status', 'redirect without Location', false);
          if (redirects >= maxRedirects) {
            throw new DownloadError('too_many_redirects', `more than ${maxRedirects} redirects`, false);
          }
          url = new URL(location, url);
          continue;
        }
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new DownloadError(
            'http_status',
            `${url.host} answered ${response.statusCode}`,
            RETRYABLE_STATUSES.has(response.statusCode),
          );
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          response.body.destroy();
          throw new DownloadError('too_large', `input is ${declared} bytes, over ${options.maxBytes}`, false);
        }
        let bytes = 0;
        const cap = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            if (bytes > options.maxBytes) {
              done(new DownloadError('too_large', `input exceeds ${options.maxBytes} bytes`, false));
            } else done(null, chunk);
          },
        });
        try {
          await pipeline(response.body, cap, createWriteStream(destPath, { flags: 'wx', mode: 0o600 }), {
            signal,
          });
        } catch (error) {
          await rm(destPath, { force: true });
          throw error;
        }
        return { bytes, finalUrl: url.href };
      }
    } catch (error) {
      throw classify(error, signal, external);
    }
  }

  return {
    download,
    close: () => agent.close(),
  };
}

function findRefusal(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: string }).code === 'ERR_ADDRESS_REFUSED') return (current as Error).message;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
