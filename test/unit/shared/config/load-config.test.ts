import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseEnvShape,
  ConfigError,
  envBool,
  envInt,
  envList,
  loadConfig,
} from '../../../../shared/config/index.ts';

const Schema = z.object({
  ...baseEnvShape,
  PORT: envInt(3001, { min: 1, max: 65535 }),
  FEATURE: envBool(false),
  HOSTS: envList(['a.example']),
  API_KEY: z.string().min(16, 'must be at least 16 characters'),
});

describe('loadConfig', () => {
  it('applies defaults when variables are absent or blank', () => {
    const config = loadConfig('svc', Schema, { API_KEY: 'k'.repeat(16), PORT: '' });
    expect(config.PORT).toBe(3001);
    expect(config.FEATURE).toBe(false);
    expect(config.HOSTS).toEqual(['a.example']);
    expect(config.DATA_DIR).toBe('./.data');
    expect(config.DATABASE_PREPARE).toBe(true);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('parses typed values', () => {
    const config = loadConfig('svc', Schema, {
      API_KEY: 'k'.repeat(16),
      PORT: '8080',
      FEATURE: 'yes',
      HOSTS: 'x.example, y.example',
      DATABASE_PREPARE: 'false',
      DATABASE_URL: 'postgres://u@h:6543/db',
    });
    expect(config).toMatchObject({ PORT: 8080, FEATURE: true, HOSTS: ['x.example', 'y.example'] });
    expect(config.DATABASE_PREPARE).toBe(false);
  });

  it('lists every offending variable with its reason in one error', () => {
    let error: unknown;
    try {
      loadConfig('svc', Schema, {
        PORT: '70000',
        FEATURE: 'maybe',
        DATABASE_URL: 'not a url',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['API_KEY', 'DATABASE_URL', 'FEATURE', 'LOG_LEVEL', 'PORT']);
    expect((error as ConfigError).message).toContain('PORT: must be at most 65535');
    expect((error as ConfigError).message).toContain('svc: invalid configuration');
  });
});
