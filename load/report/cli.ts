// Renders report.html from a summary.json written by `npm run load:ci`, `node load/run.ts` or k6:
//   node load/report/cli.ts [load/results/summary.json] [load/results/report.html]
import { readFile } from 'node:fs/promises';
import { writeReport } from './write-report.ts';

const [summaryPath = 'load/results/summary.json', htmlPath = 'load/results/report.html'] =
  process.argv.slice(2);
const summary = JSON.parse(await readFile(summaryPath, 'utf8'));
await writeReport(summary, htmlPath);
console.log(`report: ${htmlPath}`);
