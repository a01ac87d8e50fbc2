import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';

export type AssetKind = 'image' | 'video' | 'audio';

/**
 * The ffmpeg demuxer each accepted type is read with, pinned (`-f`, `-format_whitelist`): ffmpeg's own
 * detection would let a file that sniffs as MP3 (an ID3 tag before `#EXTM3U`) be read as an HLS
 * playlist that opens other files, or as a concat list.
 */
export type Demuxer = 'image2' | 'mov' | 'matroska' | 'mp3' | 'aac' | 'ogg' | 'wav';

export interface SniffedType {
  mime: string;
  /** Our own extension for the file on disk: ffmpeg's image2 demuxer picks its decoder by it. */
  ext: string;
  kind: AssetKind;
  demuxer: Demuxer;
}

// What a product video is made of. Anything else (SVG, PDF, archives, executables, playlists)
// is refused by content, whatever name or Content-Type it came with.
const ACCEPTED: Record<string, SniffedType> = {
  'image/jpeg': { mime: 'image/jpeg', ext: 'jpg', kind: 'image', demuxer: 'image2' },
  'image/png': { mime: 'image/png', ext: 'png', kind: 'image', demuxer: 'image2' },
  'image/webp': { mime: 'image/webp', ext: 'webp', kind: 'image', demuxer: 'image2' },
  'video/mp4': { mime: 'video/mp4', ext: 'mp4', kind: 'video', demuxer: 'mov' },
  'video/quicktime': { mime: 'video/quicktime', ext: 'mov', kind: 'video', demuxer: 'mov' },
  'video/webm': { mime: 'video/webm', ext: 'webm', kind: 'video', demuxer: 'matroska' },
  'video/x-matroska': { mime: 'video/x-matroska', ext: 'mkv', kind: 'video', demuxer: 'matroska' },
  'audio/mpeg': { mime: 'audio/mpeg', ext: 'mp3', kind: 'audio', demuxer: 'mp3' },
  'audio/mp4': { mime: 'audio/mp4', ext: 'm4a', kind: 'audio', demuxer: 'mov' },
  'audio/x-m4a': { mime: 'audio/mp4', ext: 'm4a', kind: 'audio', demuxer: 'mov' },
  'audio/aac': { mime: 'audio/aac', ext: 'aac', kind: 'audio', demuxer: 'aac' },
  'audio/ogg': { mime: 'audio/ogg', ext: 'ogg', kind: 'audio', demuxer: 'ogg' },
  'audio/opus': { mime: 'audio/ogg', ext: 'ogg', kind: 'audio', demuxer: 'ogg' },
  'audio/wav': { mime: 'audio/wav', ext: 'wav', kind: 'audio', demuxer: 'wav' },
  'audio/x-wav': { mime: 'audio/wav', ext: 'wav', kind: 'audio', demuxer: 'wav' },
};

const DEMUXER_BY_EXT = new Map(Object.values(ACCEPTED).map((t) => [t.ext, t.demuxer]));

/**
 * The pinned demuxer of a file in a workspace, by the extension we gave it from its sniffed type
 * (`input-0.mp3`, `asset.jpg`, our own `output.mp4`); undefined for a name we did not give.
 */
export function demuxerForFile(name: string): Demuxer | undefined {
  const ext = /\.([a-z0-9]+)$/.exec(name)?.[1];
  return ext === undefined ? undefined : DEMUXER_BY_EXT.get(ext);
}

export const ACCEPTED_MIME_TYPES = [...new Set(Object.values(ACCEPTED).map((t) => t.mime))];

/** An accepted type by the MIME type sniffing gave it before (an asset's `mime_type`). */
export function acceptedType(mime: string): SniffedType | undefined {
  return ACCEPTED[mime];
}

/** The accepted type of a file by its bytes, or undefined (unknown or not media we take). */
export async function sniffFile(path: string): Promise<SniffedType | undefined> {
  const detected = await fileTypeFromFile(path);
  return detected ? ACCEPTED[detected.mime] : undefined;
}

export async function sniffBytes(bytes: Uint8Array): Promise<SniffedType | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  return detected ? ACCEPTED[detected.mime] : undefined;
}
