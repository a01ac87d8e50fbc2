export type { Database, Sql } from './database.ts';
export { MIGRATIONS_DIR, migrate, readMigrations } from './migrate.ts';
export { type OpenDatabaseOptions, openDatabase } from './open-database.ts';
export { fromPglite, openPglite } from './pglite-adapter.ts';
export { fromPostgresJs, type PostgresOptions } from './postgres-adapter.ts';
