import { DependencyError } from '../../shared/resilience/index.ts';
import { AgentServerEvent } from './schemas.ts';

/** The WHATWG WebSocket surface we use; Node 24 and Deno both have a global one. */
export interface AgentSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: Event) => void): void;
}

/** Opens the socket to the agent; tests and other runtimes pass their own. */
export type AgentSocketFactory = (url: string, headers: Record<string, string>) => AgentSocket;

/** Node's (undici) and Deno's WebSocket both take `{ headers }` as a non-standard second argument. */
export const globalAgentSocketFactory: AgentSocketFactory = (url, headers) => {
  const init = Object.keys(headers).length > 0 ? ({ headers } as unknown as string[]) : undefined;
  return new WebSocket(url, init) as unknown as AgentSocket;
};

const OPEN = 1;

export interface AgentSessionOptions {
  url: string;
  apiKey?: string;
  /** Which agent persona the caller gets; named in the instructions. */
  agent?: string | null;
  /** The call's language (ISO 639-1), a hint for the transcription. */
  language?: string;
  connectTimeoutMs: number;
  createSocket: AgentSocketFactory;
  /** Aborting before the socket opens closes it and rejects (the caller hung up, or the breaker gave up). */
  signal?: AbortSignal;
}

export interface AgentSession {
  /** Caller audio, base64 μ-law exactly as Twilio sent it: no transcoding. */
  appendAudio(base64Mulaw: string): void;
  /** Any other Realtime client event (`conversation.item.truncate`, `response.create`, …). */
  send(event: { type: string } & Record<string, unknown>): void;
  /** Events we act on, already validated; others are ignored. */
  onEvent(handler: (event: AgentServerEvent) => void): void;
  close(): void;
  /** Settles once the socket is closed, from either side. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/**
 * The Realtime session config: μ-law both ways, so audio passes through untouched. The bridge, not the
 * agent, decides whether caller speech interrupts (a backchannel must not), so the VAD only reports it.
 */
export function sessionUpdate(agent: string | null | undefined, language?: string) {
  return {
    type: 'session.update',
    session: {
      modalities: ['audio', 'text'],
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'g711_ulaw',
      turn_detection: { type: 'server_vad', interrupt_response: false },
      input_audio_transcription: { model: 'whisper-1', ...(language ? { language } : {}) },
      instructions: `You are the EasyMO phone assistant${agent ? ` "${agent}"` : ''}. Be brief and friendly.`,
    },
  };
}

/** The agent's first words on a new socket (OpenAI Realtime sends `session.created` at once). */
const HANDSHAKE_EVENTS = new Set(['session.created', 'session.updated']);

/**
 * Connects to the realtime voice agent and configures the session. Resolves once the agent has spoken on
 * the open socket (`session.created` or `session.updated`): a socket that opens onto a hung backend is no
 * session. Rejects with a DependencyError when that does not happen within `connectTimeoutMs`, when the
 * socket is refused (an HTTP error instead of the upgrade) or closes first, or when aborted; in every such
 * case the socket is closed, so a failed attempt leaves nothing behind.
 *
 * @example
 * const session = await openAgentSession({ url, connectTimeoutMs: 3000, createSocket: globalAgentSocketFactory });
 * session.onEvent((event) => { if (event.type === 'response.audio.delta') play(event.delta); });
 */
export function openAgentSession(options: AgentSessionOptions): Promise<AgentSession> {
  return new Promise<AgentSession>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new DependencyError('agent connect aborted', { code: 'ABORTED' }));
      return;
    }
    const headers: Record<string, string> = options.apiKey
      ? { authorization: `Bearer ${options.apiKey}` }
      : {};
    let socket: AgentSocket;
    try {
      socket = options.createSocket(options.url, headers);
    } catch (error) {
      reject(new DependencyError(`agent socket failed: ${(error as Error).message}`, { cause: error }));
      return;
    }
    const handlers: Array<(event: AgentServerEvent) => void> = [];
    let settled = false;
    let resolveClosed!: (value: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => {
      resolveClosed = r;
    });

    const fail = (message: string, code: string) => {
      if (settled) return;
      settled = true;
      cleanup();
      try {
        socket.close();
      } catch {
        // closing a socket that never opened may throw on some runtimes; it is gone either way
      }
      reject(new DependencyError(message, { code }));
    };
    const onAbort = () => fail('agent connect aborted', 'ABORTED');
    const timer = setTimeout(
      () => fail(`agent did not answer within ${options.connectTimeoutMs} ms`, 'ETIMEDOUT'),
      options.connectTimeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const session: AgentSession = {
      appendAudio(audio) {
        if (socket.readyState === OPEN)
          socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio }));
      },
      send(event) {
        if (socket.readyState === OPEN) socket.send(JSON.stringify(event));
      },
      onEvent(handler) {
        handlers.push(handler);
      },
      close() {
        if (socket.readyState <= OPEN) socket.close(1000, 'stream ended');
      },
      closed,
    };

    socket.addEventListener('open', () => {
      if (settled) {
        socket.close();
        return;
      }
      socket.send(JSON.stringify(sessionUpdate(options.agent, options.language)));
    });
    socket.addEventListener('message', (event) => {
      const data = (event as MessageEvent).data;
      if (typeof data !== 'string') return;
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        return;
      }
      if (!settled && HANDSHAKE_EVENTS.has((json as { type?: unknown })?.type as string)) {
        settled = true;
        cleanup();
        resolve(session);
        return;
      }
      const parsed = AgentServerEvent.safeParse(json);
      if (!parsed.success) return; // session.created, rate_limits.updated, …: nothing to do
      for (const handler of handlers) handler(parsed.data);
    });
    socket.addEventListener('error', () => fail('agent connection failed', 'ECONNREFUSED'));
    socket.addEventListener('close', (event) => {
      const { code, reason } = event as CloseEvent;
      fail(`agent closed the connection before it opened (${code})`, 'ECONNCLOSED');
      resolveClosed({ code, reason });
    });
  });
}
