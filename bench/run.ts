/**
 * `npm run bench`: every benchmark in one run, written to bench/results/latest.json with a short table.
 * The service benchmarks measure the whole system as `npm start` runs it (each service its own Node
 * process, on a fresh PostgreSQL database) beside bare Hono in a process of its own, both driven from
 * this process over loopback. Exits non-zero, after writing the figures, when a measurement stored
 * something other than what it acknowledged.
 *
 * BENCH_SECONDS (5) sets each HTTP measurement's length, BENCH_ROUNDS (3) how many turns each closed-loop
 * subject takes with bare Hono between them (support/turns.ts), BENCH_CONNECTIONS (50) autocannon's
 * connections, BENCH_ONLY=voiceStatus,kitOverhead picks benchmarks, BENCH_CPU_PROFILE=voice-bridge writes
 * those processes' CPU profiles to bench/results/profiles/ (BENCH_HEAP_SNAPSHOT=… heap snapshots at the
 * end); DATABASE_URL names the PostgreSQL
 * server the run's database is created on (default the local one).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { benchKitOverhead } from './kit-overhead.ts';
import { type BenchSystem, startBenchSystem, takeHeapSnapshots } from './support/bench-system.ts';
import { formatBenchTable } from './support/bench-table.ts';
import { type RssFigures, sampleRss } from './support/rss-sampler.ts';
import { benchVideoRenders } from './video-renders.ts';
import { benchVoiceStatus } from './voice-status.ts';
import { benchWhatsAppIngest } from './whatsapp-ingest.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

const systemBenches: Record<string, (system: BenchSystem) => Promise<unknown>> = {
  kitOverhead: (system) => benchKitOverhead(system, { durationSeconds: seconds, rounds, connections }),
  whatsappIngest: (system) => benchWhatsAppIngest(system, { durationSeconds: seconds, rounds, connections }),
  voiceStatus: (system) => benchVoiceStatus(system, { durationSeconds: seconds, rounds, connections }),
};
const standaloneBenches: Record<string, () => Promise<unknown>> = {
  videoRenders: () => benchVideoRenders(),
};

const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const selected = (name: string) => !only || only.includes(name);
const figures: Record<string, unknown> = {};
let rssMiB: Record<string, RssFigures> | null = null;

async function timed(name: string, run: () => Promise<unknown>) {
  log(`${name} ...`);
  const started = performance.now();
  figures[name] = await run();
  log(`${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (Object.keys(systemBenches).some(selected)) {
  log('starting the system (npm start processes on a fresh PostgreSQL database) and bare Hono');
  const system = await startBenchSystem({ log });
  // Every process's RSS across the whole run: idle once the system is up, peak under load, at the end.
  const services = Object.fromEntries(Object.entries(system.pids).filter(([name]) => name !== 'bare-hono'));
  const rss = sampleRss(services, 200);
  try {
    for (const [name, run] of Object.entries(systemBenches))
      if (selected(name)) await timed(name, () => run(system));
    await takeHeapSnapshots(system, log);
  } finally {
    rssMiB = rss.stop();
    await system.stop();
  }
}
for (const [name, run] of Object.entries(standaloneBenches)) if (selected(name)) await timed(name, run);

const report = {
  measuredAt: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  },
  node: process.version,
  secondsPerMeasurement: seconds,
  rounds,
  connections,
  method:
    'npm start processes on a fresh PostgreSQL database and bare Hono in its own process, driven over loopback by autocannon from the bench process, in one run',
  rssMiB,
  figures,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
const table = formatBenchTable(report as Parameters<typeof formatBenchTable>[0]);
process.stdout.write(`\n${table.text}\n`);
log('figures in bench/results/latest.json');
if (!table.storedEqualsAcknowledged) {
  log('FAILED: a measurement stored something other than what it acknowledged (see "stored" in the figures)');
  process.exitCode = 1;
}
