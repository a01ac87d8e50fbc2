import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMulawSample,
  encodeMulawSample,
  MULAW_FRAME_BYTES,
  mulawRms,
  mulawSilence,
  splitMulawFrames,
  synthesizeMulawClip,
} from '../../../../shared/audio/mulaw.ts';

describe('μ-law', () => {
  it('encodes the G.711 reference points', () => {
    expect(encodeMulawSample(0)).toBe(0xff);
    expect(encodeMulawSample(-1)).toBe(0x7f);
    expect(encodeMulawSample(32767)).toBe(0x80);
    expect(encodeMulawSample(-32768)).toBe(0x00);
    expect(decodeMulawSample(0xff)).toBe(0);
    expect(decodeMulawSample(0x80)).toBe(32124);
    expect(decodeMulawSample(0x00)).toBe(-32124);
  });

  it('round-trips every byte except the negative zero', () => {
    for (let byte = 0; byte < 256; byte++) {
      if (byte === 0x7f) continue; // -0 decodes to 0, which encodes as +0 (0xff)
      expect(encodeMulawSample(decodeMulawSample(byte))).toBe(byte);
    }
  });

  it('keeps the quantisation error within one step of the segment', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32000, max: 32000 }), (sample) => {
        const back = decodeMulawSample(encodeMulawSample(sample));
        expect(Math.sign(back) === Math.sign(sample) || back === 0 || Math.abs(sample) < 8).toBe(true);
        expect(Math.abs(back - sample)).toBeLessThanOrEqual(Math.max(8, Math.abs(sample) / 16));
      }),
    );
  });

  it('synthesizes frames that a level meter tells from silence', () => {
    const clip = synthesizeMulawClip([
      { frequencyHz: 440, durationMs: 200 },
      { frequencyHz: 0, durationMs: 100 },
    ]);
    expect(clip.length).toBe(2400);
    const frames = splitMulawFrames(clip);
    expect(frames).toHaveLength(15);
    expect(frames.every((f) => f.length === MULAW_FRAME_BYTES)).toBe(true);
    expect(mulawRms(frames[3])).toBeGreaterThan(3000);
    expect(mulawRms(frames[12])).toBe(0);
    expect(mulawRms(mulawSilence())).toBe(0);
  });

  it('pads the last frame with silence', () => {
    const frames = splitMulawFrames(new Uint8Array(170).fill(0x10));
    expect(frames).toHaveLength(2);
    expect(frames[1][9]).toBe(0x10);
    expect(frames[1][10]).toBe(0xff);
  });
});
