/**
 * Runs the k6 scripts (load/k6/*.js) under Node with the k6 modules replaced by recording fakes, since
 * no k6 binary is available here. `http.request` answers synchronously, as k6's does, from a fake edge
 * that verifies Meta and Twilio signatures with the project's own verifiers. Prints one JSON report.
 *
 *   node test/integration/load/k6-harness.ts <easymo|open-model> '<env JSON>'
 */
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetricRegistry } from '../../../load/runner/metrics.ts';
import { verifyMetaSignature } from '../../../shared/webhooks/meta-signature.ts';
import { parseTwilioForm, verifyTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';

const [script, envJson = '{}'] = process.argv.slice(2);
const scriptPath = fileURLToPath(new URL(`../../../load/k6/${script}.js`, import.meta.url));
const env: Record<string, string> = JSON.parse(envJson);

interface Recorded {
  method: string;
  url: string;
  status: number;
  tags: Record<string, string>;
  signatureOk: boolean | null;
}

const state = {
  requests: [] as Recorded[],
  checks: new Map<string, { passes: number; fails: number }>(),
  sleeps: 0,
  scenario: { name: '', startTime: Date.now(), iterationInTest: 0 },
  vu: { idInTest: 1, iterationInScenario: 0 },
  metrics: new MetricRegistry(),
  destinations: new Map<string, number>(),
  renders: 0,
};

const VOICE_URL = env.BASE_VOICE_URL ?? 'http://127.0.0.1:3001';

/** The fake edge: what each route answers, after checking what the real services check. */
function answer(method: string, url: string, body: unknown, headers: Record<string, string>) {
  const path = new URL(url).pathname;
  const header = (name: string) =>
    Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? undefined;
  const json = (status: number, value: unknown) => ({
    status,
    body: JSON.stringify(value),
    signatureOk: null,
  });
  if (method === 'GET' && path === '/health') return json(200, { status: 'ok' });
  if (method === 'POST' && path === '/webhook') {
    const ok = verifyMetaSignature(String(body), header('X-Hub-Signature-256'), env.WHATSAPP_APP_SECRET).ok;
    return { ...json(ok ? 200 : 401, {}), signatureOk: ok };
  }
  if (method === 'POST' && path === '/webhooks/voice/status') {
    const ok = verifyTwilioSignature({
      authToken: env.TWILIO_AUTH_TOKEN,
      url: `${VOICE_URL}/webhooks/voice/status`,
      params: parseTwilioForm(String(body)),
      signature: header('X-Twilio-Signature'),
    });
    return { ...json(ok ? 200 : 403, {}), signatureOk: ok };
  }
  if (method === 'POST' && path === '/calls/outbound') {
    const to = JSON.parse(String(body)).to as string;
    if (!/^\+[1-9]\d{6,14}$/.test(to)) return json(400, { errors: [{ field: 'body.to' }] });
    const used = (state.destinations.get(to) ?? 0) + 1;
    state.destinations.set(to, used);
    return used > 3
      ? { status: 429, body: '{}', headers: { 'Retry-After': '60' }, signatureOk: null }
      : json(201, { id: 'call' });
  }
  if (method === 'POST' && path === '/messages') return json(202, { id: 'message' });
  if (method === 'POST' && path === '/assets') {
    const file = (body as Record<string, { data: ArrayBuffer; filename: string }>).file;
    const bytes = new Uint8Array(file.data);
    return json(bytes[1] === 0x50 && bytes[2] === 0x4e ? 201 : 400, { id: 'asset-1' });
  }
  if (method === 'POST' && path === '/renders') {
    state.renders++;
    return json(202, { id: `render-${state.renders}` });
  }
  if (method === 'GET' && path.startsWith('/renders/')) return json(200, { status: 'completed' });
  return json(404, {});
}

const harness = {
  open(path: string) {
    return readFileSync(resolve(dirname(scriptPath), path), 'utf8');
  },
  request(
    method: string,
    url: string,
    body: unknown,
    params: {
      headers?: Record<string, string>;
      tags?: Record<string, string>;
      responseCallback?: { expected: number[] };
    },
  ) {
    const res = answer(method, url, body, params.headers ?? {});
    const tags = { ...(params.tags ?? {}), scenario: state.scenario.name };
    state.requests.push({ method, url, status: res.status, tags, signatureOk: res.signatureOk });
    const failed = params.responseCallback
      ? !params.responseCallback.expected.includes(res.status)
      : res.status >= 400;
    state.metrics.add('http_reqs', 1, tags);
    state.metrics.add('http_req_duration', 5, tags);
    state.metrics.add('http_req_failed', failed ? 1 : 0, tags);
    return {
      status: res.status,
      body: res.body,
      headers: (res as { headers?: Record<string, string> }).headers ?? {},
    };
  },
  check(value: unknown, sets: Record<string, (v: unknown) => boolean>, tags: Record<string, string> = {}) {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = Boolean(fn(value));
      const entry = state.checks.get(name) ?? { passes: 0, fails: 0 };
      if (ok) entry.passes++;
      else entry.fails++;
      state.checks.set(name, entry);
      state.metrics.add('checks', ok ? 1 : 0, { ...tags, check: name });
      all &&= ok;
    }
    return all;
  },
  metric(name: string, value: number | boolean, tags: Record<string, string> = {}) {
    state.metrics.add(name, Number(value), tags);
  },
  state,
};
(globalThis as Record<string, unknown>).__k6 = harness;
(globalThis as Record<string, unknown>).open = harness.open;
(globalThis as Record<string, unknown>).__ENV = env;

const SHIMS: Record<string, string> = {
  k6: `export const check = (...a) => globalThis.__k6.check(...a);
       export const sleep = () => { globalThis.__k6.state.sleeps++; };
       export default { check, sleep };`,
  'k6/http': `const expectedStatuses = (...statuses) => ({ expected: statuses });
       const request = (...a) => globalThis.__k6.request(...a);
       const file = (data, filename, contentType) => ({ data, filename, contentType });
       export default { request, file, expectedStatuses };`,
  'k6/crypto': `import { createHmac } from 'node:crypto';
       const hmac = (alg, secret, data, enc) => createHmac(alg, secret).update(data).digest(enc);
       export default { hmac };`,
  'k6/encoding': `const b64decode = (s) => { const b = Buffer.from(s, 'base64'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); };
       export default { b64decode };`,
  'k6/metrics': `class Metric { constructor(name) { this.name = name; } add(v, tags) { globalThis.__k6.metric(this.name, v, tags); } }
       export class Rate extends Metric {} export class Trend extends Metric {} export class Counter extends Metric {}`,
  'k6/execution': `export default { get scenario() { return globalThis.__k6.state.scenario; }, get vu() { return globalThis.__k6.state.vu; } };`,
};

const imported = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (context.parentURL?.includes('/load/')) imported.add(specifier);
    if (specifier in SHIMS) {
      return { url: `data:text/javascript,${encodeURIComponent(SHIMS[specifier])}`, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});

const mod = await import(scriptPath);
const report: Record<string, unknown> = { options: mod.options, exports: Object.keys(mod).sort() };

const setupData = mod.setup();
report.setupData = setupData;
const runScenario = (name: string, fn: (data: unknown) => void, times: number) => {
  state.scenario = { name, startTime: Date.now(), iterationInTest: 0 };
  for (let i = 0; i < times; i++) {
    state.scenario.iterationInTest = i;
    fn(setupData);
  }
};

if (script === 'easymo') {
  for (const [name, scenario] of Object.entries(mod.options.scenarios as Record<string, { exec: string }>)) {
    runScenario(name, mod[scenario.exec], scenario.exec === 'closedModel' ? 30 : 1);
  }
} else {
  runScenario(env.SERVICE ?? 'voice-bridge', mod.openModel, 40);
}

const data = {
  metrics: state.metrics.toK6Metrics(mod.options.thresholds, 60_000),
  root_group: {
    name: '',
    path: '',
    checks: [...state.checks].map(([name, c]) => ({ name, ...c })),
    groups: [],
  },
  state: { testRunDurationMs: 60_000 },
};
const summaryOutput = mod.handleSummary(data) as Record<string, string>;
report.summaryFiles = Object.keys(summaryOutput).sort();
report.stdout = summaryOutput.stdout;
const summaryKey = Object.keys(summaryOutput).find((k) => k.endsWith('.json'));
report.summary = summaryKey ? JSON.parse(summaryOutput[summaryKey]) : null;
report.reportHtmlBytes = Object.entries(summaryOutput).find(([k]) => k.endsWith('.html'))?.[1].length ?? 0;
report.requests = state.requests;
report.checks = Object.fromEntries(state.checks);
report.sleeps = state.sleeps;
report.imported = [...imported].sort();
process.stdout.write(JSON.stringify(report));
