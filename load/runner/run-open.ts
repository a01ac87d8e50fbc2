import { Agent } from 'undici';
import { parseDuration } from '../common/duration.js';
import {
  compileOpenProfile,
  type OpenProfile,
  pickFromMix,
  SERVICES,
  stepIndexAt,
} from '../common/options.js';
import { analyzeOpenModel, type OpenModelResult } from '../common/summary.js';
import { type FlowContext, flows, type LoadConfig, setup } from '../scenarios/flows.js';
import { runRampingArrivalRate } from './arrival-rate-executor.ts';
import { CheckTally, FlowDriver, nodeSigner } from './flow-driver.ts';
import { MetricRegistry, type Tags } from './metrics.ts';
import { percentile } from './percentile.ts';
import { toTimedStages } from './ramping.ts';
import { evaluateThreshold, parseThreshold } from './thresholds.ts';

/** Responses to a step's last arrivals land just after it ends; they belong to its verdict. */
const JUDGE_DELAY_MS = 250;

export interface OpenRunOptions {
  profile: OpenProfile;
  baseUrls: Readonly<Record<string, string>>;
  config: LoadConfig;
  services?: string[];
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * The open-model probe: for each service in turn, a `ramping-arrival-rate` staircase climbing through
 * the profile's rates (its `climb`, up to its bound). Each step is judged as soon as it ends (p95, failures, dropped arrivals against the
 * breakpoint); the probe stops at the first step that breaks, so it costs at most one broken step per
 * service. The result is each service's ceiling: between the last step that held (its maximum
 * sustainable rate) and the step that broke.
 */
export async function runOpenModel(options: OpenRunOptions): Promise<Record<string, OpenModelResult>> {
  const { profile } = options;
  const log = options.log ?? (() => undefined);
  const services = SERVICES.filter(
    (s) => profile.services[s] && (!options.services || options.services.includes(s)),
  );
  const results: Record<string, OpenModelResult> = {};
  const latency = parseThreshold(profile.breakpoint.http_req_duration);
  const failures = parseThreshold(profile.breakpoint.http_req_failed);
  const maxDroppedRatio = profile.breakpoint.maxDroppedRatio ?? 0.05;

  for (const service of services) {
    if (options.signal?.aborted) break;
    const compiled = compileOpenProfile(profile, service);
    const scenario = compiled.options.scenarios[service];
    let start = performance.now();
    const metrics = new MetricRegistry(() => performance.now() - start);
    const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 1024 });
    const driver = new FlowDriver({
      baseUrls: options.baseUrls,
      metrics,
      checks: new CheckTally(),
      dispatcher,
      timeoutMs: parseDuration(compiled.requestTimeout),
    });
    let uid = 0;
    const context = (params: Record<string, unknown>, data: Record<string, unknown>): FlowContext => ({
      service,
      params,
      data,
      config: options.config,
      sign: nodeSigner,
      random: Math.random,
      now: Date.now,
      uid: `open.${process.pid}.${Date.now().toString(36)}.${(uid++).toString(36)}`,
    });
    const stepOf = () => stepIndexAt(compiled.steps, performance.now() - start);
    const dropped = compiled.steps.map(() => 0);
    const stop = new AbortController();
    const onOuterAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let brokenAt: number | undefined;

    try {
      const noSignal = new AbortController().signal;
      const data = await driver.run(
        setup({ ...context({}, {}), services: [service] }),
        () => ({ step: 'setup' }),
        noSignal,
      );
      start = performance.now();
      let judged = -1;
      // Judge each step as soon as it ends (plus a moment for its last responses), so the staircase
      // stops at the first step that breaks.
      const judgeStep = (step: (typeof compiled.steps)[number]) => {
        judged = step.index;
        const durations = metrics.select(`http_req_duration{step:${step.index}}`)?.values ?? [];
        const failed = metrics.select(`http_req_failed{step:${step.index}}`)?.values ?? [];
        const sorted = Float64Array.from(durations).sort();
        const p95 = (p: number) => percentile(sorted, p);
        const failedRate = failed.length ? failed.filter((v) => v !== 0).length / failed.length : 0;
        const seconds = (step.endMs - step.startMs) / 1000;
        const ok =
          durations.length > 0 &&
          evaluateThreshold(latency, {}, p95) &&
          evaluateThreshold(failures, { rate: failedRate }, p95) &&
          dropped[step.index] <= maxDroppedRatio * step.rate * seconds;
        log(
          `open ${service} ${step.rate}/s: ${(durations.length / seconds).toFixed(1)} req/s, p95 ${p95(95).toFixed(1)} ms, ` +
            `failed ${(failedRate * 100).toFixed(2)} %, dropped ${dropped[step.index]}${ok ? '' : ' → broke'}`,
        );
        if (!ok) {
          brokenAt = step.index;
          stop.abort();
        }
      };
      const judge = setInterval(() => {
        const now = performance.now() - start;
        for (const step of compiled.steps) {
          if (brokenAt !== undefined) break;
          if (step.endMs + JUDGE_DELAY_MS <= now && step.index > judged) judgeStep(step);
        }
      }, 50);
      try {
        await runRampingArrivalRate({
          scenario: service,
          stages: toTimedStages(scenario.stages ?? []),
          startRate: scenario.startRate ?? 0,
          maxVUs: scenario.maxVUs ?? 200,
          gracefulStopMs: parseDuration(scenario.gracefulStop ?? '5s'),
          iterate: async (_vu, signal) => {
            const step = stepOf();
            const pick = pickFromMix(compiled.mix, Math.random());
            const tags = (): Tags => ({ scenario: service, service, flow: pick.flow, step: String(step) });
            await driver.run(flows[pick.flow](context(pick.params ?? {}, data)), tags, signal);
          },
          hooks: { onDropped: () => dropped[stepOf()]++ },
          signal: stop.signal,
        });
      } finally {
        clearInterval(judge);
      }
      // The last step ends with the run: judge what the interval had no time to.
      for (const step of compiled.steps) {
        if (brokenAt === undefined && step.index > judged && step.endMs <= performance.now() - start)
          judgeStep(step);
      }
      const durationMs = performance.now() - start;
      const k6Metrics = metrics.toK6Metrics(compiled.options.thresholds, durationMs);
      const steps = brokenAt === undefined ? compiled.steps : compiled.steps.slice(0, brokenAt + 1);
      results[service] = analyzeOpenModel({
        service,
        metrics: k6Metrics,
        steps,
        droppedByStep: dropped,
        maxDroppedRatio,
      });
      log(
        `open ${service}: ceiling ${results[service].ceiling}; max sustainable ${results[service].maxSustainableRps?.toFixed(1) ?? '—'} req/s (${results[service].reason})`,
      );
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
      await dispatcher.close();
    }
  }
  return results;
}
