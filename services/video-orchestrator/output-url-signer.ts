import { createHmac, timingSafeEqual } from 'node:crypto';

/** A render's files: `renditions/<name>` for the extra sizes. */
export type OutputKind = 'output' | 'poster' | 'sprite' | `renditions/${string}`;

export interface OutputUrlSigner {
  /** `${publicUrl}/renders/<id>/<kind>?expires=<unix s>&sig=<base64url HMAC>` */
  url(renderId: string, kind: OutputKind): string;
  verify(renderId: string, kind: OutputKind, expires: number | undefined, sig: string | undefined): boolean;
}

/**
 * Expiring links to an output that work without the API key, so the URL can be handed to
 * WhatsApp (or a browser) as it is. The HMAC key is derived from VIDEO_API_KEY: rotating the
 * key revokes every link.
 *
 * @example
 * const signer = createOutputUrlSigner({ apiKey, publicUrl, ttlSeconds: 3600 });
 */
export function createOutputUrlSigner(options: {
  apiKey: string;
  publicUrl: string;
  ttlSeconds: number;
  now?: () => number;
}): OutputUrlSigner {
  const key = createHmac('sha256', options.apiKey).update('video-orchestrator/output-url/v1').digest();
  const now = options.now ?? Date.now;
  const mac = (renderId: string, kind: OutputKind, expires: number) =>
    createHmac('sha256', key).update(`${renderId}\n${kind}\n${expires}`).digest('base64url');
  return {
    url(renderId, kind) {
      // Rounded up to the minute so repeated polls hand out the same link (caches, dedupe).
      const expires = Math.ceil((now() / 1000 + options.ttlSeconds) / 60) * 60;
      return `${options.publicUrl}/renders/${renderId}/${kind}?expires=${expires}&sig=${mac(renderId, kind, expires)}`;
    },
    verify(renderId, kind, expires, sig) {
      if (!expires || !sig || expires * 1000 < now()) return false;
      const expected = Buffer.from(mac(renderId, kind, expires));
      const given = Buffer.from(sig);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
