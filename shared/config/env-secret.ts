import type { z } from 'zod';
import { envString } from './env-fields.ts';

/** What a secret field declares: its public development default and the least length we accept live. */
export interface SecretRule {
  devDefault: string;
  minLength: number;
}

/**
 * 32 characters: the length of a Meta app secret or a Twilio auth token (32 hex), and what
 * `openssl rand -hex 16` prints. Anything a person would type from memory is shorter.
 */
export const MIN_SECRET_LENGTH = 32;

const secretRules = new WeakMap<z.ZodType, SecretRule>();

/**
 * A secret with a development default, so `npm start` needs no variables. The default is public (it
 * is in the repository): `liveSecretProblems` refuses it, and short values, once the service is live.
 *
 * @example
 * WHATSAPP_APP_SECRET: envSecret('dev-whatsapp-app-secret'),
 */
export function envSecret(devDefault: string, options: { minLength?: number } = {}) {
  const field = envString(devDefault);
  secretRules.set(field, { devDefault, minLength: options.minLength ?? MIN_SECRET_LENGTH });
  return field;
}

/** Why an environment counts as live, or null. NODE_ENV=production always does. */
export type LiveWhen = (env: Record<string, unknown>) => string | null;

/**
 * Every secret field of `shape` that still holds its public dev default or is too short, named with
 * the reason the service is live; none when it is not. For a schema's `superRefine`: see
 * `refuseDevSecretsWhenLive`.
 */
export function liveSecretProblems(
  shape: Record<string, z.ZodType>,
  env: Record<string, unknown>,
  liveWhen: LiveWhen,
): { variable: string; reason: string }[] {
  const live = env.NODE_ENV === 'production' ? 'NODE_ENV=production' : liveWhen(env);
  if (!live) return [];
  const problems: { variable: string; reason: string }[] = [];
  for (const [variable, field] of Object.entries(shape)) {
    const rule = secretRules.get(field);
    const value = env[variable];
    if (!rule || typeof value !== 'string') continue;
    if (value === rule.devDefault) {
      problems.push({ variable, reason: `is the public development default; set a real secret (${live})` });
    } else if (value.length < rule.minLength) {
      problems.push({
        variable,
        reason: `is shorter than ${rule.minLength} characters; set a long random secret (${live})`,
      });
    }
  }
  return problems;
}

/**
 * A `superRefine` step that stops a live service (provider credentials set, or NODE_ENV=production)
 * from starting with a dev-default or short secret: each one becomes a config error naming it.
 *
 * @example
 * z.object(shape).superRefine(refuseDevSecretsWhenLive(shape, (env) => (env.WHATSAPP_ACCESS_TOKEN ? 'WHATSAPP_ACCESS_TOKEN is set' : null)))
 */
export function refuseDevSecretsWhenLive(shape: Record<string, z.ZodType>, liveWhen: LiveWhen) {
  return function refuseDevSecrets(env: Record<string, unknown>, ctx: z.RefinementCtx): void {
    for (const problem of liveSecretProblems(shape, env, liveWhen)) {
      ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.reason });
    }
  };
}
