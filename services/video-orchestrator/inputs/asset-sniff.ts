import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';

export type AssetKind = 'image' | 'video' | 'audio';

export interface SniffedType {
  mime: string;
  /** Our own extension for the file on disk: ffmpeg's image2 demuxer picks its decoder by it. */
  ext: string;
  kind: AssetKind;
}

// What a product video is made of. Anything else (SVG, PDF, archives, executables, playlists)
// is refused by content, whatever name or Content-Type it came with.
const ACCEPTED: Record<string, SniffedType> = {
  'image/jpeg': { mime: 'image/jpeg', ext: 'jpg', kind: 'image' },
  'image/png': { mime: 'image/png', ext: 'png', kind: 'image' },
  'image/webp': { mime: 'image/webp', ext: 'webp', kind: 'image' },
  'video/mp4': { mime: 'video/mp4', ext: 'mp4', kind: 'video' },
  'video/quicktime': { mime: 'video/quicktime', ext: 'mov', kind: 'video' },
  'video/webm': { mime: 'video/webm', ext: 'webm', kind: 'video' },
  'video/x-matroska': { mime: 'video/x-matroska', ext: 'mkv', kind: 'video' },
  'audio/mpeg': { mime: 'audio/mpeg', ext: 'mp3', kind: 'audio' },
  'audio/mp4': { mime: 'audio/mp4', ext: 'm4a', kind: 'audio' },
  'audio/x-m4a': { mime: 'audio/mp4', ext: 'm4a', kind: 'audio' },
  'audio/aac': { mime: 'audio/aac', ext: 'aac', kind: 'audio' },
  'audio/ogg': { mime: 'audio/ogg', ext: 'ogg', kind: 'audio' },
  'audio/opus': { mime: 'audio/ogg', ext: 'ogg', kind: 'audio' },
  'audio/wav': { mime: 'audio/wav', ext: 'wav', kind: 'audio' },
  'audio/x-wav': { mime: 'audio/wav', ext: 'wav', kind: 'audio' },
};

export const ACCEPTED_MIME_TYPES = [...new Set(Object.values(ACCEPTED).map((t) => t.mime))];

/** The accepted type of a file by its bytes, or undefined (unknown or not media we take). */
export async function sniffFile(path: string): Promise<SniffedType | undefined> {
  const detected = await fileTypeFromFile(path);
  return detected ? ACCEPTED[detected.mime] : undefined;
}

export async function sniffBytes(bytes: Uint8Array): Promise<SniffedType | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  return detected ? ACCEPTED[detected.mime] : undefined;
}
