import { mkdir, readdir, readlink, rm, stat } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { processIsAlive, sanitizeHost } from './worker-identity.ts';

/** One job attempt's private directory; `dispose` removes it with everything ffmpeg wrote. */
export interface Workspace {
  readonly dir: string;
  path(name: string): string;
  dispose(): Promise<void>;
}

export interface TempWorkspaces {
  /** This process's directory: `<baseDir>/<host>--<pid>`. */
  readonly root: string;
  create(name: string): Promise<Workspace>;
  /**
   * Startup sweep: removes what dead workers left behind. A directory is ours to delete when it
   * belongs to this host and its pid is gone (or is our own pid: a restarted container is pid 1
   * again), or when it is older than `staleAfterMs` (another host, which we cannot ask).
   */
  sweepOrphans(): Promise<string[]>;
  /** Directories of jobs in progress in this process. */
  active(): string[];
}

export interface TempWorkspacesOptions {
  baseDir: string;
  /** Longer than the longest job can live (job timeout plus margins). */
  staleAfterMs: number;
  hostname?: string;
  pid?: number;
  isAlive?: (pid: number) => boolean;
}

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,120}$/;

/**
 * A worker killed with SIGKILL leaves its ffmpeg running (re-parented to init) inside the
 * workspace it was given as cwd. Before such a directory is deleted, those processes are killed
 * too: nothing keeps writing where nobody will clean up. Linux only (/proc); elsewhere a no-op.
 */
async function killProcessesInside(dir: string): Promise<number[]> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => null);
    if (cwd && (cwd === dir || cwd.startsWith(`${dir}/`))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        killed.push(Number(pid));
      } catch {
        // Gone already, or not ours to signal.
      }
    }
  }
  return killed;
}
const OWNER_RE = /^(.+)--(\d+)$/;

/**
 * @example
 * const workspaces = createTempWorkspaces({ baseDir: `${dataDir}/tmp`, staleAfterMs: 3_600_000 });
 * await workspaces.sweepOrphans();
 * const ws = await workspaces.create(`${renderId}-${attempt}`);
 * try { ... } finally { await ws.dispose(); }
 */
export function createTempWorkspaces(options: TempWorkspacesOptions): TempWorkspaces {
  const host = sanitizeHost(options.hostname ?? osHostname());
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processIsAlive;
  const root = join(options.baseDir, `${host}--${pid}`);
  const live = new Set<string>();

  async function create(name: string): Promise<Workspace> {
    if (!SAFE_NAME.test(name)) throw new Error(`unsafe workspace name: ${name}`);
    const dir = join(root, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    live.add(dir);
    return {
      dir,
      path: (file: string) => {
        if (!SAFE_NAME.test(file)) throw new Error(`unsafe file name: ${file}`);
        return join(dir, file);
      },
      async dispose() {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        live.delete(dir);
      },
    };
  }

  async function sweepOrphans(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(options.baseDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const removed: string[] = [];
    const now = Date.now();
    for (const entry of entries) {
      const dir = join(options.baseDir, entry);
      const owner = OWNER_RE.exec(entry);
      let orphan = false;
      if (owner && owner[1] === host) {
        const ownerPid = Number(owner[2]);
        orphan = ownerPid === pid ? [...live].every((d) => !d.startsWith(dir)) : !isAlive(ownerPid);
      } else {
        const info = await stat(dir).catch(() => null);
        orphan = !!info && now - info.mtimeMs > options.staleAfterMs;
      }
      if (orphan) {
        await killProcessesInside(resolve(dir));
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        removed.push(dir);
      }
    }
    return removed;
  }

  return { root, create, sweepOrphans, active: () => [...live] };
}
