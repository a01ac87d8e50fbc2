import CircuitBreaker from 'opossum';
import { runtimeEnv } from '../config/runtime-env.ts';
import { type BreakerMetrics, observeBreaker } from '../observability/breaker-events.ts';
import type { Logger } from '../observability/logger.ts';
import { isCallerError } from './dependency-error.ts';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Any opossum option except the name, which is the registry key. */
export type BreakerOptions<TArgs extends unknown[] = unknown[]> = Omit<CircuitBreaker.Options<TArgs>, 'name'>;

export type BreakerEnv = Record<string, string | undefined>;

export const BREAKER_DEFAULTS = {
  timeout: 3000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeout: 30_000,
} as const;

type Tunable = keyof typeof BREAKER_DEFAULTS;

/** Env suffix and allowed range of each tunable; a value out of range is a configuration mistake. */
const TUNABLES: ReadonlyArray<{ option: Tunable; suffix: string; min: number; max: number }> = [
  { option: 'timeout', suffix: 'TIMEOUT_MS', min: 1, max: Number.MAX_SAFE_INTEGER },
  { option: 'errorThresholdPercentage', suffix: 'ERROR_THRESHOLD', min: 0, max: 100 },
  { option: 'volumeThreshold', suffix: 'VOLUME_THRESHOLD', min: 0, max: Number.MAX_SAFE_INTEGER },
  { option: 'resetTimeout', suffix: 'RESET_MS', min: 1, max: Number.MAX_SAFE_INTEGER },
];

/** `twilio-voice` → `BREAKER_TWILIO_VOICE_`: upper-cased, every non-alphanumeric becomes `_`. */
export function breakerEnvPrefix(name: string): string {
  return `BREAKER_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

function parseTunable(variable: string, raw: string, min: number, max: number): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${variable} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * Merges a breaker's options. Precedence, highest first: `BREAKER_<NAME>_*` env vars, the `options` the
 * code passed, {@link BREAKER_DEFAULTS}. Code options are the service's defaults for that dependency; env
 * lets an operator retune one breaker without a deploy. A malformed env value throws (fail at boot, not
 * silently run with a default).
 */
export function resolveBreakerOptions<TArgs extends unknown[]>(
  name: string,
  options: BreakerOptions<TArgs> = {},
  env: BreakerEnv = {},
): BreakerOptions<TArgs> & Record<Tunable, number | false> {
  const prefix = breakerEnvPrefix(name);
  const resolved: BreakerOptions<TArgs> & Record<Tunable, number | false> = {
    ...BREAKER_DEFAULTS,
    ...options,
  };
  for (const { option, suffix, min, max } of TUNABLES) {
    const variable = prefix + suffix;
    const raw = env[variable];
    if (raw !== undefined) resolved[option] = parseTunable(variable, raw, min, max);
    // An explicit `undefined` in code options must not erase the default.
    else if (options[option] === undefined) resolved[option] = BREAKER_DEFAULTS[option];
  }
  return resolved;
}

export interface BreakerRegistryDeps {
  logger: Logger;
  metrics: BreakerMetrics;
  /** Where `BREAKER_<NAME>_*` overrides are read; defaults to the process environment (Node or Deno). */
  env?: BreakerEnv;
}

export interface BreakerRegistry {
  /**
   * Wraps `action` in a breaker named `name` (unique per registry). A `DependencyError` with a 4xx
   * status other than 408/429 rejects the call but is not counted as a failure.
   */
  create<TArgs extends unknown[], TResult>(
    name: string,
    action: (...args: TArgs) => Promise<TResult>,
    options?: BreakerOptions<TArgs>,
  ): CircuitBreaker<TArgs, TResult>;
  get(name: string): CircuitBreaker | undefined;
  /** Every breaker's state, for `/health`. */
  states(): Record<string, BreakerState>;
  /** Stops every breaker's timers; calls fail afterwards. For graceful shutdown and tests. */
  shutdown(): void;
}

function stateOf(breaker: CircuitBreaker): BreakerState {
  if (breaker.halfOpen) return 'halfOpen';
  if (breaker.closed) return 'closed';
  return 'open'; // opened or shut down: either way calls are not getting through
}

/**
 * One registry per service: every breaker it creates is observed (logs + metrics) and listed by
 * `states()` for `/health`.
 *
 * @example
 * const breakers = createBreakerRegistry({ logger, metrics });
 * const sendSms = breakers.create('twilio', (to: string, body: string) => twilio.send(to, body));
 * await sendSms.fire('+250788000000', 'hi'); // rejects fast with code EOPENBREAKER while open
 */
export function createBreakerRegistry(deps: BreakerRegistryDeps): BreakerRegistry {
  const env = deps.env ?? runtimeEnv();
  const breakers = new Map<string, CircuitBreaker>();

  return {
    create(name, action, options = {}) {
      if (breakers.has(name)) throw new Error(`circuit breaker "${name}" already exists`);
      const userFilter = options.errorFilter;
      // opossum keeps and mutates its options object, so hand it a fresh one.
      const breaker = new CircuitBreaker(action, {
        ...resolveBreakerOptions(name, options, env),
        name,
        errorFilter: (error: unknown) => isCallerError(error) || (userFilter?.(error) ?? false),
      });
      observeBreaker(breaker as unknown as CircuitBreaker, deps);
      breakers.set(name, breaker as unknown as CircuitBreaker);
      return breaker;
    },
    get(name) {
      return breakers.get(name);
    },
    states() {
      return Object.fromEntries([...breakers].map(([name, breaker]) => [name, stateOf(breaker)]));
    },
    shutdown() {
      for (const breaker of breakers.values()) breaker.shutdown();
    },
  };
}
