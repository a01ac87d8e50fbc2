/**
 * What the kit costs per request before any business logic: GET /health on the running
 * whatsapp-webhook process (request id, access log, metrics, rate-limit headers, error handling, the
 * Node adapter as the kit configures it) against bare Hono in its own process answering the same path
 * with the same JSON fields, in the same run.
 */
import { bareBracket, throughputRatio } from './support/bare-bracket.ts';
import { type BenchSystem, bareHonoCpu } from './support/bench-system.ts';
import type { CpuTargets } from './support/cpu-sampler.ts';
import { type HttpFigures, measureHttp } from './support/measure-http.ts';
import { type RssFigures, sampleRss } from './support/rss-sampler.ts';

export async function benchKitOverhead(
  system: BenchSystem,
  options: { durationSeconds: number; connections?: number },
) {
  const measure = (url: string, cpu: CpuTargets) =>
    measureHttp({
      url,
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      nextRequest: () => ({ path: '/health' }),
      cpu,
    });
  const bareHono = (await measure(system.urls.bare, bareHonoCpu(system))).figures;
  const rss = sampleRss({ 'whatsapp-webhook': system.pids['whatsapp-webhook'] });
  // /health touches no database: only the process is sampled.
  const measured = await measure(system.urls.whatsapp, {
    pids: { service: system.pids['whatsapp-webhook'] },
  });
  const kit: HttpFigures & { rssMiB: RssFigures } = {
    ...measured.figures,
    rssMiB: rss.stop()['whatsapp-webhook'],
  };
  const bare = bareBracket(bareHono, (await measure(system.urls.bare, bareHonoCpu(system))).figures);
  return {
    route: 'GET /health (whatsapp-webhook)',
    connections: options.connections ?? 50,
    ...bare,
    kit,
    kitToBareThroughputRatio: throughputRatio(kit.okPerSecond, bare.bareHonoPerSecond),
  };
}
