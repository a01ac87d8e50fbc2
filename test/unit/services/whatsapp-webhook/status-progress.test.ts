import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isForward,
  OUTBOUND_STATUSES,
  statusRank,
} from '../../../../services/whatsapp-webhook/status-progress.ts';

describe('status progress', () => {
  it('ranks queued < sent < delivered < read < failed and ignores unknown statuses', () => {
    expect(OUTBOUND_STATUSES.map(statusRank)).toEqual([0, 1, 2, 3, 4]);
    expect(statusRank('deleted')).toBeNull();
    expect(statusRank('toString')).toBeNull();
    expect(isForward('read', 'delivered')).toBe(false);
    expect(isForward('sent', 'failed')).toBe(true);
    expect(isForward('read', 'warning')).toBe(false);
  });

  it('ends at the furthest status whatever order (and repeats) the events arrive in', () => {
    const event = fc.constantFrom('sent', 'delivered', 'read', 'deleted', 'warning');
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 12 }), (events) => {
        let current = 'queued';
        for (const next of events) if (isForward(current, next)) current = next;
        const furthest = events.reduce(
          (best, s) => ((statusRank(s) ?? -1) > (statusRank(best) ?? -1) ? s : best),
          'queued',
        );
        expect(current).toBe(furthest);
      }),
    );
  });
});
