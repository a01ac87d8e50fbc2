import { readFileSync } from 'node:fs';

/** Resident set size of a process in MiB, from /proc/<pid>/status (VmRSS); null once it is gone. */
export function readRssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? null : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

export interface RssFigures {
  /** Before the load started. */
  idleMiB: number | null;
  /** The highest sample while the load ran. */
  peakMiB: number | null;
  /** When the load ended. */
  endMiB: number | null;
}

/**
 * Samples the RSS of the named processes every `intervalMs` while a measurement runs: idle before it,
 * peak during it, and at its end.
 *
 * @example
 * const rss = sampleRss({ 'whatsapp-webhook': pid });
 * await load();
 * const figures = rss.stop(); // { 'whatsapp-webhook': { idleMiB, peakMiB, endMiB } }
 */
export function sampleRss(pids: Readonly<Record<string, number>>, intervalMs = 100) {
  const figures: Record<string, RssFigures> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const idle = readRssMiB(pid);
    figures[name] = { idleMiB: idle, peakMiB: idle, endMiB: null };
  }
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const now = readRssMiB(pid);
      const entry = figures[name];
      if (now !== null && (entry.peakMiB === null || now > entry.peakMiB)) entry.peakMiB = now;
    }
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop(): Record<string, RssFigures> {
      clearInterval(timer);
      sample();
      for (const [name, pid] of Object.entries(pids)) figures[name].endMiB = readRssMiB(pid);
      return figures;
    },
  };
}
