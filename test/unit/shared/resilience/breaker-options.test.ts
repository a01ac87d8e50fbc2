import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BREAKER_DEFAULTS,
  breakerEnvPrefix,
  resolveBreakerOptions,
} from '../../../../shared/resilience/circuit-breaker.ts';

describe('breakerEnvPrefix', () => {
  it('upper-cases the name and turns every non-alphanumeric into _', () => {
    expect(breakerEnvPrefix('twilio')).toBe('BREAKER_TWILIO_');
    expect(breakerEnvPrefix('whatsapp-graph.v21')).toBe('BREAKER_WHATSAPP_GRAPH_V21_');
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(breakerEnvPrefix(name)).toMatch(/^BREAKER_[A-Z0-9_]*_$/);
      }),
    );
  });
});

describe('resolveBreakerOptions', () => {
  it('starts from the documented defaults', () => {
    expect(resolveBreakerOptions('x')).toMatchObject({
      timeout: 3000,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      resetTimeout: 30_000,
    });
    expect(BREAKER_DEFAULTS.timeout).toBe(3000);
  });

  it('ranks env over code options over defaults', () => {
    const resolved = resolveBreakerOptions(
      'ai-agent',
      { timeout: 10_000, resetTimeout: 5000, capacity: 4 },
      { BREAKER_AI_AGENT_TIMEOUT_MS: '20000', BREAKER_OTHER_RESET_MS: '1' },
    );
    expect(resolved).toMatchObject({
      timeout: 20_000, // env
      resetTimeout: 5000, // code
      volumeThreshold: 5, // default
      capacity: 4, // other opossum options pass through
    });
  });

  it('does not let an explicit undefined erase a default', () => {
    expect(resolveBreakerOptions('x', { timeout: undefined }).timeout).toBe(3000);
  });

  it('keeps timeout: false from code (opossum: no timeout) unless env sets one', () => {
    expect(resolveBreakerOptions('x', { timeout: false }).timeout).toBe(false);
    expect(resolveBreakerOptions('x', { timeout: false }, { BREAKER_X_TIMEOUT_MS: '50' }).timeout).toBe(50);
  });

  it.each([
    ['BREAKER_X_TIMEOUT_MS', '0'],
    ['BREAKER_X_TIMEOUT_MS', '1.5'],
    ['BREAKER_X_TIMEOUT_MS', ''],
    ['BREAKER_X_ERROR_THRESHOLD', '101'],
    ['BREAKER_X_VOLUME_THRESHOLD', '-1'],
    ['BREAKER_X_RESET_MS', 'later'],
  ])('refuses %s=%j', (variable, value) => {
    expect(() => resolveBreakerOptions('x', {}, { [variable]: value })).toThrow(variable);
  });
});
