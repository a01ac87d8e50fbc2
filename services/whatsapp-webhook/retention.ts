import type { RetainedTable } from '../../shared/db/index.ts';

/** The retention job's queue and schedule name. */
export const WHATSAPP_RETENTION_QUEUE = 'whatsapp-retention';

/**
 * What grows with traffic and is only kept for audit and replay: raw webhook deliveries and provider
 * status events (both indexed on created_at). Messages themselves are kept.
 */
export const WHATSAPP_RETAINED_TABLES: RetainedTable[] = [
  { table: 'whatsapp_webhook_events', column: 'created_at' },
  { table: 'whatsapp_status_events', column: 'created_at' },
];
