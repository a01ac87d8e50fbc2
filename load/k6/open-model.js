// @ts-check
// The open-model probe for k6: a ramping-arrival-rate staircase climbing against ONE service (the
// profile's `climb`, up to its bound), aborted by k6 at the first step whose p95 breaks the profile's
// breakpoint (abortOnFail). The ceiling lies between the last step that held (the service's maximum
// sustainable rate) and the step that broke. k6 then exits 99: that is how a breakpoint probe ends.
//   k6 run load/k6/open-model.js -e SERVICE=voice-bridge -e BASE_VOICE_URL=http://127.0.0.1:3001
// PROFILE=open-model-ci uses the short CI steps. See load/README.md.
import exec from 'k6/execution';
import { loadTargetsFromEnv } from '../common/config.js';
import { compileOpenProfile, pickFromMix, stepIndexAt } from '../common/options.js';
import { analyzeOpenModel, mainMetrics } from '../common/summary.js';
import { flows, setup as setupFlow } from '../scenarios/flows.js';
import { k6Signer, runFlow } from './driver.js';

const profile = JSON.parse(open(`../profiles/${__ENV.PROFILE || 'open-model'}.json`));
const service = __ENV.SERVICE || 'voice-bridge';
const compiled = compileOpenProfile(profile, service, { abortOnFail: true });
const targets = loadTargetsFromEnv(__ENV);
const resultsDir = __ENV.RESULTS_DIR || 'load/results';

export const options = compiled.options;

/**
 * @param {Record<string, any>} params
 * @param {Record<string, any>} data
 * @param {string} uid
 */
function context(params, data, uid) {
  return {
    service,
    params,
    data,
    config: targets.config,
    sign: k6Signer,
    random: Math.random,
    now: Date.now,
    uid,
  };
}

export function setup() {
  return runFlow(setupFlow(Object.assign(context({}, {}, `setup.${Date.now()}`), { services: [service] })), {
    baseUrls: targets.baseUrls,
    tags: () => ({ flow: 'setup', step: 'setup' }),
    timeout: compiled.requestTimeout,
  });
}

export function openModel(/** @type {any} */ data) {
  const step = String(stepIndexAt(compiled.steps, Date.now() - exec.scenario.startTime));
  const pick = pickFromMix(compiled.mix, Math.random());
  const uid = `open.${exec.vu.idInTest}.${exec.scenario.iterationInTest}.${Math.random().toString(36).slice(2, 10)}`;
  runFlow(flows[pick.flow](context(pick.params ?? {}, data, uid)), {
    baseUrls: targets.baseUrls,
    tags: () => ({ flow: pick.flow, step }),
    timeout: compiled.requestTimeout,
  });
}

export function handleSummary(/** @type {any} */ data) {
  const result = analyzeOpenModel({
    service,
    metrics: data.metrics,
    steps: compiled.steps,
    droppedByStep: null,
    maxDroppedRatio: profile.breakpoint.maxDroppedRatio,
  });
  const lines = result.steps
    .filter((/** @type {any} */ s) => s.reached)
    .map(
      (/** @type {any} */ s) =>
        `  ${String(s.rate).padStart(5)}/s → ${s.achievedRps.toFixed(1)} req/s, p95 ${s.p95Ms === null ? '—' : s.p95Ms.toFixed(1)} ms, failed ${((s.failedRate ?? 0) * 100).toFixed(2)} % ${s.ok ? '' : '✗'}`,
    )
    .join('\n');
  const ceiling = result.maxSustainableRps === null ? '—' : `${result.maxSustainableRps.toFixed(1)} req/s`;
  /** @type {Record<string, string>} */
  const out = {
    stdout: `\nopen model ${service}:\n${lines}\nceiling ${result.ceiling}\nmax sustainable: ${ceiling} (${result.reason})\n`,
  };
  out[`${resultsDir}/open-model-${service}.json`] = JSON.stringify(
    { tool: 'k6', profile: profile.name, service, result, metrics: mainMetrics(data.metrics) },
    null,
    2,
  );
  return out;
}
