import type { benchKitOverhead } from '../kit-overhead.ts';
import type { benchVoiceStatus } from '../voice-status.ts';
import type { benchWhatsAppIngest } from '../whatsapp-ingest.ts';
import { type CpuPerRequest, perCore } from './cpu-sampler.ts';
import type { GroupCommitByWriter } from './group-commit-sampler.ts';
import type { GeneratorDelayFigures } from './measure-open-rate.ts';
import type { RssFigures } from './rss-sampler.ts';
import type { StoredCheck } from './stored-check.ts';

interface Latency {
  p50: number;
  p95: number;
  p97_5: number;
  p99: number;
}
interface Figures {
  okPerSecond: number;
  latencyMs: Latency;
  stored?: StoredCheck;
  cpuUsPerRequest?: CpuPerRequest;
  groupCommit?: GroupCommitByWriter;
}
interface BenchReport {
  rssMiB: Record<string, RssFigures> | null;
  figures: {
    kitOverhead?: Awaited<ReturnType<typeof benchKitOverhead>>;
    whatsappIngest?: Awaited<ReturnType<typeof benchWhatsAppIngest>>;
    voiceStatus?: Awaited<ReturnType<typeof benchVoiceStatus>>;
    videoRenders?: unknown;
  };
}

const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const ms = (n: number) => `${n.toFixed(1)}`;
const latency = (l: Latency) => `p50 ${ms(l.p50)} p95 ${ms(l.p95)} p97.5 ${ms(l.p97_5)} p99 ${ms(l.p99)} ms`;
const stored = (s?: StoredCheck) =>
  s
    ? `${s.ok ? 'ok' : 'FAILED'} (${s.acknowledged} acked, ${s.stored} stored, ${s.unansweredAtStop} cut)`
    : '';

/**
 * The figures as a short text table, and whether every ingest measurement stored exactly what it
 * acknowledged.
 */
export function formatBenchTable(report: BenchReport): { text: string; storedEqualsAcknowledged: boolean } {
  const rows: string[][] = [
    [
      'benchmark',
      'system',
      'bare Hono (all its turns)',
      'ratio (median of rounds)',
      'latency (system)',
      'stored = acked',
    ],
  ];
  const { figures } = report;
  let storedEqualsAcknowledged = true;
  const add = (name: string, subject: Figures, barePerSecond: number | null, ratio: number | null) => {
    if (subject.stored && !subject.stored.ok) storedEqualsAcknowledged = false;
    rows.push([
      name,
      rate(subject.okPerSecond),
      barePerSecond === null ? '' : rate(barePerSecond),
      ratio === null ? '' : ratio.toFixed(3),
      latency(subject.latencyMs),
      stored(subject.stored),
    ]);
  };
  const cpuRows: string[] = [];
  /** CPU per request of the system's processes and of bare Hono (over all its turns), and what a core carries. */
  const cpuRow = (name: string, subject: Figures, bareCpu: number | null) => {
    const cpu = subject.cpuUsPerRequest;
    if (!cpu) return;
    const us = (v: number | null | undefined) => (typeof v === 'number' ? `${Math.round(v)} µs` : '?');
    const core = (v: number | null | undefined) => {
      const n = perCore(v);
      return n === null ? '?' : rate(n);
    };
    const parts = [`service ${us(cpu.service)} (${core(cpu.service)} per core)`];
    if ('postgres' in cpu) parts.push(`PostgreSQL ${us(cpu.postgres)} (${core(cpu.postgres)} per core)`);
    parts.push(`load generator ${us(cpu.loadGenerator)}`, `bare Hono ${us(bareCpu)}`);
    cpuRows.push(`  ${name.padEnd(30)} ${parts.join(', ')}`);
  };
  const groupCommitRows: string[] = [];
  /** How the service's group-commit writers grouped a closed-loop run's rows. */
  const groupCommitRow = (name: string, subject: Figures) => {
    for (const [writer, g] of Object.entries(subject.groupCommit ?? {}))
      groupCommitRows.push(
        `  ${name.padEnd(30)} ${writer}: ${g.flushes} flushes, ${g.meanBatch.toFixed(1)} rows each, ${ms(g.meanFlushMs)} ms each`,
      );
  };
  const stallRows: string[] = [];
  /** How long the load generator itself stalled during a fixed-rate run (its stalls are in every latency it timed). */
  const stallRow = (name: string, delay: GeneratorDelayFigures) => {
    stallRows.push(`  ${name.padEnd(40)} p99 ${ms(delay.p99)} ms, max ${ms(delay.max)} ms`);
  };
  const halfRows: string[] = [];
  const halfRow = (
    name: string,
    half: {
      offeredPerSecond: number;
      achievedPerSecond: number;
      latencyMs: Latency;
      stored?: StoredCheck;
      rssMiB: RssFigures;
      generatorDelayMs: GeneratorDelayFigures;
    },
  ) => {
    stallRow(`${name}, half capacity`, half.generatorDelayMs);
    add(
      `${name}, half capacity (${rate(half.offeredPerSecond)})`,
      { ...half, okPerSecond: half.achievedPerSecond },
      null,
      null,
    );
    halfRows.push(
      `  ${name}: RSS ${half.rssMiB.idleMiB ?? '?'} → peak ${half.rssMiB.peakMiB ?? '?'} MiB at half capacity`,
    );
  };
  const kit = figures.kitOverhead;
  if (kit) {
    add('kit GET /health', kit.kit, kit.bareHonoPerSecond, kit.kitToBareThroughputRatio);
    cpuRow('kit GET /health', kit.kit, kit.bareHonoCpuUsPerRequest);
  }
  const wa = figures.whatsappIngest;
  if (wa) {
    add(
      'whatsapp ingest, 10k senders',
      wa.whatsappIngest,
      wa.bareHonoPerSecond,
      wa.ingestToBareThroughputRatio,
    );
    add(
      'whatsapp ingest, 1 hot sender',
      wa.whatsappIngestHotSender,
      wa.bareHonoPerSecond,
      wa.hotSenderToBareThroughputRatio,
    );
    rows.push(['  hot ÷ 10k senders', '', '', wa.hotSenderToSendersThroughputRatio.toFixed(3), '', '']);
    cpuRow('whatsapp ingest, 10k senders', wa.whatsappIngest, wa.bareHonoCpuUsPerRequest);
    cpuRow('whatsapp ingest, 1 hot sender', wa.whatsappIngestHotSender, wa.bareHonoCpuUsPerRequest);
    groupCommitRow('whatsapp ingest, 10k senders', wa.whatsappIngest);
    groupCommitRow('whatsapp ingest, 1 hot sender', wa.whatsappIngestHotSender);
    halfRow('whatsapp ingest', wa.halfCapacity);
  }
  const voice = figures.voiceStatus;
  if (voice) {
    add(
      'voice status, 1k live calls',
      voice.voiceStatus,
      voice.bareHonoPerSecond,
      voice.statusToBareThroughputRatio,
    );
    cpuRow('voice status, 1k live calls', voice.voiceStatus, voice.bareHonoCpuUsPerRequest);
    groupCommitRow('voice status, 1k live calls', voice.voiceStatus);
    const fixed = voice.fixedRate;
    add(
      `voice status, offered ${rate(fixed.offeredPerSecond)}`,
      { ...fixed, okPerSecond: fixed.achievedPerSecond },
      null,
      null,
    );
    rows.push([
      '  bare Hono at that rate',
      rate(fixed.bareHono.achievedPerSecond),
      '',
      '',
      latency(fixed.bareHono.latencyMs),
      '',
    ]);
    stallRow(`voice status, offered ${rate(fixed.offeredPerSecond)}`, fixed.generatorDelayMs);
    stallRow('  bare Hono at that rate', fixed.bareHono.generatorDelayMs);
    halfRow('voice status', voice.halfCapacity);
  }
  const video = figures.videoRenders;
  if (video) rows.push(['video renders', 'see bench/results/latest.json', '', '', '', '']);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const text = [line(rows[0]), ...rows.slice(1).map(line)];
  if (report.rssMiB) {
    text.push('', 'RSS MiB (idle → peak under load → end)');
    for (const [name, r] of Object.entries(report.rssMiB))
      text.push(`  ${name.padEnd(20)} ${r.idleMiB ?? '?'} → ${r.peakMiB ?? '?'} → ${r.endMiB ?? '?'}`);
  }
  if (cpuRows.length > 0)
    text.push(
      '',
      'CPU per answered request (user + system, from /proc) and what one core carries at that cost',
      ...cpuRows,
    );
  if (groupCommitRows.length > 0)
    text.push(
      '',
      "Group commit in the closed-loop runs (the service's /metrics: flushes, rows per flush, start to commit)",
      ...groupCommitRows,
    );
  if (halfRows.length > 0) text.push('', 'RSS MiB at half capacity (start → peak; bound 200)', ...halfRows);
  if (stallRows.length > 0)
    text.push(
      '',
      "Fixed-rate runs: the load generator's own event-loop delay (a stall is in every latency it timed)",
      ...stallRows,
    );
  return { text: text.join('\n'), storedEqualsAcknowledged };
}
