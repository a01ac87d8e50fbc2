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
    addTranscriptSegment: async (_id: string, segment: { speaker: string; text: string }) => {
      writes.push(['turn', segment.speaker, segment.text, segment]);
    },
    releaseMediaStream: async (id: string) => {
      writes.push(['released', id]);
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
  const sent: Array<Record<string, unknown>> = [];
  let closeCalls = 0;
  const session: AgentSession = {
    appendAudio: (audio) => appended.push(audio),
    send: (event) => sent.push(event),
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
    sent,
    emit: (event: AgentServerEvent) => handler(event),
    hangUp: (code = 1000) => resolveClosed({ code, reason: 'agent gone' }),
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
const media = (payload: string, timestamp?: number) =>
  JSON.stringify({
    event: 'media',
    media: { payload, ...(timestamp === undefined ? {} : { timestamp: String(timestamp) }) },
  });
/** `ms` of μ-law audio, base64 (8 bytes a millisecond). */
const audio = (ms: number) => Buffer.alloc(ms * 8, 0x7f).toString('base64');
const mark = (name: string) => JSON.stringify({ event: 'mark', mark: { name } });
const sentOf = (twilio: { sent: Array<Record<string, unknown>> }, event: string) =>
  twilio.sent.filter((m) => m.event === event);

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
        connectAgent: (_signal, call) => {
          askedFor = call.agent;
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

    const ref = { item_id: 'item_a1', content_index: 0, response_id: 'resp_1' };
    agent.emit({ type: 'response.audio.delta', delta: audio(100), ...ref });
    agent.emit({ type: 'response.audio.done', ...ref });
    expect(twilio.sent).toEqual([
      { event: 'media', streamSid: 'MZ1', media: { payload: audio(100) } },
      // Every chunk is followed by a mark carrying the item's cumulative milliseconds.
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'item_a1@100' } },
    ]);
    bridge.handleMessage(mark('item_a1@100')); // played out before the caller speaks
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'item_u1', audio_start_ms: 0 });
    agent.emit({ type: 'input_audio_buffer.speech_stopped', item_id: 'item_u1', audio_end_ms: 40 });
    agent.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: 'item_u1',
      transcript: ' hello ',
    });
    agent.emit({ type: 'response.audio_transcript.done', transcript: 'hi there', ...ref });

    bridge.handleMessage(JSON.stringify({ event: 'stop', streamSid: 'MZ1' }));
    await bridge.done;
    expect(agent.closeCalls).toBe(1);
    expect(twilio.closed).toBeDefined();
    expect(writes.filter((w) => w[0] === 'turn').map((w) => w.slice(1, 3))).toEqual([
      ['caller', 'hello'],
      ['agent', 'hi there'],
    ]);
    expect(writes.map((w) => w[1])).toEqual(
      expect.arrayContaining(['stream_started', 'agent_connected', 'stream_stopped']),
    );
  });

  const bridged = async (options: { minInterruptionMs?: number } = {}) => {
    const { store, writes } = fakeStore();
    const twilio = fakeTwilio();
    const agent = fakeAgent();
    const bridge = createMediaBridge(
      {
        store,
        logger,
        connectAgent: async () => agent.session,
        conversation: {
          defaultLanguage: 'en',
          backchannels: { en: ['mhm'], sw: ['sawa'], rw: ['yego'], fr: ['oui'] },
          minInterruptionMs: options.minInterruptionMs ?? 0,
        },
      },
      CALL_ID,
      twilio.socket,
    );
    const transitions: string[] = [];
    bridge.on('transition', (t) => transitions.push(`${t.machine}:${t.to}`));
    const bargeIns: unknown[] = [];
    bridge.on('bargeIn', (b) => bargeIns.push(b));
    bridge.handleMessage(start());
    await tick();
    await tick();
    return { bridge, twilio, agent, writes, transitions, bargeIns };
  };

  it('on barge-in clears Twilio and truncates at the last acknowledged mark, capped at what was generated', async () => {
    const { bridge, twilio, agent, writes, transitions, bargeIns } = await bridged();
    // Speech while the agent is silent changes nothing.
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u0' });
    expect(sentOf(twilio, 'clear')).toHaveLength(0);

    const ref = { item_id: 'item_a1', content_index: 0 };
    for (let i = 0; i < 5; i++) agent.emit({ type: 'response.audio.delta', delta: audio(100), ...ref });
    agent.emit({
      type: 'response.audio_transcript.done',
      transcript: 'one two three four five six seven eight nine ten',
      ...ref,
    });
    expect(sentOf(twilio, 'mark').map((m) => (m.mark as { name: string }).name)).toEqual([
      'item_a1@100',
      'item_a1@200',
      'item_a1@300',
      'item_a1@400',
      'item_a1@500',
    ]);
    bridge.handleMessage(mark('item_a1@100'));
    bridge.handleMessage(mark('item_a1@200'));
    expect(bridge.turn).toBe('agent-speaking');
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u1' });
    expect(sentOf(twilio, 'clear')).toHaveLength(1);
    expect(agent.sent).toEqual([
      { type: 'conversation.item.truncate', item_id: 'item_a1', content_index: 0, audio_end_ms: 200 },
      { type: 'response.cancel' },
    ]);
    expect(bargeIns).toEqual([{ itemIds: ['item_a1'], playedMs: 200, generatedMs: 500, truncated: true }]);
    // Twilio echoes the marks the clear dropped: they are not "played".
    bridge.handleMessage(mark('item_a1@300'));
    bridge.close('test over');
    await bridge.done;
    const agentTurns = writes.filter((w) => w[0] === 'turn' && w[1] === 'agent');
    expect(agentTurns.map((w) => w[3])).toEqual([
      expect.objectContaining({ text: 'one two three four', interrupted: true, itemId: 'item_a1' }),
    ]);
    const segment = agentTurns[0][3] as { startMs: number; endMs: number };
    expect(segment.endMs - segment.startMs).toBe(200);
    expect(transitions).toEqual([
      'stream:connecting',
      'stream:bridging',
      'turn:agent-speaking',
      'turn:agent-silent',
      'stream:closed',
    ]);
  });

  it('clears but truncates nothing when none of the agent audio has played', async () => {
    const { bridge, twilio, agent, writes } = await bridged();
    agent.emit({ type: 'response.audio.delta', delta: audio(100), item_id: 'item_a1', content_index: 0 });
    agent.emit({ type: 'response.audio_transcript.done', transcript: 'unheard words', item_id: 'item_a1' });
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u1' });
    expect(sentOf(twilio, 'clear')).toHaveLength(1);
    expect(agent.sent.filter((e) => e.type === 'conversation.item.truncate')).toEqual([]);
    bridge.close('test over');
    await bridge.done;
    expect(writes.filter((w) => w[0] === 'turn')).toEqual([]);
  });

  it('does not interrupt for a backchannel, and removes it from the agent’s memory', async () => {
    const { bridge, twilio, agent, writes, transitions } = await bridged({ minInterruptionMs: 600 });
    const ref = { item_id: 'item_a1', content_index: 0 };
    bridge.handleMessage(media(audio(20), 900));
    agent.emit({ type: 'response.audio.delta', delta: audio(1000), ...ref });
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u1' });
    bridge.handleMessage(media(audio(20), 1000));
    bridge.handleMessage(media(audio(20), 1200)); // 300 ms of overlap: still deciding
    agent.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: 'u1',
      transcript: 'Mhm.',
    });
    expect(sentOf(twilio, 'clear')).toHaveLength(0);
    expect(agent.sent).toEqual([{ type: 'conversation.item.delete', item_id: 'u1' }]);
    agent.sent.length = 0;
    expect(transitions.slice(-2)).toEqual(['turn:caller-over-agent', 'turn:agent-speaking']);

    // A sound with no words is a false interruption: nothing cleared either.
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u1b' });
    agent.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: 'u1b',
      transcript: ' ',
    });
    expect(sentOf(twilio, 'clear')).toHaveLength(0);
    expect(bridge.turn).toBe('agent-speaking');

    // Real words over the agent, or speech lasting past the threshold, do interrupt.
    agent.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u2' });
    bridge.handleMessage(media(audio(20), 1300));
    expect(sentOf(twilio, 'clear')).toHaveLength(0);
    bridge.handleMessage(media(audio(20), 1900));
    expect(sentOf(twilio, 'clear')).toHaveLength(1);
    bridge.close('test over');
    await bridge.done;
    expect(writes.filter((w) => w[0] === 'turn').map((w) => w[2])).toEqual(['Mhm.']);
  });

  it('replaces a dropped agent session with the conversation so far; Twilio stays connected', async () => {
    const { store, writes } = fakeStore();
    const twilio = fakeTwilio();
    const first = fakeAgent();
    const second = fakeAgent();
    let releaseSecond!: (s: AgentSession) => void;
    const connects = [
      Promise.resolve(first.session),
      new Promise<AgentSession>((r) => {
        releaseSecond = r;
      }),
    ];
    const bridge = createMediaBridge(
      { store, logger, connectAgent: () => connects.shift()! },
      CALL_ID,
      twilio.socket,
    );
    const rollovers: unknown[] = [];
    bridge.on('rollover', (r) => rollovers.push(r));
    bridge.handleMessage(start());
    await tick();
    await tick();
    first.emit({ type: 'input_audio_buffer.speech_started', item_id: 'u1' });
    first.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: 'u1',
      transcript: 'Hi',
    });
    first.hangUp(1011);
    await tick();
    expect(bridge.state).toBe('rolling-over');
    bridge.handleMessage(media('DDDD'));
    releaseSecond(second.session);
    await tick();
    expect(bridge.state).toBe('bridging');
    expect(twilio.closed).toBeUndefined();
    expect(rollovers).toEqual([{ cause: 'agent-closed', session: 2, closeCode: 1011 }]);
    expect(second.sent).toEqual([
      {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
      },
    ]);
    expect(second.appended).toEqual(['DDDD']);
    // Events of the replaced session are no longer ours.
    first.emit({ type: 'response.audio.delta', delta: audio(20), item_id: 'old' });
    expect(sentOf(twilio, 'media')).toEqual([]);
    bridge.close('test over');
    await bridge.done;
    expect(writes.map((w) => w[1])).toContain('agent_rollover');
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
