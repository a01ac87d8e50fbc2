import { describe, expect, it } from 'vitest';
import { type AgentSocket, openAgentSession } from '../../../../services/voice-bridge/agent-session.ts';

/** A WHATWG-style socket the test drives by hand. */
function fakeSocket() {
  const listeners = new Map<string, Array<(event: Event) => void>>();
  const sent: string[] = [];
  let readyState = 0;
  let closes = 0;
  const fire = (type: string, event: Event) => {
    for (const listener of listeners.get(type) ?? []) listener(event);
  };
  const socket: AgentSocket = {
    get readyState() {
      return readyState;
    },
    send: (data) => sent.push(data),
    close: () => {
      closes++;
      if (readyState === 3) return;
      readyState = 3;
      fire('close', Object.assign(new Event('close'), { code: 1000, reason: '' }));
    },
    addEventListener: (type, listener) => {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
    },
  };
  return {
    socket,
    sent,
    open: () => {
      readyState = 1;
      fire('open', new Event('open'));
    },
    message: (data: unknown) =>
      fire('message', Object.assign(new Event('message'), { data: JSON.stringify(data) })),
    error: () => fire('error', new Event('error')),
    get closes() {
      return closes;
    },
  };
}

describe('openAgentSession', () => {
  it('configures g711_ulaw both ways on open, relays audio, and passes on the events we act on', async () => {
    const fake = fakeSocket();
    let headers: Record<string, string> = {};
    const pending = openAgentSession({
      url: 'ws://agent',
      apiKey: 'k',
      agent: 'sales',
      connectTimeoutMs: 1000,
      createSocket: (_url, h) => {
        headers = h;
        return fake.socket;
      },
    });
    fake.open();
    // Open is not enough: the session is ready once the agent speaks.
    let ready = false;
    pending.then(() => {
      ready = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(ready).toBe(false);
    fake.message({ type: 'session.created' });
    const session = await pending;
    expect(headers).toEqual({ authorization: 'Bearer k' });
    const update = JSON.parse(fake.sent[0]);
    expect(update.type).toBe('session.update');
    expect(update.session).toMatchObject({
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'g711_ulaw',
    });
    session.appendAudio('AAAA');
    expect(JSON.parse(fake.sent[1])).toEqual({ type: 'input_audio_buffer.append', audio: 'AAAA' });

    const seen: string[] = [];
    session.onEvent((e) => seen.push(e.type));
    fake.message({ type: 'session.created' });
    fake.message({ type: 'response.audio.delta', delta: 'BBBB' });
    fake.message({ type: 'response.audio.delta' }); // malformed: no delta
    expect(seen).toEqual(['response.audio.delta']);
    session.close();
    await expect(session.closed).resolves.toMatchObject({ code: 1000 });
  });

  it('gives up after the connect timeout and closes the socket', async () => {
    const fake = fakeSocket();
    const pending = openAgentSession({
      url: 'ws://agent',
      connectTimeoutMs: 20,
      createSocket: () => fake.socket,
    });
    await expect(pending).rejects.toMatchObject({ name: 'DependencyError', code: 'ETIMEDOUT' });
    expect(fake.closes).toBeGreaterThanOrEqual(1);
  });

  it('gives up on a socket that opens onto a silent agent (no session.created), and closes it', async () => {
    const fake = fakeSocket();
    const pending = openAgentSession({
      url: 'ws://agent',
      connectTimeoutMs: 30,
      createSocket: () => fake.socket,
    });
    fake.open();
    await expect(pending).rejects.toMatchObject({ name: 'DependencyError', code: 'ETIMEDOUT' });
    expect(fake.closes).toBeGreaterThanOrEqual(1);
  });

  it('rejects when the agent closes the socket before its first event', async () => {
    const fake = fakeSocket();
    const pending = openAgentSession({
      url: 'ws://agent',
      connectTimeoutMs: 1000,
      createSocket: () => fake.socket,
    });
    fake.open();
    fake.socket.close();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNCLOSED' });
  });

  it('rejects when refused, and when aborted, closing the socket either way', async () => {
    const refused = fakeSocket();
    const a = openAgentSession({
      url: 'ws://agent',
      connectTimeoutMs: 1000,
      createSocket: () => refused.socket,
    });
    refused.error();
    await expect(a).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const aborted = fakeSocket();
    const controller = new AbortController();
    const b = openAgentSession({
      url: 'ws://agent',
      connectTimeoutMs: 1000,
      createSocket: () => aborted.socket,
      signal: controller.signal,
    });
    controller.abort();
    await expect(b).rejects.toMatchObject({ code: 'ABORTED' });
    expect(aborted.closes).toBeGreaterThanOrEqual(1);
  });
});
