import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemStorage } from '../../../../services/video-orchestrator/storage/filesystem-storage.ts';
import {
  ObjectNotFoundError,
  type ObjectStorage,
  StorageError,
} from '../../../../services/video-orchestrator/storage/object-storage.ts';
import { createSupabaseStorage } from '../../../../services/video-orchestrator/storage/supabase-storage.ts';
import {
  type StorageSimulator,
  startStorageSimulator,
} from '../../../support/video-orchestrator/supabase-storage-simulator.ts';
import { listFiles } from '../../../support/video-orchestrator/temp-files.ts';

const KEY = 'service-role-test-key';
const BUCKET = 'renders';

describe.each(['filesystem', 'supabase'] as const)('%s storage adapter', (driver) => {
  let dir: string;
  let simulator: StorageSimulator | undefined;
  let storage: ObjectStorage;
  const payload = Buffer.from('not really an mp4, but bytes are bytes');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'video-storage-'));
    await writeFile(join(dir, 'source.mp4'), payload);
    if (driver === 'supabase') {
      simulator = await startStorageSimulator({ serviceKey: KEY, bucket: BUCKET });
      storage = createSupabaseStorage({ url: simulator.url, serviceRoleKey: KEY, bucket: BUCKET });
    } else {
      storage = createFilesystemStorage({ root: join(dir, 'objects') });
    }
  });
  afterAll(async () => {
    await simulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, reads back, locates and removes an object', async () => {
    const key = 'renders/5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10/output.mp4';
    await storage.put(key, join(dir, 'source.mp4'), 'video/mp4');
    await storage.put(key, join(dir, 'source.mp4'), 'video/mp4'); // a retry overwrites
    const size = await storage.fetchToFile(key, join(dir, 'copy.mp4'));
    expect(size).toBe(payload.length);
    expect(await readFile(join(dir, 'copy.mp4'))).toEqual(payload);
    const location = await storage.locate(key, { expiresInSeconds: 60 });
    if (driver === 'filesystem') {
      expect(location).toMatchObject({ kind: 'file', size: payload.length });
      expect((await listFiles(join(dir, 'objects'))).some((f) => f.endsWith('.part'))).toBe(false);
    } else {
      expect(location?.kind).toBe('url');
      const response = await fetch((location as { url: string }).url);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(payload);
      expect(simulator!.objects.get(`${BUCKET}/${key}`)?.contentType).toBe('video/mp4');
    }
    await storage.remove([key]);
    expect(await storage.locate(key, { expiresInSeconds: 60 })).toBeNull();
  });

  it('a missing object is ObjectNotFoundError (not retried); no partial file is left', async () => {
    const error = await storage.fetchToFile('assets/missing', join(dir, 'missing')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((await listFiles(dir)).some((f) => f.endsWith('/missing'))).toBe(false);
  });

  it('refuses keys that are not ours', async () => {
    await expect(storage.put('../etc/passwd', join(dir, 'source.mp4'), 'text/plain')).rejects.toThrow(
      /invalid object key/,
    );
  });

  it.skipIf(driver !== 'supabase')(
    'an upload the service rejects is a StorageError (retryable)',
    async () => {
      simulator!.failUploads(1);
      const error = await storage
        .put('renders/x/output.mp4', join(dir, 'source.mp4'), 'video/mp4')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
    },
  );
});
