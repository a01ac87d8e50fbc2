import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
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
const SAMPLE_EVERY_MS = 5000;

interface Sample {
  atMs: number;
  rssBytes: number;
  eventLoopP99Ms: number;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

/**
 * Steady signed traffic on all three services for CHAOS_SOAK_SECONDS (default 120; the ten minutes
 * is 600) at CHAOS_SOAK_RATE requests a second per service (default 20, about half of what this two-core
 * machine sustains with the whole suite on it): no errors, RSS growth under 5 % after warm-up, event-loop
 * delay p99 steady (the last third's median at most twice the first third's, or within 20 ms of it).
 */
export const soak: Scenario = {
  name: 'soak',
  async run(ctx: ChaosContext) {
    const { urls } = ctx;
    const durationMs = ctx.soakSeconds * 1000;
    const warmupMs = Math.max(10_000, durationMs * 0.4);
    const rate = Number(process.env.CHAOS_SOAK_RATE ?? 20);
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
    const [whatsapp, voice, video] = await Promise.all([
      atRate({ perSecond: rate, durationMs }, () => {
        const d = whatsappDelivery();
        return send(urls['whatsapp-webhook'], d.request, d.key);
      }),
      atRate({ perSecond: rate, durationMs }, () => {
        const d = voiceStatusCallback(urls['voice-bridge']);
        return send(urls['voice-bridge'], d.request, d.key);
      }),
      atRate({ perSecond: Math.max(1, rate / 10), durationMs }, () =>
        send(urls['video-orchestrator'], assetUpload().request, ''),
      ),
    ]);
    sampling = false;
    await sampler;

    const perService: Record<string, unknown> = {};
    const checks: Record<string, boolean> = {};
    for (const service of SERVICES) {
      const steady = samples[service].filter((s) => s.atMs >= warmupMs);
      const third = Math.max(1, Math.floor(steady.length / 3));
      const first = steady.slice(0, third);
      const last = steady.slice(-third);
      const rssGrowth = mean(last.map((s) => s.rssBytes)) / mean(first.map((s) => s.rssBytes)) - 1;
      const p99First = median(first.map((s) => s.eventLoopP99Ms));
      const p99Last = median(last.map((s) => s.eventLoopP99Ms));
      checks[`${service}: RSS growth < 5 %`] = steady.length >= 2 && rssGrowth < 0.05;
      checks[`${service}: event-loop p99 steady`] = p99Last <= Math.max(2 * p99First, p99First + 20);
      perService[service] = {
        samples: steady.length,
        rssGrowthPercent: Math.round(rssGrowth * 1000) / 10,
        rssMiB: {
          first: mean(first.map((s) => s.rssBytes)) / 2 ** 20,
          last: mean(last.map((s) => s.rssBytes)) / 2 ** 20,
        },
        eventLoopP99Ms: { first: p99First, last: p99Last },
      };
    }
    const all: Outcome[] = [...whatsapp.results, ...voice.results, ...video.results];
    checks['no errors'] = all.every(is2xx);
    return {
      checks,
      figures: {
        seconds: ctx.soakSeconds,
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
