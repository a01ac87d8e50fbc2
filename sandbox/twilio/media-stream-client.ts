import WebSocket from 'ws';
import { MULAW_FRAME_BYTES, mulawSilence, splitMulawFrames } from '../../shared/audio/mulaw.ts';
import { computeTwilioSignature } from '../../shared/webhooks/twilio-signature.ts';

/**
 * One step of what the sandbox caller does, in order, after `start`. Between steps nothing is sent;
 * within one, frames go out at the stream's pace (20 ms of audio per `frameIntervalMs`).
 */
export type CallerStep =
  /** Speak: the clip's 20 ms frames. */
  | { say: Uint8Array }
  /** Stay on the line without speaking. */
  | { silenceMs: number }
  /** Press a key. */
  | { dtmf: string }
  /** Listen (sending silence) until this much agent audio has played, or `timeoutMs` of wall clock passed. */
  | { untilHeardMs: number; timeoutMs?: number }
  /** Not the caller: something the test makes happen at this moment of the call (e.g. the agent drops). */
  | { run: () => unknown };

export interface MediaStreamRunOptions {
  url: string;
  authToken: string;
  accountSid: string;
  callSid: string;
  streamSid: string;
  customParameters: Record<string, string>;
  /** What the caller "says": μ-law 8 kHz. */
  clip: Uint8Array;
  /** Pace between 20 ms frames; Twilio sends in real time (20), tests may go faster. */
  frameIntervalMs: number;
  /** After the clip, keep the line open (sending silence, as a live call does) at most this long for a reply. */
  listenMs: number;
  /** Stop listening once this much audio came back. */
  expectBytes: number;
  /** A DTMF digit pressed after the clip, if any. */
  dtmf?: string;
  /** What the caller does instead of "say the clip, press `dtmf`"; the listening phase follows it. */
  script?: readonly CallerStep[];
  /** Twilio ends the stream (`stop`, then close) when the call is redirected or hung up through the API. */
  signal?: AbortSignal;
}

export interface MediaStreamResult {
  streamSid: string;
  /** Whether the server accepted the upgrade; when not, the HTTP status it answered. */
  connected: boolean;
  upgradeStatus?: number;
  sentBytes: number;
  receivedBytes: number;
  receivedAudio: Uint8Array;
  /** Marks echoed because playback reached them, in order. */
  marks: string[];
  /** Marks echoed because a `clear` dropped the audio before them (Twilio echoes those too). */
  clearedMarks: string[];
  clears: number;
  /** Agent audio actually played (not dropped by a clear), bytes of μ-law. */
  heardBytes: number;
  /** Marks pending (sent by the server, not yet played) when each `clear` arrived. */
  pendingAtClear: number[];
  /** Who ended the stream: the caller (`stop` from us) or the server closing it. */
  endedBy: 'caller' | 'server' | 'error';
  closeCode?: number;
  closeReason?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Plays Twilio's side of a Media Stream against a voice app: a signed upgrade, `connected`, `start`, the
 * caller's script (speech frames, silence, DTMF) in real time, then silence while it listens, then `stop`.
 * Audio the server sends is played in real time (20 ms per frame interval) from a queue; a mark is
 * echoed when playback reaches it; `clear` drops the queued audio and echoes the marks still queued,
 * as Twilio does.
 */
export function runMediaStream(options: MediaStreamRunOptions): Promise<MediaStreamResult> {
  return new Promise<MediaStreamResult>((resolve) => {
    const received: Buffer[] = [];
    const result: MediaStreamResult = {
      streamSid: options.streamSid,
      connected: false,
      sentBytes: 0,
      receivedBytes: 0,
      receivedAudio: new Uint8Array(0),
      marks: [],
      clearedMarks: [],
      clears: 0,
      heardBytes: 0,
      pendingAtClear: [],
      endedBy: 'caller',
    };
    const signature = computeTwilioSignature(options.authToken, options.url, {});
    const ws = new WebSocket(options.url, {
      headers: { 'X-Twilio-Signature': signature, 'User-Agent': 'Twilio.TmeWs/1.0' },
      handshakeTimeout: 5000,
    });
    let sequence = 0;
    let stopSent = false;
    let settled = false;
    // Twilio's playback buffer: audio bytes and marks, in the order the server sent them.
    const queue: Array<{ audio: number } | { mark: string }> = [];
    const echoMarksAtHead = () => {
      while (queue.length > 0 && 'mark' in queue[0]) {
        const { mark } = queue.shift() as { mark: string };
        result.marks.push(mark);
        send({ event: 'mark', mark: { name: mark } });
      }
    };
    const playTick = () => {
      let budget = MULAW_FRAME_BYTES;
      echoMarksAtHead();
      while (budget > 0 && queue.length > 0) {
        const head = queue[0];
        if ('mark' in head) {
          echoMarksAtHead();
          continue;
        }
        const take = Math.min(budget, head.audio);
        head.audio -= take;
        budget -= take;
        result.heardBytes += take;
        if (head.audio === 0) queue.shift();
      }
      echoMarksAtHead();
    };
    const player = setInterval(playTick, options.frameIntervalMs);

    const finish = () => {
      if (settled) return;
      settled = true;
      clearInterval(player);
      result.receivedAudio = new Uint8Array(Buffer.concat(received));
      resolve(result);
    };
    const send = (message: Record<string, unknown>) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(
        JSON.stringify({ ...message, sequenceNumber: String(++sequence), streamSid: options.streamSid }),
      );
      return true;
    };
    const sendFrame = (frame: Uint8Array, chunk: number) => {
      const ok = send({
        event: 'media',
        media: {
          track: 'inbound',
          chunk: String(chunk),
          timestamp: String(chunk * 20),
          payload: Buffer.from(frame).toString('base64'),
        },
      });
      if (ok) result.sentBytes += frame.length;
      return ok;
    };

    ws.on('unexpected-response', (_request, response) => {
      result.upgradeStatus = response.statusCode;
      result.endedBy = 'error';
      response.resume();
      ws.terminate();
      finish();
    });
    ws.on('error', () => {
      if (!result.connected) result.endedBy = 'error';
      finish();
    });
    ws.on('message', (data) => {
      let message: { event?: string; media?: { payload?: string }; mark?: { name?: string } };
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (message.event === 'media' && message.media?.payload) {
        const bytes = Buffer.from(message.media.payload, 'base64');
        received.push(bytes);
        result.receivedBytes += bytes.length;
        queue.push({ audio: bytes.length });
      } else if (message.event === 'mark' && message.mark?.name) {
        queue.push({ mark: message.mark.name });
        if (queue.length === 1) echoMarksAtHead(); // nothing left to play before it
      } else if (message.event === 'clear') {
        result.clears++;
        const dropped = queue.splice(0).flatMap((item) => ('mark' in item ? [item.mark] : []));
        result.pendingAtClear.push(dropped.length);
        for (const mark of dropped) {
          result.clearedMarks.push(mark);
          send({ event: 'mark', mark: { name: mark } });
        }
      }
    });
    ws.on('close', (code, reason) => {
      result.closeCode = code;
      result.closeReason = reason.toString();
      if (result.connected && !stopSent) result.endedBy = 'server';
      finish();
    });
    const endByUpdate = () => {
      if (ws.readyState !== WebSocket.OPEN || stopSent) return;
      stopSent = true;
      send({ event: 'stop', stop: { accountSid: options.accountSid, callSid: options.callSid } });
      ws.close(1000, 'call updated');
    };
    options.signal?.addEventListener('abort', endByUpdate, { once: true });
    ws.on('open', async () => {
      result.connected = true;
      if (options.signal?.aborted) {
        endByUpdate();
        return;
      }
      send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
      send({
        event: 'start',
        start: {
          streamSid: options.streamSid,
          accountSid: options.accountSid,
          callSid: options.callSid,
          tracks: ['inbound'],
          customParameters: options.customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      });
      let chunk = 0;
      const silence = mulawSilence();
      const script: readonly CallerStep[] = options.script ?? [
        { say: options.clip },
        ...(options.dtmf ? [{ dtmf: options.dtmf }] : []),
      ];
      for (const step of script) {
        if (ws.readyState !== WebSocket.OPEN) break;
        if ('say' in step) {
          for (const frame of splitMulawFrames(step.say, MULAW_FRAME_BYTES)) {
            if (!sendFrame(frame, ++chunk)) break;
            await sleep(options.frameIntervalMs);
          }
        } else if ('silenceMs' in step) {
          for (let ms = 0; ms < step.silenceMs && sendFrame(silence, ++chunk); ms += 20)
            await sleep(options.frameIntervalMs);
        } else if ('dtmf' in step) {
          send({ event: 'dtmf', dtmf: { track: 'inbound_track', digit: step.dtmf } });
        } else if ('run' in step) {
          await step.run();
        } else {
          const until = Date.now() + (step.timeoutMs ?? 10_000);
          while (
            result.heardBytes < step.untilHeardMs * 8 &&
            Date.now() < until &&
            sendFrame(silence, ++chunk)
          )
            await sleep(options.frameIntervalMs);
        }
      }
      const listenUntil = Date.now() + options.listenMs;
      while (
        ws.readyState === WebSocket.OPEN &&
        Date.now() < listenUntil &&
        // Until the reply came and all of it played, as a caller listens to the end.
        (result.receivedBytes < options.expectBytes || queue.length > 0)
      ) {
        sendFrame(silence, ++chunk);
        await sleep(options.frameIntervalMs);
      }
      if (ws.readyState !== WebSocket.OPEN || stopSent) return; // ended already; the close handler records it
      stopSent = true;
      send({ event: 'stop', stop: { accountSid: options.accountSid, callSid: options.callSid } });
      ws.close(1000, 'call ended');
    });
  });
}
