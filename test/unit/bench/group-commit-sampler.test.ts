import { describe, expect, it } from 'vitest';
import { combineGroupCommit, groupCommitBetween } from '../../../bench/support/group-commit-sampler.ts';
import { parsePrometheusText } from '../../../shared/observability/index.ts';

/** A /metrics scrape of two writers, as prom-client writes it (default `service` label included). */
const scrape = (webhooks: [number, number, number, number], status: [number, number, number]) =>
  parsePrometheusText(`# HELP group_commit_batch_size Items written by one group-commit flush (one transaction)
# TYPE group_commit_batch_size histogram
group_commit_batch_size_bucket{le="1",writer="whatsapp-webhooks",service="whatsapp-webhook"} 0
group_commit_batch_size_sum{writer="whatsapp-webhooks",service="whatsapp-webhook"} ${webhooks[0]}
group_commit_batch_size_count{writer="whatsapp-webhooks",service="whatsapp-webhook"} ${webhooks[1]}
group_commit_batch_size_sum{writer="status-events",service="whatsapp-webhook"} ${status[0]}
group_commit_batch_size_count{writer="status-events",service="whatsapp-webhook"} ${status[1]}
group_commit_flush_duration_seconds_sum{writer="whatsapp-webhooks",result="committed",service="whatsapp-webhook"} ${webhooks[2]}
group_commit_flush_duration_seconds_count{writer="whatsapp-webhooks",result="committed",service="whatsapp-webhook"} ${webhooks[1] - 1}
group_commit_flush_duration_seconds_sum{writer="whatsapp-webhooks",result="failed",service="whatsapp-webhook"} ${webhooks[3]}
group_commit_flush_duration_seconds_count{writer="whatsapp-webhooks",result="failed",service="whatsapp-webhook"} 1
group_commit_flush_duration_seconds_sum{writer="status-events",result="committed",service="whatsapp-webhook"} ${status[2]}
group_commit_flush_duration_seconds_count{writer="status-events",result="committed",service="whatsapp-webhook"} ${status[1]}
`);

describe('group-commit figures between two scrapes', () => {
  it('takes the difference per writer, failed flushes included, and leaves out writers that did not flush', () => {
    const before = scrape([100, 10, 0.05, 0.001], [7, 7, 0.01]);
    const after = scrape([400, 30, 0.153, 0.002], [7, 7, 0.01]);
    expect(groupCommitBetween(before, after)).toEqual({
      'whatsapp-webhooks': { flushes: 20, items: 300, meanBatch: 15, meanFlushMs: 5.2 },
    });
  });

  it('counts a writer first seen in the second scrape from zero', () => {
    expect(groupCommitBetween([], scrape([30, 4, 0.02, 0], [0, 0, 0]))).toEqual({
      'whatsapp-webhooks': { flushes: 4, items: 30, meanBatch: 7.5, meanFlushMs: 5 },
    });
  });

  it('combines measurements: counts summed, the mean flush time weighted by flushes', () => {
    expect(
      combineGroupCommit([
        { voice: { flushes: 10, items: 100, meanBatch: 10, meanFlushMs: 2 } },
        {
          voice: { flushes: 30, items: 600, meanBatch: 20, meanFlushMs: 6 },
          other: { flushes: 1, items: 1, meanBatch: 1, meanFlushMs: 1 },
        },
      ]),
    ).toEqual({
      voice: { flushes: 40, items: 700, meanBatch: 17.5, meanFlushMs: 5 },
      other: { flushes: 1, items: 1, meanBatch: 1, meanFlushMs: 1 },
    });
  });
});
