import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createClient } from '@supabase/supabase-js';
import { assertObjectKey, ObjectNotFoundError, type ObjectStorage, StorageError } from './object-storage.ts';

export interface SupabaseStorageOptions {
  url: string;
  serviceRoleKey: string;
  bucket: string;
  /** Tests point supabase-js at a local simulator through this. */
  fetch?: typeof fetch;
}

function isNotFound(error: unknown): boolean {
  const e = error as { status?: number; statusCode?: string; message?: string };
  return e.status === 404 || e.statusCode === '404' || /not.?found/i.test(e.message ?? '');
}

/**
 * Supabase Storage through supabase-js with the service-role key (server side only). Outputs are
 * read through short-lived signed URLs; the bucket stays private.
 *
 * @example
 * const storage = createSupabaseStorage({ url, serviceRoleKey, bucket: 'renders' });
 */
export function createSupabaseStorage(options: SupabaseStorageOptions): ObjectStorage {
  const client = createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: options.fetch ? { fetch: options.fetch } : undefined,
  });
  const bucket = () => client.storage.from(options.bucket);
  return {
    driver: 'supabase',
    async put(key, sourcePath, contentType) {
      assertObjectKey(key);
      const size = (await stat(sourcePath)).size;
      // Streamed from disk: an output never sits in memory whole.
      const body = Readable.toWeb(createReadStream(sourcePath)) as unknown as ReadableStream;
      const { error } = await bucket().upload(key, body, {
        contentType,
        upsert: true,
        headers: { 'content-length': String(size) },
      });
      if (error) throw new StorageError(`upload of ${key} failed: ${error.message}`, { cause: error });
    },
    async fetchToFile(key, destPath, callOptions = {}) {
      assertObjectKey(key);
      const { data, error } = await bucket().download(key, {}, { signal: callOptions.signal }).asStream();
      if (error) {
        if (isNotFound(error)) throw new ObjectNotFoundError(key);
        throw new StorageError(`download of ${key} failed: ${error.message}`, { cause: error });
      }
      try {
        await pipeline(
          Readable.fromWeb(data as unknown as WebReadableStream),
          createWriteStream(destPath, { flags: 'wx', mode: 0o600 }),
          { signal: callOptions.signal },
        );
        return (await stat(destPath)).size;
      } catch (cause) {
        await rm(destPath, { force: true });
        throw new StorageError(`download of ${key} failed: ${(cause as Error).message}`, { cause });
      }
    },
    async locate(key, { expiresInSeconds }) {
      assertObjectKey(key);
      const { data, error } = await bucket().createSignedUrl(key, expiresInSeconds);
      if (error) {
        if (isNotFound(error)) return null;
        throw new StorageError(`signing ${key} failed: ${error.message}`, { cause: error });
      }
      return { kind: 'url', url: data.signedUrl };
    },
    async remove(keys) {
      if (keys.length === 0) return;
      keys.forEach(assertObjectKey);
      const { error } = await bucket().remove(keys);
      if (error) throw new StorageError(`removing objects failed: ${error.message}`, { cause: error });
    },
  };
}
