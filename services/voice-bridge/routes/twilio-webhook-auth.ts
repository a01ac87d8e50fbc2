import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../shared/http/index.ts';
import { problem, readBodyText, requestHeader, requestLogger } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { parseTwilioForm, verifyTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';

export type TwilioForm = Record<string, string | string[]>;

export type VoiceEnv = AppEnv & {
  /** `mediaStreamId`: the stream slot a Media Streams upgrade claimed. */
  Variables: AppEnv['Variables'] & { twilioForm: TwilioForm; mediaStreamId?: string };
};

/** Path and query exactly as the request line carried them: Twilio signed these bytes, not a re-encoding. */
export function rawPathAndQuery(requestUrl: string): string {
  const afterScheme = requestUrl.indexOf('://');
  const slash = requestUrl.indexOf('/', afterScheme === -1 ? 0 : afterScheme + 3);
  return slash === -1 ? '/' : requestUrl.slice(slash);
}

/**
 * The URL Twilio requested: our public base (a proxy changes host and scheme, so never the Host header)
 * plus the path and query we received. When the app is mounted under a prefix the public base already
 * carries (the edge serves it under `/voice-bridge`), only the app's own path (`routedPath`) is appended.
 * `ws: true` gives the `ws(s)://` form Media Streams sign.
 */
export function publicUrlOf(publicBase: string, requestUrl: string, routedPath?: string, ws = false): string {
  let base = publicBase.replace(/\/+$/, '');
  if (ws) base = base.replace(/^http/i, 'ws');
  const raw = rawPathAndQuery(requestUrl);
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = queryAt === -1 ? '' : raw.slice(queryAt);
  const mounted = routedPath && path !== routedPath && path.endsWith(routedPath);
  return base + (mounted ? routedPath : path) + query;
}

export interface TwilioWebhookAuthOptions {
  authToken: string;
  publicUrl: string;
  metrics: Pick<ServiceMetrics, 'webhookSignatureFailures'>;
  /** Media Streams upgrades: signed over the `wss://` URL with no parameters. */
  websocket?: boolean;
}

function forbidden(c: Context, options: TwilioWebhookAuthOptions, detail: string): Response {
  options.metrics.webhookSignatureFailures.inc({ provider: 'twilio' });
  requestLogger(c).warn({ path: c.req.path }, 'twilio webhook refused: bad signature');
  return problem(c, { status: 403, title: 'Forbidden', detail });
}

/**
 * Verifies `X-Twilio-Signature` before anything else runs, and leaves the parsed form in
 * `c.get('twilioForm')`. Missing or wrong → 403 problem+json, nothing stored.
 *
 * @example
 * app.post('/webhooks/voice/status', twilioWebhookAuth({ authToken, publicUrl, metrics }), handler);
 */
export function twilioWebhookAuth(options: TwilioWebhookAuthOptions): MiddlewareHandler<VoiceEnv> {
  return async function twilioWebhookAuthMiddleware(c, next) {
    const signature = requestHeader(c, 'x-twilio-signature');
    if (!signature) return forbidden(c, options, 'missing X-Twilio-Signature');
    const url = publicUrlOf(options.publicUrl, c.req.url, c.req.path, options.websocket);
    let form: TwilioForm = {};
    if (!options.websocket && c.req.method === 'POST') {
      const type = requestHeader(c, 'content-type') ?? '';
      // Twilio's voice webhooks are always form posts; anything else cannot carry a valid signature here.
      if (!type.startsWith('application/x-www-form-urlencoded')) {
        return forbidden(c, options, 'expected a form-encoded Twilio webhook');
      }
      form = parseTwilioForm(await readBodyText(c));
    }
    if (!verifyTwilioSignature({ authToken: options.authToken, url, params: form, signature })) {
      return forbidden(c, options, 'X-Twilio-Signature does not match');
    }
    c.set('twilioForm', form);
    await next();
  };
}
