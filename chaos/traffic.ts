import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { LOAD_DEFAULTS } from '../load/common/config.js';
import { nodeSigner } from '../load/runner/flow-driver.ts';
import type { LoadRequest } from '../load/scenarios/flows.js';
import {
  assetUploadRequest,
  voiceStatusRequest,
  whatsappWebhookRequest,
} from '../load/scenarios/requests.js';

/** What one request got: its HTTP status, or `error` (refused, reset, timed out). */
export interface Outcome {
  /** What identifies the thing it delivered (a wamid, a CallSid, an asset id once known). */
  key: string;
  status: number | 'error';
  body: string;
}

export const is2xx = (o: Outcome) => typeof o.status === 'number' && o.status >= 200 && o.status < 300;
export const is5xx = (o: Outcome) => typeof o.status === 'number' && o.status >= 500;

/** Sends one load request (the load kit's builders: signed as Meta and Twilio sign). */
export async function send(
  baseUrl: string,
  request: LoadRequest,
  key: string,
  timeoutMs = 10_000,
): Promise<Outcome> {
  let body: BodyInit | undefined = request.body;
  const headers = { ...request.headers };
  if (request.multipart) {
    const form = new FormData();
    const bytes = Buffer.from(request.multipart.base64, 'base64');
    form.append(
      request.multipart.field,
      new Blob([bytes], { type: request.multipart.contentType }),
      request.multipart.filename,
    );
    body = form;
  }
  try {
    const res = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { key, status: res.status, body: await res.text() };
  } catch (error) {
    return { key, status: 'error', body: (error as Error).message };
  }
}

export const uid = () => randomBytes(8).toString('hex');

/** A signed WhatsApp delivery of one inbound text; its key is the message's wamid. */
export function whatsappDelivery(id = uid()): { request: LoadRequest; key: string } {
  const request = whatsappWebhookRequest({
    appSecret: LOAD_DEFAULTS.WHATSAPP_APP_SECRET,
    phoneNumberId: LOAD_DEFAULTS.WHATSAPP_PHONE_NUMBER_ID,
    displayPhoneNumber: LOAD_DEFAULTS.WHATSAPP_DISPLAY_PHONE_NUMBER,
    sign: nodeSigner,
    random: Math.random,
    now: Date.now,
    uid: id,
  });
  return { request, key: `wamid.load.${id}` };
}

/** A signed Twilio status callback for a CallSid of its own; its key is the CallSid. */
export function voiceStatusCallback(publicUrl: string, callSid = `CA${uid()}${uid()}`) {
  const request = voiceStatusRequest({
    publicUrl,
    authToken: LOAD_DEFAULTS.TWILIO_AUTH_TOKEN,
    accountSid: LOAD_DEFAULTS.TWILIO_ACCOUNT_SID,
    callSid,
    sign: nodeSigner,
    random: Math.random,
    now: Date.now,
  });
  return { request, key: callSid };
}

/** A small PNG upload to the video API; its key is the asset id the 201 names. */
export function assetUpload(): { request: LoadRequest; key: string } {
  return { request: assetUploadRequest({ apiKey: LOAD_DEFAULTS.VIDEO_API_KEY }), key: '' };
}

/**
 * Fires `fire(i)` `perSecond` times a second for `durationMs` (an open model: a slow answer does not slow
 * the arrivals), at most `maxInFlight` at once (arrivals past it are counted as skipped), and returns every
 * outcome once all have settled.
 */
export async function atRate<T>(
  options: { perSecond: number; durationMs: number; maxInFlight?: number },
  fire: (i: number) => Promise<T>,
): Promise<{ results: T[]; skipped: number }> {
  const interval = 1000 / options.perSecond;
  const maxInFlight = options.maxInFlight ?? 200;
  const started = Date.now();
  const pending: Promise<void>[] = [];
  const results: T[] = [];
  let inFlight = 0;
  let skipped = 0;
  for (let i = 0; ; i++) {
    const due = started + i * interval;
    if (due - started >= options.durationMs) break;
    const wait = due - Date.now();
    if (wait > 0) await delay(wait);
    if (inFlight >= maxInFlight) {
      skipped++;
      continue;
    }
    inFlight++;
    pending.push(
      fire(i).then((result) => {
        inFlight--;
        results.push(result);
      }),
    );
  }
  await Promise.all(pending);
  return { results, skipped };
}

/** Polls `probe` until it returns a value, or gives up after `timeoutMs` (null). */
export async function waitUntil<T>(
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value as T;
    if (Date.now() > deadline) return null;
    await delay(intervalMs);
  }
}

/** Counts outcomes by status, for the figures. */
export function statusCounts(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
  return counts;
}

/** The first few distinct failure messages (refused, reset, timed out; or a 5xx's body), for the figures. */
export function failureSamples(outcomes: Outcome[], max = 3): string[] {
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (o.status !== 'error' && (o.status as number) < 500) continue;
    seen.add(`${o.status}: ${o.body.slice(0, 160)}`);
    if (seen.size >= max) break;
  }
  return [...seen];
}
