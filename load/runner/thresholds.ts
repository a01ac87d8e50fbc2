/** A threshold as k6 accepts it: the expression string, or an object with abort options. */
export type ThresholdSpec = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };

export type Comparison = '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';

export interface ParsedThreshold {
  source: string;
  /** `avg`, `min`, `max`, `med`, `count`, `rate`, `value`, or `p(N)`. */
  aggregation: string;
  /** For `p(N)`: N. */
  percentile?: number;
  op: Comparison;
  value: number;
}

// k6's grammar: <aggregation> <operator> <number>, whitespace allowed around the operator.
const EXPRESSION =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/**
 * Parses a k6 threshold expression such as `p(95)<500` or `rate<0.1`.
 *
 * @example
 * parseThreshold('p(95)<500') // { aggregation: 'p', percentile: 95, op: '<', value: 500, ... }
 */
export function parseThreshold(source: string): ParsedThreshold {
  const match = EXPRESSION.exec(source);
  if (!match) throw new Error(`invalid threshold expression: ${JSON.stringify(source)}`);
  const [, aggregation, pct, op, value] = match;
  const isPercentile = aggregation.toLowerCase().startsWith('p(');
  if (isPercentile && (Number(pct) < 0 || Number(pct) > 100)) {
    throw new Error(`percentile out of range in threshold: ${source}`);
  }
  return {
    source,
    aggregation: isPercentile ? 'p' : aggregation.toLowerCase(),
    percentile: isPercentile ? Number(pct) : undefined,
    op: op as Comparison,
    value: Number(value),
  };
}

function compare(actual: number, op: Comparison, expected: number): boolean {
  switch (op) {
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected;
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected;
    case '==':
    case '===':
      return actual === expected;
    case '!=':
      return actual !== expected;
  }
}

/**
 * The value a threshold judges: a percentile is computed on demand (k6 computes any `p(N)` a threshold
 * names, whether or not the summary lists it).
 */
export function thresholdActual(
  threshold: ParsedThreshold,
  values: Record<string, number>,
  percentileOf: (p: number) => number,
): number {
  if (threshold.aggregation === 'p') return percentileOf(threshold.percentile!);
  const actual = values[threshold.aggregation];
  if (actual === undefined) {
    throw new Error(
      `threshold ${threshold.source} names ${threshold.aggregation}, which this metric has not`,
    );
  }
  return actual;
}

export function evaluateThreshold(
  threshold: ParsedThreshold,
  values: Record<string, number>,
  percentileOf: (p: number) => number,
): boolean {
  return compare(thresholdActual(threshold, values, percentileOf), threshold.op, threshold.value);
}

/** k6's exit code when a threshold has failed (`ThresholdsHaveFailed`). */
export const EXIT_THRESHOLDS_FAILED = 99;
