import { Agent } from 'undici';
import { parseDuration } from '../common/duration.js';
import {
  type ClosedProfile,
  type CompiledClosedProfile,
  compileClosedProfile,
  pickFromMix,
  stageIndexAt,
} from '../common/options.js';
import { buildEasymoSummary, type EasymoSummary, type OpenModelResult } from '../common/summary.js';
import { type FlowContext, flows, type LoadConfig, setup } from '../scenarios/flows.js';
import { pause, type VuInfo } from './executor.ts';
import { CheckTally, FlowDriver, nodeSigner } from './flow-driver.ts';
import { type K6Metric, MetricRegistry, type Tags } from './metrics.ts';
import { toTimedStages } from './ramping.ts';
import { runRampingVus } from './ramping-vus-executor.ts';
import { runSharedIterations } from './shared-iterations-executor.ts';
import { EXIT_THRESHOLDS_FAILED } from './thresholds.ts';

export interface ClosedRunOptions {
  profile: ClosedProfile;
  seed: unknown;
  baseUrls: Readonly<Record<string, string>>;
  config: LoadConfig;
  /** Run only these services (default: every service the profile names). */
  services?: string[];
  /** Progress lines; silent when omitted. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ClosedRunResult {
  compiled: CompiledClosedProfile;
  /** k6's `data.metrics`, including every sub-metric a threshold names. */
  metrics: Record<string, K6Metric>;
  checks: { name: string; passes: number; fails: number }[];
  testRunDurationMs: number;
  setupData: Record<string, unknown>;
  /** The EasyMO sections (without the open model; add it with `withOpenModel`). */
  easymo: EasymoSummary;
  /** 0, or 99 (k6's code) when a threshold failed. */
  exitCode: number;
}

/**
 * Runs a closed-model profile the way `k6 run load/k6/easymo.js` runs it: setup once, then every
 * scenario of the compiled options at the same time (ramping VUs per service, the bounded extra
 * scenarios), each VU iteration = the service's fixed steps, one flow picked from its mix, then
 * `sleep(iterationSleepSeconds)`.
 */
export async function runClosedProfile(options: ClosedRunOptions): Promise<ClosedRunResult> {
  const compiled = compileClosedProfile(options.profile, { services: options.services });
  const log = options.log ?? (() => undefined);
  let testStart = performance.now();
  const metrics = new MetricRegistry(() => performance.now() - testStart);
  for (const name of [
    'http_reqs',
    'http_req_duration',
    'http_req_failed',
    'checks',
    'errors',
    'iterations',
  ]) {
    metrics.declare(name);
  }
  const checks = new CheckTally();
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 512 });
  const driver = new FlowDriver({
    baseUrls: options.baseUrls,
    metrics,
    checks,
    dispatcher,
    timeoutMs: parseDuration(compiled.requestTimeout),
  });
  const signal = options.signal ?? new AbortController().signal;
  let uidCounter = 0;
  const context = (
    service: string,
    params: Record<string, unknown>,
    data: Record<string, unknown>,
  ): FlowContext => ({
    service,
    params,
    data,
    config: options.config,
    sign: nodeSigner,
    random: Math.random,
    now: Date.now,
    uid: `${process.pid}.${Date.now().toString(36)}.${(uidCounter++).toString(36)}`,
  });

  try {
    // setup(): its requests are tagged stage "setup" so they count in totals but in no stage.
    const setupData = await driver.run(
      setup({ ...context('video-orchestrator', {}, {}), services: compiled.services }),
      () => ({ scenario: 'setup', stage: 'setup', flow: 'setup' }),
      signal,
    );
    log(`setup: ${JSON.stringify(setupData)}`);

    testStart = performance.now();
    const elapsed = () => performance.now() - testStart;
    const activeByScenario = new Map<string, number>();
    let vusMax = 0;
    const sampleVus = () => {
      let total = 0;
      for (const n of activeByScenario.values()) total += n;
      vusMax = Math.max(vusMax, total);
      metrics.add('vus', total);
      metrics.add('vus_max', vusMax);
      return total;
    };
    const hooksFor = (scenario: string, service: string) => ({
      onActiveVus: (active: number) => activeByScenario.set(scenario, active),
      onIterationDone: (_vu: VuInfo, durationMs: number) => {
        const tags: Tags = { scenario, service, stage: String(stageIndexAt(compiled.plan, elapsed())) };
        metrics.add('iterations', 1, tags);
        metrics.add('iteration_duration', durationMs, tags);
      },
      onIterationError: (vu: VuInfo, error: unknown) =>
        log(
          `${scenario} VU ${vu.id}: iteration failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });

    const runs: Promise<void>[] = [];
    for (const [name, scenario] of Object.entries(compiled.options.scenarios)) {
      const meta = compiled.scenarios[name];
      const tagsFor = (flow: string) => (): Tags => ({
        scenario: name,
        service: meta.service,
        flow,
        stage: String(stageIndexAt(compiled.plan, elapsed())),
      });
      if (scenario.executor === 'ramping-vus') {
        const iterate = async (_vu: VuInfo, iterationSignal: AbortSignal) => {
          for (const flow of meta.steps ?? []) {
            await driver.run(
              flows[flow](context(meta.service, {}, setupData)),
              tagsFor(flow),
              iterationSignal,
            );
          }
          const pick = pickFromMix(meta.mix ?? [], Math.random());
          await driver.run(
            flows[pick.flow](context(meta.service, pick.params ?? {}, setupData)),
            tagsFor(pick.flow),
            iterationSignal,
          );
          await pause(compiled.sleepSeconds * 1000, iterationSignal);
        };
        runs.push(
          runRampingVus({
            scenario: name,
            stages: toTimedStages(scenario.stages ?? []),
            startVUs: scenario.startVUs ?? 0,
            gracefulRampDownMs: parseDuration(scenario.gracefulRampDown ?? '30s'),
            gracefulStopMs: parseDuration(scenario.gracefulStop ?? '30s'),
            iterate,
            hooks: hooksFor(name, meta.service),
            signal,
          }),
        );
      } else {
        const flow = meta.flow!;
        const iterate = async (_vu: VuInfo, iterationSignal: AbortSignal) => {
          await driver.run(
            flows[flow](context(meta.service, meta.params ?? {}, setupData)),
            tagsFor(flow),
            iterationSignal,
          );
        };
        runs.push(
          runSharedIterations({
            scenario: name,
            vus: scenario.vus ?? 1,
            iterations: scenario.iterations ?? 1,
            startTimeMs: parseDuration(scenario.startTime ?? '0s'),
            maxDurationMs: parseDuration(scenario.maxDuration ?? '1m'),
            gracefulStopMs: parseDuration(scenario.gracefulStop ?? '30s'),
            iterate,
            hooks: hooksFor(name, meta.service),
            signal,
          }),
        );
      }
    }

    const progress = setInterval(() => {
      const vus = sampleVus();
      const seconds = Math.round(elapsed() / 1000);
      if (seconds % 10 === 0) {
        const stage = compiled.plan[stageIndexAt(compiled.plan, elapsed())];
        const reqs = metrics.select('http_reqs')?.values.length ?? 0;
        log(`t=${seconds}s stage ${stage.label}: ${vus} VUs, ${reqs} requests`);
      }
    }, 1000);
    sampleVus();
    try {
      await Promise.all(runs);
    } finally {
      clearInterval(progress);
      sampleVus();
    }

    const testRunDurationMs = elapsed();
    const k6Metrics = metrics.toK6Metrics(compiled.options.thresholds, testRunDurationMs);
    const checkList = checks.list();
    const easymo = buildEasymoSummary({
      metrics: k6Metrics,
      checks: checkList,
      compiled,
      profileName: options.profile.name,
      seed: options.seed,
      tool: 'easymo-node-runner',
      testRunDurationMs,
    });
    return {
      compiled,
      metrics: k6Metrics,
      checks: checkList,
      testRunDurationMs,
      setupData,
      easymo,
      exitCode: easymo.passed ? 0 : EXIT_THRESHOLDS_FAILED,
    };
  } finally {
    await dispatcher.close();
  }
}

/** The closed-model summary with the open-model probe's results merged in (per-service ceilings). */
export function withOpenModel(
  result: ClosedRunResult,
  openModel: Record<string, OpenModelResult>,
  seed: unknown,
) {
  return buildEasymoSummary({
    metrics: result.metrics,
    checks: result.checks,
    compiled: result.compiled,
    profileName: result.easymo.profile,
    seed,
    tool: result.easymo.tool,
    testRunDurationMs: result.testRunDurationMs,
    openModel,
  });
}
