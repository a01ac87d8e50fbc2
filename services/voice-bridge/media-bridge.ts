import type { Logger } from '../../shared/observability/index.ts';
import type { AgentSession } from './agent-session.ts';
import { MediaStreamMessage } from './schemas.ts';
import type { VoiceStore } from './store.ts';

/** The Twilio side of one stream, as the WebSocket helper gives it (Node or Deno). */
export interface StreamSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface MediaBridgeDeps {
  store: VoiceStore;
  /** Opens the agent session behind its breaker; the signal aborts a connect still in flight. */
  connectAgent: (signal: AbortSignal, agent: string | null) => Promise<AgentSession>;
  logger: Logger;
  /** Caller frames kept while the agent connects (20 ms each); older ones are dropped. */
  maxBufferedFrames?: number;
}

export interface MediaBridge {
  handleMessage(data: string): void;
  /** The Twilio socket closed (or errored). */
  handleClose(): void;
  /** Ends the stream from our side (shutdown). */
  close(reason: string): void;
  /** Settles when everything is released and every write is done. */
  readonly done: Promise<void>;
}

type State = 'awaiting-start' | 'connecting' | 'bridging' | 'closed';

/**
 * One Twilio Media Stream bridged to one agent session. Audio is relayed as base64 μ-law both ways
 * without decoding. When the caller starts speaking over the agent (barge-in) queued playback on Twilio
 * is cleared. When the agent cannot be reached the call records why and the stream is cleared and closed,
 * so Twilio runs the `<Connect action>` webhook, which speaks the fallback. Whichever side closes first
 * closes the other; after that no socket, timer or listener of this stream remains.
 */
export function createMediaBridge(deps: MediaBridgeDeps, callId: string, twilio: StreamSocket): MediaBridge {
  const log = deps.logger.child({ callId });
  const maxBuffered = deps.maxBufferedFrames ?? 50;
  let state: State = 'awaiting-start';
  let streamSid = '';
  let agent: AgentSession | undefined;
  const connecting = new AbortController();
  const buffered: string[] = [];
  const stats = { framesIn: 0, framesOut: 0, bargeIns: 0, marks: 0 };
  // Marks sent and not yet echoed by Twilio (by name: Twilio also echoes the ones a `clear` dropped).
  const pendingMarks = new Set<string>();
  // Agent audio sent that Twilio may still be playing: what a barge-in has to cut off.
  let audible = false;
  let streaming = false;
  let responses = 0;
  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => {
    resolveDone = r;
  });

  // Store writes of one stream run one after another, so its events and transcript keep their order
  // even on a connection pool; a failed write is logged and does not stop the ones after it.
  let writes: Promise<void> = Promise.resolve();
  const persist = (write: () => Promise<unknown>): Promise<void> => {
    writes = writes.then(write).then(
      () => undefined,
      (error: unknown) => log.error({ err: error }, 'voice store write failed'),
    );
    return writes;
  };
  // Work in flight besides writes (the agent connect), awaited before `done` settles.
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

  const finish = (reason: string) => {
    if (state === 'closed') return;
    const hadStream = streamSid !== '';
    state = 'closed';
    connecting.abort();
    buffered.length = 0;
    agent?.close();
    try {
      twilio.close(1000, reason.slice(0, 100));
    } catch {
      // already closed
    }
    if (hadStream)
      persist(() => deps.store.recordServiceEvent(callId, 'stream_stopped', { reason, streamSid, ...stats }));
    log.info({ reason, ...stats }, 'media stream ended');
    // Settle after the last write, so callers awaiting `done` see the stored state.
    const drain = async () => {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      await writes;
    };
    drain().then(resolveDone, resolveDone);
  };

  const onAgentEvent = (event: Parameters<Parameters<AgentSession['onEvent']>[0]>[0]) => {
    if (state !== 'bridging') return;
    switch (event.type) {
      case 'response.audio.delta':
      case 'response.output_audio.delta':
        stats.framesOut++;
        audible = true;
        streaming = true;
        sendTwilio({ event: 'media', media: { payload: event.delta } });
        return;
      case 'response.audio.done':
      case 'response.output_audio.done':
        // Twilio echoes the mark once playback reaches it: until then the agent is still audible.
        streaming = false;
        pendingMarks.add(`response-${++responses}`);
        sendTwilio({ event: 'mark', mark: { name: `response-${responses}` } });
        return;
      case 'input_audio_buffer.speech_started':
        if (audible) {
          stats.bargeIns++;
          audible = false;
          pendingMarks.clear();
          sendTwilio({ event: 'clear' });
        }
        return;
      case 'conversation.item.input_audio_transcription.completed':
        if (event.transcript.trim())
          persist(() => deps.store.addTranscriptTurn(callId, 'caller', event.transcript.trim()));
        return;
      case 'response.audio_transcript.done':
      case 'response.output_audio_transcript.done':
        if (event.transcript.trim())
          persist(() => deps.store.addTranscriptTurn(callId, 'agent', event.transcript.trim()));
        return;
      case 'error':
        log.warn({ agentError: event.error }, 'agent reported an error');
        return;
      default:
        return;
    }
  };

  const start = async (agentName: string | null) => {
    try {
      const session = await deps.connectAgent(connecting.signal, agentName);
      if (state !== 'connecting') {
        session.close(); // the caller hung up while we were connecting
        return;
      }
      agent = session;
      state = 'bridging';
      session.onEvent(onAgentEvent);
      session.closed.then(() => finish('agent closed'));
      for (const frame of buffered.splice(0)) session.appendAudio(frame);
      persist(() => deps.store.recordServiceEvent(callId, 'agent_connected', { streamSid }));
    } catch (error) {
      if (state !== 'connecting') return;
      const code = (error as { code?: string }).code;
      const reason =
        code === 'EOPENBREAKER'
          ? 'agent unavailable: breaker open'
          : `agent unavailable: ${(error as Error).message}`;
      log.warn({ reason }, 'agent unreachable; caller gets the fallback');
      // Stored before the socket closes: Twilio's <Connect action> webhook reads it to pick the fallback.
      await persist(() => deps.store.recordAgentFailure(callId, reason));
      sendTwilio({ event: 'clear' });
      finish(reason);
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
        state = 'connecting';
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
              if (state === 'connecting') return start(call?.agent ?? null);
            }),
        );
        return;
      }
      case 'media':
        stats.framesIn++;
        if (state === 'bridging') agent?.appendAudio(message.media.payload);
        else if (state === 'connecting') {
          buffered.push(message.media.payload);
          if (buffered.length > maxBuffered) buffered.shift();
        }
        return;
      case 'mark':
        stats.marks++;
        pendingMarks.delete(message.mark.name);
        if (pendingMarks.size === 0 && !streaming) audible = false;
        return;
      case 'dtmf':
        persist(() => deps.store.recordServiceEvent(callId, 'dtmf', { digit: message.dtmf.digit }));
        return;
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
