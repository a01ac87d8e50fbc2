import { spawn } from 'node:child_process';
import postgres from 'postgres';
import { ROOT } from './system.ts';

/** The server load:ci uses when DATABASE_URL is unset: the local PostgreSQL a developer runs. */
export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The database a run creates afresh on that server, so it never shares rows with the tests or with
 * another run (the process id keeps two runs on one server apart).
 */
export const LOAD_DATABASE = `easymo_load_${process.pid}`;

/**
 * A fresh, empty database for the load run on the same server as `serverUrl` (DATABASE_URL in CI):
 * dropped and recreated, so every run starts from the same state. When the role may not create
 * databases, the given database itself is used (and said so).
 */
export async function prepareLoadDatabase(
  serverUrl: string,
  log: (line: string) => void,
): Promise<{ url: string; dedicated: boolean }> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
  try {
    try {
      await admin`select 1`;
    } catch (error) {
      throw new Error(
        `the load runs on PostgreSQL and none answers at ${redact(serverUrl)} (${(error as Error).message}); set DATABASE_URL`,
      );
    }
    try {
      await admin.unsafe(`drop database if exists ${LOAD_DATABASE} with (force)`);
      await admin.unsafe(`create database ${LOAD_DATABASE}`);
    } catch (error) {
      log(
        `cannot create database ${LOAD_DATABASE} (${(error as Error).message}); using ${redact(serverUrl)} as is`,
      );
      return { url: serverUrl, dedicated: false };
    }
    const url = new URL(serverUrl);
    url.pathname = `/${LOAD_DATABASE}`;
    return { url: url.toString(), dedicated: true };
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Drops the run's database (best effort: a failure is logged, not thrown). */
export async function dropLoadDatabase(serverUrl: string, log: (line: string) => void): Promise<void> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
  try {
    await admin.unsafe(`drop database if exists ${LOAD_DATABASE} with (force)`);
  } catch (error) {
    log(`could not drop ${LOAD_DATABASE}: ${(error as Error).message}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Applies supabase/migrations with the lead's `scripts/db-migrate.ts` (services migrate PGlite only). */
export async function migrateLoadDatabase(url: string, log: (line: string) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/db-migrate.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) {
        log(output.trim());
        resolve();
      } else {
        reject(new Error(`db:migrate failed (${code}):\n${output}`));
      }
    });
  });
}

/** A database URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
