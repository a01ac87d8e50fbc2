/**
 * The one percentile of the repository (the load runner, its open-model verdicts and `npm run bench`):
 * linear interpolation between closest ranks, as k6's trend sink computes `p(95)`. `sorted` must be in
 * ascending order.
 *
 * @example
 * percentile(Float64Array.from(latencies).sort(), 97.5);
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0];
  const rank = (p / 100) * (n - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}
