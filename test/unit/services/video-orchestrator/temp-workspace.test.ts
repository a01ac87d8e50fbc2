import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempWorkspaces } from '../../../../services/video-orchestrator/temp-workspace.ts';

describe('temp workspaces', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'video-ws-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('creates a private directory per attempt and removes it with everything in it', async () => {
    const workspaces = createTempWorkspaces({ baseDir: base, staleAfterMs: 60_000, hostname: 'h1', pid: 42 });
    const ws = await workspaces.create('render-0');
    expect(ws.dir).toBe(join(base, 'h1--42', 'render-0'));
    await writeFile(ws.path('a.txt'), 'x');
    expect(workspaces.active()).toEqual([ws.dir]);
    expect(() => ws.path('../escape')).toThrow();
    await expect(workspaces.create('../x')).rejects.toThrow();
    await ws.dispose();
    expect(await readdir(join(base, 'h1--42'))).toEqual([]);
  });

  it('sweeps what dead workers of this host left, spares live ones and fresh foreign ones', async () => {
    const dirs = {
      dead: join(base, 'h1--999999', 'r-0'),
      samePid: join(base, 'h1--42', 'r-1'),
      alive: join(base, `h1--${process.pid}`, 'r-2'),
      foreignFresh: join(base, 'h2--7', 'r-3'),
      foreignStale: join(base, 'h3--7', 'r-4'),
    };
    for (const dir of Object.values(dirs)) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'input-0.jpg'), 'x');
    }
    const old = new Date(Date.now() - 3600_000);
    await utimes(join(base, 'h3--7'), old, old);
    const workspaces = createTempWorkspaces({
      baseDir: base,
      staleAfterMs: 60_000,
      hostname: 'h1',
      pid: 42,
      isAlive: (pid) => pid === process.pid,
    });
    const removed = await workspaces.sweepOrphans();
    expect(removed.sort()).toEqual(
      [join(base, 'h1--42'), join(base, 'h1--999999'), join(base, 'h3--7')].sort(),
    );
    expect((await readdir(base)).sort()).toEqual([`h1--${process.pid}`, 'h2--7'].sort());
  });
});
