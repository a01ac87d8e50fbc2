/**
 * G.711 μ-law, the telephone codec Twilio Media Streams and OpenAI-Realtime `g711_ulaw` both speak:
 * 8 kHz, 8 bits per sample, so a 20 ms frame is 160 bytes. Pure TS so the sandbox can make its own clip
 * without ffmpeg, and the echo agent can tell speech from silence.
 */

export const MULAW_SAMPLE_RATE = 8000;
/** 20 ms at 8 kHz, one byte per sample: the frame size Twilio sends. */
export const MULAW_FRAME_BYTES = 160;
/** μ-law encodes linear 0 as 0xFF. */
export const MULAW_SILENCE = 0xff;

const BIAS = 0x84;
const CLIP = 32635;

/** One signed 16-bit linear sample → one μ-law byte. */
export function encodeMulawSample(sample: number): number {
  let magnitude = Math.round(sample);
  const sign = magnitude < 0 ? 0x80 : 0;
  if (magnitude < 0) magnitude = -magnitude;
  if (magnitude > CLIP) magnitude = CLIP;
  magnitude += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** One μ-law byte → one signed 16-bit linear sample. */
export function decodeMulawSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function encodeMulaw(samples: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encodeMulawSample(samples[i]);
  return out;
}

export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = decodeMulawSample(bytes[i]);
  return out;
}

/** Root-mean-square level of μ-law audio in linear units (0 … 32767); a cheap voice-activity signal. */
export function mulawRms(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const s = decodeMulawSample(bytes[i]);
    sum += s * s;
  }
  return Math.sqrt(sum / bytes.length);
}

export interface ToneSegment {
  /** 0 for silence. */
  frequencyHz: number;
  durationMs: number;
}

/**
 * A μ-law clip of tones and pauses with 5 ms fades (no clicks), e.g. the sandbox caller's "voice".
 *
 * @example
 * const clip = synthesizeMulawClip([{ frequencyHz: 440, durationMs: 300 }, { frequencyHz: 0, durationMs: 200 }]);
 */
export function synthesizeMulawClip(segments: readonly ToneSegment[], amplitude = 8000): Uint8Array {
  const samples: number[] = [];
  const fade = Math.round(MULAW_SAMPLE_RATE * 0.005);
  for (const segment of segments) {
    const count = Math.round((MULAW_SAMPLE_RATE * segment.durationMs) / 1000);
    for (let i = 0; i < count; i++) {
      if (segment.frequencyHz === 0) {
        samples.push(0);
        continue;
      }
      const envelope = Math.min(1, i / fade, (count - 1 - i) / fade);
      samples.push(
        amplitude * envelope * Math.sin((2 * Math.PI * segment.frequencyHz * i) / MULAW_SAMPLE_RATE),
      );
    }
  }
  return encodeMulaw(samples);
}

/** Splits audio into frames of `frameBytes`, padding the last one with silence. */
export function splitMulawFrames(bytes: Uint8Array, frameBytes = MULAW_FRAME_BYTES): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += frameBytes) {
    const frame = new Uint8Array(frameBytes).fill(MULAW_SILENCE);
    frame.set(bytes.subarray(offset, Math.min(offset + frameBytes, bytes.length)));
    frames.push(frame);
  }
  return frames;
}

/** A frame of μ-law silence. */
export function mulawSilence(bytes = MULAW_FRAME_BYTES): Uint8Array {
  return new Uint8Array(bytes).fill(MULAW_SILENCE);
}
