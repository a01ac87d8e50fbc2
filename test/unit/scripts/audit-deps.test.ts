import { describe, expect, it } from 'vitest';
import { judgeAudit } from '../../../scripts/audit-deps.ts';

const advisory = (severity: string, ghsa: string) => ({
  source: 1,
  name: 'pkg',
  title: `a ${severity} problem`,
  url: `https://github.com/advisories/${ghsa}`,
  severity,
});

describe('judgeAudit', () => {
  it('reports a registry without the audit endpoint as unavailable, not as clean or vulnerable', () => {
    const report = { message: '405 Method Not Allowed - POST …/advisories/bulk', statusCode: 405, error: {} };
    expect(judgeAudit(report, [])).toEqual({ kind: 'unavailable', reason: report.message });
  });

  it('fails on high and critical advisories, ignores lower ones and transitive name references', () => {
    const verdict = judgeAudit(
      {
        vulnerabilities: {
          a: { name: 'a', severity: 'high', via: [advisory('high', 'GHSA-aaaa-bbbb-cccc')] },
          b: { name: 'b', severity: 'moderate', via: [advisory('moderate', 'GHSA-dddd-eeee-ffff')] },
          c: { name: 'c', severity: 'high', via: ['a'] },
        },
      },
      [],
    );
    expect(verdict).toEqual({ kind: 'vulnerable', findings: ['a: high GHSA-aaaa-bbbb-cccc a high problem'] });
  });

  it('passes an advisory accepted in the exceptions file, naming it', () => {
    const verdict = judgeAudit(
      {
        vulnerabilities: {
          a: { name: 'a', severity: 'critical', via: [advisory('critical', 'GHSA-1111-2222-3333')] },
        },
      },
      [{ id: 'GHSA-1111-2222-3333', package: 'a', reason: 'not reachable from our code' }],
    );
    expect(verdict).toEqual({
      kind: 'clean',
      excepted: ['a: critical GHSA-1111-2222-3333 a critical problem'],
    });
  });

  it('is clean with an empty report', () => {
    expect(judgeAudit({ vulnerabilities: {} }, [])).toEqual({ kind: 'clean', excepted: [] });
  });
});
