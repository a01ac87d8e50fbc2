/** The process environment on Node and on Deno (Supabase Edge Functions), as plain strings. */
export function runtimeEnv(): Record<string, string | undefined> {
  const deno = (globalThis as { Deno?: { env: { toObject(): Record<string, string> } } }).Deno;
  if (deno) return deno.env.toObject();
  return process.env;
}
