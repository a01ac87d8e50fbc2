import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** What a measurement's processes spent, in CPU microseconds (user + system) per answered request. */
export type CpuPerRequest = Record<string, number | null>;

export interface CpuTargets {
  /** Processes by name (a service, bare Hono); `loadGenerator` (this process) is always added. */
  pids: Readonly<Record<string, number>>;
  /**
   * The run's database: the PostgreSQL backends connected to it are summed as `postgres` when the
   * server runs on this machine (null otherwise: its processes are not ours to read).
   */
  database?: string;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat); null once it is gone. */
function processTicks(pid: number): number | null {
  try {
    // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * PostgreSQL backends serving `database`, by their process title: `postgres: <cluster>: <user> <database> <client> …`.
 * Null without /proc (not Linux).
 */
function backendTicks(database: string): Map<number, number> | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const ticks = new Map<number, number>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!title.startsWith('postgres:') || !title.split(' ').includes(database)) continue;
    const t = processTicks(Number(entry));
    if (t !== null) ticks.set(Number(entry), t);
  }
  return ticks;
}

/**
 * Samples the CPU time of the named processes, this process (the load generator) and the database's
 * backends across a measurement: start before the measured seconds, stop with the requests answered.
 * The figures say where a request's time goes on a machine whose speed drifts: a ratio of throughputs
 * moves with the host, CPU per request much less. Linux only (/proc); elsewhere every figure is null.
 *
 * @example
 * const cpu = sampleCpu({ pids: { service: pid }, database: 'easymo_load_123' });
 * const figures = await load();
 * const perRequest = cpu.stop(figures.requests); // { service: 180, postgres: 95, loadGenerator: 60 } µs
 */
export function sampleCpu(targets: CpuTargets) {
  const pids = { ...targets.pids, loadGenerator: process.pid };
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processTicks(pid)]));
  const backendsAtStart = targets.database ? backendTicks(targets.database) : null;
  return {
    stop(requests: number): CpuPerRequest {
      const perRequest = (ticks: number) =>
        requests > 0 ? Math.round(((ticks / clockTicks()) * 1e6 * 10) / requests) / 10 : null;
      const figures: CpuPerRequest = {};
      for (const [name, pid] of Object.entries(pids)) {
        const before = start[name];
        const after = processTicks(pid);
        figures[name] = before !== null && after !== null ? perRequest(after - before) : null;
      }
      if (targets.database !== undefined) {
        if (!backendsAtStart) figures.postgres = null;
        else {
          // A backend that opened during the measurement counts from zero; one that closed is lost (pools keep theirs open).
          let ticks = 0;
          for (const [pid, now] of backendTicks(targets.database) ?? [])
            ticks += now - (backendsAtStart.get(pid) ?? 0);
          figures.postgres = backendsAtStart.size === 0 && ticks === 0 ? null : perRequest(ticks);
        }
      }
      return figures;
    },
  };
}

/** Requests per second one core carries at `usPerRequest` CPU microseconds each. */
export const perCore = (usPerRequest: number | null | undefined) =>
  usPerRequest ? Math.round(1e6 / usPerRequest) : null;
