import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiSandbox,
  type GraphApiSandbox,
} from '../../../../sandbox/whatsapp/graph-api-sandbox.ts';
import {
  API_KEY,
  APP_SECRET,
  type Harness,
  startHarness,
  waitFor,
} from '../../../integration/services/whatsapp-webhook/harness.ts';
import { listen, type TestServer } from '../../../support/http.ts';

interface Message {
  id: string;
  status: string;
  wamid: string | null;
  error: { code: number | null } | null;
  history: { status: string; source: string }[];
}

/**
 * The whole loop over real sockets, the way `npm start` runs it: the service sends through the
 * sandbox, the sandbox posts signed statuses back to /webhook, inbound messages are injected
 * through the sandbox signed as Meta would, and the agent's replies go out through the sandbox.
 */
describe('WhatsApp service ⇄ Graph API sandbox', () => {
  let sandbox: GraphApiSandbox;
  let sandboxServer: TestServer;
  let agentServer: TestServer;
  let h: Harness;

  beforeAll(async () => {
    sandbox = createGraphApiSandbox({
      webhookUrl: () => `${h.url}/webhook`,
      appSecret: APP_SECRET,
      delaysMs: { sent: 10, delivered: 40, read: 80 },
      rejectNumbers: ['+250788999999'],
    });
    sandboxServer = await listen(sandbox);
    const agent = new Hono().post('/', async (c) => {
      const { text } = (await c.req.json()) as { text: string };
      return c.json({ reply: `Agent: ${text}` });
    });
    agentServer = await listen(agent);
    h = await startHarness({
      workers: true,
      env: {
        GRAPH_API_URL: sandboxServer.url,
        AGENT_URL: agentServer.url,
        WHATSAPP_PHONE_NUMBER_ID: '100000000000001',
      },
    });
  });
  afterAll(async () => {
    sandbox?.close();
    await h?.close();
    await sandboxServer?.close();
    await agentServer?.close();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${h.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  it('sends a message and follows it to read through signed status callbacks', async () => {
    const res = await api('/messages', {
      method: 'POST',
      body: JSON.stringify({ to: '+250788000001', type: 'text', text: { body: 'Your ride is here' } }),
    });
    expect(res.status).toBe(201);
    const { id, wamid } = (await res.json()) as Message;
    expect(sandbox.sent.find((m) => m.wamid === wamid)?.to).toBe('+250788000001');
    const message = await waitFor(
      async () => (await (await api(`/messages/${id}`)).json()) as Message,
      (m) => m.status === 'read',
    );
    expect(message.status).toBe('read');
    expect(message.history.filter((e) => e.source === 'whatsapp').map((e) => e.status)).toEqual([
      'sent',
      'delivered',
      'read',
    ]);
  });

  it('gets Graph-style errors for a rejected recipient: failed with Meta’s code', async () => {
    const res = await api('/messages', {
      method: 'POST',
      body: JSON.stringify({ to: '+250788999999', type: 'text', text: { body: 'x' } }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(131030);
  });

  it('rides out a provider outage through the queue', async () => {
    const faults = await fetch(`${sandboxServer.url}/sandbox/whatsapp/faults`, {
      method: 'POST',
      body: JSON.stringify({ mode: 'server-error', count: 1 }),
    });
    expect(faults.status).toBe(200);
    const res = await api('/messages', {
      method: 'POST',
      body: JSON.stringify({ to: '+250788000002', type: 'text', text: { body: 'retry me' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Message;
    const message = await waitFor(
      async () => (await (await api(`/messages/${id}`)).json()) as Message,
      (m) => m.status === 'read',
      20_000,
    );
    expect(message.status).toBe('read');
  });

  it('takes an injected inbound message (delivered twice), stores it once and replies through the agent', async () => {
    const res = await fetch(`${sandboxServer.url}/sandbox/whatsapp/inbound`, {
      method: 'POST',
      body: JSON.stringify({ from: '+250788000003', name: 'Eric', text: 'Need a moto', repeat: 2 }),
    });
    expect(res.status).toBe(200);
    const { wamid, deliveries } = (await res.json()) as { wamid: string; deliveries: number[] };
    expect(deliveries).toEqual([200, 200]);
    const rows = await h.db.query(
      'select contact_name, text_body from whatsapp_inbound_messages where wamid = $1',
      [wamid],
    );
    expect(rows).toEqual([{ contact_name: 'Eric', text_body: 'Need a moto' }]);
    const reply = await waitFor(
      () => sandbox.sent.find((m) => m.to === '+250788000003'),
      (m) => m !== undefined,
    );
    expect(reply?.payload).toMatchObject({ type: 'text', text: { body: 'Agent: Need a moto' } });
  });

  it('offers an echo agent for AGENT_URL', async () => {
    const echo = await fetch(`${sandboxServer.url}/sandbox/whatsapp/agent`, {
      method: 'POST',
      body: JSON.stringify({ from: '+250788000005', text: 'ping', messageId: 'wamid.X' }),
    });
    expect(await echo.json()).toEqual({ reply: 'Echo: ping' });
  });

  it('refuses a delivery signed with another secret', async () => {
    const impostor = createGraphApiSandbox({
      webhookUrl: `${h.url}/webhook`,
      appSecret: 'wrong',
      deliveryAttempts: 1,
    });
    const { deliveries } = await impostor.injectInbound({ from: '+250788000004', text: 'hi' });
    impostor.close();
    expect(deliveries).toEqual([401]);
  });
});
