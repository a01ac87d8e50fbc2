import {
  createGroupCommitWriter,
  type Database,
  type GroupCommitSettings,
  type GroupCommitWriter,
} from '../../shared/db/index.ts';
import { observeGroupCommit, type ServiceMetrics } from '../../shared/observability/index.ts';
import {
  insertStatusEvents,
  type StatusEventInput,
  type StatusEventResult,
  statusEventsFitOneStatement,
} from './store.ts';

export type StatusIntake = GroupCommitWriter<StatusEventInput, StatusEventResult>;

/**
 * Twilio's status callbacks, the hot path: concurrent callbacks share one statement and one commit (group
 * commit), events and the calls' monotonic state together; each callback is answered after that commit.
 * Callbacks without our call id are serialised with inbound call creation on their CallSid (store.ts).
 *
 * @example
 * const intake = createStatusIntake({ db, metrics });
 * const { stored, callId } = await intake.submit(event);
 */
export function createStatusIntake(deps: {
  db: Database;
  metrics: ServiceMetrics;
  groupCommit?: GroupCommitSettings;
}): StatusIntake {
  return createGroupCommitWriter({
    name: 'voice-status-events',
    db: deps.db,
    ...deps.groupCommit,
    ...observeGroupCommit(deps.metrics),
    // Callbacks of calls we placed: one statement. Others (inbound) lock their CallSids in a transaction.
    singleStatement: statusEventsFitOneStatement,
    flush: insertStatusEvents,
  });
}
