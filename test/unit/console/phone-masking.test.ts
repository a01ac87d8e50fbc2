import { describe, expect, it } from 'vitest';
import { createPhoneVault } from '../../../console/phone-masking.ts';

describe('phone vault', () => {
  it('masks number fields at any depth, with a reference that opens to the number', () => {
    const vault = createPhoneVault();
    const masked = vault.mask({
      to: '+14155550100',
      events: [{ detail: { To: '+14155550100', Caller: '+15005550006', CallStatus: 'ringing' } }],
      text: 'hi',
    }) as { to: string; toRef: string; events: Array<{ detail: Record<string, string> }> };
    expect(JSON.stringify(masked)).not.toContain('4155550100');
    expect(masked.to).toBe('+14*******00');
    expect(vault.open(masked.toRef)).toBe('+14155550100');
    expect(masked.events[0].detail.CallStatus).toBe('ringing');
    expect(vault.open(masked.events[0].detail.CallerRef)).toBe('+15005550006');
  });

  it('seals one number to one reference (a quiet feed stays quiet), and refuses references it did not seal', () => {
    const vault = createPhoneVault();
    expect(vault.seal('250788123456')).toBe(vault.seal('250788123456'));
    expect(vault.seal('250788123456')).not.toBe(vault.seal('250788123457'));
    expect(createPhoneVault().open(vault.seal('250788123456'))).toBeNull();
    // One bit of the sealed number flipped (a fixed text in its place would, once in 4,096 keys, be the reference itself).
    const tampered = Buffer.from(vault.seal('250788123456'), 'base64url');
    tampered[tampered.length - 1] ^= 1;
    expect(vault.open(tampered.toString('base64url'))).toBeNull();
    expect(vault.open('not-a-reference')).toBeNull();
  });

  it('leaves short values and non-numbers alone', () => {
    const vault = createPhoneVault();
    expect(vault.mask({ to: 'agent', from: '123' })).toEqual({ to: 'agent', from: '123' });
  });
});
