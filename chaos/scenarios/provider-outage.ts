import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { LOAD_DEFAULTS } from '../../load/common/config.js';
import type { LoadRequest } from '../../load/scenarios/flows.js';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { is2xx, send, statusCounts, waitUntil } from '../traffic.ts';

const MESSAGES = 12;
const BREAKER = 'whatsapp-graph';

/**
 * The Graph API (sandbox) answering 500s, then hanging past our timeout, while messages are sent: the
 * breaker opens, the outbox keeps every message, and once the provider recovers each is sent exactly once.
 * (Twilio and the voice agent have no fault switch in the sandbox yet: not covered here.)
 */
export const providerOutage: Scenario = {
  name: 'provider-outage',
  async run(ctx: ChaosContext) {
    const { urls } = ctx;
    const fault = (mode: string) =>
      fetch(`${urls.sandbox}/sandbox/whatsapp/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode }),
      }).then((res) => res.body?.cancel());
    const breakerState = async () => {
      const res = await fetch(`${urls['whatsapp-webhook']}/health`);
      return ((await res.json()) as { breakers: Record<string, string> }).breakers[BREAKER];
    };
    const stamp = Date.now() % 1_000_000;
    const numbers = Array.from(
      { length: MESSAGES },
      (_, i) => `+2507${String(stamp * 100 + i).padStart(8, '0')}`,
    );
    const message = (to: string): LoadRequest => ({
      service: 'whatsapp-webhook',
      method: 'POST',
      path: '/messages',
      name: 'POST /messages',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${LOAD_DEFAULTS.WHATSAPP_API_KEY}`,
      },
      // A template: free text to someone who has not written first is refused (24-hour window).
      body: JSON.stringify({ to, type: 'template', template: { name: 'ride_update', language: 'en' } }),
      expected: [201, 202],
    });

    await fault('server-error');
    const accepted = [];
    for (const to of numbers.slice(0, MESSAGES / 2))
      accepted.push(await send(urls['whatsapp-webhook'], message(to), to));
    const opened = await waitUntil(async () => (await breakerState()) === 'open', 20_000);
    ctx.log(`breaker ${BREAKER} ${opened ? 'open' : 'never opened'}; provider now times out`);
    await fault('timeout');
    for (const to of numbers.slice(MESSAGES / 2))
      accepted.push(await send(urls['whatsapp-webhook'], message(to), to));
    await delay(3000);
    await fault('none');
    const recoveredAt = Date.now();

    // Every message reaches the provider once it answers again.
    const sentTo = async () => {
      const res = await fetch(`${urls.sandbox}/sandbox/whatsapp/messages`);
      const { messages } = (await res.json()) as { messages: { to: string }[] };
      return messages.map((m) => m.to).filter((to) => numbers.includes(to));
    };
    const allSent = await waitUntil(async () => (await sentTo()).length >= MESSAGES || null, 90_000, 250);
    const deliveredAfterMs = allSent ? Date.now() - recoveredAt : null;
    const sql = postgres(ctx.system.databaseUrl, { max: 1, onnotice: () => {} });
    let rows: { status: string; n: number }[];
    try {
      // Settled in our outbox too (statuses advance; nothing failed).
      await waitUntil(
        async () => {
          const [row] = await sql`select count(*)::int as n from whatsapp_outbound_messages
                                 where to_number = any(${numbers}) and status in ('sent','delivered','read')`;
          return row.n === MESSAGES;
        },
        30_000,
        250,
      );
      rows = [
        ...(await sql`select status, count(*)::int as n from whatsapp_outbound_messages
                              where to_number = any(${numbers}) group by status`),
      ] as never;
    } finally {
      await sql.end({ timeout: 5 });
    }
    const sends = await sentTo();
    const perNumber = numbers.map((to) => sends.filter((s) => s === to).length);
    const closed = await waitUntil(async () => (await breakerState()) === 'closed', 30_000, 250);
    return {
      checks: {
        'every message accepted while the provider failed': accepted.every(is2xx),
        'breaker opened': Boolean(opened),
        'each message sent exactly once after recovery': perNumber.every((n) => n === 1),
        'nothing failed in the outbox': rows.every((r) => r.status !== 'failed'),
        'breaker closed again': Boolean(closed),
      },
      figures: {
        messages: MESSAGES,
        accepted: statusCounts(accepted),
        deliveredAfterMs,
        sendsPerMessage: perNumber,
        outbox: Object.fromEntries(rows.map((r) => [r.status, r.n])),
      },
    };
  },
};
