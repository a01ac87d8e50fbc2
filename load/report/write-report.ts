import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderReportHtml } from './render-report.js';

/** Chart.js's UMD build, inlined into the page so the report draws without a network. */
export async function readChartJs(): Promise<string> {
  // The package's exports map hides dist/chart.umd.js; it sits beside the CommonJS entry.
  const require = createRequire(import.meta.url);
  return readFile(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
}

/**
 * Writes the self-contained HTML report for a summary (summary.json's object, from the Node runner
 * or from k6's handleSummary).
 *
 * @example
 * await writeReport(JSON.parse(await readFile('load/results/summary.json', 'utf8')), 'load/results/report.html');
 */
export async function writeReport(summary: unknown, htmlPath: string): Promise<void> {
  const html = renderReportHtml(summary, { chartJs: await readChartJs() });
  await mkdir(dirname(htmlPath), { recursive: true });
  await writeFile(htmlPath, html);
}
