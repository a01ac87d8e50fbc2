import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import {
  assetUpload,
  atRate,
  failureSamples,
  is2xx,
  is5xx,
  type Outcome,
  send,
  statusCounts,
  voiceStatusCallback,
  waitUntil,
  whatsappDelivery,
} from '../traffic.ts';

const OUTAGE_MS = 4000;
const READY_WITHIN_MS = 30_000;

/**
 * PostgreSQL stopped (as a crash: `-m immediate`) for 4 s while signed webhooks (WhatsApp, Twilio) and
 * uploads (video) arrive: every 2xx must be stored, no process may exit, and every /ready must answer 200
 * again within 30 s of the database's return.
 */
export const postgresOutage: Scenario = {
  name: 'postgres-outage',
  async run(ctx: ChaosContext) {
    const { urls } = ctx;
    const durationMs = 14_000;
    const traffic = Promise.all([
      atRate({ perSecond: 25, durationMs }, () => {
        const d = whatsappDelivery();
        return send(urls['whatsapp-webhook'], d.request, d.key);
      }),
      atRate({ perSecond: 25, durationMs }, () => {
        const d = voiceStatusCallback(urls['voice-bridge']);
        return send(urls['voice-bridge'], d.request, d.key);
      }),
      atRate({ perSecond: 4, durationMs }, async () => {
        const d = assetUpload();
        const outcome = await send(urls['video-orchestrator'], d.request, '');
        const id = is2xx(outcome) ? (JSON.parse(outcome.body) as { id: string }).id : '';
        return { ...outcome, key: id };
      }),
    ]);
    await delay(4000);
    ctx.log(`stopping PostgreSQL for ${OUTAGE_MS} ms`);
    await ctx.postgres.stop();
    await delay(OUTAGE_MS);
    await ctx.postgres.start();
    const backAt = Date.now();
    ctx.log('PostgreSQL is back');
    const [whatsapp, voice, video] = await traffic;

    const readyAfterMs: Record<string, number | null> = {};
    await Promise.all(
      (['whatsapp-webhook', 'voice-bridge', 'video-orchestrator'] as const).map(async (service) => {
        const ok = await waitUntil(async () => {
          const res = await fetch(`${urls[service]}/ready`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          return res.status === 200;
        }, READY_WITHIN_MS + 5000);
        readyAfterMs[service] = ok ? Date.now() - backAt : null;
      }),
    );

    // Every 2xx is stored: look each one up in the database.
    const sql = postgres(ctx.system.databaseUrl, { max: 1, onnotice: () => {} });
    const missing = async (outcomes: Outcome[], query: (keys: string[]) => Promise<{ key: string }[]>) => {
      const keys = outcomes.filter(is2xx).map((o) => o.key);
      const found = new Set((await query(keys)).map((r) => r.key));
      return keys.filter((k) => !found.has(k)).length;
    };
    let lost: Record<string, number>;
    try {
      lost = {
        'whatsapp-webhook': await missing(
          whatsapp.results,
          (keys) => sql`select wamid as key from whatsapp_inbound_messages where wamid = any(${keys})`,
        ),
        'voice-bridge': await missing(
          voice.results,
          (keys) =>
            sql`select distinct provider_call_sid as key from voice_call_events where provider_call_sid = any(${keys})`,
        ),
        'video-orchestrator': await missing(
          video.results,
          (keys) => sql`select id::text as key from video_assets where id = any(${keys}::uuid[])`,
        ),
      };
    } finally {
      await sql.end({ timeout: 5 });
    }
    const exited = ctx.system.processes.filter(
      (p) => p.child.exitCode !== null || p.child.signalCode !== null,
    );
    const all = { whatsapp: whatsapp.results, voice: voice.results, video: video.results };
    const checks: Record<string, boolean> = {
      'every 2xx stored': Object.values(lost).every((n) => n === 0),
      'no process exited': exited.length === 0,
      'every /ready 200 within 30 s': Object.values(readyAfterMs).every(
        (ms) => ms !== null && ms <= READY_WITHIN_MS,
      ),
      'requests were accepted before and after the outage': Object.values(all).every(
        (outcomes) => outcomes.filter(is2xx).length > 0,
      ),
    };
    return {
      checks,
      figures: {
        outageMs: OUTAGE_MS,
        readyAfterMs,
        lost,
        exited: exited.map((p) => p.spec.name),
        statuses: {
          'whatsapp-webhook': statusCounts(whatsapp.results),
          'voice-bridge': statusCounts(voice.results),
          'video-orchestrator': statusCounts(video.results),
        },
        fiveHundreds: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.filter(is5xx).length])),
        skipped: { whatsapp: whatsapp.skipped, voice: voice.skipped, video: video.skipped },
        failures: {
          'whatsapp-webhook': failureSamples(whatsapp.results),
          'voice-bridge': failureSamples(voice.results),
          'video-orchestrator': failureSamples(video.results),
        },
      },
    };
  },
};
