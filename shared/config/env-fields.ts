import { z } from 'zod';

// Env values are strings (or absent); these helpers turn them into typed settings with defaults,
// treating an empty string as absent, the way shells and .env files usually mean it.
const blankToUndefined = (value: unknown) => (value === '' ? undefined : value);

export const envString = (fallback?: string) =>
  z.preprocess(blankToUndefined, fallback === undefined ? z.string() : z.string().default(fallback));

export const envOptionalString = () => z.preprocess(blankToUndefined, z.string().optional());

const wholeNumber = ({ min = 0, max = Number.MAX_SAFE_INTEGER } = {}) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const envInt = (fallback: number, range: { min?: number; max?: number } = {}) =>
  z.preprocess(blankToUndefined, wholeNumber(range).default(fallback));

export const envOptionalInt = (range: { min?: number; max?: number } = {}) =>
  z.preprocess(blankToUndefined, wholeNumber(range).optional());

/** A TCP port; 0 lets the OS pick one (tests). */
export const envPort = (fallback: number) => envInt(fallback, { min: 0, max: 65535 });
export const envOptionalPort = () => envOptionalInt({ min: 0, max: 65535 });

export const envBool = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

export const envUrl = () =>
  z.preprocess(blankToUndefined, z.url({ error: 'must be an absolute URL' }).optional());

export const envList = (fallback: string[] = []) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((v) =>
        v === undefined
          ? fallback
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
      ),
  );

export const envEnum = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.preprocess(blankToUndefined, z.enum(values).default(fallback as never));
