// Plain ECMAScript shared by the k6 scripts and the Node runner. A flow is a generator that yields
// operations and receives their results, so one definition runs under k6's synchronous `http` and
// under the Node runner's async undici client alike:
//   { op: 'http', request }        → the response { status, body, headers }
//   { op: 'sleep', seconds }       → undefined
//   { op: 'metric', name, value }  → undefined (a custom Trend/Counter sample)
//   { op: 'check', name, ok }      → undefined (a check that is not about one response)
import {
  assetUploadRequest,
  headerOf,
  healthRequest,
  invalidOutboundCallRequest,
  jsonOf,
  outboundCallRequest,
  RENDER_DONE,
  RENDER_FAILED,
  randomMsisdn,
  renderStatusRequest,
  renderSubmitRequest,
  voiceStatusRequest,
  whatsappSendRequest,
  whatsappWebhookRequest,
} from './requests.js';

/** @param {any} request */
const http = (request) => ({ op: 'http', request });
/** @param {number} seconds */
const pause = (seconds) => ({ op: 'sleep', seconds });
/** @param {string} name @param {number} value */
const metric = (name, value) => ({ op: 'metric', name, value });
/** @param {string} name @param {boolean} ok */
const verdict = (name, ok) => ({ op: 'check', name, ok });

/**
 * The context a runner hands each flow.
 *
 * @typedef {object} FlowContext
 * @property {string} service
 * @property {Record<string, any>} params  the mix entry's or scenario's `params`
 * @property {Record<string, any>} data    what `setup` returned
 * @property {LoadConfig} config
 * @property {import('./requests.js').Signer} sign
 * @property {() => number} random
 * @property {() => number} now            epoch milliseconds
 * @property {string} uid                  unique per iteration across the run
 */

/**
 * Secrets and addresses the load signs and authenticates with; both runners read them from the same
 * environment variables (see load/README.md).
 *
 * @typedef {object} LoadConfig
 * @property {string} voicePublicUrl       VOICE_PUBLIC_URL: the URL voice-bridge believes Twilio calls
 * @property {string} twilioAuthToken
 * @property {string} twilioAccountSid
 * @property {string} voiceApiKey
 * @property {string} whatsappAppSecret
 * @property {string} whatsappApiKey
 * @property {string} whatsappPhoneNumberId
 * @property {string} whatsappDisplayPhoneNumber
 * @property {string} videoApiKey
 */

/** @type {Record<string, (ctx: FlowContext) => Generator<any, any, any>>} */
export const flows = {
  *health(ctx) {
    yield http(healthRequest(ctx.service));
  },

  *whatsappWebhook(ctx) {
    yield http(
      whatsappWebhookRequest({
        appSecret: ctx.config.whatsappAppSecret,
        phoneNumberId: ctx.config.whatsappPhoneNumberId,
        displayPhoneNumber: ctx.config.whatsappDisplayPhoneNumber,
        sign: ctx.sign,
        random: ctx.random,
        now: ctx.now,
        uid: ctx.uid,
      }),
    );
  },

  *whatsappSend(ctx) {
    yield http(whatsappSendRequest({ apiKey: ctx.config.whatsappApiKey, random: ctx.random }));
  },

  *voiceStatusCallback(ctx) {
    yield http(
      voiceStatusRequest({
        publicUrl: ctx.config.voicePublicUrl,
        authToken: ctx.config.twilioAuthToken,
        accountSid: ctx.config.twilioAccountSid,
        sign: ctx.sign,
        random: ctx.random,
        now: ctx.now,
      }),
    );
  },

  *outboundCall(ctx) {
    yield http(outboundCallRequest({ apiKey: ctx.config.voiceApiKey, to: randomMsisdn(ctx.random) }));
  },

  *outboundCallValidation(ctx) {
    yield http(invalidOutboundCallRequest({ apiKey: ctx.config.voiceApiKey }));
  },

  *renderStatus(ctx) {
    // Without a render from setup (no video service in this run) there is nothing to poll.
    if (!ctx.data.renderId) return yield* flows.health(ctx);
    yield http(renderStatusRequest({ apiKey: ctx.config.videoApiKey, renderId: ctx.data.renderId }));
  },

  /**
   * Submit a render, poll it to the end, and record how long processing took (the seed's
   * "p95 processing" figure) and that it completed (renders/s).
   */
  *renderLifecycle(ctx) {
    if (!ctx.data.assetId) return yield verdict('render completes', false);
    const pollSeconds = ctx.params.pollIntervalSeconds ?? 0.5;
    const timeoutMs = (ctx.params.timeoutSeconds ?? 60) * 1000;
    const submittedAt = ctx.now();
    const submitted = yield http(
      renderSubmitRequest({ apiKey: ctx.config.videoApiKey, assetId: ctx.data.assetId }),
    );
    const id = jsonOf(submitted)?.id;
    if (submitted.status !== 202 || typeof id !== 'string') return yield verdict('render completes', false);
    // Accepted and queued: the rate the seed's "31 renders/s" can honestly be compared with.
    yield metric('renders_submitted', 1);
    let status = 'queued';
    while (ctx.now() - submittedAt < timeoutMs) {
      yield pause(pollSeconds);
      const polled = yield http(renderStatusRequest({ apiKey: ctx.config.videoApiKey, renderId: id }));
      status = jsonOf(polled)?.status ?? status;
      if (RENDER_DONE.includes(status) || RENDER_FAILED.includes(status)) break;
    }
    const completed = RENDER_DONE.includes(status);
    if (completed) {
      yield metric('render_processing_duration', ctx.now() - submittedAt);
      yield metric('renders_completed', 1);
    }
    yield verdict('render completes', completed);
  },

  /**
   * Proves the limiter still protects the outbound route while the load runs under generous limits:
   * calls to one fresh destination are accepted until its per-destination policy is spent, then every
   * further call is refused with 429 and a Retry-After.
   */
  *outboundRateLimitProbe(ctx) {
    const to = ctx.params.to ?? randomMsisdn(ctx.random);
    const attempts = ctx.params.attempts ?? 8;
    /** @type {number[]} */
    const statuses = [];
    let retryAfterOnEvery429 = true;
    for (let i = 0; i < attempts; i++) {
      const res = yield http(
        outboundCallRequest({ apiKey: ctx.config.voiceApiKey, to, expected: [201, 429] }),
      );
      statuses.push(res.status);
      if (res.status === 429 && !headerOf(res, 'retry-after')) retryAfterOnEvery429 = false;
    }
    const first429 = statuses.indexOf(429);
    yield verdict('limiter accepts calls until the policy is spent', statuses[0] === 201);
    yield verdict('limiter rejects with 429 past the policy', first429 > 0);
    yield verdict(
      'limiter keeps rejecting once over the policy',
      first429 > 0 && statuses.slice(first429).every((s) => s === 429),
    );
    yield verdict('429 carries Retry-After', first429 > 0 && retryAfterOnEvery429);
  },
};

/**
 * Runs once before the scenarios: one asset to render and one render whose status the load polls.
 *
 * @param {Omit<FlowContext, 'data' | 'params'> & { services: string[] }} ctx
 * @returns {Generator<any, Record<string, any>, any>}
 */
export function* setup(ctx) {
  /** @type {Record<string, any>} */
  const data = {};
  if (!ctx.services.includes('video-orchestrator')) return data;
  const asset = yield http(assetUploadRequest({ apiKey: ctx.config.videoApiKey }));
  data.assetId = jsonOf(asset)?.id;
  if (!data.assetId) return data;
  const render = yield http(renderSubmitRequest({ apiKey: ctx.config.videoApiKey, assetId: data.assetId }));
  data.renderId = jsonOf(render)?.id;
  return data;
}
