import { describe, expect, it } from 'vitest';
import type { AgentSession } from '../../../../services/voice-bridge/agent-session.ts';
import { createMediaBridge, createStreamRegistry } from '../../../../services/voice-bridge/media-bridge.ts';
import type { AgentServerEvent } from '../../../../services/voice-bridge/schemas.ts';
import type { VoiceStore } from '../../../../services/voice-bridge/store.ts';
import { createLogger } from '../../../../shared/observability/index.ts';

const CALL_ID = '11111111-2222-4333-8444-555555555555';
const logger = createLogger({ service: 'test', level: 'silent' });

/** Only what the bridge calls, recorded. */
function fakeStore() {
  const writes: Array<[string, ...unknown[]]> = [];
  const store = {
    getCall: async () => ({ agent: 'sales' }),
    recordServiceEvent: async (_id: string, type: string, detail: unknown) => {
      writes.push(['event', type, detail]);
    },
    addTranscriptTurn: async (_id: string, role: string, text: string) => {
      writes.push(['turn', role, text]);
    },
    recordAgentFailure: async (_id: string, reason: string) => {
      writes.push(['agentFailure', reason]);
    },
  };
  return { store: store as unknown as VoiceStore, writes };
}

function fakeTwilio() {
  const sent: Array<Record<string, unknown>> = [];
  let closed: { code?: number; reason?: string } | undefined;
  return {
    socket: {
      send: (data: string) => sent.push(JSON.parse(data)),
      close: (code?: number, reason?: string) => {
        closed = { code, reason };
      },
    },
    sent,
    get closed() {
      return closed;
    },
  };
}

function fakeAgent() {
  let handler: (event: AgentServerEvent) => void = () => {};
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const appended: string[] = [];
  let closeCalls = 0;
  const session: AgentSession = {
    appendAudio: (audio) => appended.push(audio),
    onEvent: (h) => {
      handler = h;
    },
    close: () => {
      closeCalls++;
      resolveClosed({ code: 1000, reason: '' });
    },
    closed: new Promise((r) => {
      resolveClosed = r;
    }),
  };
  return {
    session,
    appended,
    emit: (event: AgentServerEvent) => handler(event),
    hangUp: () => resolveClosed({ code: 1001, reason: 'agent gone' }),
    get closeCalls() {
      return closeCalls;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const start = (streamSid = 'MZ1') =>
  JSON.stringify({
    event: 'start',
    streamSid,
    start: { streamSid, callSid: 'CA1', customParameters: { callId: CALL_ID }, tracks: ['inbound'] },
  });
const media = (payload: string) => JSON.stringify({ event: 'media', media: { payload } });

describe('media bridge', () => {
  it('buffers caller audio while the agent connects, then relays both ways untouched', async () => {
    const { store, writes } = fakeStore();
    const twilio = fakeTwilio();
    const agent = fakeAgent();
    let release!: (s: AgentSession) => void;
    let askedFor: string | null = null;
    const bridge = createMediaBridge(
      {
        store,
        logger,
        connectAgent: (_signal, name) => {
          askedFor = name;
          return new Promise((r) => {
            release = r;
          });
        },
      },
      CALL_ID,
      twilio.socket,
    );
    bridge.handleMessage(JSON.stringify({ event: 'connected', protocol: 'Call' }));
    bridge.handleMessage(start());
    bridge.handleMessage(media('AAAA'));
    await tick();
    bridge.handleMessage(media('BBBB'));
    expect(askedFor).toBe('sales');
    release(agent.session);
    await tick();
    bridge.handleMessage(media('CCCC'));
    expect(agent.appended).toEqual(['AAAA', 'BBBB', 'CCCC']);

    agent.emit({ type: 'response.audio.delta', delta: '/////w==' });
    agent.emit({ type: 'response.audio.done' });
    expect(twilio.sent).toEqual([
      { event: 'media', streamSid: 'MZ1', media: { payload: '/////w==' } },
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'response-1' } },
    ]);
    agent.emit({ type: 'conversation.item.input_audio_transcription.completed', transcript: ' hello ' });
    agent.emit({ type: 'response.audio_transcript.done', transcript: 'hi there' });

    bridge.handleMessage(JSON.stringify({ event: 'stop', streamSid: 'MZ1' }));
    await bridge.done;
    expect(agent.closeCalls).toBe(1);
    expect(twilio.closed).toBeDefined();
    expect(writes.filter((w) => w[0] === 'turn')).toEqual([
      ['turn', 'caller', 'hello'],
      ['turn', 'agent', 'hi there'],
    ]);
    expect(writes.map((w) => w[1])).toEqual(
      expect.arrayContaining(['stream_started', 'agent_connected', 'stream_stopped']),
    );
  });

  it('clears queued playback when the caller starts speaking over the agent (barge-in), and only then', async () => {
    const { store } = fakeStore();
    const twilio = fakeTwilio();
    const agent = fakeAgent();
    const bridge = createMediaBridge(
      { store, logger, connectAgent: async () => agent.session },
      CALL_ID,
      twilio.socket,
    );
    bridge.handleMessage(start());
    await tick();
    await tick();
    agent.emit({ type: 'input_audio_buffer.speech_started' });
    expect(twilio.sent.filter((m) => m.event === 'clear')).toHaveLength(0);

    agent.emit({ type: 'response.audio.delta', delta: 'AAAA' });
    agent.emit({ type: 'response.audio.done' });
    agent.emit({ type: 'input_audio_buffer.speech_started' });
    expect(twilio.sent.filter((m) => m.event === 'clear')).toHaveLength(1);

    // Played out (Twilio echoed the mark): nothing left to cut.
    agent.emit({ type: 'response.audio.delta', delta: 'BBBB' });
    agent.emit({ type: 'response.audio.done' });
    bridge.handleMessage(JSON.stringify({ event: 'mark', mark: { name: 'response-2' } }));
    agent.emit({ type: 'input_audio_buffer.speech_started' });
    expect(twilio.sent.filter((m) => m.event === 'clear')).toHaveLength(1);
    bridge.close('test over');
    await bridge.done;
  });

  it('closes Twilio when the agent hangs up, and frees the registry', async () => {
    const { store } = fakeStore();
    const twilio = fakeTwilio();
    const agent = fakeAgent();
    const streams = createStreamRegistry();
    const bridge = createMediaBridge(
      { store, logger, connectAgent: async () => agent.session },
      CALL_ID,
      twilio.socket,
    );
    streams.add(bridge);
    bridge.handleMessage(start());
    await tick();
    await tick();
    agent.hangUp();
    await bridge.done;
    expect(twilio.closed?.reason).toBe('agent closed');
    await tick();
    expect(streams.size).toBe(0);
  });

  it('records why, clears and closes the stream when the agent is unreachable', async () => {
    const { store, writes } = fakeStore();
    const twilio = fakeTwilio();
    const error = Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' });
    const bridge = createMediaBridge(
      { store, logger, connectAgent: async () => Promise.reject(error) },
      CALL_ID,
      twilio.socket,
    );
    bridge.handleMessage(start());
    await bridge.done;
    expect(writes).toContainEqual(['agentFailure', 'agent unavailable: breaker open']);
    expect(twilio.sent).toEqual([{ event: 'clear', streamSid: 'MZ1' }]);
    expect(twilio.closed?.reason).toBe('agent unavailable: breaker open');
  });

  it('aborts a connect in flight when the caller hangs up, and closes a session that arrives late', async () => {
    const { store } = fakeStore();
    const twilio = fakeTwilio();
    const agent = fakeAgent();
    let signal!: AbortSignal;
    let release!: (s: AgentSession) => void;
    const bridge = createMediaBridge(
      {
        store,
        logger,
        connectAgent: (s) => {
          signal = s;
          return new Promise((r) => {
            release = r;
          });
        },
      },
      CALL_ID,
      twilio.socket,
    );
    bridge.handleMessage(start());
    await tick();
    bridge.handleClose();
    expect(signal.aborted).toBe(true);
    release(agent.session);
    await bridge.done;
    expect(agent.closeCalls).toBe(1);
  });

  it('ignores junk and messages after the end', async () => {
    const { store } = fakeStore();
    const twilio = fakeTwilio();
    const bridge = createMediaBridge(
      { store, logger, connectAgent: async () => fakeAgent().session },
      CALL_ID,
      twilio.socket,
    );
    bridge.handleMessage('not json');
    bridge.handleMessage(JSON.stringify({ event: 'nonsense' }));
    bridge.handleClose();
    bridge.handleMessage(start());
    await bridge.done;
    expect(twilio.sent).toEqual([]);
  });
});
