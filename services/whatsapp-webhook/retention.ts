import type { RetainedTable } from '../../shared/db/index.ts';

/** The retention job's queue and schedule name. */
export const WHATSAPP_RETENTION_QUEUE = 'whatsapp-retention';

/**
 * What grows with traffic and is only kept for audit and replay: raw webhook deliveries and events, and
 * provider status events (each indexed on created_at). Messages, handler deliveries and dead letters are kept.
 */
export const WHATSAPP_RETAINED_TABLES: RetainedTable[] = [
  { table: 'whatsapp_webhook_deliveries', column: 'created_at' },
  { table: 'whatsapp_webhook_events', column: 'created_at' },
  { table: 'whatsapp_status_events', column: 'created_at' },
];
