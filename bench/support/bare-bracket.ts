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
  return {
    bareHono: before,
    bareHonoAfter: after,
    bareHonoPerSecond: Math.round(((before.okPerSecond + after.okPerSecond) / 2) * 10) / 10,
  };
}

/** `a ÷ b` to three decimals: every ratio the bench reports. */
export const throughputRatio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
