import postgres from 'postgres';
import { LOAD_DEFAULTS } from '../../load/common/config.js';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from '../../load/runner/system.ts';
import { renderSubmitRequest } from '../../load/scenarios/requests.js';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import {
  assetUpload,
  is2xx,
  type Outcome,
  send,
  statusCounts,
  uid,
  voiceStatusCallback,
  whatsappDelivery,
} from '../traffic.ts';

const DELIVERIES = 100;
const RENDERS = 3;

/** A second process of a service on the same database (same public URL, as behind a load balancer). */
async function secondInstance(
  ctx: ChaosContext,
  service: string,
): Promise<{ proc: RunningProcess; url: string }> {
  const first = ctx.system.processes.find((p) => p.spec.name === service);
  if (!first) throw new Error(`${service} is not running`);
  const port = await freePort();
  const portVar = {
    'whatsapp-webhook': 'WHATSAPP_PORT',
    'voice-bridge': 'VOICE_PORT',
    'video-orchestrator': 'VIDEO_PORT',
  }[service] as string;
  const spec = {
    ...first.spec,
    name: `${service}-2`,
    env: { ...first.spec.env, PORT: String(port), [portVar]: String(port) },
    healthUrl: `http://127.0.0.1:${port}/health`,
  };
  const proc = await startProcess(spec, ctx.logDir);
  await waitForHealth(proc, spec.healthUrl, 60_000);
  return { proc, url: `http://127.0.0.1:${port}` };
}

/**
 * Two instances of each service on one database; every delivery sent to both at once (WhatsApp webhooks,
 * Twilio status callbacks, render requests with one Idempotency-Key): each is stored once, both answer 2xx.
 */
export const twoInstances: Scenario = {
  name: 'two-instances',
  async run(ctx: ChaosContext) {
    const second: RunningProcess[] = [];
    try {
      const whatsapp2 = await secondInstance(ctx, 'whatsapp-webhook');
      second.push(whatsapp2.proc);
      const voice2 = await secondInstance(ctx, 'voice-bridge');
      second.push(voice2.proc);
      const video2 = await secondInstance(ctx, 'video-orchestrator');
      second.push(video2.proc);
      const both = async (
        urls: string[],
        make: () => { request: Parameters<typeof send>[1]; key: string },
      ) => {
        const d = make();
        return Promise.all(urls.map((url) => send(url, d.request, d.key)));
      };

      const whatsappOutcomes: Outcome[][] = [];
      const voiceOutcomes: Outcome[][] = [];
      for (let i = 0; i < DELIVERIES; i++) {
        const [w, v] = await Promise.all([
          both([ctx.urls['whatsapp-webhook'], whatsapp2.url], () => whatsappDelivery()),
          both([ctx.urls['voice-bridge'], voice2.url], () => voiceStatusCallback(ctx.urls['voice-bridge'])),
        ]);
        whatsappOutcomes.push(w);
        voiceOutcomes.push(v);
      }
      const upload = await send(ctx.urls['video-orchestrator'], assetUpload().request, '');
      const assetId = (JSON.parse(upload.body) as { id: string }).id;
      const renderOutcomes: Outcome[][] = [];
      for (let i = 0; i < RENDERS; i++) {
        const key = `chaos-${uid()}`;
        const request = renderSubmitRequest({ apiKey: LOAD_DEFAULTS.VIDEO_API_KEY, assetId });
        request.headers = { ...request.headers, 'Idempotency-Key': key };
        renderOutcomes.push(
          await Promise.all(
            [ctx.urls['video-orchestrator'], video2.url].map((url) => send(url, request, key)),
          ),
        );
      }

      const sql = postgres(ctx.system.databaseUrl, { max: 1, onnotice: () => {} });
      let stored: { whatsapp: number; voice: number; renders: number };
      try {
        const wamids = whatsappOutcomes.map((pair) => pair[0].key);
        const sids = voiceOutcomes.map((pair) => pair[0].key);
        const keys = renderOutcomes.map((pair) => pair[0].key);
        const [w] =
          await sql`select count(*)::int as n from whatsapp_inbound_messages where wamid = any(${wamids})`;
        const [v] =
          await sql`select count(*)::int as n from voice_call_events where provider_call_sid = any(${sids})`;
        const [r] =
          await sql`select count(*)::int as n from video_renders where idempotency_key = any(${keys})`;
        stored = { whatsapp: w.n, voice: v.n, renders: r.n };
      } finally {
        await sql.end({ timeout: 5 });
      }
      const sameRender = renderOutcomes.every(
        ([a, b]) =>
          is2xx(a) &&
          is2xx(b) &&
          (JSON.parse(a.body) as { id: string }).id === (JSON.parse(b.body) as { id: string }).id,
      );
      return {
        checks: {
          'both instances answered 2xx to every delivery': [...whatsappOutcomes, ...voiceOutcomes]
            .flat()
            .every(is2xx),
          'each WhatsApp delivery stored once': stored.whatsapp === DELIVERIES,
          'each status callback stored once': stored.voice === DELIVERIES,
          'each render request stored once, both answers name it': stored.renders === RENDERS && sameRender,
        },
        figures: {
          deliveries: DELIVERIES,
          renders: RENDERS,
          stored,
          statuses: {
            'whatsapp-webhook': statusCounts(whatsappOutcomes.flat()),
            'voice-bridge': statusCounts(voiceOutcomes.flat()),
            'video-orchestrator': statusCounts(renderOutcomes.flat()),
          },
        },
      };
    } finally {
      await Promise.all(second.map((proc) => stopProcess(proc, 10_000)));
    }
  },
};
