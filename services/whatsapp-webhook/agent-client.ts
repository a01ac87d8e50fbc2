import { DependencyError } from '../../shared/resilience/index.ts';
import { AgentResponse } from './schemas.ts';

export interface AgentRequest {
  /** The sender, E.164. */
  from: string;
  /** Every message of the burst being answered, one per line (the fields below are the latest's). */
  text: string;
  /** The burst, oldest first: a contact's messages a short while apart are answered by one call. */
  messages?: { messageId: string; text: string; type: string; replyId: string | null; receivedAt: string }[];
  /** The inbound WhatsApp message id (wamid). */
  messageId: string;
  type: string;
  /** Chosen button / list row id for interactive replies. */
  replyId: string | null;
  contactName: string | null;
  phoneNumberId: string;
  receivedAt: string;
}

export interface AgentClient {
  ask(request: AgentRequest): Promise<{ reply: string | null }>;
}

export interface AgentClientOptions {
  url: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * The product's agent: POST JSON `{ from, text, messageId, ... }`, answer `{ reply?: string }`.
 * Failures are DependencyErrors (a 4xx other than 408/429 is not retried).
 *
 * @example
 * const agent = createAgentClient({ url: config.AGENT_URL, timeoutMs: 8000 });
 * const { reply } = await agent.ask({ from: '+250788000001', text: 'hi', messageId: 'wamid.X', ... });
 */
export function createAgentClient(options: AgentClientOptions): AgentClient {
  const doFetch = options.fetch ?? fetch;
  return {
    async ask(request) {
      let response: Response;
      try {
        response = await doFetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        throw new DependencyError('agent unreachable or too slow', { cause: error });
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new DependencyError(`agent answered ${response.status}`, { status: response.status });
      }
      if (response.status === 204) return { reply: null };
      const text = await response.text();
      let json: unknown = {};
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        throw new DependencyError('agent answered with a body that is not JSON', { retryable: false });
      }
      const parsed = AgentResponse.safeParse(json);
      if (!parsed.success)
        throw new DependencyError('agent answer has no usable reply', { retryable: false });
      const reply = parsed.data.reply?.trim();
      return { reply: reply ? reply : null };
    },
  };
}
