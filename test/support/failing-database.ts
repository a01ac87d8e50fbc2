import type { Database, Sql } from '../../shared/db/index.ts';

/**
 * A real database that fails chosen statements on demand: `failNext(/provider_accepted/, 2)` makes the next
 * two statements whose SQL matches throw, as a dropped connection would, before they reach the server.
 * Inside transactions too.
 */
export function failingDatabase(db: Database) {
  const rules: Array<{ match: RegExp; remaining: number }> = [];
  let failures = 0;
  const check = (text: string) => {
    const rule = rules.find((r) => r.remaining > 0 && r.match.test(text));
    if (!rule) return;
    rule.remaining--;
    failures++;
    throw Object.assign(new Error('injected failure: connection lost'), { code: 'ECONNRESET' });
  };
  const wrap = (sql: Sql): Sql => ({
    query: async (text, params) => {
      check(text);
      return sql.query(text, params);
    },
    execScript: async (text) => {
      check(text);
      return sql.execScript(text);
    },
  });
  const wrapped: Database = {
    ...db,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
  };
  return {
    db: wrapped,
    /** The next `times` statements matching `match` fail. */
    failNext(match: RegExp, times = 1) {
      rules.push({ match, remaining: times });
    },
    /** How many statements were failed so far. */
    get failures() {
      return failures;
    },
  };
}
