import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../../shared/http/index.ts';
import {
  type HandlerStandIn,
  newSigningSecret,
  startHandlerStandIn,
} from '../../integration/services/whatsapp-webhook/handler-stand-in.ts';
import {
  API_KEY,
  graphError,
  type Harness,
  inboundEnvelope,
  postWebhook,
  startFakeGraph,
  startHarness,
  VERIFY_TOKEN,
} from '../../integration/services/whatsapp-webhook/harness.ts';
import {
  appOperations,
  type Contract,
  createContract,
  documentedOperations,
  validateOpenApiDocument,
} from '../../support/openapi-contract.ts';
import { checkKitRoutes } from './kit-routes.ts';

describe('whatsapp-webhook contract: every documented operation, answered as documented', () => {
  let graph: Awaited<ReturnType<typeof startFakeGraph>>;
  let handlers: HandlerStandIn;
  let h: Harness;
  const secret = newSigningSecret();
  let document: OpenApiDocument;
  let contract: Contract;
  const auth = { authorization: `Bearer ${API_KEY}` };
  const send = (body: unknown, headers: Record<string, string> = auth) =>
    fetch(`${h.url}/messages`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    graph = await startFakeGraph();
    handlers = await startHandlerStandIn({ pay: secret });
    h = await startHarness({
      env: {
        GRAPH_API_URL: graph.url,
        WHATSAPP_ROUTES: JSON.stringify([
          { name: 'pay', url: handlers.routeUrl('pay'), secret, keywords: ['pay'] },
        ]),
      },
    });
    document = (await (await fetch(`${h.url}/openapi.json`)).json()) as OpenApiDocument;
    contract = createContract(document);
  });
  afterAll(async () => {
    await h?.close();
    await graph?.close();
    await handlers?.close();
  });

  it('is a valid OpenAPI 3.1 document that lists exactly the app’s routes', async () => {
    await validateOpenApiDocument(document);
    expect(documentedOperations(document)).toEqual(appOperations(h.app));
  });

  it('serves the kit routes as documented', async () => {
    await checkKitRoutes(h.url, contract);
  });

  it('answers Meta’s webhook as documented', async () => {
    const verify = (token: string) =>
      fetch(`${h.url}/webhook?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`);
    const ok = await verify(VERIFY_TOKEN);
    expect(ok.status).toBe(200);
    expect((await contract.check('GET', '/webhook', ok)).body).toBe('1158201444');
    await contract.check('GET', '/webhook', await verify('wrong'));

    const envelope = inboundEnvelope({ id: `wamid.${randomUUID()}`, type: 'text', text: { body: 'Muraho' } });
    const stored = await postWebhook(h.url, envelope);
    expect(stored.status).toBe(200);
    await contract.check('POST', '/webhook', stored);
    const unsigned = await postWebhook(h.url, envelope, null);
    expect(unsigned.status).toBe(401);
    await contract.check('POST', '/webhook', unsigned);
    const malformed = await postWebhook(h.url, '{"object":');
    expect(malformed.status).toBe(400);
    await contract.check('POST', '/webhook', malformed);
  });

  it('answers the messages API as documented', async () => {
    const text = { to: '+250788000001', type: 'text', text: { body: 'Muraho' } };
    await contract.check('POST', '/messages', await send(text, {}));
    await contract.check('POST', '/messages', await send({ to: 'nope', type: 'text' }));
    const sent = await send(text, { ...auth, 'idempotency-key': 'contract-1' });
    expect(sent.status).toBe(201);
    const message = (await contract.check('POST', '/messages', sent)).body as { id: string };
    const reused = await send({ ...text, to: '+250788000002' }, { ...auth, 'idempotency-key': 'contract-1' });
    expect(reused.status).toBe(422);
    await contract.check('POST', '/messages', reused);
    graph.answer(graphError(500, 131000, 'Something went wrong'));
    const queued = await send(text);
    expect(queued.status).toBe(202);
    await contract.check('POST', '/messages', queued);
    graph.answer(graphError(400, 131030, 'Recipient phone number not in allowed list'));
    // Another contact: the queued message above holds +250788000001's later ones back (per-recipient order).
    const rejected = await send({ ...text, to: '+250788000003' });
    expect(rejected.status).toBe(422);
    await contract.check('POST', '/messages', rejected);

    const detail = await fetch(`${h.url}/messages/${message.id}`, { headers: auth });
    expect(detail.status).toBe(200);
    await contract.check('GET', '/messages/{id}', detail);
    await contract.check(
      'GET',
      '/messages/{id}',
      await fetch(`${h.url}/messages/${randomUUID()}`, { headers: auth }),
    );

    const list = await fetch(`${h.url}/messages?limit=2`, { headers: auth });
    expect(list.status).toBe(200);
    await contract.check('GET', '/messages', list);
    await contract.check(
      'GET',
      '/messages',
      await fetch(`${h.url}/messages?direction=up`, { headers: auth }),
    );
    const timeline = await fetch(`${h.url}/contacts/250788000001/messages`, { headers: auth });
    expect(timeline.status).toBe(200);
    const page = (await contract.check('GET', '/contacts/{waId}/messages', timeline)).body as {
      items: { direction: string }[];
    };
    expect(new Set(page.items.map((m) => m.direction))).toEqual(new Set(['in', 'out']));

    const conversation = `${h.url}/contacts/250788000001/conversation`;
    const state = await fetch(conversation, { headers: auth });
    expect(state.status).toBe(200);
    await contract.check('GET', '/contacts/{waId}/conversation', state);
    await contract.check(
      'GET',
      '/contacts/{waId}/conversation',
      await fetch(`${h.url}/contacts/250788999999/conversation`, { headers: auth }),
    );
    const handoff = await fetch(conversation, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ handoff: true }),
    });
    expect(handoff.status).toBe(200);
    expect(
      ((await contract.check('PATCH', '/contacts/{waId}/conversation', handoff)).body as { handoff: boolean })
        .handoff,
    ).toBe(true);
    await contract.check(
      'PATCH',
      '/contacts/{waId}/conversation',
      await fetch(conversation, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ handoff: 'yes' }),
      }),
    );
  });

  it('answers the routing and replay API as documented', async () => {
    const api = (path: string, body?: unknown) =>
      fetch(`${h.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const since = new Date(Date.now() - 60_000).toISOString();

    const routes = await api('/routes');
    expect(routes.status).toBe(200);
    await contract.check('GET', '/routes', routes);
    await contract.check('GET', '/routes', await fetch(`${h.url}/routes`));

    // Two messages for the `pay` route, whose handler is down: each attempt's outcome is a dead letter.
    handlers.setFallback('pay', { status: 503 });
    const dead: string[] = [];
    for (const n of [1, 2]) {
      const wamid = `wamid.${randomUUID()}`;
      const routed = await postWebhook(
        h.url,
        inboundEnvelope({ id: wamid, type: 'text', text: { body: `pay ${n}` } }),
      );
      expect(routed.status).toBe(200);
      const list = await api('/handler-deliveries?route=pay');
      expect(list.status).toBe(200);
      const { items } = (await contract.check('GET', '/handler-deliveries', list)).body as {
        items: { id: string; wamid: string }[];
      };
      const delivery = items.find((d) => d.wamid === wamid)!;
      await h.components.deliverToHandler!(delivery.id, { lastAttempt: true });
      dead.push(delivery.id);
    }
    await contract.check('GET', '/handler-deliveries', await api('/handler-deliveries?status=lost'));
    handlers.setFallback('pay', null);
    // What the handler received (signed: it verified) is the documented webhook.
    expect(handlers.calls.map((c) => c.verified)).toEqual([true, true]);
    for (const call of handlers.calls) contract.checkWebhookRequest('whatsapp.message.received', call.event);

    const letters = await api('/dead-letters?state=open');
    expect(letters.status).toBe(200);
    const { items } = (await contract.check('GET', '/dead-letters', letters)).body as {
      items: { id: string; deliveryId: string }[];
    };
    await contract.check('GET', '/dead-letters', await api('/dead-letters?limit=0'));
    const letter = items.find((l) => l.deliveryId === dead[0])!;
    const replayed = await api(`/dead-letters/${letter.id}/replay`, {});
    expect(replayed.status).toBe(202);
    await contract.check('POST', '/dead-letters/{id}/replay', replayed);
    const again = await api(`/dead-letters/${letter.id}/replay`, {});
    expect(again.status).toBe(200);
    await contract.check('POST', '/dead-letters/{id}/replay', again);
    await contract.check(
      'POST',
      '/dead-letters/{id}/replay',
      await api(`/dead-letters/${randomUUID()}/replay`, {}),
    );
    await contract.check('POST', '/dead-letters/{id}/replay', await api('/dead-letters/x/replay', {}));

    const revived = await api(`/handler-deliveries/${dead[1]}/replay`, {});
    expect(revived.status).toBe(202);
    await contract.check('POST', '/handler-deliveries/{id}/replay', revived);
    const pending = await api(`/handler-deliveries/${dead[1]}/replay`, {});
    expect(pending.status).toBe(200);
    await contract.check('POST', '/handler-deliveries/{id}/replay', pending);
    await contract.check(
      'POST',
      '/handler-deliveries/{id}/replay',
      await api(`/handler-deliveries/${randomUUID()}/replay`, {}),
    );
    const window = await api('/handler-deliveries/replay', { since, route: 'pay' });
    expect(window.status).toBe(200);
    await contract.check('POST', '/handler-deliveries/replay', window);
    await contract.check('POST', '/handler-deliveries/replay', await api('/handler-deliveries/replay', {}));

    const deliveries = await api(`/deliveries?since=${since}&limit=1`);
    expect(deliveries.status).toBe(200);
    const page = (await contract.check('GET', '/deliveries', deliveries)).body as { items: { id: string }[] };
    await contract.check('GET', '/deliveries', await api('/deliveries?since=yesterday'));
    const one = await api(`/deliveries/${page.items[0].id}/replay`, {});
    expect(one.status).toBe(200);
    await contract.check('POST', '/deliveries/{id}/replay', one);
    await contract.check(
      'POST',
      '/deliveries/{id}/replay',
      await api(`/deliveries/${randomUUID()}/replay`, {}),
    );
    const all = await api('/deliveries/replay', { since, limit: 5 });
    expect(all.status).toBe(200);
    await contract.check('POST', '/deliveries/replay', all);
    await contract.check(
      'POST',
      '/deliveries/replay',
      await api('/deliveries/replay', { since, until: since }),
    );
  });

  it('leaves no documented operation uncalled, and each answered successfully at least once', () => {
    expect(contract.uncalled()).toEqual([]);
    expect(contract.neverSucceeded()).toEqual([]);
  });
});
