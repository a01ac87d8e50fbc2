import { describe, expect, it } from 'vitest';
import { compareWithSeed } from '../../../load/common/summary.js';

describe('load report: render rates against the seed', () => {
  it("shows submissions/s (accepted, queued) and completed/s, each beside the seed's 31 renders/s", () => {
    const rows = compareWithSeed({
      perService: {
        'video-orchestrator': {} as never,
      },
      health: { p95Ms: null },
      renders: { perSecond: 0.4, submittedPerSecond: 12.5, processingP95Ms: 900 },
      seed: { 'video-orchestrator': { rendersPerSecond: 31, renderProcessingP95Ms: 5000 } },
    });
    const video = rows.filter((r) => r.service === 'video-orchestrator' && /render/.test(r.measure));
    expect(video.map((r) => [r.measure, r.ours, r.seed])).toEqual([
      ['render processing p95', 900, 5000],
      ['render submissions/s (accepted, queued)', 12.5, 31],
      ['renders completed/s (light by design)', 0.4, 31],
    ]);
  });
});
