import { setTimeout as delay } from 'node:timers/promises';
import { percentile } from '../../load/runner/percentile.ts';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { type MemoryAfterGc, memoryAfterGc, openInspector } from '../memory-after-gc.ts';
import {
  assetUpload,
  atRate,
  failureSamples,
  is2xx,
  type Outcome,
  send,
  statusCounts,
  voiceStatusCallback,
  whatsappDelivery,
} from '../traffic.ts';

const SERVICES = ['whatsapp-webhook', 'voice-bridge', 'video-orchestrator'] as const;
const SAMPLE_EVERY_MS = 2000;
/** The last memory reading, this long before the traffic ends (still under load, like the first). */
const END_MARGIN_MS = 10_000;
/** The climb: each step holds this long, the rate growing by half each step, from and up to these. */
const CLIMB = { stepMs: 8000, fromRate: 10, factor: 1.5, maxRate: 400 };
/** A step holds when every request got a 2xx, none had to be skipped, and p95 latency stayed under this. */
const CLIMB_P95_MS = 500;

interface Sample {
  atMs: number;
  rssBytes: number;
  eventLoopP99Ms: number;
}

interface Timed extends Outcome {
  ms: number;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

/** The repository's one percentile (load/runner/percentile.ts) over unsorted figures. */
const pct = (xs: number[], p: number) =>
  xs.length ? percentile(Float64Array.from(xs).sort(), p) : Number.NaN;
const median = (xs: number[]) => pct(xs, 50);
const round1 = (x: number) => Math.round(x * 10) / 10;
const mib = (bytes: number) => round1(bytes / 2 ** 20);

/** The soak's traffic at `rate` requests a second per service (video: a tenth of it) for `durationMs`. */
async function traffic(ctx: ChaosContext, rate: number, durationMs: number) {
  const { urls } = ctx;
  const timed = async (fire: () => Promise<Outcome>): Promise<Timed> => {
    const started = performance.now();
    const outcome = await fire();
    return { ...outcome, ms: performance.now() - started };
  };
  const [whatsapp, voice, video] = await Promise.all([
    atRate({ perSecond: rate, durationMs }, () =>
      timed(() => {
        const d = whatsappDelivery();
        return send(urls['whatsapp-webhook'], d.request, d.key);
      }),
    ),
    atRate({ perSecond: rate, durationMs }, () =>
      timed(() => {
        const d = voiceStatusCallback(urls['voice-bridge']);
        return send(urls['voice-bridge'], d.request, d.key);
      }),
    ),
    atRate({ perSecond: Math.max(1, rate / 10), durationMs }, () =>
      timed(() => send(urls['video-orchestrator'], assetUpload().request, '')),
    ),
  ]);
  return { whatsapp, voice, video };
}

/**
 * The capacity of the whole system under the soak's mix, by a short climb: after a few seconds to warm up,
 * steps of CLIMB.stepMs at a rate growing by half each step, until one does not hold (an error, a skipped arrival, or p95 over
 * CLIMB_P95_MS). Capacity is the last rate that held.
 */
async function climb(ctx: ChaosContext) {
  const steps: Array<{
    rate: number;
    held: boolean;
    p95Ms: number;
    errors: number;
    skipped: number;
    failures: string[];
  }> = [];
  let capacity = 0;
  // Cold processes (JIT, connection pools) are slow for a few seconds: not what capacity means.
  await traffic(ctx, CLIMB.fromRate, CLIMB.stepMs / 2);
  for (let rate = CLIMB.fromRate; rate <= CLIMB.maxRate; rate = Math.round(rate * CLIMB.factor)) {
    const { whatsapp, voice, video } = await traffic(ctx, rate, CLIMB.stepMs);
    const all = [...whatsapp.results, ...voice.results, ...video.results];
    const errors = all.filter((o) => !is2xx(o)).length;
    const skipped = whatsapp.skipped + voice.skipped + video.skipped;
    const p95Ms = Math.round(
      pct(
        all.map((o) => o.ms),
        95,
      ),
    );
    const held = errors === 0 && skipped === 0 && p95Ms <= CLIMB_P95_MS;
    steps.push({ rate, held, p95Ms, errors, skipped, failures: failureSamples(all) });
    ctx.log(`  climb ${rate}/s per service: p95 ${p95Ms} ms, ${errors} errors, ${skipped} skipped`);
    if (!held) break;
    capacity = rate;
  }
  return { capacity, steps };
}

/**
 * Steady signed traffic on all three services for CHAOS_SOAK_SECONDS (default 120; the ten minutes
 * is 600) at half the system's capacity: CHAOS_SOAK_CAPACITY requests a second per service when given,
 * else measured by a short climb first. What must hold once warm (the first 30 %, at least 30 s): no
 * errors; per service, RSS and heap-used growth under 5 %, each read right after a full GC (forced through
 * the process's inspector) once warm and again just before the end: sampled memory saws up and down with
 * the GC cycle by more than 5 %, what a full GC leaves is what would grow in a leak; event-loop delay p99
 * steady (the last third's median at most twice the first third's, or within 20 ms of it).
 */
export const soak: Scenario = {
  name: 'soak',
  async run(ctx: ChaosContext) {
    const { urls } = ctx;
    const given = Number(process.env.CHAOS_SOAK_CAPACITY ?? 0);
    const measured = given > 0 ? null : await climb(ctx);
    const capacity = given > 0 ? given : measured!.capacity;
    const rate = Math.max(1, Math.floor(capacity / 2));
    ctx.log(`capacity ${capacity}/s per service (${given > 0 ? 'given' : 'measured'}): soaking at ${rate}/s`);

    const durationMs = ctx.soakSeconds * 1000;
    const warmupMs = Math.max(30_000, durationMs * 0.3);
    const samples: Record<string, Sample[]> = Object.fromEntries(SERVICES.map((s) => [s, []]));
    const started = Date.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await delay(SAMPLE_EVERY_MS);
        for (const service of SERVICES) {
          const res = await fetch(`${urls[service]}/metrics`).catch(() => null);
          if (!res) continue;
          const text = await res.text();
          samples[service].push({
            atMs: Date.now() - started,
            rssBytes: metric(text, 'process_resident_memory_bytes'),
            eventLoopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
          });
        }
      }
    })();
    // Memory after a full GC, once warm and again just before the end, through each process's inspector
    // (opened now: opening it costs a few MB, which warm-up absorbs).
    const inspectors = await Promise.all(
      SERVICES.map((service) => {
        const proc = ctx.system.processes.find((p) => p.spec.name === service);
        if (!proc) throw new Error(`${service} is not running`);
        return openInspector(proc);
      }),
    );
    const measureAll = async () => {
      const out: Record<string, MemoryAfterGc> = {};
      for (const [i, service] of SERVICES.entries()) out[service] = await memoryAfterGc(inspectors[i]);
      return out;
    };
    const readings = (async () => {
      await delay(warmupMs);
      const warm = await measureAll();
      await delay(Math.max(0, durationMs - (Date.now() - started) - END_MARGIN_MS));
      return { warm, end: await measureAll() };
    })();
    const { whatsapp, voice, video } = await traffic(ctx, rate, durationMs);
    sampling = false;
    await sampler;
    const memory = await readings;

    const perService: Record<string, unknown> = {};
    const checks: Record<string, boolean> = {};
    for (const service of SERVICES) {
      const steady = samples[service].filter((s) => s.atMs >= warmupMs);
      const third = Math.max(1, Math.floor(steady.length / 3));
      const first = steady.slice(0, third);
      const last = steady.slice(-third);
      const warm = memory.warm[service];
      const end = memory.end[service];
      const rssGrowth = end.rssBytes / warm.rssBytes - 1;
      const heapGrowth = end.heapUsedBytes / warm.heapUsedBytes - 1;
      const p99First = median(first.map((s) => s.eventLoopP99Ms));
      const p99Last = median(last.map((s) => s.eventLoopP99Ms));
      checks[`${service}: RSS growth < 5 % (after full GC)`] = rssGrowth < 0.05;
      checks[`${service}: heap-used growth < 5 % (after full GC)`] = heapGrowth < 0.05;
      checks[`${service}: event-loop p99 steady`] = p99Last <= Math.max(2 * p99First, p99First + 20);
      perService[service] = {
        afterFullGc: {
          rssMiB: { warm: mib(warm.rssBytes), end: mib(end.rssBytes) },
          rssGrowthPercent: round1(rssGrowth * 100),
          heapUsedMiB: { warm: mib(warm.heapUsedBytes), end: mib(end.heapUsedBytes) },
          heapUsedGrowthPercent: round1(heapGrowth * 100),
          gcMs: { warm: warm.gcMs, end: end.gcMs },
        },
        // Sampled RSS (it saws with the GC cycle): the median of the first and last thirds, for the record.
        sampledRssMiB: {
          first: mib(median(first.map((s) => s.rssBytes))),
          last: mib(median(last.map((s) => s.rssBytes))),
        },
        samples: steady.length,
        eventLoopP99Ms: { first: round1(p99First), last: round1(p99Last) },
      };
    }
    const all: Outcome[] = [...whatsapp.results, ...voice.results, ...video.results];
    checks['no errors'] = all.every(is2xx);
    if (measured) checks['capacity measured (the first climb step held)'] = capacity > 0;
    return {
      checks,
      figures: {
        seconds: ctx.soakSeconds,
        capacityPerService: capacity,
        capacitySource: given > 0 ? 'CHAOS_SOAK_CAPACITY' : 'climb',
        climb: measured?.steps,
        ratePerService: rate,
        warmupMs,
        perService,
        statuses: {
          'whatsapp-webhook': statusCounts(whatsapp.results),
          'voice-bridge': statusCounts(voice.results),
          'video-orchestrator': statusCounts(video.results),
        },
        skipped: whatsapp.skipped + voice.skipped + video.skipped,
        failures: {
          'whatsapp-webhook': failureSamples(whatsapp.results),
          'voice-bridge': failureSamples(voice.results),
          'video-orchestrator': failureSamples(video.results),
        },
      },
    };
  },
};
