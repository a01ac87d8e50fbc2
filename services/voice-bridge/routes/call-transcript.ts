import type { Hono } from 'hono';
import { parseInput, problem, requireBearer } from '../../../shared/http/index.ts';
import { CallIdParams, TranscriptQuery } from '../schemas.ts';
import type { VoiceStore } from '../store.ts';
import { segmentView, toWebVtt } from '../transcript-format.ts';
import type { VoiceEnv } from './twilio-webhook-auth.ts';

export interface CallTranscriptOptions {
  store: VoiceStore;
  apiKey: string;
}

/**
 * GET /calls/:id/transcript: the finalised segments in call-time order, as JSON or as WebVTT
 * (`?format=vtt` or `Accept: text/vtt`). Agent segments hold only what the caller heard.
 */
export function mountCallTranscript(app: Hono<VoiceEnv>, options: CallTranscriptOptions): void {
  app.get('/calls/:id/transcript', requireBearer(options.apiKey), async (c) => {
    const { id } = parseInput(CallIdParams, c.req.param(), 'params');
    const { format } = parseInput(TranscriptQuery, c.req.query(), 'query');
    const call = await options.store.getCall(id);
    if (!call) return problem(c, { status: 404, title: 'Not Found', detail: `no call ${id}` });
    const turns = await options.store.listTranscript(id);
    const vtt = format === 'vtt' || (!format && (c.req.header('accept') ?? '').includes('text/vtt'));
    if (vtt) return c.body(toWebVtt(turns), 200, { 'content-type': 'text/vtt; charset=utf-8' });
    return c.json({ callId: id, segments: turns.map(segmentView) });
  });
}
