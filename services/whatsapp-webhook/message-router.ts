import { type OptKeywords, optIntent } from './opt-out-keywords.ts';
import { firstKeyword, type RouteConfig } from './route-config.ts';

export type MatchKind = 'reply_id' | 'keyword' | 'sticky';

/** Which route takes a message, and why (`value`: the reply id or keyword that matched). */
export interface RouteMatch {
  route: string;
  kind: MatchKind;
  value: string | null;
}

/** What the router reads of an inbound message. */
export interface RoutableMessage {
  fromWaId: string | null;
  type: string;
  /** Text body, or the title of the chosen button or list row. */
  text: string | null;
  replyId: string | null;
}

export interface MessageRouter {
  /** Any route configured: without one nothing is routed and intake pays nothing for it. */
  readonly active: boolean;
  routes: RouteConfig[];
  get(name: string): RouteConfig | undefined;
  /**
   * The route for a message, by precedence: interactive reply id (exact, then the longest prefix), then
   * the first word as a keyword, then the route holding the conversation (`stickyRoute`); null sends it
   * to the agent path. STOP/START (the opt-out keywords) are answered by this service, never routed.
   */
  match(message: RoutableMessage, stickyRoute: string | undefined): RouteMatch | null;
}

/**
 * @example
 * const router = createMessageRouter(settings.routing.routes, optKeywords(['stop'], ['start']));
 * router.match({ fromWaId: '250788000001', type: 'text', text: 'Book a moto', replyId: null }, undefined);
 * // → { route: 'booking', kind: 'keyword', value: 'book' }
 */
export function createMessageRouter(routes: RouteConfig[], optKeywords: OptKeywords): MessageRouter {
  const byName = new Map(routes.map((r) => [r.name, r]));
  const byReplyId = new Map<string, string>();
  const byKeyword = new Map<string, string>();
  const prefixes: { prefix: string; route: string }[] = [];
  for (const route of routes) {
    for (const id of route.replyIds) byReplyId.set(id, route.name);
    for (const keyword of route.keywords) byKeyword.set(keyword, route.name);
    for (const prefix of route.replyIdPrefixes) prefixes.push({ prefix, route: route.name });
  }
  // Longest first: "ride:moto:" is more specific than "ride:".
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);

  return {
    active: routes.length > 0,
    routes,
    get: (name) => byName.get(name),
    match(message, stickyRoute) {
      if (routes.length === 0 || message.fromWaId === null) return null;
      if (message.type === 'text' && optIntent(message.text, optKeywords) !== null) return null;
      const replyId = message.replyId;
      if (replyId !== null) {
        const exact = byReplyId.get(replyId);
        if (exact) return { route: exact, kind: 'reply_id', value: replyId };
        const prefixed = prefixes.find((p) => replyId.startsWith(p.prefix));
        if (prefixed) return { route: prefixed.route, kind: 'reply_id', value: replyId };
      }
      const keyword = firstKeyword(message.text);
      const keywordRoute = keyword === null ? undefined : byKeyword.get(keyword);
      if (keywordRoute) return { route: keywordRoute, kind: 'keyword', value: keyword };
      // A claim by a route that is no longer configured is ignored (the agent answers).
      if (stickyRoute !== undefined && byName.has(stickyRoute)) {
        return { route: stickyRoute, kind: 'sticky', value: null };
      }
      return null;
    },
  };
}
