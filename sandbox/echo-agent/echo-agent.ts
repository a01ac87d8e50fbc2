import { Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import { MULAW_SAMPLE_RATE, mulawRms } from '../../shared/audio/mulaw.ts';

export interface EchoAgentOptions {
  /** `@hono/node-ws`'s (or `hono/deno`'s) upgradeWebSocket. */
  upgradeWebSocket: UpgradeWebSocket<unknown>;
  /** Route of the realtime socket. Default `/agent/realtime`. */
  path?: string;
  /** RMS (linear 16-bit units) above which a frame counts as speech. Default 500. */
  speechThreshold?: number;
  /** Silence that ends an utterance, ms of audio (not wall clock). Default 300. */
  silenceMs?: number;
  /** Agent audio per `response.audio.delta`, bytes (800 = 100 ms). */
  deltaBytes?: number;
}

interface SessionState {
  id: string;
  configured: boolean;
  speaking: boolean;
  silentMs: number;
  startedAtMs: number;
  receivedMs: number;
  utterance: Buffer[];
  responses: number;
}

const msOf = (bytes: number) => (bytes * 1000) / MULAW_SAMPLE_RATE;

/**
 * A local stand-in for an OpenAI-Realtime-style voice agent: it accepts `session.update` and
 * `input_audio_buffer.append` (g711_ulaw), runs a crude level-based VAD (`speech_started` /
 * `speech_stopped`), and answers each utterance by echoing its audio back as `response.audio.delta`,
 * with the caller's and its own transcript. No network, no model: deterministic for tests and demos.
 *
 * @example
 * const echo = createEchoAgent({ upgradeWebSocket });
 * root.route('/', echo.app); // ws://host/agent/realtime
 */
export function createEchoAgent(options: EchoAgentOptions) {
  const path = options.path ?? '/agent/realtime';
  const threshold = options.speechThreshold ?? 500;
  const silenceMs = options.silenceMs ?? 300;
  const deltaBytes = options.deltaBytes ?? 800;
  const live = new Set<WSContext<unknown>>();
  const stats = { sessions: 0, utterances: 0, bytesIn: 0, bytesOut: 0 };
  let nextId = 0;

  const send = (ws: WSContext<unknown>, event: Record<string, unknown>) => {
    if (ws.readyState === 1) ws.send(JSON.stringify({ event_id: `evt_${++nextId}`, ...event }));
  };

  function respond(ws: WSContext<unknown>, state: SessionState) {
    const audio = Buffer.concat(state.utterance.splice(0));
    if (audio.length === 0) return;
    stats.utterances++;
    const itemId = `item_${state.id}_${++state.responses}`;
    const seconds = (msOf(audio.length) / 1000).toFixed(2);
    send(ws, { type: 'input_audio_buffer.committed', item_id: itemId });
    send(ws, {
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: itemId,
      content_index: 0,
      transcript: `(caller audio, ${seconds} s)`,
    });
    const responseId = `resp_${state.id}_${state.responses}`;
    send(ws, { type: 'response.created', response: { id: responseId, status: 'in_progress' } });
    for (let offset = 0; offset < audio.length; offset += deltaBytes) {
      const delta = audio.subarray(offset, offset + deltaBytes);
      stats.bytesOut += delta.length;
      send(ws, { type: 'response.audio.delta', response_id: responseId, delta: delta.toString('base64') });
    }
    send(ws, { type: 'response.audio.done', response_id: responseId });
    send(ws, {
      type: 'response.audio_transcript.done',
      response_id: responseId,
      transcript: `Echo: I heard ${seconds} seconds of audio.`,
    });
    send(ws, { type: 'response.done', response: { id: responseId, status: 'completed' } });
  }

  function onAppend(ws: WSContext<unknown>, state: SessionState, base64: string) {
    const bytes = Buffer.from(base64, 'base64');
    stats.bytesIn += bytes.length;
    const at = state.receivedMs;
    state.receivedMs += msOf(bytes.length);
    const voiced = mulawRms(bytes) > threshold;
    if (voiced) {
      if (!state.speaking) {
        state.speaking = true;
        state.startedAtMs = at;
        send(ws, { type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(at) });
      }
      state.silentMs = 0;
      state.utterance.push(bytes);
      return;
    }
    if (!state.speaking) return;
    state.utterance.push(bytes);
    state.silentMs += msOf(bytes.length);
    if (state.silentMs >= silenceMs) {
      state.speaking = false;
      send(ws, { type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(state.receivedMs) });
      respond(ws, state);
    }
  }

  const app = new Hono();
  app.get(
    path,
    options.upgradeWebSocket(() => {
      const state: SessionState = {
        id: String(++stats.sessions),
        configured: false,
        speaking: false,
        silentMs: 0,
        startedAtMs: 0,
        receivedMs: 0,
        utterance: [],
        responses: 0,
      };
      return {
        onOpen(_event, ws) {
          live.add(ws);
          send(ws, {
            type: 'session.created',
            session: { id: `sess_${state.id}`, object: 'realtime.session' },
          });
        },
        onMessage(event, ws) {
          if (typeof event.data !== 'string') return;
          let message: { type?: string; audio?: string; session?: Record<string, unknown> };
          try {
            message = JSON.parse(event.data);
          } catch {
            send(ws, { type: 'error', error: { type: 'invalid_request_error', message: 'not JSON' } });
            return;
          }
          switch (message.type) {
            case 'session.update':
              state.configured = true;
              send(ws, { type: 'session.updated', session: { id: `sess_${state.id}`, ...message.session } });
              return;
            case 'input_audio_buffer.append':
              if (typeof message.audio === 'string') onAppend(ws, state, message.audio);
              return;
            case 'input_audio_buffer.commit':
              state.speaking = false;
              respond(ws, state);
              return;
            case 'input_audio_buffer.clear':
              state.utterance.length = 0;
              return;
            case 'response.cancel':
              return;
            default:
              send(ws, {
                type: 'error',
                error: { type: 'invalid_request_error', message: `unknown event ${message.type}` },
              });
          }
        },
        onClose(_event, ws) {
          live.delete(ws);
        },
        onError(_event, ws) {
          live.delete(ws);
        },
      };
    }),
  );

  return {
    app,
    path,
    stats,
    /** Open agent sessions right now (a leak check for the bridge). */
    get liveSessions() {
      return live.size;
    },
    /** Closes every session, as an agent going away would. */
    closeAll(code = 1001, reason = 'agent shutting down') {
      for (const ws of live) ws.close(code, reason);
      live.clear();
    },
  };
}

export type EchoAgent = ReturnType<typeof createEchoAgent>;
