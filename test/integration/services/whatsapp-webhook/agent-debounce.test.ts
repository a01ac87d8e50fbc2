import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../../../shared/queue/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import {
  type Harness,
  inboundEnvelope,
  postWebhook,
  startFakeGraph,
  startHarness,
  waitFor,
} from './harness.ts';

interface AgentCall {
  text: string;
  messageId: string;
  messages: { messageId: string; text: string }[];
}

/** An agent that holds its answer to "slow" until released, and answers everything else at once. */
async function startHoldingAgent() {
  const calls: AgentCall[] = [];
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const app = new Hono().post('/', async (c) => {
    const body = (await c.req.json()) as AgentCall;
    calls.push(body);
    if (body.text === 'slow') await released;
    return c.json({ reply: `reply to: ${body.text}` });
  });
  const server: TestServer = await listen(app);
  return { url: server.url, calls, release, close: () => server.close() };
}

describe('agent reply debounce: a newer message cancels a pending reply', () => {
  let graph: Awaited<ReturnType<typeof startFakeGraph>>;
  let agent: Awaited<ReturnType<typeof startHoldingAgent>>;
  let h: Harness;

  beforeAll(async () => {
    graph = await startFakeGraph();
    agent = await startHoldingAgent();
    h = await startHarness({
      workers: true,
      env: {
        GRAPH_API_URL: graph.url,
        AGENT_URL: agent.url,
        WHATSAPP_AGENT_DEBOUNCE_MS: '200',
        WHATSAPP_AGENT_MAX_WAIT_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    agent?.release();
    await h?.close();
    await agent?.close();
    await graph?.close();
  });

  it('drops the reply the agent was preparing and answers both messages once', async () => {
    const contact = { name: 'Uwase', waId: '250788800001' };
    const now = String(Math.floor(Date.now() / 1000));
    const inbound = (id: string, body: string) =>
      postWebhook(h.url, inboundEnvelope({ id, type: 'text', text: { body }, timestamp: now }, contact));

    expect((await inbound('wamid.D1', 'slow')).status).toBe(200);
    await waitFor(
      () => agent.calls.length,
      (n) => n >= 1,
    );
    // The contact writes again while the agent is still thinking about the first message.
    expect((await inbound('wamid.D2', 'and fast')).status).toBe(200);
    const states = () =>
      h.db
        .query<{ agent_state: string }>(
          `select agent_state from whatsapp_inbound_messages where wamid in ('wamid.D1', 'wamid.D2')`,
        )
        .then((rows) => rows.map((r) => r.agent_state));
    await waitFor(states, (s) => s.length === 2 && s.every((x) => x === 'done'));
    agent.release();

    const replies = () => graph.calls.filter((c) => c.body.to === '+250788800001' && c.body.type === 'text');
    await waitFor(replies, (list) => list.length >= 1);
    // The held call returns now; its reply must not go out.
    const firstJob = () =>
      h.queue.boss.getJobById('whatsapp-agent', jobIdFor('whatsapp-agent', 'wamid.D1')).then((j) => j?.state);
    expect(await waitFor(firstJob, (state) => state === 'completed')).toBe('completed');
    expect(agent.calls.map((c) => c.messages.map((m) => m.messageId))).toEqual([
      ['wamid.D1'],
      ['wamid.D1', 'wamid.D2'],
    ]);
    expect(replies().map((c) => (c.body.text as { body: string }).body)).toEqual([
      'reply to: slow\nand fast',
    ]);
  });
});
