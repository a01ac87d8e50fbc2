/** Opt-out and opt-in keywords, already normalized (see normalizeKeyword). */
export interface OptKeywords {
  optOut: Set<string>;
  optIn: Set<string>;
}

/** "  Stop! " and "STOP" are the same keyword: case, accents' composition and end punctuation do not count. */
export function normalizeKeyword(text: string): string {
  return text
    .normalize('NFC')
    .trim()
    .toLocaleLowerCase()
    .replace(/[\s.!?¡¿]+$/u, '');
}

export function optKeywords(optOut: string[], optIn: string[]): OptKeywords {
  return { optOut: new Set(optOut.map(normalizeKeyword)), optIn: new Set(optIn.map(normalizeKeyword)) };
}

/**
 * What a whole message asks for: `out` (STOP, "hagarika", ...), `in` (START, ...) or nothing. Only the
 * whole message counts, as on every carrier, so "stop by tomorrow" is an ordinary message.
 */
export function optIntent(text: string | null, keywords: OptKeywords): 'out' | 'in' | null {
  if (text === null) return null;
  const word = normalizeKeyword(text);
  if (keywords.optOut.has(word)) return 'out';
  if (keywords.optIn.has(word)) return 'in';
  return null;
}
