import type { PGlite } from '@electric-sql/pglite';

/** What a repository needs: one statement, positional `$n` parameters, rows back. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script with no parameters (migrations). */
  execScript(text: string): Promise<void>;
}

/**
 * The one database interface the services see, with two adapters: postgres.js (a server, e.g.
 * Supabase) and PGlite (embedded). Repositories are written once in SQL against it.
 */
export interface Database extends Sql {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction; inside it use the `tx` given, never the outer database. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** postgres: the connection URL (pg-boss opens its own pool on it). */
  readonly url?: string;
  /** The schema every statement runs in (search_path), when not the default. */
  readonly schema?: string;
  /** pglite: the instance, for pg-boss's PGlite adapter. */
  readonly pglite?: PGlite;
}
