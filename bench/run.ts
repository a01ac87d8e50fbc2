/**
 * `npm run bench`: every benchmark in one run (so baselines and subjects share the machine's state),
 * written to bench/results/latest.json. BENCH_SECONDS shortens or lengthens each HTTP measurement.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { benchKitOverhead } from './kit-overhead.ts';
import { benchVideoRenders } from './video-renders.ts';
import { benchVoiceStatus } from './voice-status.ts';
import { benchWhatsAppIngest } from './whatsapp-ingest.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);

const benches: Record<string, () => Promise<unknown>> = {
  kitOverhead: () => benchKitOverhead({ durationSeconds: seconds }),
  whatsappIngest: () => benchWhatsAppIngest({ durationSeconds: seconds }),
  voiceStatus: () => benchVoiceStatus({ durationSeconds: seconds }),
  videoRenders: () => benchVideoRenders(),
};

// BENCH_ONLY=voiceStatus,kitOverhead runs a subset.
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const figures: Record<string, unknown> = {};
for (const [name, run] of Object.entries(benches)) {
  if (only && !only.includes(name)) continue;
  process.stdout.write(`bench ${name} ...\n`);
  const started = performance.now();
  figures[name] = await run();
  process.stdout.write(`bench ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const report = {
  measuredAt: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  },
  node: process.version,
  secondsPerMeasurement: seconds,
  figures,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
