import { Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import { MULAW_SAMPLE_RATE, mulawRms, synthesizeMulawClip } from '../../shared/audio/mulaw.ts';

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
  /**
   * What the "model" heard in the n-th utterance of a session (0-based): a script for tests and demos,
   * since there is no speech recognition here. Default: a description of the audio, in English.
   */
  transcribe?: (utterance: { index: number; audio: Uint8Array }) => { transcript: string; language?: string };
  /** How long a `timeout` fault holds the upgrade request, ms. Default 15000. */
  hangMs?: number;
}

/**
 * How the agent fails new connections: `server-error` answers the upgrade with HTTP 500 (no socket);
 * `timeout` holds the upgrade for `hangMs`, then 503; `silent` opens the socket and then never says a word
 * (no `session.created`, nothing answered): a hung backend. `none` clears it.
 */
export type AgentFaultMode = 'none' | 'server-error' | 'timeout' | 'silent';
export const AGENT_FAULT_MODES: readonly AgentFaultMode[] = ['none', 'server-error', 'timeout', 'silent'];

export interface AgentFault {
  mode: AgentFaultMode;
  /** How many connection attempts it applies to; omitted: until cleared. */
  count?: number;
  /** Overrides the agent's `hangMs` for this fault. */
  hangMs?: number;
}

/** A client event the agent received (not audio), for tests to inspect. */
export interface AgentClientEvent {
  session: string;
  type: string;
  event: Record<string, unknown>;
}

interface SessionState {
  id: string;
  /** Opened under a `silent` fault: accepts everything, answers nothing. */
  silent: boolean;
  configured: boolean;
  speaking: boolean;
  silentMs: number;
  startedAtMs: number;
  receivedMs: number;
  utterance: Buffer[];
  utterances: number;
  /** The caller item being spoken (speech_started → transcription). */
  inputItem?: string;
  responses: number;
  /** Assistant items and how much audio each has, so truncate can be checked as OpenAI does. */
  items: Map<string, { audioMs: number; transcript: string }>;
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
  const clientEvents: AgentClientEvent[] = [];
  const stats = { sessions: 0, utterances: 0, bytesIn: 0, bytesOut: 0 };
  let nextId = 0;
  let fault: AgentFault = { mode: 'none' };
  const faultsTaken: Record<string, number> = {};
  const holds = new Map<ReturnType<typeof setTimeout>, () => void>();

  /** The fault this connection attempt meets (spending one of its `count`), or none. */
  const takeFault = (): AgentFault => {
    const taken = fault;
    if (taken.mode === 'none') return taken;
    faultsTaken[taken.mode] = (faultsTaken[taken.mode] ?? 0) + 1;
    if (taken.count !== undefined) {
      fault = { ...taken, count: taken.count - 1 };
      if (fault.count! <= 0) fault = { mode: 'none' };
    }
    return taken;
  };
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        holds.delete(timer);
        resolve();
      }, ms);
      holds.set(timer, resolve);
    });
  const setFault = (next: AgentFault) => {
    fault = next.mode === 'none' ? { mode: 'none' } : { ...next };
  };
  /** Closes every open session, as an agent going away would. */
  const closeAll = (code = 1001, reason = 'agent shutting down') => {
    for (const ws of live) ws.close(code, reason);
    live.clear();
  };

  const send = (ws: WSContext<unknown>, event: Record<string, unknown>) => {
    if (ws.readyState === 1) ws.send(JSON.stringify({ event_id: `evt_${++nextId}`, ...event }));
  };

  /** One assistant audio item: `response.created`, audio deltas, transcript, `response.done`. */
  function speak(ws: WSContext<unknown>, state: SessionState, audio: Uint8Array, transcript: string) {
    const n = ++state.responses;
    const responseId = `resp_${state.id}_${n}`;
    const itemId = `item_${state.id}_a${n}`;
    const ref = { response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 };
    state.items.set(itemId, { audioMs: msOf(audio.length), transcript });
    send(ws, { type: 'response.created', response: { id: responseId, status: 'in_progress' } });
    send(ws, {
      type: 'response.output_item.added',
      response_id: responseId,
      output_index: 0,
      item: { id: itemId, type: 'message', role: 'assistant' },
    });
    for (let offset = 0; offset < audio.length; offset += deltaBytes) {
      const delta = audio.subarray(offset, offset + deltaBytes);
      stats.bytesOut += delta.length;
      send(ws, { type: 'response.audio.delta', ...ref, delta: Buffer.from(delta).toString('base64') });
    }
    send(ws, { type: 'response.audio.done', ...ref });
    send(ws, { type: 'response.audio_transcript.done', ...ref, transcript });
    send(ws, { type: 'response.done', response: { id: responseId, status: 'completed' } });
  }

  function respond(ws: WSContext<unknown>, state: SessionState) {
    const audio = Buffer.concat(state.utterance.splice(0));
    if (audio.length === 0) return;
    stats.utterances++;
    const itemId = state.inputItem ?? `item_${state.id}_u${state.utterances + 1}`;
    state.inputItem = undefined;
    const seconds = (msOf(audio.length) / 1000).toFixed(2);
    const heard = options.transcribe?.({ index: state.utterances, audio }) ?? {
      transcript: `(caller audio, ${seconds} s)`,
    };
    state.utterances++;
    send(ws, { type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: null });
    send(ws, {
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: itemId,
      content_index: 0,
      transcript: heard.transcript,
      ...(heard.language ? { language: heard.language } : {}),
    });
    speak(ws, state, audio, `Echo: I heard ${seconds} seconds of audio.`);
  }

  /** Client events other than audio, answered the way the Realtime API answers them. */
  function onClientEvent(ws: WSContext<unknown>, state: SessionState, message: Record<string, unknown>) {
    clientEvents.push({ session: state.id, type: String(message.type), event: message });
    switch (message.type) {
      case 'conversation.item.truncate': {
        const itemId = String(message.item_id);
        const item = state.items.get(itemId);
        const endMs = Number(message.audio_end_ms);
        if (!item || !Number.isInteger(endMs) || endMs < 0 || endMs > item.audioMs) {
          send(ws, {
            type: 'error',
            error: {
              type: 'invalid_request_error',
              code: 'invalid_value',
              message: 'bad truncate',
              event_id: message.event_id,
            },
          });
          return;
        }
        item.audioMs = endMs;
        send(ws, {
          type: 'conversation.item.truncated',
          item_id: itemId,
          content_index: 0,
          audio_end_ms: endMs,
        });
        return;
      }
      case 'conversation.item.delete':
        send(ws, { type: 'conversation.item.deleted', item_id: message.item_id });
        return;
      case 'conversation.item.create':
        send(ws, {
          type: 'conversation.item.created',
          previous_item_id: null,
          item: { id: `item_${state.id}_c${clientEvents.length}`, ...(message.item as object) },
        });
        return;
      case 'response.create': {
        // Speaks what the instructions quote (the consent question), as a 1 s tone.
        const instructions = String(
          (message.response as { instructions?: string } | undefined)?.instructions ?? '',
        );
        const quoted = /"([^"]+)"/.exec(instructions)?.[1] ?? instructions;
        speak(ws, state, synthesizeMulawClip([{ frequencyHz: 330, durationMs: 1000 }]), quoted);
        return;
      }
      case 'response.cancel':
        return; // replies are sent whole at once: nothing is ever still generating
      default:
        send(ws, {
          type: 'error',
          error: { type: 'invalid_request_error', message: `unknown event ${message.type}` },
        });
    }
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
        state.inputItem = `item_${state.id}_u${state.utterances + 1}`;
        send(ws, {
          type: 'input_audio_buffer.speech_started',
          audio_start_ms: Math.round(at),
          item_id: state.inputItem,
        });
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
      send(ws, {
        type: 'input_audio_buffer.speech_stopped',
        // Where speech ended, before the silence that told the VAD so (as the Realtime API reports it).
        audio_end_ms: Math.round(state.receivedMs - state.silentMs),
        item_id: state.inputItem,
      });
      respond(ws, state);
    }
  }

  const app = new Hono();

  // Not the Realtime API: the switch tests and the fault-injection suite use to make the agent fail.
  // `dropLive` also closes every open session with 1011 (an agent crashing mid-call).
  app.post('/sandbox/agent/faults', async (c) => {
    const body = (await c.req.json().catch(() => null)) as (AgentFault & { dropLive?: boolean }) | null;
    if (!body || !AGENT_FAULT_MODES.includes(body.mode))
      return c.json({ error: `mode must be one of ${AGENT_FAULT_MODES.join(', ')}` }, 400);
    setFault({ mode: body.mode, count: body.count, hangMs: body.hangMs });
    const dropped = body.dropLive ? live.size : 0;
    if (body.dropLive) closeAll(1011, 'agent failed');
    return c.json({ fault, taken: faultsTaken, dropped });
  });
  app.get('/sandbox/agent/faults', (c) =>
    c.json({ fault, taken: faultsTaken, liveSessions: live.size, sessions: stats.sessions }),
  );

  // Upgrades meeting a `silent` fault; their sessions answer nothing.
  const silentUpgrades = new WeakSet<Request>();
  app.get(
    path,
    async function agentFaults(c, next) {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return next();
      const met = takeFault();
      if (met.mode === 'server-error') return c.json({ error: 'agent failed' }, 500);
      if (met.mode === 'timeout') {
        await hold(met.hangMs ?? options.hangMs ?? 15_000);
        return c.json({ error: 'agent timed out' }, 503);
      }
      if (met.mode === 'silent') silentUpgrades.add(c.req.raw);
      return next();
    },
    options.upgradeWebSocket((c) => {
      const state: SessionState = {
        silent: silentUpgrades.has(c.req.raw),
        id: String(++stats.sessions),
        configured: false,
        speaking: false,
        silentMs: 0,
        startedAtMs: 0,
        receivedMs: 0,
        utterance: [],
        utterances: 0,
        responses: 0,
        items: new Map(),
      };
      return {
        onOpen(_event, ws) {
          live.add(ws);
          if (state.silent) return;
          send(ws, {
            type: 'session.created',
            session: { id: `sess_${state.id}`, object: 'realtime.session' },
          });
        },
        onMessage(event, ws) {
          if (typeof event.data !== 'string' || state.silent) return;
          let message: { type?: string; audio?: string; session?: Record<string, unknown> } & Record<
            string,
            unknown
          >;
          try {
            message = JSON.parse(event.data);
          } catch {
            send(ws, { type: 'error', error: { type: 'invalid_request_error', message: 'not JSON' } });
            return;
          }
          switch (message.type) {
            case 'session.update':
              state.configured = true;
              clientEvents.push({ session: state.id, type: 'session.update', event: message });
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
            default:
              onClientEvent(ws, state, message);
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
    /** Every non-audio client event received, oldest first. */
    clientEvents: clientEvents as readonly AgentClientEvent[],
    /** Open agent sessions right now (a leak check for the bridge). */
    get liveSessions() {
      return live.size;
    },
    closeAll,
    setFault,
    /** The fault in force (`none` when cleared or spent). */
    get fault(): AgentFault {
      return fault;
    },
    /** Releases upgrades a `timeout` fault is holding (they answer 503). */
    releaseHolds() {
      for (const [timer, release] of holds) {
        clearTimeout(timer);
        release();
      }
      holds.clear();
    },
  };
}

export type EchoAgent = ReturnType<typeof createEchoAgent>;
