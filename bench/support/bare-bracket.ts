import type { HttpFigures } from './measure-http.ts';

/**
 * Bare Hono measured just before the system and again just after, and the mean the ratios are taken
 * against: this machine's speed drifts within a run (the same-run bare figure moved up to 2× between
 * runs), and a baseline taken only first would tilt every ratio the way the host drifted.
 *
 * @example
 * const bare = bareBracket(before.figures, after.figures);
 * const ratio = throughputRatio(system.okPerSecond, bare.bareHonoPerSecond);
 */
export function bareBracket(before: HttpFigures, after: HttpFigures) {
  const cpu = [before, after]
    .map((f) => f.cpuUsPerRequest?.bareHono)
    .filter((us): us is number => typeof us === 'number');
  return {
    bareHono: before,
    bareHonoAfter: after,
    bareHonoPerSecond: Math.round(((before.okPerSecond + after.okPerSecond) / 2) * 10) / 10,
    /** Bare Hono's CPU µs per request, mean of the runs that measured it (null: neither did). */
    bareHonoCpuUsPerRequest:
      cpu.length > 0 ? Math.round((cpu.reduce((a, b) => a + b, 0) / cpu.length) * 10) / 10 : null,
  };
}

/** `a ÷ b` to three decimals: every ratio the bench reports. */
export const throughputRatio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
