import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertObjectKey, ObjectNotFoundError, type ObjectStorage, StorageError } from './object-storage.ts';

/**
 * Objects as files under `root` (default `${DATA_DIR}/video-orchestrator/objects`). Writes go to
 * a temporary name and are renamed into place, so a reader never sees half a file.
 *
 * @example
 * const storage = createFilesystemStorage({ root: join(dataDir, 'objects') });
 */
export function createFilesystemStorage(options: { root: string }): ObjectStorage {
  const pathOf = (key: string) => {
    assertObjectKey(key);
    return join(options.root, key);
  };
  return {
    driver: 'filesystem',
    async put(key, sourcePath) {
      const dest = pathOf(key);
      const partial = `${dest}.${randomUUID()}.part`;
      try {
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(sourcePath, partial, constants.COPYFILE_FICLONE);
        await rename(partial, dest);
      } catch (error) {
        await rm(partial, { force: true });
        throw new StorageError(`could not store ${key}: ${(error as Error).message}`, { cause: error });
      }
    },
    async fetchToFile(key, destPath, callOptions = {}) {
      const source = pathOf(key);
      try {
        // The kernel copies (copy_file_range, or a reflink where the filesystem has them): a
        // stream through JS cost a render tens of milliseconds per input under load.
        callOptions.signal?.throwIfAborted();
        await copyFile(source, destPath, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        return (await stat(destPath)).size;
      } catch (error) {
        await rm(destPath, { force: true });
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key);
        throw new StorageError(`could not read ${key}: ${(error as Error).message}`, { cause: error });
      }
    },
    async locate(key) {
      const path = pathOf(key);
      const info = await stat(path).catch(() => null);
      return info?.isFile() ? { kind: 'file', path, size: info.size } : null;
    },
    async remove(keys) {
      await Promise.all(keys.map((key) => rm(pathOf(key), { force: true })));
    },
  };
}
