export type { Database, Sql } from './database.ts';
// The embedded PGlite adapter is imported from './pglite-adapter.ts' directly (Node only): keeping it out of
// this index keeps the 27 MB WASM package out of the edge functions' module graph.
export {
  createGroupCommitWriter,
  type FlushReport,
  type GroupCommitOptions,
  type GroupCommitWriter,
  WriterOverloadedError,
} from './group-commit.ts';
export { MIGRATIONS_DIR, migrate, readMigrations } from './migrate.ts';
export {
  type DatabaseEnv,
  type GroupCommitSettings,
  groupCommitSettings,
  type OpenDatabaseOptions,
  openDatabase,
  serviceDatabaseOptions,
} from './open-database.ts';
export { fromPostgresJs, type PostgresOptions } from './postgres-adapter.ts';
