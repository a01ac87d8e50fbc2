import type { Logger } from '../../shared/observability/index.ts';
import type { AgentSession } from './agent-session.ts';
import {
  type Backchannels,
  type CallLanguage,
  consentFromSpeech,
  isBackchannel,
  isCallLanguage,
} from './conversation-language.ts';
import {
  type BridgeStats,
  createBridgeEmitter,
  type MediaBridgeEvents,
  type MediaBridgeListener,
  STREAM_TRANSITIONS,
  type StreamState,
  TURN_TRANSITIONS,
  type TurnState,
} from './media-bridge-events.ts';
import { type AgentItem, type AudioRef, createPlaybackTracker } from './playback-tracker.ts';
import { type AgentServerEvent, MediaStreamMessage } from './schemas.ts';
import type { VoiceStore } from './store.ts';

export type { MediaBridgeEvents, StreamState, TurnState } from './media-bridge-events.ts';

/** The Twilio side of one stream, as the WebSocket helper gives it (Node or Deno). */
export interface StreamSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** How the conversation behaves; the same for every call of a deployment. */
export interface ConversationSettings {
  /** The call's language when its metadata names none. */
  defaultLanguage: CallLanguage;
  backchannels: Backchannels;
  /**
   * Caller speech over the agent lasting this long (on the media clock) interrupts without waiting for
   * its words; shorter speech interrupts unless its transcript is a backchannel. 0: any speech interrupts.
   */
  minInterruptionMs: number;
  /** When set, the agent asks this at the start; DTMF 1 / "yes" consents, 2 / "no" ends the AI leg. */
  consentPrompt?: string;
  /**
   * Replace the agent session after this long (wall clock), at the next moment the agent is silent, so
   * the provider's session cap never cuts a call. Unset: only when the session drops.
   */
  sessionRolloverMs?: number;
  /** Agent sessions that may drop during one call before the caller gets the fallback. Default 3. */
  maxAgentDrops?: number;
}

export const DEFAULT_CONVERSATION: ConversationSettings = {
  defaultLanguage: 'en',
  backchannels: { en: [], sw: [], rw: [], fr: [] },
  minInterruptionMs: 0,
};

export interface MediaBridgeDeps {
  store: VoiceStore;
  /** Opens the agent session behind its breaker; the signal aborts a connect still in flight. */
  connectAgent: (
    signal: AbortSignal,
    call: { agent: string | null; language: CallLanguage },
  ) => Promise<AgentSession>;
  logger: Logger;
  conversation?: ConversationSettings;
  /** The `voice_media_streams` slot this stream holds; released once everything is. */
  streamId?: string;
  /** Caller frames kept while the agent connects (20 ms each); older ones are dropped. */
  maxBufferedFrames?: number;
}

export interface MediaBridge {
  handleMessage(data: string): void;
  /** The Twilio socket closed (or errored). */
  handleClose(): void;
  /** Ends the stream from our side (shutdown). */
  close(reason: string): void;
  /** Subscribe to what happens on this stream; returns the unsubscribe. */
  on<K extends keyof MediaBridgeEvents>(event: K, listener: MediaBridgeListener<K>): () => void;
  readonly state: StreamState;
  readonly turn: TurnState;
  /** Settles when everything is released and every write is done. */
  readonly done: Promise<void>;
}

const FRAME_MS = 20;

/** The first `ratio` of a transcript, in whole words: what the caller heard of a cut-off reply. */
export function heardPart(text: string, ratio: number): string {
  const words = text.trim().split(/\s+/);
  return words.slice(0, Math.floor(words.length * Math.min(1, Math.max(0, ratio)))).join(' ');
}

/**
 * One Twilio Media Stream bridged to one agent session, as two explicit state machines:
 *
 * - stream: `awaiting-start → connecting → bridging → closed` (`closed` from any state). Whichever side
 *   closes first closes the other; after `closed` no socket, timer or listener of this stream remains.
 * - turn (while bridging): `agent-silent ⇄ agent-speaking → caller-over-agent → agent-speaking | agent-silent`.
 *
 * Audio passes as base64 μ-law both ways. Each agent chunk is followed by a mark carrying the item's
 * cumulative milliseconds; Twilio's echoes say what the caller heard (playback-tracker.ts). Caller speech
 * over unacknowledged agent audio is a barge-in (clear, then truncate at the heard offset) unless it is a
 * short backchannel. Every transition and decision is emitted as one event (media-bridge-events.ts).
 */
export function createMediaBridge(deps: MediaBridgeDeps, callId: string, twilio: StreamSocket): MediaBridge {
  const log = deps.logger.child({ callId });
  const settings = deps.conversation ?? DEFAULT_CONVERSATION;
  const maxBuffered = deps.maxBufferedFrames ?? 50;
  const events = createBridgeEmitter();
  const playback = createPlaybackTracker();
  const connecting = new AbortController();
  const stats: BridgeStats = {
    framesIn: 0,
    framesOut: 0,
    marks: 0,
    bargeIns: 0,
    backchannels: 0,
    rollovers: 0,
    turnLatencyMs: [],
  };
  // When the agent said the caller's turn ended (wall clock), until its first audio answers it.
  let turnEndedAt: number | undefined;

  let state: StreamState = 'awaiting-start';
  let turn: TurnState = 'agent-silent';
  let streamSid = '';
  let agent: AgentSession | undefined;
  let language: CallLanguage = settings.defaultLanguage;
  let consent: 'not-asked' | 'asking' | 'answered' = 'not-asked';
  // The call's media clock: Twilio's `media.timestamp` (ms since the stream started).
  let clockMs = 0;
  // Where the agent session's input-audio clock (audio_start_ms, …) starts on the call's clock.
  let agentClockOriginMs: number | undefined;
  const buffered: Array<{ payload: string; atMs: number }> = [];
  // Caller utterances by the agent's item id: start/end on the call clock, until their transcript lands.
  const utterances = new Map<string, { startMs: number; endMs?: number }>();
  let lastUtterance: string | undefined;
  // Caller speech over the agent, not yet judged a barge-in or a backchannel.
  let overlap: { sinceMs: number; itemId?: string } | undefined;
  // Agent items and transcripts meet here: a segment is stored once both the heard audio and its text are known.
  const agentTranscripts = new Map<string, string>();
  const endedItems = new Map<string, AgentItem>();
  // What was said and heard so far, handed to a replacement agent session.
  const history: Array<{ speaker: 'caller' | 'agent'; text: string }> = [];
  // Items of the current agent session: only those can be truncated (another session never knew them).
  const sessionItems = new Set<string>();
  let sessions = 0;
  let drops = 0;
  let rolloverTimer: ReturnType<typeof setTimeout> | undefined;
  let rolloverDue = false;
  let callerSpeaking = false;
  // A reply is being made (response.created → response.done), or the caller just finished a turn and
  // one is due (until this call-clock time): replacing the session now would lose it.
  let responding = false;
  let replyDueUntilMs = -1;
  let callAgent: { agent: string | null; language: CallLanguage } = { agent: null, language };

  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => {
    resolveDone = r;
  });

  // Store writes of one stream run one after another, so its events and transcript keep their order
  // even on a connection pool; a failed write is reported and does not stop the ones after it.
  let writes: Promise<void> = Promise.resolve();
  const persist = (write: () => Promise<unknown>): Promise<void> => {
    writes = writes.then(write).then(
      () => undefined,
      (error: unknown) => events.emit('writeFailed', { error }),
    );
    return writes;
  };
  const tasks = new Set<Promise<unknown>>();
  const track = (task: Promise<unknown>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task)).catch(() => {});
  };
  const sendTwilio = (message: Record<string, unknown>) => {
    try {
      twilio.send(JSON.stringify({ ...message, streamSid }));
    } catch {
      // the socket is closing; the close handler tidies up
    }
  };

  const moveStream = (to: StreamState, reason: string) => {
    const from = state;
    if (!STREAM_TRANSITIONS[from].includes(to)) return false;
    state = to;
    events.emit('transition', { machine: 'stream', from, to, reason });
    return true;
  };
  const moveTurn = (to: TurnState, reason: string) => {
    const from = turn;
    if (from === to || !TURN_TRANSITIONS[from].includes(to)) return;
    turn = to;
    events.emit('transition', { machine: 'turn', from, to, reason });
    if (to === 'agent-silent') maybeRollover();
  };

  const keyOf = (ref: AudioRef) => ref.itemId ?? ref.responseId;
  const refOf = (event: { item_id?: string; content_index?: number; response_id?: string }): AudioRef => ({
    itemId: event.item_id,
    contentIndex: event.content_index,
    responseId: event.response_id,
  });

  /** What the caller heard of an agent item, stored once its text is known; nothing heard, nothing stored. */
  const agentItemEnded = (item: AgentItem) => {
    const text = agentTranscripts.get(item.itemId);
    if (text === undefined) {
      endedItems.set(item.itemId, item);
      return;
    }
    agentTranscripts.delete(item.itemId);
    endedItems.delete(item.itemId);
    const cut = item.ended === 'cut';
    const heard = cut ? heardPart(text, item.playedMs / Math.max(1, item.generatedMs)) : text.trim();
    if (!heard || item.playedMs <= 0) return;
    history.push({ speaker: 'agent', text: heard });
    persist(() =>
      deps.store.addTranscriptSegment(callId, {
        speaker: 'agent',
        text: heard,
        language,
        startMs: item.startMs,
        endMs: item.startMs + (cut ? item.playedMs : item.generatedMs),
        interrupted: cut,
        itemId: item.itemId,
      }),
    );
  };

  const bargeIn = (reason: string) => {
    overlap = undefined;
    const cut = playback.interrupt(clockMs);
    sendTwilio({ event: 'clear' });
    let truncated = false;
    for (const item of cut) {
      // Nothing heard: nothing to truncate (the agent still knows what it meant to say).
      if (!item.truncatable || item.playedMs <= 0 || !sessionItems.has(item.itemId)) continue;
      truncated = true;
      agent?.send({
        type: 'conversation.item.truncate',
        item_id: item.itemId,
        content_index: item.contentIndex,
        audio_end_ms: Math.floor(item.playedMs),
      });
    }
    if (cut.some((item) => !item.audioDone)) agent?.send({ type: 'response.cancel' });
    stats.bargeIns++;
    moveTurn('agent-silent', reason);
    events.emit('bargeIn', {
      itemIds: cut.map((i) => i.itemId),
      playedMs: Math.round(cut[0]?.playedMs ?? 0),
      generatedMs: Math.round(cut[0]?.generatedMs ?? 0),
      truncated,
    });
    for (const item of cut) agentItemEnded(item);
  };

  const decideConsent = (decision: 'granted' | 'refused', via: 'speech' | 'dtmf', detail: object) => {
    if (consent !== 'asking') return;
    consent = 'answered';
    events.emit('consent', { decision, via });
    persist(() => deps.store.recordConsent(callId, decision, via, { ...detail }));
    if (decision === 'refused') {
      // Stored before the socket closes: Twilio's <Connect action> webhook then says goodbye and hangs up.
      persist(() => deps.store.endAiLeg(callId, 'consent_refused')).then(() => finish('consent refused'));
    }
  };

  const agentClockToCall = (ms: number | undefined) =>
    ms === undefined || agentClockOriginMs === undefined ? clockMs : agentClockOriginMs + ms;

  const onAgentEvent = (event: AgentServerEvent) => {
    if (state !== 'bridging') return;
    switch (event.type) {
      case 'response.audio.delta':
      case 'response.output_audio.delta': {
        const bytes = Math.floor((event.delta.length * 3) / 4) - (event.delta.match(/=+$/)?.[0].length ?? 0);
        if (bytes <= 0) return;
        stats.framesOut++;
        if (turnEndedAt !== undefined) {
          const ms = Math.round(performance.now() - turnEndedAt);
          turnEndedAt = undefined;
          stats.turnLatencyMs.push(ms);
          events.emit('turnLatency', { ms });
        }
        const { item, markName } = playback.audioSent(refOf(event), bytes, clockMs);
        sessionItems.add(item.itemId);
        sendTwilio({ event: 'media', media: { payload: event.delta } });
        sendTwilio({ event: 'mark', mark: { name: markName } });
        if (turn === 'agent-silent') moveTurn('agent-speaking', 'agent audio sent');
        return;
      }
      case 'response.audio.done':
      case 'response.output_audio.done': {
        const played = playback.audioDone(refOf(event));
        if (played) agentItemEnded(played);
        return;
      }
      case 'response.audio_transcript.done':
      case 'response.output_audio_transcript.done': {
        const key = keyOf(refOf(event));
        if (key === undefined) return;
        agentTranscripts.set(key, event.transcript);
        const ended = endedItems.get(key);
        if (ended) agentItemEnded(ended);
        return;
      }
      case 'input_audio_buffer.speech_started': {
        const key = event.item_id ?? `speech-${clockMs}`;
        utterances.set(key, { startMs: agentClockToCall(event.audio_start_ms) });
        lastUtterance = key;
        callerSpeaking = true;
        // Speech while the agent is silent changes nothing: it is simply the caller's turn.
        if (!playback.audible) return;
        if (settings.minInterruptionMs <= 0) return bargeIn('caller spoke over the agent');
        overlap = { sinceMs: clockMs, itemId: event.item_id };
        moveTurn('caller-over-agent', 'caller speech started');
        return;
      }
      case 'input_audio_buffer.speech_stopped': {
        const key = event.item_id ?? lastUtterance;
        const utterance = key === undefined ? undefined : utterances.get(key);
        if (utterance) utterance.endMs = agentClockToCall(event.audio_end_ms);
        callerSpeaking = false;
        replyDueUntilMs = clockMs + 5000;
        // A turn the agent answers (not a backchannel over its own speech): time its reply.
        if (turn === 'agent-silent') turnEndedAt = performance.now();
        return;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const key = event.item_id && utterances.has(event.item_id) ? event.item_id : lastUtterance;
        const utterance = key === undefined ? undefined : utterances.get(key);
        if (key !== undefined) utterances.delete(key);
        const text = event.transcript.trim();
        const spoken: CallLanguage = isCallLanguage(event.language) ? event.language : language;
        if (text) {
          history.push({ speaker: 'caller', text });
          const startMs = utterance?.startMs ?? clockMs;
          persist(() =>
            deps.store.addTranscriptSegment(callId, {
              speaker: 'caller',
              text,
              language: spoken,
              startMs,
              endMs: Math.max(startMs, utterance?.endMs ?? clockMs),
              interrupted: false,
              itemId: event.item_id ?? null,
            }),
          );
        }
        if (consent === 'asking') {
          const decision = consentFromSpeech(text, spoken);
          if (decision) decideConsent(decision, 'speech', { transcript: text });
        }
        if (!overlap) return;
        // No words at all (a cough, a door): a false interruption; a backchannel: an acknowledgement.
        // Either way the agent was never cut, so there is nothing to resume.
        if (!text || isBackchannel(text, spoken, settings.backchannels)) {
          overlap = undefined;
          // Out of the agent's memory too, so it does not answer an "mhm" after it finishes.
          if (event.item_id) agent?.send({ type: 'conversation.item.delete', item_id: event.item_id });
          moveTurn(playback.audible ? 'agent-speaking' : 'agent-silent', text ? 'backchannel' : 'no words');
          if (text) {
            stats.backchannels++;
            events.emit('backchannel', { text, language: spoken });
          } else events.emit('falseInterruption', { reason: 'no words' });
          return;
        }
        bargeIn('caller words over the agent');
        return;
      }
      case 'response.created':
        responding = true;
        replyDueUntilMs = -1;
        return;
      case 'response.done':
        responding = false;
        maybeRollover();
        return;
      case 'error':
        log.warn({ agentError: event.error }, 'agent reported an error');
        return;
      default:
        return;
    }
  };

  const finish = (reason: string) => {
    if (!moveStream('closed', reason)) return;
    const hadStream = streamSid !== '';
    connecting.abort();
    clearTimeout(rolloverTimer);
    buffered.length = 0;
    overlap = undefined;
    // Whatever was still queued at Twilio is not heard: the transcript keeps only what played.
    for (const item of playback.interrupt(clockMs)) agentItemEnded(item);
    agent?.close();
    try {
      twilio.close(1000, reason.slice(0, 100));
    } catch {
      // already closed
    }
    if (hadStream)
      persist(() => deps.store.recordServiceEvent(callId, 'stream_stopped', { reason, streamSid, ...stats }));
    if (deps.streamId) {
      const streamId = deps.streamId;
      persist(() => deps.store.releaseMediaStream(streamId, reason));
    }
    // Settle after the last write, so callers awaiting `done` see the stored state.
    const drain = async () => {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      await writes;
    };
    drain().then(() => {
      events.emit('closed', { reason, stats: { ...stats } });
      resolveDone();
    }, resolveDone);
  };

  /** A session is ours: its events, its end, the audio buffered meanwhile, the conversation so far. */
  const attach = (session: AgentSession) => {
    agent = session;
    sessions++;
    sessionItems.clear();
    session.onEvent((event) => {
      if (agent === session) onAgentEvent(event);
    });
    session.closed.then(({ code }) => {
      if (agent !== session || state !== 'bridging') return; // we replaced or closed it ourselves
      // 1000: the agent ended the conversation on purpose. Anything else: it dropped; replace it.
      if (code === 1000) finish('agent closed');
      else rollover('agent-closed', code);
    });
    if (sessions > 1) {
      for (const turn of history.slice(-50)) {
        const caller = turn.speaker === 'caller';
        session.send({
          type: 'conversation.item.create',
          item: {
            type: 'message',
            role: caller ? 'user' : 'assistant',
            content: [{ type: caller ? 'input_text' : 'text', text: turn.text }],
          },
        });
      }
    }
    agentClockOriginMs = buffered[0]?.atMs ?? clockMs;
    for (const frame of buffered.splice(0)) session.appendAudio(frame.payload);
    if (settings.sessionRolloverMs) {
      rolloverTimer = setTimeout(() => {
        rolloverDue = true;
        maybeRollover();
      }, settings.sessionRolloverMs);
    }
  };

  /** Replace the agent session; the caller's audio waits in the buffer meanwhile. */
  const rollover = (cause: 'session-cap' | 'agent-closed', closeCode?: number) => {
    if (!moveStream('rolling-over', cause)) return;
    clearTimeout(rolloverTimer);
    rolloverDue = false;
    overlap = undefined;
    callerSpeaking = false;
    responding = false;
    replyDueUntilMs = -1;
    const old = agent;
    agent = undefined;
    old?.close();
    stats.rollovers++;
    events.emit('rollover', { cause, session: sessions + 1, closeCode });
    persist(() =>
      deps.store.recordServiceEvent(callId, 'agent_rollover', { cause, session: sessions + 1, closeCode }),
    );
    if (cause === 'agent-closed' && ++drops > (settings.maxAgentDrops ?? 3)) {
      track(agentUnavailable(new Error(`the agent session dropped ${drops} times`)));
      return;
    }
    track(connect());
  };

  // A due rollover waits for a quiet moment: no reply being made or due, nothing of the agent still
  // playing, the caller not speaking.
  const maybeRollover = () => {
    const quiet = turn === 'agent-silent' && !callerSpeaking && !responding && clockMs > replyDueUntilMs;
    if (rolloverDue && state === 'bridging' && quiet) rollover('session-cap');
  };

  const agentUnavailable = async (error: unknown) => {
    const breakerOpen = (error as { code?: string }).code === 'EOPENBREAKER';
    const reason = breakerOpen
      ? 'agent unavailable: breaker open'
      : `agent unavailable: ${(error as Error).message}`;
    events.emit('agentUnavailable', { reason, breakerOpen });
    // Stored before the socket closes: Twilio's <Connect action> webhook reads it to pick the fallback.
    await persist(() => deps.store.recordAgentFailure(callId, reason));
    sendTwilio({ event: 'clear' });
    finish(reason);
  };

  const connect = async () => {
    const waiting = state; // 'connecting' or 'rolling-over'
    try {
      const session = await deps.connectAgent(connecting.signal, callAgent);
      if (state !== waiting) {
        session.close(); // the caller hung up while we were connecting
        return;
      }
      moveStream('bridging', waiting === 'connecting' ? 'agent connected' : 'agent session replaced');
      attach(session);
      if (sessions > 1) return;
      persist(() => deps.store.recordServiceEvent(callId, 'agent_connected', { streamSid }));
      if (settings.consentPrompt) {
        consent = 'asking';
        session.send({
          type: 'response.create',
          response: { instructions: `Say exactly: "${settings.consentPrompt}"` },
        });
      }
    } catch (error) {
      if (state !== waiting) return;
      await agentUnavailable(error);
    }
  };

  const onMessage = (message: MediaStreamMessage) => {
    switch (message.event) {
      case 'connected':
        return;
      case 'start': {
        if (state !== 'awaiting-start') return;
        streamSid = message.start.streamSid;
        const claimed = message.start.customParameters.callId;
        if (claimed && claimed !== callId)
          log.warn({ claimed }, 'stream callId parameter differs from the URL');
        moveStream('connecting', 'stream started');
        const started = persist(() =>
          deps.store.recordServiceEvent(callId, 'stream_started', {
            streamSid,
            callSid: message.start.callSid,
            mediaFormat: message.start.mediaFormat ?? null,
          }),
        );
        // After the stream_started write, so the history reads in order (persist never rejects).
        track(
          started
            .then(() => deps.store.getCall(callId))
            .catch(() => null)
            .then((call) => {
              const wanted = call?.metadata?.language;
              if (isCallLanguage(wanted)) language = wanted;
              callAgent = { agent: call?.agent ?? null, language };
              if (state === 'connecting') return connect();
            }),
        );
        return;
      }
      case 'media': {
        stats.framesIn++;
        const stamp = Number(message.media.timestamp);
        clockMs = Number.isFinite(stamp) ? stamp : clockMs + FRAME_MS;
        if (state === 'bridging') {
          agent?.appendAudio(message.media.payload);
          // Still talking over the agent after the threshold: that is an interruption, words or not.
          if (overlap && clockMs - overlap.sinceMs >= settings.minInterruptionMs)
            bargeIn('caller kept talking over the agent');
          else if (rolloverDue) maybeRollover();
        } else if (state === 'connecting' || state === 'rolling-over') {
          buffered.push({ payload: message.media.payload, atMs: clockMs });
          if (buffered.length > maxBuffered) buffered.shift();
        }
        return;
      }
      case 'mark': {
        stats.marks++;
        const echoed = playback.markEchoed(message.mark.name);
        if (echoed?.finished) agentItemEnded(echoed.item);
        if (!playback.audible && turn !== 'agent-silent') {
          // The agent finished before we judged the overlap: the caller's speech is just their turn.
          overlap = undefined;
          moveTurn('agent-silent', 'agent audio played');
        }
        return;
      }
      case 'dtmf': {
        const digit = message.dtmf.digit;
        events.emit('dtmf', { digit });
        persist(() => deps.store.recordServiceEvent(callId, 'dtmf', { digit }));
        agent?.send({
          type: 'conversation.item.create',
          item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `[DTMF ${digit}]` }] },
        });
        if (digit === '1') decideConsent('granted', 'dtmf', { digit });
        else if (digit === '2') decideConsent('refused', 'dtmf', { digit });
        return;
      }
      case 'stop':
        finish('caller stream stopped');
        return;
    }
  };

  return {
    handleMessage(data) {
      if (state === 'closed') return;
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        log.warn('ignoring a media stream message that is not JSON');
        return;
      }
      const parsed = MediaStreamMessage.safeParse(json);
      if (parsed.success) onMessage(parsed.data);
    },
    handleClose() {
      finish('twilio closed the stream');
    },
    close(reason) {
      finish(reason);
    },
    on: events.on,
    get state() {
      return state;
    },
    get turn() {
      return turn;
    },
    done: finished,
  };
}

/** Live streams, so shutdown can end them and tests can check none leaked. */
export function createStreamRegistry() {
  const live = new Set<MediaBridge>();
  return {
    add(bridge: MediaBridge) {
      live.add(bridge);
      bridge.done.finally(() => live.delete(bridge));
    },
    get size() {
      return live.size;
    },
    /** Ends every stream and waits until each has released everything. */
    async closeAll(reason = 'server shutting down') {
      const all = [...live];
      for (const bridge of all) bridge.close(reason);
      await Promise.all(all.map((b) => b.done));
    },
  };
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>;
