// Plain ECMAScript shared by the k6 scripts (handleSummary) and the Node runner: both hand over a
// k6-shaped metrics map (`data.metrics`: key → { type, values, thresholds }) and get the same EasyMO
// sections back (per stage, per service, the seed comparison), so summary.json and report.html read
// the same way whichever runner produced them.
import { parseMetricKey } from './options.js';

/**
 * @param {Record<string, any>} metrics
 * @param {string} key
 * @param {string} stat
 */
function stat(metrics, key, stat) {
  const value = metrics[key]?.values?.[stat];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The stage where the peak VU target is held (the seed's "at 100 VUs"); the last stage reaching the
 * peak when no stage holds it.
 *
 * @param {{ index: number, from: number, target: number }[]} plan
 */
export function peakHoldStage(plan) {
  const peak = Math.max(...plan.map((s) => s.target));
  const hold = plan.find((s) => s.target === peak && s.from === peak);
  return (hold ?? plan.filter((s) => s.target === peak).pop() ?? plan[plan.length - 1]).index;
}

/**
 * Every real threshold's verdict, in profile order.
 *
 * @param {Record<string, any>} metrics
 * @param {Record<string, unknown[]>} realThresholds
 */
export function thresholdVerdicts(metrics, realThresholds) {
  /** @type {{ metric: string, expression: string, ok: boolean }[]} */
  const verdicts = [];
  for (const [key, list] of Object.entries(realThresholds)) {
    for (const item of list) {
      const expression = typeof item === 'string' ? item : /** @type {any} */ (item).threshold;
      const ok = metrics[key]?.thresholds?.[expression]?.ok;
      verdicts.push({ metric: key, expression, ok: ok !== false });
    }
  }
  return verdicts;
}

/**
 * @param {object} input
 * @param {Record<string, any>} input.metrics       k6-shaped metrics map
 * @param {{ name: string, passes: number, fails: number }[]} [input.checks]
 * @param {any} input.compiled                      compileClosedProfile(...)
 * @param {string} input.profileName
 * @param {any} input.seed                          load/profiles/easymo-seed-results.json
 * @param {string} input.tool                       'k6' | 'easymo-node-runner'
 * @param {number} input.testRunDurationMs
 * @param {Record<string, any>} [input.openModel]   per service: { steps, maxSustainableRps }
 */
export function buildEasymoSummary(input) {
  const { metrics, compiled, seed } = input;
  const services = /** @type {string[]} */ (compiled.services);
  const plan = /** @type {any[]} */ (compiled.plan);

  const stages = plan.map((s) => {
    const seconds = s.durationMs / 1000;
    /** @type {Record<string, any>} */
    const perService = {};
    for (const service of services) {
      const count = stat(metrics, `http_reqs{service:${service},stage:${s.index}}`, 'count') ?? 0;
      perService[service] = {
        requests: count,
        throughputRps: seconds > 0 ? count / seconds : 0,
        p95Ms: stat(metrics, `http_req_duration{service:${service},stage:${s.index}}`, 'p(95)'),
        errorRate: stat(metrics, `errors{service:${service},stage:${s.index}}`, 'rate'),
      };
    }
    const count = stat(metrics, `http_reqs{stage:${s.index}}`, 'count') ?? 0;
    return {
      index: s.index,
      label: s.label,
      from: s.from,
      target: s.target,
      durationMs: s.durationMs,
      requests: count,
      throughputRps: seconds > 0 ? count / seconds : 0,
      p50Ms: stat(metrics, `http_req_duration{stage:${s.index}}`, 'med'),
      p95Ms: stat(metrics, `http_req_duration{stage:${s.index}}`, 'p(95)'),
      p99Ms: stat(metrics, `http_req_duration{stage:${s.index}}`, 'p(99)'),
      errorRate: stat(metrics, `errors{stage:${s.index}}`, 'rate'),
      failedRate: stat(metrics, `http_req_failed{stage:${s.index}}`, 'rate'),
      services: perService,
    };
  });

  const peakIndex = plan.length ? peakHoldStage(plan) : 0;
  /** @type {Record<string, any>} */
  const perService = {};
  for (const service of services) {
    perService[service] = {
      requests: stat(metrics, `http_reqs{service:${service}}`, 'count') ?? 0,
      p50Ms: stat(metrics, `http_req_duration{service:${service}}`, 'med'),
      p95Ms: stat(metrics, `http_req_duration{service:${service}}`, 'p(95)'),
      p99Ms: stat(metrics, `http_req_duration{service:${service}}`, 'p(99)'),
      errorRate: stat(metrics, `errors{service:${service}}`, 'rate'),
      failedRate: stat(metrics, `http_req_failed{service:${service}}`, 'rate'),
      healthP95Ms: stat(metrics, `http_req_duration{flow:health,service:${service}}`, 'p(95)'),
      peakStage: peakIndex,
      peakVus: compiled.options.scenarios[service]?.stages?.[peakIndex]?.target ?? null,
      peakThroughputRps: stages[peakIndex]?.services[service]?.throughputRps ?? null,
      maxSustainableRps: input.openModel?.[service]?.maxSustainableRps ?? null,
      maxSustainableRate: input.openModel?.[service]?.maxSustainableRate ?? null,
      brokeAtRate: input.openModel?.[service]?.brokeAtRate ?? null,
      ceilingAboveStaircase: input.openModel?.[service]
        ? input.openModel[service].brokeAtRate === null && input.openModel[service].maxSustainableRps !== null
        : false,
    };
  }

  const renders = {
    completed: stat(metrics, 'renders_completed', 'count') ?? 0,
    perSecond: stat(metrics, 'renders_completed', 'rate'),
    submitted: stat(metrics, 'renders_submitted', 'count') ?? 0,
    submittedPerSecond: stat(metrics, 'renders_submitted', 'rate'),
    processingP95Ms: stat(metrics, 'render_processing_duration', 'p(95)'),
  };
  const health = { p95Ms: stat(metrics, 'http_req_duration{flow:health}', 'p(95)') };
  const thresholds = thresholdVerdicts(metrics, compiled.realThresholds);

  return {
    tool: input.tool,
    profile: input.profileName,
    testRunDurationMs: input.testRunDurationMs,
    services,
    overall: {
      requests: stat(metrics, 'http_reqs', 'count') ?? 0,
      throughputRps: stat(metrics, 'http_reqs', 'rate'),
      p50Ms: stat(metrics, 'http_req_duration', 'med'),
      p95Ms: stat(metrics, 'http_req_duration', 'p(95)'),
      p99Ms: stat(metrics, 'http_req_duration', 'p(99)'),
      errorRate: stat(metrics, 'errors', 'rate'),
      failedRate: stat(metrics, 'http_req_failed', 'rate'),
      checksRate: stat(metrics, 'checks', 'rate'),
      iterations: stat(metrics, 'iterations', 'count') ?? 0,
      vusMax: stat(metrics, 'vus_max', 'max') ?? stat(metrics, 'vus_max', 'value'),
    },
    stages,
    perService,
    health,
    renders,
    openModel: input.openModel ?? null,
    seed,
    comparison: compareWithSeed({ perService, health, renders, seed }),
    thresholds,
    checks: input.checks ?? [],
    passed: thresholds.every((t) => t.ok),
  };
}

/**
 * Our figures beside the EasyMO seed's. `better` is true when ours is at least as good, null when the
 * seed has no figure to compare with.
 *
 * @param {{ perService: Record<string, any>, health: any, renders: any, seed: any }} s
 */
export function compareWithSeed(s) {
  /** @type {{ service: string, measure: string, unit: string, ours: number | null, seed: number | null, lowerIsBetter: boolean, better: boolean | null }[]} */
  const rows = [];
  /**
   * @param {string} service @param {string} measure @param {string} unit
   * @param {number | null | undefined} ours @param {number | null | undefined} seed @param {boolean} lowerIsBetter
   */
  const add = (service, measure, unit, ours, seed, lowerIsBetter) => {
    const o = ours ?? null;
    const b = seed ?? null;
    rows.push({
      service,
      measure,
      unit,
      ours: o,
      seed: b,
      lowerIsBetter,
      better: o === null || b === null ? null : lowerIsBetter ? o <= b : o >= b,
    });
  };
  const seedVoice = s.seed?.['voice-bridge'] ?? {};
  for (const [service, m] of Object.entries(s.perService)) {
    const seedFor = service === 'voice-bridge' ? seedVoice : {};
    add(service, 'p95', 'ms', m.p95Ms, seedFor.p95Ms, true);
    add(service, 'p99', 'ms', m.p99Ms, seedFor.p99Ms, true);
    add(service, 'error rate', '%', m.errorRate, seedFor.errorRate, true);
    add(
      service,
      `throughput at ${m.peakVus ?? 'peak'} VUs`,
      'req/s',
      m.peakThroughputRps,
      seedFor.throughputRps,
      false,
    );
    if (m.maxSustainableRps !== null && m.maxSustainableRps !== undefined) {
      // The ceiling lies between the last step that held and the first that broke; when every step
      // held, the climb reached its bound first and the figure is a lower bound, said so.
      const measure = m.ceilingAboveStaircase
        ? `ceiling not reached (open model: held every step to ${m.maxSustainableRate}/s)`
        : `ceiling (open model: held ${m.maxSustainableRate}/s, broke at ${m.brokeAtRate}/s)`;
      add(service, measure, 'req/s', m.maxSustainableRps, seedVoice.throughputRps, false);
    }
  }
  if (s.perService['video-orchestrator']) {
    const seedVideo = s.seed?.['video-orchestrator'] ?? {};
    add(
      'video-orchestrator',
      'render processing p95',
      'ms',
      s.renders.processingP95Ms,
      seedVideo.renderProcessingP95Ms,
      true,
    );
    // The seed's renders/s beside both things it could mean: submissions accepted and queued, and
    // renders actually completed (bounded by ffmpeg on the cores, light by design here).
    add(
      'video-orchestrator',
      'render submissions/s (accepted, queued)',
      'renders/s',
      s.renders.submittedPerSecond ?? null,
      seedVideo.rendersPerSecond,
      false,
    );
    add(
      'video-orchestrator',
      'renders completed/s (light by design)',
      'renders/s',
      s.renders.perSecond,
      seedVideo.rendersPerSecond,
      false,
    );
  }
  add('all', 'health p95', 'ms', s.health.p95Ms, s.seed?.health?.p95Ms, true);
  return rows;
}

/**
 * The comparison as a fixed-width text table for the console.
 *
 * @param {ReturnType<typeof compareWithSeed>} rows
 */
export function comparisonTable(rows) {
  /** @param {number | null} v @param {string} unit */
  const fmt = (v, unit) => {
    if (v === null) return '—';
    if (unit === '%') return `${(v * 100).toFixed(2)} %`;
    if (unit === 'ms') return `${v.toFixed(1)} ms`;
    if (unit === 'renders/s') return `${v.toFixed(3)}/s`;
    return `${v.toFixed(1)} req/s`;
  };
  const header = ['service', 'measure', 'ours', 'EasyMO seed', 'vs seed'];
  const body = rows.map((r) => [
    r.service,
    r.measure,
    fmt(r.ours, r.unit),
    fmt(r.seed, r.unit),
    r.better === null ? '' : r.better ? 'ok' : 'WORSE',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  /** @param {string[]} row */
  const line = (row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Keeps only the metrics a summary file needs (k6's data holds every report sub-metric too).
 *
 * @param {Record<string, any>} metrics
 */
export function mainMetrics(metrics) {
  /** @type {Record<string, any>} */
  const kept = {};
  for (const [key, value] of Object.entries(metrics)) {
    const { tags } = parseMetricKey(key);
    if (tags.stage === undefined && tags.step === undefined) kept[key] = value;
  }
  return kept;
}

/**
 * The open-model staircase judged step by step: a step holds when its p95 and failure rate pass the
 * breakpoint thresholds and (Node runner) it dropped few arrivals. The maximum sustainable rate is
 * the throughput achieved at the last step that held before the first that broke.
 *
 * @param {object} input
 * @param {string} input.service
 * @param {Record<string, any>} input.metrics  k6-shaped, with `{step:i}` sub-metrics and their thresholds
 * @param {{ index: number, rate: number, startMs: number, endMs: number }[]} input.steps
 * @param {number[] | null} [input.droppedByStep]  k6 cannot tag drops by step; the Node runner can
 * @param {number} [input.maxDroppedRatio]
 */
export function analyzeOpenModel(input) {
  const { metrics } = input;
  const maxDroppedRatio = input.maxDroppedRatio ?? 0.05;
  /** @param {string} key */
  const passed = (key) => Object.values(metrics[key]?.thresholds ?? {}).every((t) => t.ok !== false);
  const steps = [];
  /** @type {any} */
  let held = null;
  /** @type {any} */
  let broke = null;
  let reason = 'every step held: the ceiling is above the highest rate tried';
  for (const step of input.steps) {
    const seconds = (step.endMs - step.startMs) / 1000;
    const requests = stat(metrics, `http_reqs{step:${step.index}}`, 'count') ?? 0;
    const p95Ms = stat(metrics, `http_req_duration{step:${step.index}}`, 'p(95)');
    const failedRate = stat(metrics, `http_req_failed{step:${step.index}}`, 'rate');
    const dropped = input.droppedByStep ? (input.droppedByStep[step.index] ?? 0) : null;
    const reached = requests > 0;
    const latencyOk = passed(`http_req_duration{step:${step.index}}`);
    const failuresOk = passed(`http_req_failed{step:${step.index}}`);
    const dropsOk = dropped === null || dropped <= maxDroppedRatio * step.rate * seconds;
    const ok = reached && latencyOk && failuresOk && dropsOk;
    const entry = {
      index: step.index,
      rate: step.rate,
      requests,
      achievedRps: seconds > 0 ? requests / seconds : 0,
      p95Ms,
      failedRate,
      dropped,
      ok,
      reached,
    };
    steps.push(entry);
    if (broke || !reached) continue;
    if (ok) {
      held = entry;
    } else {
      broke = entry;
      const why = [];
      if (!latencyOk) why.push(`p95 ${p95Ms === null ? '?' : p95Ms.toFixed(0)} ms`);
      if (!failuresOk) why.push(`failures ${((failedRate ?? 0) * 100).toFixed(1)} %`);
      if (!dropsOk) why.push(`${dropped} dropped arrivals`);
      reason = `broke at ${step.rate}/s: ${why.join(', ')}`;
    }
  }
  const tried = steps.filter((s) => s.reached);
  const top = tried.length ? tried[tried.length - 1].rate : null;
  /** @param {number} v */
  const rps = (v) => `${v.toFixed(0)} req/s`;
  let ceiling = 'no step completed';
  if (held && broke)
    ceiling = `between ${held.rate}/s (held: ${rps(held.achievedRps)}) and ${broke.rate}/s (broke)`;
  else if (broke) ceiling = `below ${broke.rate}/s (the first step broke)`;
  else if (held)
    ceiling = `not reached: every step held up to ${top}/s, the profile's bound (${rps(held.achievedRps)})`;
  return {
    service: input.service,
    steps,
    maxSustainableRps: held ? held.achievedRps : null,
    maxSustainableRate: held ? held.rate : null,
    brokeAtRate: broke ? broke.rate : null,
    ceilingReached: broke !== null,
    ceiling,
    reason: held || broke ? reason : 'no step completed',
  };
}
