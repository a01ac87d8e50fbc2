// Plain ECMAScript shared by the k6 scripts and the Node runner: a profile JSON (load/profiles/*.json)
// becomes the k6 `options` object. The Node runner executes that same object, so both runners read
// one source of truth and name every scenario, threshold and sub-metric identically.
import { SERVICE_NAMES } from '../../services/manifest.js';
import { formatDuration, parseDuration } from './duration.js';

/** Services of the EasyMO edge (services/manifest.js), in the order every table and chart lists them. */
export const SERVICES = SERVICE_NAMES;

/** k6 prints and exports these trend statistics; p(50) is `med`. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** Which metric type each metric the runners emit has: decides the always-true report expression. */
export const METRIC_TYPES = {
  http_reqs: 'counter',
  http_req_duration: 'trend',
  http_req_failed: 'rate',
  errors: 'rate',
  checks: 'rate',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  render_processing_duration: 'trend',
  renders_completed: 'counter',
  renders_submitted: 'counter',
};

const ALWAYS_TRUE = { counter: 'count>=0', trend: 'max>=0', rate: 'rate>=0', gauge: 'value>=0' };

/**
 * The closed-model stage plan: when each stage starts and ends and which VU target it ramps to.
 *
 * @param {{ duration: string, target: number }[]} stages
 * @param {number} [startVUs]
 */
export function stagePlan(stages, startVUs = 0) {
  let startMs = 0;
  let from = startVUs;
  return stages.map((stage, index) => {
    const durationMs = parseDuration(stage.duration);
    const entry = {
      index,
      startMs,
      endMs: startMs + durationMs,
      durationMs,
      from,
      target: stage.target,
      label: `${index + 1}: ${from === stage.target ? `hold ${stage.target}` : `${from}→${stage.target}`} (${formatDuration(durationMs)})`,
    };
    startMs += durationMs;
    from = stage.target;
    return entry;
  });
}

/**
 * The stage running `elapsedMs` after the test started; requests after the last stage (graceful stop)
 * count toward the last one.
 *
 * @param {{ startMs: number, endMs: number }[]} plan
 * @param {number} elapsedMs
 */
export function stageIndexAt(plan, elapsedMs) {
  for (let i = 0; i < plan.length; i++) if (elapsedMs < plan[i].endMs) return i;
  return plan.length - 1;
}

/**
 * Stages with every target multiplied by `scale` (a service that takes a quarter of the VUs keeps the
 * shape); a stage that had VUs keeps at least one.
 *
 * @param {{ duration: string, target: number }[]} stages
 * @param {number} scale
 */
export function scaleStages(stages, scale) {
  return stages.map((s) => ({
    duration: s.duration,
    target: s.target === 0 ? 0 : Math.max(1, Math.round(s.target * scale)),
  }));
}

/**
 * Picks a flow from a weighted mix.
 *
 * @param {{ flow: string, weight: number, params?: object }[]} mix
 * @param {number} random a number in [0, 1)
 */
export function pickFromMix(mix, random) {
  const total = mix.reduce((sum, entry) => sum + entry.weight, 0);
  let point = random * total;
  for (const entry of mix) {
    point -= entry.weight;
    if (point < 0) return entry;
  }
  return mix[mix.length - 1];
}

/** @param {string} key e.g. `http_req_duration{service:voice-bridge,stage:3}` */
export function parseMetricKey(key) {
  const open = key.indexOf('{');
  if (open < 0) return { metric: key, tags: {} };
  if (!key.endsWith('}')) throw new Error(`invalid metric selector: ${key}`);
  /** @type {Record<string, string>} */
  const tags = {};
  for (const pair of key.slice(open + 1, -1).split(',')) {
    const colon = pair.indexOf(':');
    if (colon < 0) throw new Error(`invalid tag in metric selector: ${key}`);
    tags[pair.slice(0, colon).trim()] = pair
      .slice(colon + 1)
      .trim()
      .replace(/^["']|["']$/g, '');
  }
  return { metric: key.slice(0, open), tags };
}

/**
 * Sub-metrics the summary and the report read. k6 keeps a sub-metric only when a threshold names it,
 * so each gets an always-true expression; the Node runner computes the same keys.
 *
 * @param {string[]} services
 * @param {number} stageCount
 */
export function reportMetricKeys(services, stageCount) {
  const keys = ['http_req_duration{flow:health}'];
  for (const service of services) {
    for (const metric of ['http_reqs', 'http_req_duration', 'http_req_failed', 'errors']) {
      keys.push(`${metric}{service:${service}}`);
    }
    keys.push(`http_req_duration{flow:health,service:${service}}`);
  }
  for (let stage = 0; stage < stageCount; stage++) {
    for (const metric of ['http_reqs', 'http_req_duration', 'http_req_failed', 'errors']) {
      keys.push(`${metric}{stage:${stage}}`);
    }
    for (const service of services) {
      for (const metric of ['http_reqs', 'http_req_duration', 'errors']) {
        keys.push(`${metric}{service:${service},stage:${stage}}`);
      }
    }
  }
  return keys;
}

/** @param {string} key */
function alwaysTrue(key) {
  const type = /** @type {Record<string, string>} */ (METRIC_TYPES)[parseMetricKey(key).metric] ?? 'trend';
  return /** @type {Record<string, string>} */ (ALWAYS_TRUE)[type];
}

/**
 * Keeps the thresholds that can apply to the selected services: one naming an absent service or a
 * flow no selected scenario runs would judge an empty metric.
 *
 * @param {Record<string, unknown[]>} thresholds
 * @param {string[]} services
 * @param {Set<string>} flows
 */
function applicableThresholds(thresholds, services, flows) {
  /** @type {Record<string, unknown[]>} */
  const kept = {};
  for (const [key, list] of Object.entries(thresholds)) {
    const { tags } = parseMetricKey(key);
    if (tags.service && !services.includes(tags.service)) continue;
    if (tags.flow && !flows.has(tags.flow)) continue;
    kept[key] = list;
  }
  return kept;
}

/**
 * Compiles a closed-model profile (ramping VUs per service plus bounded extra scenarios) into k6
 * options and the metadata both runners need to drive and tag requests.
 *
 * @param {any} profile a parsed load/profiles/<name>.json with `model: 'closed'`
 * @param {{ services?: string[] }} [select] run only these services
 */
export function compileClosedProfile(profile, select = {}) {
  const services = SERVICES.filter(
    (s) => profile.services[s] && (!select.services || select.services.includes(s)),
  );
  const plan = stagePlan(profile.stages, 0);
  /** @type {Record<string, any>} */
  const scenarios = {};
  /** @type {Record<string, { service: string, kind: 'mix' | 'flow', steps?: string[], mix?: any[], flow?: string, params?: object, startOffsetMs: number }>} */
  const meta = {};
  const flows = new Set();
  for (const service of services) {
    const entry = profile.services[service];
    scenarios[service] = {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: scaleStages(profile.stages, entry.vuScale ?? 1),
      gracefulRampDown: profile.gracefulRampDown ?? '30s',
      gracefulStop: profile.gracefulStop ?? '30s',
      exec: 'closedModel',
      tags: { service },
    };
    meta[service] = { service, kind: 'mix', steps: entry.steps ?? [], mix: entry.mix, startOffsetMs: 0 };
    for (const step of entry.steps ?? []) flows.add(step);
    for (const m of entry.mix) flows.add(m.flow);
  }
  for (const [name, extra] of Object.entries(profile.extraScenarios ?? {})) {
    const e = /** @type {any} */ (extra);
    if (!services.includes(e.service)) continue;
    scenarios[name] = {
      executor: 'shared-iterations',
      vus: e.vus ?? 1,
      iterations: e.iterations ?? 1,
      startTime: e.startTime ?? '0s',
      maxDuration: e.maxDuration ?? '1m',
      gracefulStop: profile.gracefulStop ?? '30s',
      exec: 'extraScenario',
      tags: { service: e.service },
    };
    meta[name] = {
      service: e.service,
      kind: 'flow',
      flow: e.flow,
      params: e.params ?? {},
      startOffsetMs: parseDuration(e.startTime ?? '0s'),
    };
    flows.add(e.flow);
  }
  /** @type {Record<string, unknown[]>} */
  const thresholds = applicableThresholds(profile.thresholds, services, flows);
  for (const key of reportMetricKeys(services, plan.length)) {
    if (!thresholds[key]) thresholds[key] = [alwaysTrue(key)];
  }
  return {
    options: {
      scenarios,
      thresholds,
      summaryTrendStats: SUMMARY_TREND_STATS,
      setupTimeout: '60s',
      teardownTimeout: '30s',
    },
    realThresholds: applicableThresholds(profile.thresholds, services, flows),
    services,
    plan,
    scenarios: meta,
    sleepSeconds: profile.iterationSleepSeconds ?? 1,
    requestTimeout: profile.requestTimeout ?? '10s',
  };
}

/**
 * The staircase's rates: the profile's `rates` as written, or its `climb` (from `startRate`, each step
 * `factor` times the last, rounded, up to `maxRate`), so a probe climbs until the service breaks and
 * stays bounded in rate and so in time (steps × stepDuration).
 *
 * @param {{ rates?: number[], climb?: { startRate: number, factor: number, maxRate: number } }} profile
 * @returns {number[]}
 */
export function openProfileRates(profile) {
  if (profile.rates) return profile.rates;
  const climb = profile.climb;
  if (!climb || climb.factor <= 1) throw new Error('an open profile needs rates or a climb with factor > 1');
  const rates = [];
  for (let rate = climb.startRate; Math.round(rate) <= climb.maxRate; rate *= climb.factor)
    rates.push(Math.round(rate));
  return rates;
}

/**
 * Compiles an open-model profile for one service: a `ramping-arrival-rate` staircase (instant jump,
 * then hold) whose steps are tagged `step:<i>`, with a breakpoint threshold on each step.
 *
 * @param {any} profile a parsed load/profiles/<name>.json with `model: 'open'`
 * @param {string} service
 * @param {{ abortOnFail?: boolean }} [opts] k6 aborts the run at the first step that breaks
 */
export function compileOpenProfile(profile, service, opts = {}) {
  const stepMs = parseDuration(profile.stepDuration);
  /** @type {{ index: number, rate: number, startMs: number, endMs: number }[]} */
  const steps = openProfileRates(profile).map((/** @type {number} */ rate, /** @type {number} */ index) => ({
    index,
    rate,
    startMs: index * stepMs,
    endMs: (index + 1) * stepMs,
  }));
  /** @type {{ duration: string, target: number }[]} */
  const stages = [];
  for (const step of steps) {
    stages.push({ duration: '0s', target: step.rate });
    stages.push({ duration: profile.stepDuration, target: step.rate });
  }
  /** @type {Record<string, unknown[]>} */
  const thresholds = {};
  const breakpoint = profile.breakpoint;
  for (const step of steps) {
    thresholds[`http_req_duration{step:${step.index}}`] = [
      opts.abortOnFail
        ? { threshold: breakpoint.http_req_duration, abortOnFail: true, delayAbortEval: '2s' }
        : breakpoint.http_req_duration,
    ];
    thresholds[`http_req_failed{step:${step.index}}`] = [breakpoint.http_req_failed];
    // dropped_iterations carries only scenario tags in k6, so drops are judged per step by the Node
    // runner alone; k6 reports them for the whole run.
    thresholds[`http_reqs{step:${step.index}}`] = ['count>=0'];
  }
  return {
    options: {
      scenarios: {
        [service]: {
          executor: 'ramping-arrival-rate',
          startRate: 0,
          timeUnit: '1s',
          preAllocatedVUs: profile.preAllocatedVUs ?? 20,
          maxVUs: profile.maxVUs ?? 200,
          stages,
          gracefulStop: '5s',
          exec: 'openModel',
          tags: { service },
        },
      },
      thresholds,
      summaryTrendStats: SUMMARY_TREND_STATS,
      setupTimeout: '60s',
    },
    service,
    steps,
    mix: profile.services[service].mix,
    requestTimeout: profile.requestTimeout ?? '10s',
  };
}

/**
 * The staircase step running `elapsedMs` after the open-model scenario started.
 *
 * @param {{ startMs: number, endMs: number }[]} steps
 * @param {number} elapsedMs
 */
export function stepIndexAt(steps, elapsedMs) {
  return stageIndexAt(steps, elapsedMs);
}
