import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { ProblemError } from '../../shared/http/index.ts';
import type { ServiceMetrics } from '../../shared/observability/index.ts';
import { consumeOrThrow } from '../../shared/resilience/index.ts';

export interface SignatureGuardOptions {
  /** Counts failed signatures per IP (the policy's blockDuration keeps an offender out). */
  limiter: RateLimiterAbstract;
  policyName: string;
  metrics: Pick<ServiceMetrics, 'rateLimitRejections'>;
  /** Most IPs remembered as blocked in this process. */
  maxBlocked?: number;
}

/**
 * Brute-force guard for webhook signatures, consulted only for requests whose signature is bad: a
 * valid signature is never refused by it (behind a proxy without TRUST_PROXY every caller shares one
 * address, and Meta's deliveries must not pay for someone else's guesses; an HMAC-SHA256 cannot be
 * guessed anyway). Failures are counted per IP in the shared limiter; an IP over the limit gets 429
 * for its bad attempts until the block ends. The "blocked until" is remembered in memory, so a blocked
 * caller's further bad attempts cost no limiter round trip.
 *
 * @example
 * const guard = createSignatureGuard({ limiter, policyName: 'whatsapp-webhook-signature', metrics });
 * // only after verifyMetaSignature failed:
 * guard.assertNotBlocked(ip);           // throws 429
 * await guard.recordFailure(ip);        // throws 429 once over the limit
 */
export function createSignatureGuard(options: SignatureGuardOptions) {
  const blockedUntil = new Map<string, number>();
  const maxBlocked = options.maxBlocked ?? 10_000;

  function blocked(retryAfterSeconds: number): ProblemError {
    return new ProblemError({
      status: 429,
      title: 'Too Many Requests',
      detail: 'too many webhook requests with a bad signature from this address',
      headers: { 'Retry-After': String(retryAfterSeconds) },
      extensions: { retryAfter: retryAfterSeconds, policy: options.policyName },
    });
  }

  return {
    assertNotBlocked(ip: string): void {
      const until = blockedUntil.get(ip);
      if (until === undefined) return;
      const left = until - Date.now();
      if (left <= 0) {
        blockedUntil.delete(ip);
        return;
      }
      options.metrics.rateLimitRejections.inc({ policy: options.policyName });
      throw blocked(Math.ceil(left / 1000));
    },

    async recordFailure(ip: string): Promise<void> {
      try {
        await consumeOrThrow(options.limiter, ip, options.policyName, { metrics: options.metrics });
      } catch (error) {
        if (error instanceof ProblemError && error.problem.status === 429) {
          const seconds = Number(error.problem.extensions?.retryAfter ?? 1);
          if (blockedUntil.size >= maxBlocked) blockedUntil.clear(); // bounded: an attacker with many IPs cannot grow it
          blockedUntil.set(ip, Date.now() + seconds * 1000);
        }
        throw error;
      }
    },
  };
}
