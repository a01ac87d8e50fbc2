import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiSandbox,
  type GraphApiSandbox,
} from '../../../../sandbox/whatsapp/graph-api-sandbox.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import {
  APP_SECRET,
  type Harness,
  inboundEnvelope,
  postWebhook,
  startFakeGraph,
  startHarness,
  waitFor,
} from './harness.ts';

interface AgentCall {
  from: string;
  text: string;
  messageId: string;
  type: string;
  replyId: string | null;
  contactName: string | null;
}

async function startAgent() {
  const calls: AgentCall[] = [];
  let failures = 0;
  const app = new Hono();
  app.post('/agent', async (c) => {
    const body = (await c.req.json()) as AgentCall;
    calls.push(body);
    if (body.text === 'flaky' && failures++ === 0) return c.json({ error: 'busy' }, 503);
    if (body.text === 'silent') return c.json({});
    return c.json({ reply: `You said: ${body.text}` });
  });
  const server = await listen(app);
  return { url: `${server.url}/agent`, calls, close: () => server.close() };
}

describe('agent hook', () => {
  let graph: Awaited<ReturnType<typeof startFakeGraph>>;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let h: Harness;

  beforeAll(async () => {
    graph = await startFakeGraph();
    agent = await startAgent();
    h = await startHarness({ workers: true, env: { GRAPH_API_URL: graph.url, AGENT_URL: agent.url } });
  });
  afterAll(async () => {
    await h?.close();
    await agent?.close();
    await graph?.close();
  });

  /** Messages sent (read receipts are Graph calls too, without a recipient). */
  const sends = () => graph.calls.filter((c) => c.body.to !== undefined);

  const agentState = async (wamid: string) =>
    (
      await h.db.query<{ agent_state: string }>(
        'select agent_state from whatsapp_inbound_messages where wamid = $1',
        [wamid],
      )
    )[0]?.agent_state;

  it('hands a stored text message to the agent from the queue and sends its reply', async () => {
    const res = await postWebhook(
      h.url,
      inboundEnvelope({ id: 'wamid.A1', type: 'text', text: { body: 'hi' } }),
    );
    expect(res.status).toBe(200);
    await waitFor(
      () => sends().length,
      (n) => n >= 1,
    );
    // Marked read with a typing indicator before the agent is asked, then the reply.
    expect(graph.calls[0].body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.A1',
      typing_indicator: { type: 'text' },
    });
    expect(agent.calls[0]).toMatchObject({
      from: '+250788000001',
      text: 'hi',
      messageId: 'wamid.A1',
      type: 'text',
      contactName: 'Ana',
    });
    expect(sends()[0].body).toMatchObject({
      to: '+250788000001',
      type: 'text',
      text: { body: 'You said: hi' },
    });
    expect(await agentState('wamid.A1')).toBe('done');
    const reply = await waitFor(
      async () =>
        (
          await h.db.query<{ status: string }>(
            `select o.status from whatsapp_outbound_messages o
               join whatsapp_inbound_messages i on i.id = o.reply_to_inbound_id where i.wamid = 'wamid.A1'`,
          )
        )[0],
      (r) => r?.status === 'sent',
    );
    expect(reply.status).toBe('sent');
  });

  it('passes interactive choices with their id, and answers a duplicate delivery once', async () => {
    const body = inboundEnvelope({
      id: 'wamid.A2',
      type: 'interactive',
      interactive: { type: 'list_reply', list_reply: { id: 'moto', title: 'Moto' } },
    });
    expect((await postWebhook(h.url, body)).status).toBe(200);
    expect((await postWebhook(h.url, body)).status).toBe(200);
    await waitFor(
      () => agentState('wamid.A2'),
      (s) => s === 'done',
    );
    await new Promise((r) => setTimeout(r, 300));
    const calls = agent.calls.filter((c) => c.messageId === 'wamid.A2');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ text: 'Moto', replyId: 'moto', type: 'interactive' });
  });

  it('sends nothing when the agent has no reply, retries when it fails', async () => {
    const sentBefore = sends().length;
    await postWebhook(h.url, inboundEnvelope({ id: 'wamid.A3', type: 'text', text: { body: 'silent' } }));
    await waitFor(
      () => agentState('wamid.A3'),
      (s) => s === 'done',
    );
    expect(sends().length).toBe(sentBefore);

    await postWebhook(h.url, inboundEnvelope({ id: 'wamid.A4', type: 'text', text: { body: 'flaky' } }));
    await waitFor(
      () => agentState('wamid.A4'),
      (s) => s === 'done',
      20_000,
    );
    expect(agent.calls.filter((c) => c.messageId === 'wamid.A4')).toHaveLength(2);
    const replies = () =>
      graph.calls.filter((c) => (c.body.text as { body: string })?.body === 'You said: flaky');
    await waitFor(
      () => replies().length,
      (n) => n >= 1,
    );
    expect(replies()).toHaveLength(1);
  });

  it('does not hand media, reactions or statuses to the agent', async () => {
    await postWebhook(
      h.url,
      inboundEnvelope({ id: 'wamid.A5', type: 'image', image: { id: '1001', mime_type: 'image/png' } }),
    );
    await postWebhook(
      h.url,
      inboundEnvelope({ id: 'wamid.A6', type: 'reaction', reaction: { message_id: 'x', emoji: '🔥' } }),
    );
    expect(await agentState('wamid.A5')).toBe('none');
    expect(await agentState('wamid.A6')).toBe('none');
  });
});

describe('media download', () => {
  let sandbox: GraphApiSandbox;
  let sandboxServer: TestServer;
  let h: Harness;
  const dir = join(tmpdir(), `whatsapp-media-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    sandbox = createGraphApiSandbox({
      webhookUrl: () => `${h.url}/webhook`,
      appSecret: APP_SECRET,
      statusCallbacks: false,
    });
    sandboxServer = await listen(sandbox);
    h = await startHarness({
      workers: true,
      env: { GRAPH_API_URL: sandboxServer.url, WHATSAPP_MEDIA_DOWNLOAD: 'true', WHATSAPP_MEDIA_DIR: dir },
    });
  });
  afterAll(async () => {
    await h?.close();
    sandbox?.close();
    await sandboxServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads an inbound image after the 200, from the queue', async () => {
    const res = await postWebhook(
      h.url,
      inboundEnvelope({
        id: 'wamid.M1',
        type: 'image',
        image: { id: '778899', mime_type: 'image/jpeg', sha256: 'abc' },
      }),
    );
    expect(res.status).toBe(200);
    const row = await waitFor(
      async () =>
        (
          await h.db.query<{ media_state: string; media_path: string | null; media_size: number | null }>(
            'select media_state, media_path, media_size from whatsapp_inbound_messages where wamid = $1',
            ['wamid.M1'],
          )
        )[0],
      (r) => r?.media_state === 'done',
    );
    expect(row.media_state).toBe('done');
    expect(row.media_path && existsSync(row.media_path)).toBe(true);
    expect(readFileSync(row.media_path!, 'utf8')).toBe('sandbox media 778899\n');
    expect(row.media_size).toBe('sandbox media 778899\n'.length);
  });

  it("downloads nothing for a media id outside Meta's alphabet, and writes nothing outside the media directory", async () => {
    const hostile = ['../../escape', '/tmp/escape', '%2e%2e%2fescape', '..%2F..%2Fescape'];
    for (const [i, id] of hostile.entries()) {
      const res = await postWebhook(
        h.url,
        inboundEnvelope({ id: `wamid.H${i}`, type: 'image', image: { id, mime_type: 'image/jpeg' } }),
      );
      expect(res.status).toBe(200);
    }
    const rows = await h.db.query<{
      media_state: string;
      media_id: string | null;
      media_path: string | null;
    }>("select media_state, media_id, media_path from whatsapp_inbound_messages where wamid like 'wamid.H%'");
    expect(rows).toHaveLength(hostile.length);
    for (const row of rows) expect(row).toEqual({ media_state: 'none', media_id: null, media_path: null });
    expect(existsSync(join(dir, '..', 'escape'))).toBe(false);
    expect(existsSync('/tmp/escape')).toBe(false);
  });

  it('fails a stored download whose id would leave the directory, without calling the Graph API', async () => {
    // A row stored before ids were checked: the downloader refuses it on its own.
    await postWebhook(
      h.url,
      inboundEnvelope({ id: 'wamid.OLD', type: 'image', image: { id: '4242', mime_type: 'image/jpeg' } }),
    );
    await waitFor(
      async () =>
        (
          await h.db.query<{ media_state: string }>(
            "select media_state from whatsapp_inbound_messages where wamid = 'wamid.OLD'",
          )
        )[0],
      (r) => r?.media_state === 'done',
    );
    const [row] = await h.db.query<{ id: string }>(
      "update whatsapp_inbound_messages set media_id = '../../old-escape', media_state = 'pending' where wamid = 'wamid.OLD' returning id",
    );
    await h.components.downloadInboundMedia!(row.id, { lastAttempt: false });
    const [after] = await h.db.query<{ media_state: string; media_error: string }>(
      'select media_state, media_error from whatsapp_inbound_messages where id = $1',
      [row.id],
    );
    expect(after).toEqual({
      media_state: 'failed',
      media_error: 'media id is not a Meta media id (digits only)',
    });
    expect(existsSync(join(dir, '..', '..', 'old-escape'))).toBe(false);
  });
});
