/**
 * The two things Supabase's Edge Runtime adds to Deno that we use, feature-detected so the same code
 * runs under plain `deno run` (local checks, the CI smoke test).
 */

interface EdgeRuntimeGlobal {
  waitUntil(promise: Promise<unknown>): void;
}

function edgeRuntime(): EdgeRuntimeGlobal | undefined {
  return (globalThis as { EdgeRuntime?: EdgeRuntimeGlobal }).EdgeRuntime;
}

/** True inside Supabase's Edge Runtime (hosted or `supabase functions serve`), false under plain Deno. */
export function isSupabaseEdgeRuntime(): boolean {
  return edgeRuntime() !== undefined;
}

/**
 * Keeps the isolate alive until `promise` settles (`EdgeRuntime.waitUntil`): the runtime retires an
 * isolate once its responses are sent, even with work still running. No-op under plain Deno, whose
 * process lives as long as the server does.
 */
export function waitUntil(promise: Promise<unknown>): void {
  const guarded = promise.catch(() => {});
  edgeRuntime()?.waitUntil(guarded);
}

/**
 * Runs `stop` once when the isolate or process is about to end: the runtime's `beforeunload` (wall-clock
 * limit, idle retirement) or, under plain Deno, SIGTERM/SIGINT, after which the process exits.
 */
export function onShutdown(stop: (reason: string) => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  const run = (reason: string) => {
    stopping ??= stop(reason);
    return stopping;
  };
  globalThis.addEventListener('beforeunload', (event) => {
    const reason = (event as CustomEvent<{ reason?: string }>).detail?.reason ?? 'beforeunload';
    waitUntil(run(reason));
  });
  if (isSupabaseEdgeRuntime()) return;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    try {
      Deno.addSignalListener(signal, () => {
        run(signal).finally(() => Deno.exit(0));
      });
    } catch {
      // Platforms without signal listeners (Windows has no SIGTERM): beforeunload still applies.
    }
  }
}
