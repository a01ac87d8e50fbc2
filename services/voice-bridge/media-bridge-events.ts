import type { CallLanguage } from './conversation-language.ts';

/**
 * The stream's lifecycle. `rolling-over`: the agent session is being replaced (its cap is near, or it
 * dropped) while the Twilio stream stays up and caller audio is buffered. `closed` from any state.
 */
export type StreamState = 'awaiting-start' | 'connecting' | 'bridging' | 'rolling-over' | 'closed';

export const STREAM_TRANSITIONS: Record<StreamState, readonly StreamState[]> = {
  'awaiting-start': ['connecting', 'closed'],
  connecting: ['bridging', 'closed'],
  bridging: ['rolling-over', 'closed'],
  'rolling-over': ['bridging', 'closed'],
  closed: [],
};

/**
 * Who holds the floor while bridging. `agent-speaking`: agent audio sent that Twilio has not confirmed
 * playing. `caller-over-agent`: the caller started speaking over it and we are deciding whether that is a
 * barge-in or a backchannel.
 */
export type TurnState = 'agent-silent' | 'agent-speaking' | 'caller-over-agent';

export const TURN_TRANSITIONS: Record<TurnState, readonly TurnState[]> = {
  'agent-silent': ['agent-speaking'],
  'agent-speaking': ['agent-silent', 'caller-over-agent'],
  'caller-over-agent': ['agent-speaking', 'agent-silent'],
};

export interface BridgeStats {
  framesIn: number;
  framesOut: number;
  marks: number;
  bargeIns: number;
  backchannels: number;
  rollovers: number;
  /** Per caller turn: the agent's end-of-speech event → first agent audio frame sent to Twilio, ms. */
  turnLatencyMs: number[];
}

/**
 * Everything a media bridge reports, one event per fact (as opossum's breaker does); observers
 * subscribe in one place (voice-observability.ts) so the bridge never logs or counts for them.
 */
export interface MediaBridgeEvents {
  /** The stream or the turn machine moved; emitted once per transition, after it happened. */
  transition:
    | { machine: 'stream'; from: StreamState; to: StreamState; reason: string }
    | { machine: 'turn'; from: TurnState; to: TurnState; reason: string };
  /** The agent could not be reached; the caller gets the fallback. */
  agentUnavailable: { reason: string; breakerOpen: boolean };
  /** The caller cut the agent off: playback cleared, the item truncated at what was heard (if any). */
  bargeIn: { itemIds: string[]; playedMs: number; generatedMs: number; truncated: boolean };
  /** A new agent session replaces the current one, with the conversation so far; Twilio never notices. */
  rollover: { cause: 'session-cap' | 'agent-closed'; session: number; closeCode?: number };
  /** The caller only acknowledged ("mhm", "yego"); the agent carried on. */
  backchannel: { text: string; language: CallLanguage };
  /** The agent's first audio after the caller's turn went to Twilio this long after the turn ended. */
  turnLatency: { ms: number };
  /** Sound over the agent that held no words; the agent carried on. */
  falseInterruption: { reason: 'no words' };
  /** The caller pressed a key; it was recorded and passed to the agent. */
  dtmf: { digit: string };
  /** The caller answered the recording/AI consent question. */
  consent: { decision: 'granted' | 'refused'; via: 'speech' | 'dtmf' };
  /** A store write failed (logged by the observer; the stream carries on). */
  writeFailed: { error: unknown };
  /** Last event: everything is released. */
  closed: { reason: string; stats: BridgeStats };
}

export type MediaBridgeListener<K extends keyof MediaBridgeEvents> = (payload: MediaBridgeEvents[K]) => void;

/** A typed emitter; a throwing listener is isolated, so observing a call can never break it. */
export function createBridgeEmitter() {
  const listeners = new Map<keyof MediaBridgeEvents, Set<(payload: never) => void>>();
  return {
    on<K extends keyof MediaBridgeEvents>(event: K, listener: MediaBridgeListener<K>): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: never) => void);
      return () => {
        set.delete(listener as (payload: never) => void);
      };
    },
    emit<K extends keyof MediaBridgeEvents>(event: K, payload: MediaBridgeEvents[K]): void {
      for (const listener of listeners.get(event) ?? []) {
        try {
          (listener as MediaBridgeListener<K>)(payload);
        } catch {
          // an observer's bug must not end a phone call
        }
      }
    },
  };
}
