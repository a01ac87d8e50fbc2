import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { ProblemError } from '../../../shared/http/index.ts';

export interface ReceivedFile {
  size: number;
  sha256: string;
}

function invalid(message: string, field = 'body'): ProblemError {
  return new ProblemError({
    status: 400,
    title: 'Invalid request',
    detail: 'body failed validation',
    errors: [{ field, message }],
  });
}

function tooLarge(maxBytes: number): ProblemError {
  return new ProblemError({
    status: 413,
    title: 'Payload Too Large',
    detail: `the file exceeds RENDER_MAX_INPUT_BYTES (${maxBytes} bytes)`,
    extensions: { limit: maxBytes },
  });
}

/**
 * Streams the multipart field `field` of a request to `dest` (mode 0600) with busboy, never holding
 * more than a chunk in memory, hashing as it goes. Past `maxBytes` it stops reading and throws 413;
 * a malformed body or a missing file is 400. Other fields and files are drained and ignored.
 *
 * @example
 * const { size, sha256 } = await receiveMultipartFile(c.req.raw, { field: 'file', maxBytes, dest });
 */
export async function receiveMultipartFile(
  request: Request,
  options: { field: string; maxBytes: number; dest: string },
): Promise<ReceivedFile> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!request.body) throw invalid('a multipart body is required');
  let busboy: BusboyInstance;
  try {
    busboy = new Busboy({
      headers: { 'content-type': contentType },
      limits: {
        files: 1,
        fileSize: options.maxBytes,
        fields: 20,
        fieldSize: 4096,
        parts: 40,
        headerPairs: 20,
      },
    });
  } catch {
    throw invalid('malformed multipart body (boundary missing)');
  }
  const source = Readable.fromWeb(request.body as unknown as WebReadableStream);

  const received = new Promise<ReceivedFile>((resolve, reject) => {
    let writing: Promise<ReceivedFile> | undefined;
    busboy.on('file', (fieldname, file) => {
      if (fieldname !== options.field || writing) {
        file.resume();
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          hash.update(chunk);
          done(null, chunk);
        },
      });
      // Over the limit busboy ends the file stream early: stop reading the request at once.
      file.on('limit', () => {
        const error = tooLarge(options.maxBytes);
        source.destroy();
        meter.destroy(error);
        reject(error);
      });
      writing = pipeline(file, meter, createWriteStream(options.dest, { mode: 0o600 })).then(() => ({
        size,
        sha256: hash.digest('hex'),
      }));
      writing.catch(reject);
    });
    busboy.on('error', () => reject(invalid('malformed multipart body')));
    busboy.on('finish', () => {
      if (!writing)
        reject(
          invalid(`a file is required in the multipart field "${options.field}"`, `body.${options.field}`),
        );
      else writing.then(resolve, reject);
    });
  });

  source.on('error', () => busboy.destroy());
  source.pipe(busboy);
  try {
    return await received;
  } finally {
    source.unpipe(busboy);
    if (!source.destroyed) source.destroy();
  }
}
