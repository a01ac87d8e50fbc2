// @ts-check
// The EasyMO closed-model load test for k6 (users and GitHub Actions). Only k6 modules and standard
// JavaScript. The profile, the request mixes, the signing and the summary are the same modules the
// Node runner (`npm run load:ci`) executes:
//   k6 run load/k6/easymo.js -e PROFILE=ci -e BASE_VOICE_URL=http://127.0.0.1:3001 \
//     -e BASE_WHATSAPP_URL=http://127.0.0.1:8080 -e BASE_VIDEO_URL=http://127.0.0.1:3002
// PROFILE=easymo-baseline runs the seed's full 21 minutes. See load/README.md for every variable.
import { sleep } from 'k6';
import exec from 'k6/execution';
import { loadTargetsFromEnv, parseServiceList } from '../common/config.js';
import { compileClosedProfile, pickFromMix, stageIndexAt } from '../common/options.js';
import { buildEasymoSummary, comparisonTable, mainMetrics } from '../common/summary.js';
import { renderReportHtml } from '../report/render-report.js';
import { flows, setup as setupFlow } from '../scenarios/flows.js';
import { collectChecks, k6Signer, runFlow } from './driver.js';

const profile = JSON.parse(open(`../profiles/${__ENV.PROFILE || 'ci'}.json`));
const seed = JSON.parse(open('../profiles/easymo-seed-results.json'));
// The report inlines Chart.js when the repository's node_modules is there (after `npm ci`).
/** @type {string | null} */
let chartJs = null;
try {
  chartJs = open('../../node_modules/chart.js/dist/chart.umd.js');
} catch (_) {
  chartJs = null;
}

const compiled = compileClosedProfile(profile, { services: parseServiceList(__ENV.SERVICES) });
const targets = loadTargetsFromEnv(__ENV);
const resultsDir = __ENV.RESULTS_DIR || 'load/results';

export const options = compiled.options;

/**
 * @param {string} service
 * @param {Record<string, any>} params
 * @param {Record<string, any>} data
 * @param {string} uid
 */
function context(service, params, data, uid) {
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

function iterationUid() {
  return `${exec.scenario.name}.${exec.vu.idInTest}.${exec.scenario.iterationInTest}.${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Tags read at each request: the stage is the one running when the request is sent.
 *
 * @param {{ startOffsetMs: number }} meta
 * @param {string} flow
 */
function tagsFor(meta, flow) {
  return () => ({
    flow,
    stage: String(stageIndexAt(compiled.plan, Date.now() - exec.scenario.startTime + meta.startOffsetMs)),
  });
}

export function setup() {
  return runFlow(
    setupFlow(
      Object.assign(context('video-orchestrator', {}, {}, `setup.${Date.now()}`), {
        services: compiled.services,
      }),
    ),
    {
      baseUrls: targets.baseUrls,
      tags: () => ({ flow: 'setup', stage: 'setup' }),
      timeout: compiled.requestTimeout,
    },
  );
}

/** Each VU iteration: the service's fixed steps (health), one flow from its mix, then sleep. */
export function closedModel(/** @type {any} */ data) {
  const meta = compiled.scenarios[exec.scenario.name];
  const env = (/** @type {string} */ flow) => ({
    baseUrls: targets.baseUrls,
    tags: tagsFor(meta, flow),
    timeout: compiled.requestTimeout,
  });
  for (const flow of meta.steps ?? []) {
    runFlow(flows[flow](context(meta.service, {}, data, iterationUid())), env(flow));
  }
  const pick = pickFromMix(meta.mix ?? [], Math.random());
  runFlow(flows[pick.flow](context(meta.service, pick.params ?? {}, data, iterationUid())), env(pick.flow));
  sleep(compiled.sleepSeconds);
}

/** The bounded extra scenarios: render lifecycles and the rate-limit probe. */
export function extraScenario(/** @type {any} */ data) {
  const meta = compiled.scenarios[exec.scenario.name];
  const flow = /** @type {string} */ (meta.flow);
  runFlow(flows[flow](context(meta.service, meta.params ?? {}, data, iterationUid())), {
    baseUrls: targets.baseUrls,
    tags: tagsFor(meta, flow),
    timeout: compiled.requestTimeout,
  });
}

export function handleSummary(/** @type {any} */ data) {
  const easymo = buildEasymoSummary({
    metrics: data.metrics,
    checks: collectChecks(data.root_group),
    compiled,
    profileName: profile.name,
    seed,
    tool: 'k6',
    testRunDurationMs: data.state.testRunDurationMs,
  });
  const summary = {
    tool: 'k6',
    profile: profile.name,
    state: data.state,
    metrics: mainMetrics(data.metrics),
    root_group: data.root_group,
    easymo,
  };
  const verdicts = easymo.thresholds
    .map((/** @type {any} */ t) => `  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression}`)
    .join('\n');
  /** @type {Record<string, string>} */
  const out = {
    stdout: `\nthresholds (${easymo.passed ? 'all passed' : 'FAILED'}):\n${verdicts}\n\n${comparisonTable(easymo.comparison)}\n`,
  };
  out[`${resultsDir}/summary.json`] = JSON.stringify(summary, null, 2);
  if (chartJs) out[`${resultsDir}/report.html`] = renderReportHtml(summary, { chartJs });
  return out;
}
