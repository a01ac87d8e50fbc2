import type { TranscriptTurn } from './store.ts';

/** One transcript segment as the API shows it. */
export function segmentView(turn: TranscriptTurn) {
  return {
    speaker: turn.role,
    language: turn.language,
    startMs: turn.startMs,
    endMs: turn.endMs,
    text: turn.text,
    interrupted: turn.interrupted,
    at: new Date(turn.at).toISOString(),
  };
}

const timestamp = (ms: number) => {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(total % 1000, 3)}`;
};

const escapeCueText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * WebVTT: one cue per segment, the speaker as a voice span and the language as a `<lang>` span, so a
 * player shows who spoke and screen readers pick the right voice. Segments without timing are skipped.
 *
 * @example
 * toWebVtt(turns); // "WEBVTT\n\n1\n00:00:00.320 --> 00:00:01.100\n<v Caller><lang sw>Habari</lang></v>\n"
 */
export function toWebVtt(turns: readonly TranscriptTurn[]): string {
  const cues = turns
    .filter((t) => t.startMs !== null && t.endMs !== null)
    .map((t, i) => {
      const voice = t.role === 'caller' ? 'Caller' : 'Agent';
      const note = t.interrupted ? ' (interrupted)' : '';
      return `${i + 1}\n${timestamp(t.startMs!)} --> ${timestamp(Math.max(t.endMs!, t.startMs!))}\n<v ${voice}><lang ${t.language}>${escapeCueText(t.text)}${note}</lang></v>\n`;
    });
  return ['WEBVTT\n', ...cues].join('\n');
}
