/** Where a stored object can be read: a local file (served with ranges) or a signed URL. */
export type ObjectLocation = { kind: 'file'; path: string; size: number } | { kind: 'url'; url: string };

/**
 * Outputs and uploaded assets, behind one small port with two adapters: the filesystem (default,
 * under DATA_DIR) and Supabase Storage.
 */
export interface ObjectStorage {
  readonly driver: 'filesystem' | 'supabase';
  put(key: string, sourcePath: string, contentType: string): Promise<void>;
  /** Copies an object into a local file (the worker reads uploaded assets this way). */
  fetchToFile(key: string, destPath: string, options?: { signal?: AbortSignal }): Promise<number>;
  /** null when the object does not exist. */
  locate(key: string, options: { expiresInSeconds: number }): Promise<ObjectLocation | null>;
  remove(keys: string[]): Promise<void>;
}

/** A storage call that failed for a reason outside the request (network, 5xx): worth retrying. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** The object is not there (e.g. an asset that was never uploaded or was deleted): not retried. */
export class ObjectNotFoundError extends Error {
  constructor(key: string) {
    super(`object ${key} does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Our keys are built from uuids and fixed names; anything else is a bug, refused loudly. */
export function assertObjectKey(key: string): void {
  if (
    !/^[a-z0-9][a-z0-9/_.-]{0,200}$/.test(key) ||
    key.split('/').some((part) => part === '..' || part === '')
  ) {
    throw new Error(`invalid object key: ${key}`);
  }
}

export const objectKeys = {
  asset: (assetId: string) => `assets/${assetId}`,
  lut: (lutId: string) => `luts/${lutId}.cube`,
  output: (renderId: string) => `renders/${renderId}/output.mp4`,
  poster: (renderId: string) => `renders/${renderId}/poster.jpg`,
  rendition: (renderId: string, name: string) => `renders/${renderId}/rendition-${name}.mp4`,
  sprite: (renderId: string) => `renders/${renderId}/sprite.jpg`,
};
