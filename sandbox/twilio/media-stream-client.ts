import WebSocket from 'ws';
import { MULAW_FRAME_BYTES, mulawSilence, splitMulawFrames } from '../../shared/audio/mulaw.ts';
import { computeTwilioSignature } from '../../shared/webhooks/twilio-signature.ts';

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
}

export interface MediaStreamResult {
  streamSid: string;
  /** Whether the server accepted the upgrade; when not, the HTTP status it answered. */
  connected: boolean;
  upgradeStatus?: number;
  sentBytes: number;
  receivedBytes: number;
  receivedAudio: Uint8Array;
  marks: string[];
  clears: number;
  /** Who ended the stream: the caller (`stop` from us) or the server closing it. */
  endedBy: 'caller' | 'server' | 'error';
  closeCode?: number;
  closeReason?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Plays Twilio's side of a Media Stream against a voice app: a signed upgrade, `connected`, `start`,
 * real-time `media` frames of the clip, then silence while it listens for audio back, then `stop`.
 * Marks the server sends are echoed (playback is instant here); `clear` is counted and echoes pending
 * marks, as Twilio does.
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
      clears: 0,
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

    const finish = () => {
      if (settled) return;
      settled = true;
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
      } else if (message.event === 'mark' && message.mark?.name) {
        result.marks.push(message.mark.name);
        send({ event: 'mark', mark: { name: message.mark.name } });
      } else if (message.event === 'clear') {
        result.clears++;
      }
    });
    ws.on('close', (code, reason) => {
      result.closeCode = code;
      result.closeReason = reason.toString();
      if (result.connected && !stopSent) result.endedBy = 'server';
      finish();
    });
    ws.on('open', async () => {
      result.connected = true;
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
      for (const frame of splitMulawFrames(options.clip, MULAW_FRAME_BYTES)) {
        if (!sendFrame(frame, ++chunk)) break;
        await sleep(options.frameIntervalMs);
      }
      if (options.dtmf) send({ event: 'dtmf', dtmf: { track: 'inbound_track', digit: options.dtmf } });
      const listenUntil = Date.now() + options.listenMs;
      const silence = mulawSilence();
      while (
        ws.readyState === WebSocket.OPEN &&
        Date.now() < listenUntil &&
        result.receivedBytes < options.expectBytes
      ) {
        sendFrame(silence, ++chunk);
        await sleep(options.frameIntervalMs);
      }
      if (ws.readyState !== WebSocket.OPEN) return; // the server ended it; the close handler records that
      stopSent = true;
      send({ event: 'stop', stop: { accountSid: options.accountSid, callSid: options.callSid } });
      ws.close(1000, 'call ended');
    });
  });
}
