// @ts-check
// Drives the shared flows (load/scenarios/flows.js) with k6's synchronous HTTP client. Only k6
// modules and standard JavaScript: runs under `k6 run` as is.
import { check, sleep } from 'k6';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';

/** The seed's custom error rate: one sample per checked response, true when any check failed. */
export const errors = new Rate('errors');

const customMetrics = {
  render_processing_duration: new Trend('render_processing_duration', true),
  renders_completed: new Counter('renders_completed'),
  renders_submitted: new Counter('renders_submitted'),
};

/** Meta and Twilio signatures with k6/crypto (the Node runner uses node:crypto for the same). */
export const k6Signer = {
  hmacSha256Hex: (/** @type {string} */ secret, /** @type {string} */ data) =>
    /** @type {string} */ (crypto.hmac('sha256', secret, data, 'hex')),
  hmacSha1Base64: (/** @type {string} */ secret, /** @type {string} */ data) =>
    /** @type {string} */ (crypto.hmac('sha1', secret, data, 'base64')),
};

/** @type {Record<string, any>} */
const expectedCallbacks = {};

/** @param {number[]} statuses */
function expectedStatuses(statuses) {
  const key = statuses.join(',');
  if (!expectedCallbacks[key]) expectedCallbacks[key] = http.expectedStatuses(...statuses);
  return expectedCallbacks[key];
}

/**
 * @param {any} req a request from load/scenarios/requests.js
 * @param {Record<string, string>} baseUrls
 * @param {Record<string, string>} tags
 * @param {string} timeout
 */
function send(req, baseUrls, tags, timeout) {
  const allTags = Object.assign({}, tags, { service: req.service, name: req.name });
  /** @type {any} */
  let body = req.body ?? null;
  if (req.multipart) {
    const bytes = encoding.b64decode(req.multipart.base64, 'std');
    body = { [req.multipart.field]: http.file(bytes, req.multipart.filename, req.multipart.contentType) };
  }
  const res = http.request(req.method, baseUrls[req.service] + req.path, body, {
    headers: req.headers ?? {},
    tags: allTags,
    timeout,
    responseCallback: expectedStatuses(req.expected),
  });
  if (req.checks) errors.add(!check(res, req.checks, allTags), allTags);
  return res;
}

/**
 * Runs a flow generator to its end: each yielded operation is executed and its result sent back.
 * `tags` is read per operation so a request carries the stage it was sent in.
 *
 * @param {Generator<any, any, any>} flow
 * @param {{ baseUrls: Record<string, string>, tags: () => Record<string, string>, timeout: string }} env
 */
export function runFlow(flow, env) {
  let step = flow.next();
  while (!step.done) {
    const op = step.value;
    /** @type {any} */
    let result;
    if (op.op === 'http') {
      result = send(op.request, env.baseUrls, env.tags(), env.timeout);
    } else if (op.op === 'sleep') {
      sleep(op.seconds);
    } else if (op.op === 'metric') {
      /** @type {any} */ (customMetrics)[op.name].add(op.value, env.tags());
    } else if (op.op === 'check') {
      const tags = env.tags();
      errors.add(!check(null, { [op.name]: () => op.ok }, tags), tags);
    }
    step = flow.next(result);
  }
  return step.value;
}

/**
 * `check` results in `data.root_group` (and nested groups) as { name, passes, fails }.
 *
 * @param {any} group
 * @returns {{ name: string, passes: number, fails: number }[]}
 */
export function collectChecks(group) {
  if (!group) return [];
  const own = (group.checks ?? []).map((/** @type {any} */ c) => ({
    name: c.name,
    passes: c.passes,
    fails: c.fails,
  }));
  return own.concat(...(group.groups ?? []).map(collectChecks));
}
