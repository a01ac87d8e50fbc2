import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../load/runner/system.ts';

const run = promisify(execFile);

/** A PostgreSQL cluster of our own (initdb into a temp dir, a free loopback port): ours to stop and start. */
export interface PrivatePostgres {
  /** Server URL (database `postgres`). */
  url: string;
  port: number;
  /** Stops the server as a crash would (`-m immediate`): connections drop at once. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

function postgresBinDir(): string {
  const fromEnv = process.env.CHAOS_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('no PostgreSQL server binaries (initdb) under /usr/lib/postgresql; set CHAOS_PG_BIN');
  return join(root, versions[0], 'bin');
}

/**
 * initdb refuses to run as root: as root, the cluster belongs to the `postgres` system user and every
 * command runs as it (runuser); otherwise as ourselves.
 */
async function asOwner(command: string, args: string[]): Promise<string> {
  const isRoot = process.getuid?.() === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const { stdout } = await run(file, argv, { timeout: 60_000 });
  return stdout;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'chaos-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await asOwner(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  // Loopback only, its socket in its own directory; fsync off: the faults here are process faults, not
  // power loss, and the suite shares two cores.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
  const start = async () => {
    await asOwner(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-o',
      options,
      '-l',
      join(dir, 'server.log'),
      '-w',
      'start',
    ]);
  };
  const stop = async () => {
    await asOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  await start();
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
