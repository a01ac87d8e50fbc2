import type { HistoryEntry, ListedMessage, OutboundRow } from './store.ts';

/** How a message looks in our API (never Meta's raw payload). */
export function messageView(row: OutboundRow) {
  return {
    id: row.id,
    status: row.status,
    to: row.to,
    type: row.type,
    phoneNumberId: row.phoneNumberId,
    wamid: row.wamid,
    attempts: row.attempts,
    error:
      row.errorCode !== null || row.errorMessage !== null
        ? { code: row.errorCode, title: row.errorTitle, message: row.errorMessage }
        : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
  };
}

export function historyView(entry: HistoryEntry) {
  return {
    status: entry.status,
    source: entry.source,
    at: entry.at.toISOString(),
    ...(entry.detail ? { detail: entry.detail } : {}),
    ...(entry.errorCode !== null || entry.errorMessage !== null
      ? { error: { code: entry.errorCode, title: entry.errorTitle, message: entry.errorMessage } }
      : {}),
  };
}

/** A message in a list or timeline (GET /messages, GET /contacts/:waId/messages). */
export function listedMessageView(row: ListedMessage) {
  return {
    id: row.id,
    direction: row.direction,
    waId: row.waId,
    type: row.type,
    status: row.status,
    text: row.text,
    wamid: row.wamid,
    error:
      row.errorCode !== null || row.errorMessage !== null
        ? { code: row.errorCode, title: row.errorTitle, message: row.errorMessage }
        : null,
    createdAt: row.createdAt.toISOString(),
  };
}
