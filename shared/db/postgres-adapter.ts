import postgres from 'postgres';
import type { Database, Sql } from './database.ts';

export interface PostgresOptions {
  url: string;
  /** false behind a transaction-mode pooler: it cannot keep named prepared statements. */
  prepare?: boolean;
  max?: number;
  schema?: string;
}

/**
 * A Database over postgres.js.
 *
 * @example
 * const db = fromPostgresJs({ url: process.env.DATABASE_URL!, prepare: false });
 */
export function fromPostgresJs(options: PostgresOptions): Database {
  const prepare = options.prepare ?? true;
  const sql = postgres(options.url, {
    prepare,
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => {},
    // Same values as PGlite gives back, so repositories read rows the same on both drivers:
    // jsonb parameters may be objects or JSON text, and int8 comes back as a number.
    types: {
      jsonb: {
        to: 3802,
        from: [3802],
        serialize: (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value)),
        parse: (text: string) => JSON.parse(text),
      },
      int8: {
        to: 20,
        from: [20],
        serialize: (value: unknown) => String(value),
        parse: (text: string) => Number(text),
      },
    } as never,
    connection: {
      application_name: 'easymo-edge',
      ...(options.schema ? { search_path: options.schema } : {}),
    },
  });
  // `unsafe` leaves statements unprepared unless told: each query with parameters would then be parsed,
  // planned and described on every call, a round trip of its own before Bind/Execute. Named statements
  // (cached per connection by text and parameter types) make a hot insert one round trip.
  const run = <T>(client: postgres.Sql | postgres.TransactionSql, text: string, params: unknown[] = []) =>
    client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare }) as unknown as Promise<T[]>;
  return {
    kind: 'postgres',
    url: options.url,
    schema: options.schema,
    query: (text, params) => run(sql, text, params),
    transaction: (fn) =>
      sql.begin((tx) => {
        const scoped: Sql = {
          query: (text, params) => run(tx, text, params),
          execScript: async (text) => {
            await tx.unsafe(text);
          },
        };
        return fn(scoped);
      }) as never,
    execScript: async (text) => {
      // No parameters: postgres.js sends it with the simple protocol, so several statements may run.
      await sql.unsafe(text);
    },
    ping: async () => {
      await sql`select 1`;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
