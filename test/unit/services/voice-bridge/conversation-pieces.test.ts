import { describe, expect, it } from 'vitest';
import {
  consentFromSpeech,
  DEFAULT_BACKCHANNELS,
  isBackchannel,
} from '../../../../services/voice-bridge/conversation-language.ts';
import { heardPart } from '../../../../services/voice-bridge/media-bridge.ts';
import { createPlaybackTracker } from '../../../../services/voice-bridge/playback-tracker.ts';
import type { TranscriptTurn } from '../../../../services/voice-bridge/store.ts';
import { signStreamToken, verifyStreamToken } from '../../../../services/voice-bridge/stream-token.ts';
import { toWebVtt } from '../../../../services/voice-bridge/transcript-format.ts';

const CALL = '11111111-2222-4333-8444-555555555555';

describe('stream token', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  it('verifies for its call until it expires', () => {
    const token = signStreamToken('secret', CALL, new Date(now.getTime() + 60_000));
    expect(verifyStreamToken('secret', CALL, token, now)).toBe('valid');
    expect(verifyStreamToken('secret', CALL, token, new Date(now.getTime() + 61_000))).toBe('expired');
    expect(verifyStreamToken('other', CALL, token, now)).toBe('invalid');
    expect(verifyStreamToken('secret', '21111111-2222-4333-8444-555555555555', token, now)).toBe('invalid');
    const [expires, mac] = token.split('.');
    expect(verifyStreamToken('secret', CALL, `${Number(expires) + 3600}.${mac}`, now)).toBe('invalid');
    expect(verifyStreamToken('secret', CALL, 'junk', now)).toBe('invalid');
  });
});

describe('playback tracker', () => {
  it('counts only acknowledged audio as played, and ignores marks a clear dropped', () => {
    const playback = createPlaybackTracker();
    const a = playback.audioSent({ itemId: 'a' }, 800, 0);
    const b = playback.audioSent({ itemId: 'a' }, 800, 0);
    expect([a.markName, b.markName]).toEqual(['a@100', 'a@200']);
    expect(playback.markEchoed('a@100')?.item.playedMs).toBe(100);
    const [cut] = playback.interrupt(150);
    expect(cut).toMatchObject({ itemId: 'a', playedMs: 100, generatedMs: 200, ended: 'cut' });
    expect(playback.markEchoed('a@200')).toBeUndefined();
    expect(playback.audible).toBe(false);
  });

  it('finishes an item once its audio is done and its last mark played, in either order', () => {
    const playback = createPlaybackTracker();
    playback.audioSent({ itemId: 'a' }, 80, 0);
    expect(playback.audioDone({ itemId: 'a' })).toBeUndefined();
    expect(playback.markEchoed('a@10')?.finished).toBe(true);
    playback.audioSent({ itemId: 'b' }, 80, 0);
    expect(playback.markEchoed('b@10')?.finished).toBe(false);
    expect(playback.audioDone({ itemId: 'b' })?.ended).toBe('played');
  });

  it('starts the next item where the queued audio ends on the call clock', () => {
    const playback = createPlaybackTracker();
    playback.audioSent({ itemId: 'a' }, 8000, 500); // 1 s from 500 ms
    const { item } = playback.audioSent({ itemId: 'b' }, 800, 600);
    expect(item.startMs).toBe(1500);
  });
});

describe('backchannels and consent words', () => {
  it('recognises acknowledgements per language, and nothing more', () => {
    expect(isBackchannel('Mhm.', 'en', DEFAULT_BACKCHANNELS)).toBe(true);
    expect(isBackchannel('okay okay', 'en', DEFAULT_BACKCHANNELS)).toBe(true);
    expect(isBackchannel('Yego', 'rw', DEFAULT_BACKCHANNELS)).toBe(true);
    expect(isBackchannel('Ndiyo, sawa', 'sw', DEFAULT_BACKCHANNELS)).toBe(true);
    expect(isBackchannel("D'accord.", 'fr', DEFAULT_BACKCHANNELS)).toBe(true);
    expect(isBackchannel('okay but wait', 'en', DEFAULT_BACKCHANNELS)).toBe(false);
    expect(isBackchannel('Hagarara', 'rw', DEFAULT_BACKCHANNELS)).toBe(false);
    expect(isBackchannel('', 'en', DEFAULT_BACKCHANNELS)).toBe(false);
  });

  it('reads consent from speech; a no anywhere wins', () => {
    expect(consentFromSpeech('Yes, that is fine', 'en')).toBe('granted');
    expect(consentFromSpeech('Yego', 'rw')).toBe('granted');
    expect(consentFromSpeech('Hapana', 'sw')).toBe('refused');
    expect(consentFromSpeech('oui... non', 'fr')).toBe('refused');
    expect(consentFromSpeech('what is this about', 'en')).toBeNull();
  });

  it('keeps the heard share of a cut-off reply in whole words', () => {
    expect(heardPart('one two three four', 0.5)).toBe('one two');
    expect(heardPart('one two three four', 0.1)).toBe('');
    expect(heardPart('one two', 2)).toBe('one two');
  });
});

describe('WebVTT', () => {
  const turn = (t: Partial<TranscriptTurn>): TranscriptTurn => ({
    role: 'caller',
    text: '',
    at: new Date(),
    language: 'en',
    startMs: 0,
    endMs: 0,
    interrupted: false,
    ...t,
  });
  it('writes one cue per timed segment with speaker and language', () => {
    const vtt = toWebVtt([
      turn({ text: 'Muraho <3', language: 'rw', startMs: 320, endMs: 1100 }),
      turn({ role: 'agent', text: 'Hello', startMs: 3_723_004, endMs: 3_724_000, interrupted: true }),
      turn({ text: 'untimed', startMs: null, endMs: null }),
    ]);
    expect(vtt).toBe(
      'WEBVTT\n\n1\n00:00:00.320 --> 00:00:01.100\n<v Caller><lang rw>Muraho &lt;3</lang></v>\n\n' +
        '2\n01:02:03.004 --> 01:02:04.000\n<v Agent><lang en>Hello (interrupted)</lang></v>\n',
    );
  });
});
