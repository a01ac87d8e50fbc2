/**
 * SRT and WebVTT, read into plain cues. What reaches ffmpeg is never the client's file: soft
 * tracks are written back out as SRT from these cues, burned ones go through drawtext text files.
 */
export interface SubtitleCue {
  startS: number;
  endS: number;
  text: string;
}

export type SubtitleFormat = 'srt' | 'vtt';

export class SubtitleError extends Error {}

const TIMING_RE =
  /^\s*((?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+((?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3})(?:\s+.*)?$/;

function parseTimestamp(stamp: string): number {
  const [clock, fraction] = stamp.replace(',', '.').split('.');
  const parts = clock.split(':').map(Number);
  while (parts.length < 3) parts.unshift(0);
  return parts[0] * 3600 + parts[1] * 60 + parts[2] + Number(`0.${fraction}`);
}

// Markup (<i>, <c.yellow>, <00:01.000>, {\an8}) is dropped: the picture gets plain text.
function plainText(lines: string[]): string {
  return lines
    .join('\n')
    .replace(/<[^>]*>/g, '')
    .replace(/\{\\[^}]*\}/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .trim();
}

/** Cues in time order; throws SubtitleError naming the block that does not parse. */
export function parseSubtitles(content: string, format: SubtitleFormat): SubtitleCue[] {
  const blocks = content
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((b) => b.split('\n').filter((line) => line.trim() !== ''))
    .filter((b) => b.length > 0);
  if (format === 'vtt') {
    if (!/^WEBVTT(?:[ \t].*)?$/.test(blocks[0]?.[0] ?? '')) throw new SubtitleError('must start with WEBVTT');
    blocks.shift();
  }
  const cues: SubtitleCue[] = [];
  blocks.forEach((block, i) => {
    if (format === 'vtt' && /^(NOTE|STYLE|REGION)\b/.test(block[0])) return;
    const timingAt = TIMING_RE.test(block[0]) ? 0 : TIMING_RE.test(block[1] ?? '') ? 1 : -1;
    if (timingAt < 0) throw new SubtitleError(`cue ${i + 1}: no "start --> end" line`);
    const [, start, end] = TIMING_RE.exec(block[timingAt])!;
    const startS = parseTimestamp(start);
    const endS = parseTimestamp(end);
    if (!(endS > startS)) throw new SubtitleError(`cue ${i + 1}: ends before it starts`);
    const text = plainText(block.slice(timingAt + 1));
    if (text) cues.push({ startS, endS, text });
  });
  if (cues.length === 0) throw new SubtitleError('no cues');
  return cues.sort((a, b) => a.startS - b.startS);
}

function srtTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)},${pad(ms % 1000, 3)}`;
}

/** Our own SRT from parsed cues (the only subtitle file ffmpeg reads). */
export function toSrt(cues: SubtitleCue[]): string {
  return `${cues.map((c, i) => `${i + 1}\n${srtTime(c.startS)} --> ${srtTime(c.endS)}\n${c.text}\n`).join('\n')}`;
}

// ISO 639-1 → 639-2/T, which MP4 stores; the markets we serve first, then the big ones.
const ISO_639_2: Record<string, string> = {
  rw: 'kin',
  en: 'eng',
  fr: 'fra',
  sw: 'swa',
  lg: 'lug',
  rn: 'run',
  ln: 'lin',
  am: 'amh',
  so: 'som',
  es: 'spa',
  pt: 'por',
  de: 'deu',
  it: 'ita',
  nl: 'nld',
  ar: 'ara',
  zh: 'zho',
  ja: 'jpn',
  ko: 'kor',
  hi: 'hin',
  ru: 'rus',
  tr: 'tur',
  pl: 'pol',
  uk: 'ukr',
  id: 'ind',
  vi: 'vie',
  th: 'tha',
  yo: 'yor',
  ig: 'ibo',
  ha: 'hau',
  zu: 'zul',
  xh: 'xho',
  af: 'afr',
};

/** The MP4 language tag for `rw`, `kin`, `en-US`…; null when we do not know the language. */
export function mp4Language(tag: string): string | null {
  const primary = tag.toLowerCase().split('-')[0];
  if (/^[a-z]{3}$/.test(primary)) return primary;
  return ISO_639_2[primary] ?? null;
}
