import type { RouteConfig } from './route-config.ts';
import type { DeadLetterRow, HandlerDeliveryRow, WebhookDeliveryRow } from './store.ts';

/** How stored deliveries, dead letters and routes look in our API (never a secret, never a raw body). */

export function webhookDeliveryView(row: WebhookDeliveryRow) {
  return { id: row.id, sha256: row.sha256, bytes: row.bytes, createdAt: row.createdAt.toISOString() };
}

export function handlerDeliveryView(row: HandlerDeliveryRow) {
  return {
    id: row.id,
    inboundId: row.inboundId,
    wamid: row.wamid,
    waId: row.waId,
    route: row.route,
    match: { kind: row.matchKind, value: row.matchValue },
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function deadLetterView(row: DeadLetterRow) {
  return {
    id: row.id,
    deliveryId: row.deliveryId,
    route: row.route,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    replayedAt: row.replayedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export function routeView(route: RouteConfig) {
  const url = new URL(route.url);
  return {
    name: route.name,
    url: `${url.origin}${url.pathname}`,
    replyIds: route.replyIds,
    replyIdPrefixes: route.replyIdPrefixes,
    keywords: route.keywords,
    sticky: route.sticky,
    stickyTtlSeconds: route.stickyTtlSeconds,
    timeoutMs: route.timeoutMs,
  };
}
