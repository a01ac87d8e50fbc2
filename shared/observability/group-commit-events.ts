import type { FlushReport } from '../db/group-commit.ts';
import type { ServiceMetrics } from './metrics.ts';

export type GroupCommitMetrics = Pick<
  ServiceMetrics,
  'groupCommitBatchSize' | 'groupCommitFlushDuration' | 'groupCommitQueueDepth' | 'groupCommitRejections'
>;

/**
 * The writer's hooks as metrics, in one place (like observeBreaker): pass the result as the writer's
 * `onFlush`, `onReject` and `onDepth`.
 *
 * @example
 * const writer = createGroupCommitWriter({ name: 'webhooks', db, flush, ...observeGroupCommit(metrics) });
 */
export function observeGroupCommit(metrics: GroupCommitMetrics) {
  return {
    onFlush(report: FlushReport) {
      metrics.groupCommitBatchSize.observe({ writer: report.writer }, report.items);
      metrics.groupCommitFlushDuration.observe(
        { writer: report.writer, result: report.ok ? 'committed' : 'failed' },
        report.ms / 1000,
      );
    },
    onReject(writer: string) {
      metrics.groupCommitRejections.inc({ writer });
    },
    onDepth(writer: string, depth: number) {
      metrics.groupCommitQueueDepth.set({ writer }, depth);
    },
  };
}
