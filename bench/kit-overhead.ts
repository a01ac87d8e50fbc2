/**
 * What the kit costs per request before any business logic: GET /health on the running
 * whatsapp-webhook process (request id, access log, metrics, rate-limit headers, error handling, the
 * Node adapter as the kit configures it) against bare Hono in its own process answering the same path
 * with the same JSON fields, in turns in the same run.
 */
import { type BenchSystem, bareHonoCpu } from './support/bench-system.ts';
import type { CpuTargets } from './support/cpu-sampler.ts';
import { combineMeasurements, type HttpFigures } from './support/measure-http.ts';
import { type RssFigures, sampleRss } from './support/rss-sampler.ts';
import { bareFigures, closedLoopTurn, measureInTurns, turnRatio } from './support/turns.ts';

export async function benchKitOverhead(
  system: BenchSystem,
  options: { durationSeconds: number; rounds: number; connections?: number },
) {
  const measure = (url: string, cpu: CpuTargets) =>
    closedLoopTurn(options, { url, nextRequest: () => ({ path: '/health' }), cpu });
  const rss = sampleRss({ 'whatsapp-webhook': system.pids['whatsapp-webhook'] });
  const turns = await measureInTurns({
    rounds: options.rounds,
    bare: measure(system.urls.bare, bareHonoCpu(system)),
    // /health touches no database: only the process is sampled.
    subjects: { kit: measure(system.urls.whatsapp, { pids: { service: system.pids['whatsapp-webhook'] } }) },
  });
  const kit: HttpFigures & { rssMiB: RssFigures } = {
    ...combineMeasurements(turns.subjects.kit).figures,
    rssMiB: rss.stop()['whatsapp-webhook'],
  };
  const ratio = turnRatio(turns.subjects.kit, turns.bare);
  return {
    route: 'GET /health (whatsapp-webhook)',
    connections: options.connections ?? 50,
    rounds: options.rounds,
    ...bareFigures(turns.bare),
    kit,
    kitToBareThroughputRatio: ratio.ratio,
    kitToBareRatioPerRound: ratio.perRound,
  };
}
