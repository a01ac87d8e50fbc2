/**
 * Where an outbound message can be. Meta delivers statuses out of order and more than once, so a
 * status is applied only when it ranks above the current one: a late `delivered` after `read`
 * changes nothing. `failed` ranks last because Meta can fail a message it already reported `sent`.
 */
export const OUTBOUND_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type OutboundStatus = (typeof OUTBOUND_STATUSES)[number];

const RANK: Record<OutboundStatus, number> = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** Rank of a status, or null for one we keep for audit but never apply (e.g. `deleted`, `warning`). */
export function statusRank(status: string): number | null {
  return Object.hasOwn(RANK, status) ? RANK[status as OutboundStatus] : null;
}

/** True when moving from `current` to `next` is progress. */
export function isForward(current: string, next: string): boolean {
  const from = statusRank(current);
  const to = statusRank(next);
  return to !== null && (from === null || to > from);
}
