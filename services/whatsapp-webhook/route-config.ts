import { z } from 'zod';

/*
 * The operator's routes (WHATSAPP_ROUTES, a JSON array): which inbound messages go to which downstream
 * handler. Configuration rather than a table, because each route carries its signing secret and secrets
 * come only from the environment; every instance reads the same routes at the same deploy.
 */

/** "  ¡RÉSERVER! " and "reserver" are one keyword: case, accents and surrounding punctuation do not count. */
export function keywordKey(word: string): string {
  return word
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, '')
    .normalize('NFC');
}

/** The first word of a message, as a keyword key (emoji and punctuation-only words skipped); null when none. */
export function firstKeyword(text: string | null): string | null {
  if (text === null) return null;
  for (const word of text.trim().split(/\s+/u)) {
    const key = keywordKey(word);
    if (key !== '') return key;
  }
  return null;
}

/** `whsec_` + base64 of 24 to 64 random bytes (Standard Webhooks' secret format). */
const SigningSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine(
    (s) => {
      const bytes = Buffer.from(s.slice('whsec_'.length), 'base64').length;
      return bytes >= 24 && bytes <= 64;
    },
    { message: 'must encode 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))' },
  );

const Route = z.strictObject({
  /** Names the route in deliveries, dead letters, sticky state and its breaker. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes'),
  /** The handler's endpoint; it receives each message as a signed POST. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  secret: SigningSecret,
  /** Interactive reply ids (button or list row id, template button payload) matched exactly. */
  replyIds: z.array(z.string().min(1).max(256)).default([]),
  /** Reply ids matched by prefix (the longest matching prefix of any route wins). */
  replyIdPrefixes: z.array(z.string().min(1).max(256)).default([]),
  /** First words of a text (any case, accents ignored), in as many languages as the operator lists. */
  keywords: z.array(z.string().min(1).max(64)).default([]),
  /** A match claims the conversation: the contact's next messages come here until released or idle this long. */
  sticky: z.boolean().default(false),
  /** How long a claim lasts after the latest message routed here (or a handler's claim without ttlSeconds). */
  stickyTtlSeconds: z
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
  timeoutMs: z.int().min(100).max(60_000).optional(),
});

export interface RouteConfig {
  name: string;
  url: string;
  secret: string;
  replyIds: string[];
  replyIdPrefixes: string[];
  /** Normalized with keywordKey. */
  keywords: string[];
  sticky: boolean;
  stickyTtlSeconds: number;
  timeoutMs: number;
}

/**
 * WHATSAPP_ROUTES: JSON text → routes, refused (naming the entry and field) when malformed or when two
 * routes would claim the same name, reply id, prefix or keyword.
 */
export const RoutesJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of routes' });
      return z.NEVER;
    }
  })
  .pipe(z.array(Route).max(100))
  .superRefine((routes, ctx) => {
    const seen = new Map<string, number>();
    const claim = (kind: string, value: string, index: number, field: string) => {
      const key = `${kind}\0${value}`;
      const other = seen.get(key);
      if (other !== undefined && other !== index) {
        ctx.addIssue({
          code: 'custom',
          path: [index, field],
          message: `${kind} "${value}" is already routes[${other}]'s`,
        });
      }
      seen.set(key, index);
    };
    routes.forEach((route, i) => {
      claim('name', route.name, i, 'name');
      for (const id of route.replyIds) claim('reply id', id, i, 'replyIds');
      for (const prefix of route.replyIdPrefixes) claim('reply id prefix', prefix, i, 'replyIdPrefixes');
      for (const keyword of route.keywords) {
        if (keywordKey(keyword) === '') {
          ctx.addIssue({ code: 'custom', path: [i, 'keywords'], message: `"${keyword}" has no letters` });
        }
        claim('keyword', keywordKey(keyword), i, 'keywords');
      }
    });
  });

/** Fills each route's defaults from the service-wide settings and normalizes its keywords. */
export function resolveRoutes(
  routes: z.infer<typeof RoutesJson>,
  defaults: { stickyTtlSeconds: number; timeoutMs: number },
): RouteConfig[] {
  return routes.map((route) => ({
    ...route,
    keywords: [...new Set(route.keywords.map(keywordKey))],
    stickyTtlSeconds: route.stickyTtlSeconds ?? defaults.stickyTtlSeconds,
    timeoutMs: route.timeoutMs ?? defaults.timeoutMs,
  }));
}
