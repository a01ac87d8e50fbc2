import { describe, expect, it } from 'vitest';
import { optIntent, optKeywords } from '../../../../services/whatsapp-webhook/opt-out-keywords.ts';

describe('opt-out keywords', () => {
  const keywords = optKeywords(['STOP', 'hagarika', 'acha', 'Arrêter'], ['start', 'tangira']);

  it('matches a whole message in any case, with spaces and end punctuation', () => {
    expect(optIntent('stop', keywords)).toBe('out');
    expect(optIntent('  Hagarika! ', keywords)).toBe('out');
    expect(optIntent('ACHA.', keywords)).toBe('out');
    expect(optIntent('arrêter', keywords)).toBe('out');
    expect(optIntent('arre\u0302ter', keywords)).toBe('out'); // decomposed accent
    expect(optIntent('Tangira', keywords)).toBe('in');
  });

  it('ignores sentences that merely contain a keyword', () => {
    expect(optIntent('please stop by tomorrow', keywords)).toBeNull();
    expect(optIntent('start the ride', keywords)).toBeNull();
    expect(optIntent(null, keywords)).toBeNull();
  });
});
