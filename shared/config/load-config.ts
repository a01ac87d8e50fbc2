import type { z } from 'zod';
import { runtimeEnv } from './runtime-env.ts';

/** A configuration that cannot start: every offending variable with the reason, in one message. */
export class ConfigError extends Error {
  readonly problems: { variable: string; reason: string }[];
  constructor(service: string, problems: { variable: string; reason: string }[]) {
    super(
      `${service}: invalid configuration\n${problems.map((p) => `  - ${p.variable}: ${p.reason}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates the environment against a service's schema, all variables at once.
 *
 * @example
 * const config = loadConfig('voice-bridge', VoiceConfigSchema);
 */
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = runtimeEnv(),
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    variable: issue.path.map(String).join('.') || '(environment)',
    reason: issue.message,
  }));
  throw new ConfigError(service, problems);
}

/**
 * For a Node entry point: runs a configuration loader; on a ConfigError prints the problems and
 * stops with exit code 1.
 */
export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** For a Node entry point: the validated configuration, or the problems printed and exit code 1. */
export function loadConfigOrExit<S extends z.ZodType>(service: string, schema: S): z.infer<S> {
  return exitOnConfigError(() => loadConfig(service, schema));
}
