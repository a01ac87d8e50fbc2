import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export interface FileRangeOptions {
  path: string;
  size: number;
  contentType: string;
  /** Request's Range header. Only a single range is honoured; anything else gets the whole file. */
  range?: string;
  etag?: string;
  ifRange?: string;
  cacheControl?: string;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive [start, end], or 'unsatisfiable', or null (ignore). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export interface FileRangeAnswer {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  body: ReadableStream | null;
}

/**
 * Streams a stored file with HTTP range support (players seek; WhatsApp and browsers resume), never
 * reading it into memory. Returns the parts for `c.body(...)`, so headers the middleware set earlier
 * (request id, rate-limit headers) stay on the answer.
 */
export function fileRangeAnswer(options: FileRangeOptions): FileRangeAnswer {
  const headers: Record<string, string> = {
    'content-type': options.contentType,
    'accept-ranges': 'bytes',
    'cache-control': options.cacheControl ?? 'private, max-age=300',
  };
  if (options.etag) headers.etag = options.etag;
  // If-Range with a different validator: the file changed, so the whole file, not a piece of it.
  const rangeApplies = !options.ifRange || options.ifRange === options.etag;
  const range = rangeApplies ? parseRange(options.range, options.size) : null;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'content-range': `bytes */${options.size}` }, body: null };
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? options.size - 1;
  const length = options.size === 0 ? 0 : end - start + 1;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${start}-${end}/${options.size}`;
  const body =
    length === 0
      ? null
      : (Readable.toWeb(createReadStream(options.path, { start, end })) as unknown as ReadableStream);
  return { status: range ? 206 : 200, headers, body };
}
