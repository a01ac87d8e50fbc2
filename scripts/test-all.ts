/**
 * `npm test`: every check the project has, in one run, ending with one line `N passed, N failed`.
 *
 * 1. check:lock: package-lock.json holds every platform's optional packages (`npm ci` works anywhere).
 * 2. check:workflows: .github/workflows/*.yml against GitHub's schema (@action-validator/cli).
 * 3. typecheck, 4. lint: one check each.
 * 5. vitest: the default reporter for people, the JSON reporter for the count (one per test).
 * 6. test:deno: scripts/deno-check.ts, whose own last line `N passed, N failed` is added in.
 *
 * Every step runs even when an earlier one failed, so one run shows everything; exits 1 on any failure.
 * `npm test -- <vitest filters>` narrows the vitest step. Skipped tests are listed on the line before the total, not counted.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// node_modules/.bin first (as under `npm run`): tsc, biome, vitest, action-validator and Node 24 itself.
const ENV = {
  ...process.env,
  PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`,
};

/** `npm test -- test/unit` narrows vitest to those files (the other checks still run). */
const VITEST_FILTERS = process.argv.slice(2);

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}
const parts: { name: string; tally: Tally }[] = [];

/** Runs a command with its output shown as it comes; resolves with the exit code and the stdout text. */
function run(command: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', (error) => {
      process.stderr.write(`${command}: ${error.message}\n`);
      resolve({ code: 127, stdout });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

function heading(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

/** A step that is one check: passed when it exits 0. */
async function check(name: string, command: string, args: string[]): Promise<void> {
  heading(name);
  const { code } = await run(command, args);
  parts.push({ name, tally: { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 } });
  if (code !== 0) process.stdout.write(`FAIL ${name} (exit ${code})\n`);
}

async function vitest(): Promise<void> {
  heading('vitest');
  const dir = await mkdtemp(join(tmpdir(), 'easymo-vitest-'));
  const report = join(dir, 'vitest.json');
  try {
    const { code } = await run('vitest', [
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...VITEST_FILTERS,
    ]);
    const json = await readFile(report, 'utf8').catch(() => null);
    if (json === null) {
      // No report at all: vitest itself broke (config, startup); that is one failure, not zero.
      parts.push({ name: 'vitest (no JSON report)', tally: { passed: 0, failed: 1, skipped: 0 } });
      return;
    }
    const result = JSON.parse(json) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
      testResults: { status: string; assertionResults: unknown[] }[];
    };
    // A file that fails to load has no test results of its own: count it, or the total would hide it;
    // and a run vitest fails for another reason (an unhandled error) still counts one failure.
    const brokenFiles = result.testResults.filter(
      (file) => file.status === 'failed' && file.assertionResults.length === 0,
    ).length;
    let failed = result.numFailedTests + brokenFiles;
    if (failed === 0 && code !== 0) failed = 1;
    parts.push({
      name: 'vitest',
      tally: {
        passed: result.numPassedTests,
        failed,
        skipped: result.numPendingTests + result.numTodoTests,
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function denoChecks(): Promise<void> {
  heading('deno checks (npm run test:deno)');
  const { code, stdout } = await run(process.execPath, [join(ROOT, 'scripts', 'deno-check.ts')]);
  const totals = [...stdout.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
  if (!totals) {
    parts.push({ name: 'deno checks (no total)', tally: { passed: 0, failed: 1, skipped: 0 } });
    return;
  }
  const failed = Number(totals[2]) + (Number(totals[2]) === 0 && code !== 0 ? 1 : 0);
  parts.push({ name: 'deno checks', tally: { passed: Number(totals[1]), failed, skipped: 0 } });
}

const workflows = (await readdir(join(ROOT, '.github', 'workflows')))
  .filter((file) => /\.ya?ml$/.test(file))
  .map((file) => join('.github', 'workflows', file));

await check('check:lock (package-lock.json complete for every platform)', process.execPath, [
  join(ROOT, 'scripts', 'check-lock.ts'),
]);
for (const workflow of workflows) {
  await check(`check:workflows ${workflow}`, 'action-validator', [workflow]);
}
await check('typecheck', 'npm', ['run', '-s', 'typecheck']);
await check('lint', 'npm', ['run', '-s', 'lint']);
await vitest();
await denoChecks();

const total = parts.reduce(
  (sum, { tally }) => ({
    passed: sum.passed + tally.passed,
    failed: sum.failed + tally.failed,
    skipped: sum.skipped + tally.skipped,
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
heading('summary');
for (const { name, tally } of parts) {
  const skipped = tally.skipped ? `, ${tally.skipped} skipped` : '';
  process.stdout.write(
    `${tally.failed ? 'FAIL' : 'ok  '} ${name}: ${tally.passed} passed, ${tally.failed} failed${skipped}\n`,
  );
}
if (total.skipped) process.stdout.write(`(${total.skipped} skipped, not counted)\n`);
process.stdout.write(`${total.passed} passed, ${total.failed} failed\n`);
process.exitCode = total.failed > 0 ? 1 : 0;
