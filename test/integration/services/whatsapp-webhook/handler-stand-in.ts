import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { listen } from '../../../support/http.ts';

/** A Standard Webhooks signing secret as an operator would make one. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export interface HandlerCall {
  route: string;
  /** `webhook-id`: the handler delivery's id. */
  id: string;
  /** Whether the signature verified with the route's secret (the library's own verify). */
  verified: boolean;
  event: {
    type: string;
    timestamp: string;
    data: {
      deliveryId: string;
      route: string;
      match: { kind: string; value: string | null };
      message: { wamid: string; waId: string; type: string; text: string | null; replyId: string | null };
    };
  };
  /** The status this call was answered with. */
  answered: number;
}

export type HandlerReply = { status: number; body?: unknown };

/**
 * A downstream handler on a loopback port: one path per route (`/<route>`), each checking the Standard
 * Webhooks signature with that route's secret (401 when it does not verify), recording every call and
 * answering as scripted (default 200 `{}`).
 */
export async function startHandlerStandIn(secrets: Record<string, string>) {
  const calls: HandlerCall[] = [];
  const scripts = new Map<string, HandlerReply[]>();
  const fallbacks = new Map<string, HandlerReply | ((call: HandlerCall['event']) => HandlerReply)>();
  const app = new Hono();
  app.post('/:route', async (c) => {
    const route = c.req.param('route');
    const body = await c.req.text();
    const headers = Object.fromEntries(c.req.raw.headers.entries());
    let verified = false;
    try {
      new Webhook(secrets[route] ?? newSigningSecret()).verify(body, headers);
      verified = true;
    } catch {
      verified = false;
    }
    const event = JSON.parse(body) as HandlerCall['event'];
    const fallback = fallbacks.get(route);
    const reply = verified
      ? (scripts.get(route)?.shift() ??
        (typeof fallback === 'function' ? fallback(event) : fallback) ?? { status: 200, body: {} })
      : { status: 401, body: { error: 'signature' } };
    calls.push({ route, id: headers['webhook-id'] ?? '', verified, event, answered: reply.status });
    return c.json((reply.body ?? {}) as object, reply.status as 200);
  });
  const server = await listen(app);
  return {
    url: server.url,
    calls,
    routeUrl: (route: string) => `${server.url}/${route}`,
    /** Answers for the route's next calls, in order. */
    script(route: string, ...replies: HandlerReply[]) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...replies]);
    },
    /** The answer once the script is used up, or a function of the event (null: 200 `{}`). */
    setFallback(route: string, reply: HandlerReply | ((event: HandlerCall['event']) => HandlerReply) | null) {
      if (reply) fallbacks.set(route, reply);
      else fallbacks.delete(route);
    },
    callsFor: (wamid: string) => calls.filter((c) => c.event.data.message.wamid === wamid),
    close: () => server.close(),
  };
}

export type HandlerStandIn = Awaited<ReturnType<typeof startHandlerStandIn>>;
