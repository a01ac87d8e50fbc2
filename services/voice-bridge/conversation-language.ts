/** The languages our callers speak: English, Kiswahili, Kinyarwanda, French. */
export const CALL_LANGUAGES = ['en', 'sw', 'rw', 'fr'] as const;
export type CallLanguage = (typeof CALL_LANGUAGES)[number];

export const isCallLanguage = (value: unknown): value is CallLanguage =>
  typeof value === 'string' && (CALL_LANGUAGES as readonly string[]).includes(value);

/** Short acknowledgements that mean "go on", not "stop": they never interrupt the agent. */
export type Backchannels = Record<CallLanguage, readonly string[]>;

export const DEFAULT_BACKCHANNELS: Backchannels = {
  en: ['mhm', 'mm', 'uh huh', 'okay', 'ok', 'yeah', 'yes', 'right', 'sure', 'i see'],
  sw: ['ndiyo', 'sawa', 'eeh', 'eh', 'mhm', 'naam', 'haya'],
  rw: ['yego', 'ego', 'nibyo', 'sawa', 'mhm', 'eeh'],
  fr: ['oui', "d'accord", 'ouais', 'mhm', 'ok', 'okay', 'voilà', 'je vois'],
};

const normalise = (text: string) =>
  text
    .toLowerCase()
    .normalize('NFC')
    .replace(/[.,!?¡¿…"“”«»]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * Whether a caller utterance is only a backchannel in its language (or in English, which callers mix in).
 * A repeat ("okay okay", "mhm mhm") still counts; anything else said with it does not.
 *
 * @example
 * isBackchannel('Yego.', 'rw', DEFAULT_BACKCHANNELS); // true
 */
export function isBackchannel(text: string, language: CallLanguage, backchannels: Backchannels): boolean {
  const said = normalise(text);
  if (!said) return false;
  const phrases = new Set([...backchannels[language], ...backchannels.en].map(normalise));
  let rest = said;
  // Peel known phrases off the front, longest first, until nothing or something else is left.
  const ordered = [...phrases].sort((a, b) => b.length - a.length);
  while (rest) {
    const phrase = ordered.find((p) => rest === p || rest.startsWith(`${p} `));
    if (!phrase) return false;
    rest = rest.slice(phrase.length).trim();
  }
  return true;
}

/** Spoken answers to the consent question, per language (English always understood too). */
export const CONSENT_WORDS: Record<CallLanguage, { yes: readonly string[]; no: readonly string[] }> = {
  en: {
    yes: ['yes', 'yeah', 'i agree', 'agree', 'okay', 'ok', 'sure'],
    no: ['no', 'nope', "don't", 'do not'],
  },
  sw: { yes: ['ndiyo', 'ndio', 'sawa', 'nakubali'], no: ['hapana', 'sikubali', 'la'] },
  rw: { yes: ['yego', 'ndabyemeye', 'nibyo'], no: ['oya', 'sinemera', 'ntabwo'] },
  fr: { yes: ['oui', "d'accord", "j'accepte"], no: ['non', 'refuse', 'je refuse'] },
};

const containsPhrase = (said: string, phrase: string) => ` ${said} `.includes(` ${normalise(phrase)} `);

/**
 * The caller's spoken answer to the consent question, or null when it is neither. A "no" anywhere wins:
 * when in doubt we do not record.
 */
export function consentFromSpeech(text: string, language: CallLanguage): 'granted' | 'refused' | null {
  const said = normalise(text);
  const words = [CONSENT_WORDS[language], CONSENT_WORDS.en];
  if (words.some((w) => w.no.some((p) => containsPhrase(said, p)))) return 'refused';
  if (words.some((w) => w.yes.some((p) => containsPhrase(said, p)))) return 'granted';
  return null;
}
