export type { Database, Sql } from './database.ts';
export { MIGRATIONS_DIR, migrate, migrationHistoryTable, readMigrations } from './migrate.ts';
export {
  type DatabaseEnv,
  type OpenDatabaseOptions,
  openDatabase,
  serviceDatabaseOptions,
} from './open-database.ts';
export { fromPostgresJs, type PostgresOptions } from './postgres-adapter.ts';
// The embedded PGlite adapter is imported from './pglite-adapter.ts' directly (Node only): keeping it out of
// this index keeps the 27 MB WASM package out of the edge functions' module graph.
export { pruneBatch, type RetainedTable } from './prune.ts';
