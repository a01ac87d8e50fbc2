import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../../services/video-orchestrator/file-range-response.ts';
import { createOutputUrlSigner } from '../../../../services/video-orchestrator/output-url-signer.ts';

describe('range parsing', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100, end: 999 }],
    ['bytes=-10', { start: 990, end: 999 }],
    ['bytes=990-5000', { start: 990, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
  ])('%s', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });
  it('unsatisfiable or ignored', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeNull();
    expect(parseRange('items=0-1', 1000)).toBeNull();
    expect(parseRange(undefined, 1000)).toBeNull();
  });
});

describe('output URL signer', () => {
  let now = Date.parse('2026-11-23T10:00:00Z');
  const signer = createOutputUrlSigner({
    apiKey: 'k',
    publicUrl: 'https://video.example',
    ttlSeconds: 600,
    now: () => now,
  });
  const id = '5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
  it('signs per render and kind, and expires', () => {
    const url = new URL(signer.url(id, 'output'));
    expect(url.pathname).toBe(`/renders/${id}/output`);
    const expires = Number(url.searchParams.get('expires'));
    const sig = url.searchParams.get('sig')!;
    expect(signer.verify(id, 'output', expires, sig)).toBe(true);
    expect(signer.verify(id, 'poster', expires, sig)).toBe(false);
    expect(signer.verify('5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c11', 'output', expires, sig)).toBe(false);
    expect(signer.verify(id, 'output', expires + 60, sig)).toBe(false);
    now += 2 * 3600_000;
    expect(signer.verify(id, 'output', expires, sig)).toBe(false);
  });
});
