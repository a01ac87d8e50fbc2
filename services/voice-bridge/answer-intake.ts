import {
  createGroupCommitWriter,
  type Database,
  type GroupCommitSettings,
  type GroupCommitWriter,
} from '../../shared/db/index.ts';
import { observeGroupCommit, type ServiceMetrics } from '../../shared/observability/index.ts';
import {
  type AnswerInput,
  answersFitOneStatement,
  type ResolvedAnswer,
  resolveAnsweredCalls,
} from './store.ts';

export type AnswerIntake = GroupCommitWriter<AnswerInput, ResolvedAnswer | null>;

/**
 * Twilio's answer webhooks (one per call, so a call-placing burst is a burst of these): concurrent answers
 * share one commit, the calls we placed one statement; each webhook gets its TwiML after that commit.
 *
 * @example
 * const intake = createAnswerIntake({ db, metrics });
 * const resolved = await intake.submit({ callId, callSid, to, from, newId });
 */
export function createAnswerIntake(deps: {
  db: Database;
  metrics: ServiceMetrics;
  groupCommit?: GroupCommitSettings;
}): AnswerIntake {
  return createGroupCommitWriter({
    name: 'voice-answers',
    db: deps.db,
    ...deps.groupCommit,
    ...observeGroupCommit(deps.metrics),
    singleStatement: answersFitOneStatement,
    flush: resolveAnsweredCalls,
  });
}
