import type { Context } from 'hono';
import ipaddr from 'ipaddr.js';

/** What `c.env` holds for the runtimes we serve from; every field optional since we only peek. */
interface RuntimeBindings {
  /** @hono/node-server: the Node request (`c.env.server` when the app was given extra bindings). */
  incoming?: { socket?: { remoteAddress?: string } };
  server?: RuntimeBindings;
  /** `Deno.serve(app.fetch)`: the handler's second argument, `ServeHandlerInfo` (what `hono/deno` reads). */
  remoteAddr?: { hostname?: string };
}

export const UNKNOWN_CLIENT_IP = 'unknown';

/**
 * Canonical text of an address (`::ffff:10.0.0.1` → `10.0.0.1`, `[::1]:443` → `::1`, `1.2.3.4:80` →
 * `1.2.3.4`), or undefined when it is not an IP, so junk never becomes a rate-limit key.
 */
export function normalizeIp(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const known = normalized.get(value);
  if (known !== undefined) return known || undefined;
  const ip = parseIp(value);
  // Bounded: a flood of distinct junk values cannot grow it past NORMALIZED_CACHE_SIZE.
  if (normalized.size >= NORMALIZED_CACHE_SIZE) normalized.clear();
  normalized.set(value, ip ?? '');
  return ip;
}

// Parsing an address costs more than the rest of a cheap request; the same few peers repeat endlessly.
const NORMALIZED_CACHE_SIZE = 4096;
const normalized = new Map<string, string>();

function parseIp(value: string): string | undefined {
  let text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const valid = ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
  return valid ? ipaddr.process(text).toString() : undefined;
}

function socketAddress(env: unknown): string | undefined {
  if (!env || typeof env !== 'object') return undefined;
  const outer = env as RuntimeBindings;
  const bindings = outer.incoming ? outer : (outer.server ?? outer);
  return bindings.incoming?.socket?.remoteAddress ?? bindings.remoteAddr?.hostname;
}

/**
 * The client's IP: the peer address of the socket, unless `trustProxy` names a header set by a proxy we
 * sit behind (the `TRUST_PROXY` setting). `x-forwarded-for`-style lists yield their first entry, so the
 * proxy must overwrite that header, not append a client-supplied one. Headers are never read when
 * `trustProxy` is unset, since any client can send them. Falls back to the socket address when the header
 * is missing or not an IP, and to `'unknown'` when the runtime exposes no address at all.
 *
 * @example
 * const ip = clientIp(c, config.TRUST_PROXY); // TRUST_PROXY=cf-connecting-ip behind Cloudflare
 */
export function clientIp(c: Context, trustProxy?: string): string {
  const header = trustProxy?.trim();
  if (header) {
    const forwarded = c.req.header(header)?.split(',')[0];
    const ip = normalizeIp(forwarded);
    if (ip) return ip;
  }
  return normalizeIp(socketAddress(c.env)) ?? UNKNOWN_CLIENT_IP;
}
