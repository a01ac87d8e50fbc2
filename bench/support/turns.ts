import { percentile } from '../../load/runner/percentile.ts';
import {
  combineMeasurements,
  type HttpFigures,
  type HttpMeasurement,
  type MeasureHttpOptions,
  measureHttp,
  WARM_UP_SECONDS,
} from './measure-http.ts';

/** One measurement of a target; `turn` counts from 0, so the first can warm up and the rest need not. */
export type MeasureTurn = (turn: number) => Promise<HttpMeasurement>;

/**
 * A target measured closed-loop a turn at a time, at a bench's length and connections: its first turn
 * warms it up, the others find it warm.
 */
export const closedLoopTurn =
  (
    bench: { durationSeconds: number; connections?: number },
    target: Pick<MeasureHttpOptions, 'url' | 'nextRequest' | 'cpu' | 'groupCommitMetricsUrl'>,
  ): MeasureTurn =>
  (turn) =>
    measureHttp({
      ...target,
      durationSeconds: bench.durationSeconds,
      connections: bench.connections,
      warmUpSeconds: turn === 0 ? WARM_UP_SECONDS : 0,
    });

export interface Turns<K extends string> {
  /** Bare Hono's measurements: one before each round and one after the last. */
  bare: HttpMeasurement[];
  /** Each subject's measurements, one per round. */
  subjects: Record<K, HttpMeasurement[]>;
}

/**
 * Bare Hono and the system measured in turns: bare, A, B, bare, A, B, …, bare (`rounds` of each subject).
 * This host's speed moves in steps, not smoothly: bare Hono answered 21,430 req/s before the kit's
 * measurement and 13,596 req/s fifteen seconds later, so one baseline before and one after put the kit at
 * 0.69 against their mean. In turns, each round of a subject is compared with the bare Hono measurements
 * just before and after it, and a ratio is the median over rounds: a step spoils one round, not the ratio.
 *
 * @example
 * const turns = await measureInTurns({ rounds: 3, bare: (turn) => measure(bareUrl, turn), subjects: { kit: … } });
 * const { ratio } = turnRatio(turns.subjects.kit, turns.bare);
 */
export async function measureInTurns<K extends string>(options: {
  rounds: number;
  bare: MeasureTurn;
  subjects: Record<K, MeasureTurn>;
}): Promise<Turns<K>> {
  if (!Number.isInteger(options.rounds) || options.rounds < 1)
    throw new Error(`measureInTurns: rounds must be a whole number ≥ 1, not ${options.rounds}`);
  const names = Object.keys(options.subjects) as K[];
  const bare: HttpMeasurement[] = [];
  const subjects = Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<
    K,
    HttpMeasurement[]
  >;
  for (let round = 0; round < options.rounds; round++) {
    bare.push(await options.bare(round));
    for (const name of names) subjects[name].push(await options.subjects[name](round));
  }
  bare.push(await options.bare(options.rounds));
  return { bare, subjects };
}

/** Every ratio the bench reports is given to three decimals. */
const threeDecimals = (n: number) => Math.round(n * 1000) / 1000;

/** The median of per-round ratios. */
const medianRatio = (values: number[]) => threeDecimals(percentile(Float64Array.from(values).sort(), 50));

/**
 * A subject's throughput against bare Hono's: round i's 2xx/s over the mean of bare Hono's measurements
 * i and i + 1 (just before and just after it), and the median over rounds.
 */
export function turnRatio(subject: readonly HttpMeasurement[], bare: readonly HttpMeasurement[]) {
  const perRound = subject.map((s, i) =>
    throughputRatio(
      s.figures.okPerSecond,
      (bare[i].figures.okPerSecond + bare[i + 1].figures.okPerSecond) / 2,
    ),
  );
  return { ratio: medianRatio(perRound), perRound };
}

/** One subject's throughput against another's measured in the same rounds: per round, and the median. */
export function roundRatio(subject: readonly HttpMeasurement[], other: readonly HttpMeasurement[]) {
  const perRound = subject.map((s, i) =>
    throughputRatio(s.figures.okPerSecond, other[i].figures.okPerSecond),
  );
  return { ratio: medianRatio(perRound), perRound };
}

/** Bare Hono's figures for the report: all its turns as one, and each turn's 2xx/s. */
export function bareFigures(bare: readonly HttpMeasurement[]) {
  const all: HttpFigures = combineMeasurements(bare).figures;
  return {
    bareHono: all,
    bareHonoPerTurn: bare.map((b) => b.figures.okPerSecond),
    bareHonoPerSecond: all.okPerSecond,
    /** Bare Hono's CPU µs per request over all its turns (null: not measured). */
    bareHonoCpuUsPerRequest: all.cpuUsPerRequest?.bareHono ?? null,
  };
}

/** `a ÷ b`: every ratio the bench reports. */
export const throughputRatio = (a: number, b: number) => threeDecimals(a / b);
