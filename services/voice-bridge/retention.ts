import type { RetainedTable } from '../../shared/db/index.ts';

/** The retention job's queue and schedule name. */
export const VOICE_RETENTION_QUEUE = 'voice-retention';

/** Call events (status callbacks and service events, indexed on created_at); calls themselves are kept. */
export const VOICE_RETAINED_TABLES: RetainedTable[] = [{ table: 'voice_call_events', column: 'created_at' }];
