import { z } from 'zod';
import {
  baseEnvShape,
  envInt,
  envOptionalPort,
  envOptionalString,
  envPort,
  envSecret,
  envString,
  envUrl,
  loadConfig,
  refuseDevSecretsWhenLive,
  runtimeEnv,
} from '../../shared/config/index.ts';

/**
 * Dev-only credentials, used when TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are unset: the service then
 * talks to the local provider sandbox, which signs its webhooks with the same token. Never real secrets.
 */
export const SANDBOX_TWILIO_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const SANDBOX_TWILIO_AUTH_TOKEN = 'sandbox-twilio-auth-token';
export const DEV_VOICE_API_KEY = 'dev-voice-api-key';

const voiceEnvShape = {
  ...baseEnvShape,
  PORT: envPort(3001),
  /** Wins over PORT when several services share one environment. */
  VOICE_PORT: envOptionalPort(),
  VOICE_API_KEY: envSecret(DEV_VOICE_API_KEY),
  /** The URL Twilio reaches us at (a proxy changes host and scheme); webhook signatures cover it. */
  VOICE_PUBLIC_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:3001'),
  ),
  TWILIO_ACCOUNT_SID: envOptionalString(),
  TWILIO_AUTH_TOKEN: envOptionalString(),
  TWILIO_API_URL: envUrl(),
  TWILIO_FROM_NUMBER: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.e164({ error: 'must be an E.164 phone number' }).default('+15005550006'),
  ),
  VOICE_AGENT_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^wss?$/, error: 'must be a ws(s) URL' }).default('ws://127.0.0.1:4010/agent/realtime'),
  ),
  /** Sent as `Authorization: Bearer` to the agent (e.g. an OpenAI key); unset for the local echo agent. */
  VOICE_AGENT_API_KEY: envOptionalString(),
  VOICE_AGENT_CONNECT_TIMEOUT_MS: envInt(3000, { min: 100 }),
  VOICE_FALLBACK_MESSAGE: envString(
    'Sorry, our assistant is not available right now. Please call again later.',
  ),
  VOICE_OUTBOUND_RATE_POINTS: envInt(10, { min: 1 }),
  VOICE_OUTBOUND_RATE_DURATION_S: envInt(60, { min: 1 }),
  VOICE_DESTINATION_RATE_POINTS: envInt(3, { min: 1 }),
  VOICE_DESTINATION_RATE_DURATION_S: envInt(3600, { min: 1 }),
};

export const VoiceEnvSchema = z
  .object(voiceEnvShape)
  .superRefine(
    refuseDevSecretsWhenLive(voiceEnvShape, (env) =>
      env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN ? 'Twilio credentials are set' : null,
    ),
  )
  .superRefine((env, ctx) => {
    if (Boolean(env.TWILIO_ACCOUNT_SID) !== Boolean(env.TWILIO_AUTH_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.TWILIO_ACCOUNT_SID ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'],
        message: 'set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither (sandbox)',
      });
    }
  })
  .transform((env) => {
    const live = Boolean(env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN);
    return {
      ...env,
      port: env.VOICE_PORT ?? env.PORT,
      twilio: {
        sandbox: !live,
        apiUrl: env.TWILIO_API_URL ?? (live ? 'https://api.twilio.com' : 'http://127.0.0.1:4010'),
        accountSid: env.TWILIO_ACCOUNT_SID ?? SANDBOX_TWILIO_ACCOUNT_SID,
        authToken: env.TWILIO_AUTH_TOKEN ?? SANDBOX_TWILIO_AUTH_TOKEN,
        fromNumber: env.TWILIO_FROM_NUMBER,
      },
    };
  });

export type VoiceConfig = z.infer<typeof VoiceEnvSchema>;

/**
 * @example
 * const config = loadVoiceConfig(); // throws ConfigError naming every bad variable
 */
export function loadVoiceConfig(env: Record<string, string | undefined> = runtimeEnv()): VoiceConfig {
  return loadConfig('voice-bridge', VoiceEnvSchema, env);
}
