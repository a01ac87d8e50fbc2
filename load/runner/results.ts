import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { comparisonTable, type EasymoSummary, mainMetrics, type OpenModelResult } from '../common/summary.js';
import { writeReport } from '../report/write-report.ts';
import { type ClosedRunResult, withOpenModel } from './run-closed.ts';
import type { TurnLatency } from './turn-latency.ts';

/** summary.json: k6's handleSummary shape (`state`, `metrics`, `root_group`) plus the EasyMO sections. */
export interface SummaryFile {
  tool: string;
  profile: string;
  state: { testRunDurationMs: number };
  metrics: Record<string, unknown>;
  root_group: {
    name: string;
    path: string;
    checks: { name: string; passes: number; fails: number }[];
    groups: [];
  };
  easymo: EasymoSummary & { voiceTurnLatency?: TurnLatency | null };
}

export function toSummaryFile(
  closed: ClosedRunResult,
  openModel: Record<string, OpenModelResult> | null,
  seed: unknown,
  voiceTurnLatency: TurnLatency | null = null,
): SummaryFile {
  const easymo = {
    ...(openModel ? withOpenModel(closed, openModel, seed) : closed.easymo),
    voiceTurnLatency,
  };
  return {
    tool: easymo.tool,
    profile: easymo.profile,
    state: { testRunDurationMs: closed.testRunDurationMs },
    metrics: mainMetrics(closed.metrics),
    root_group: { name: '', path: '', checks: closed.checks, groups: [] },
    easymo,
  };
}

/** Writes `<dir>/summary.json` and `<dir>/report.html`; returns their paths. */
export async function writeResults(
  summary: SummaryFile,
  dir: string,
): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'summary.json');
  const html = join(dir, 'report.html');
  await writeFile(json, `${JSON.stringify(summary, null, 2)}\n`);
  await writeReport(summary, html);
  return { json, html };
}

/** The end-of-run console output: thresholds, checks and the comparison with the EasyMO seed. */
export function formatConsoleSummary(summary: SummaryFile): string {
  const e = summary.easymo;
  const lines: string[] = [];
  lines.push('', `thresholds (${e.passed ? 'all passed' : 'FAILED'}):`);
  for (const t of e.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression}`);
  lines.push('', 'checks:');
  for (const c of e.checks) {
    const total = c.passes + c.fails;
    lines.push(`  ${c.fails === 0 ? '✓' : '✗'} ${c.name}: ${c.passes}/${total}`);
  }
  const o = e.overall;
  lines.push(
    '',
    `http_reqs ${o.requests} (${(o.throughputRps ?? 0).toFixed(1)}/s), p95 ${(o.p95Ms ?? 0).toFixed(1)} ms, ` +
      `errors ${((o.errorRate ?? 0) * 100).toFixed(2)} %, http_req_failed ${((o.failedRate ?? 0) * 100).toFixed(2)} %, ` +
      `iterations ${o.iterations}, vus_max ${o.vusMax ?? 0}`,
    '',
    ...(e.voiceTurnLatency
      ? [
          `voice turn latency (end of caller speech → first agent audio): ${e.voiceTurnLatency.turns} turns, ` +
            `p50 ${e.voiceTurnLatency.p50Ms ?? '—'} ms, p95 ${e.voiceTurnLatency.p95Ms ?? '—'} ms`,
          '',
        ]
      : []),
    'against the EasyMO seed:',
    comparisonTable(e.comparison),
    '',
  );
  return lines.join('\n');
}
