import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/check-lock.ts');
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function check(lock: unknown): Promise<{ code: number; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'check-lock-'));
  dirs.push(dir);
  const path = join(dir, 'package-lock.json');
  await writeFile(path, JSON.stringify(lock));
  try {
    await run(process.execPath, [SCRIPT, path]);
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('scripts/check-lock.ts', () => {
  it("passes the repository's lock", async () => {
    const { stdout } = await run(process.execPath, [SCRIPT]);
    expect(stdout).toMatch(/complete/);
  });

  it("fails a lock missing another platform's optional package, naming it (the npm ci failure)", async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'));
    delete lock.packages['node_modules/@biomejs/cli-darwin-arm64'];
    delete lock.packages['node_modules/hono'].integrity;
    const { code, stderr } = await check(lock);
    expect(code).toBe(1);
    expect(stderr).toContain('node_modules/@biomejs/biome lists optional @biomejs/cli-darwin-arm64');
    expect(stderr).toContain('node_modules/hono@');
  });
});
