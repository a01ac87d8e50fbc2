import { z } from 'zod';
import {
  baseEnvShape,
  envBool,
  envEnum,
  envInt,
  envList,
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
import { CALL_LANGUAGES, DEFAULT_BACKCHANNELS } from './conversation-language.ts';

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
  /** Lifetime of the signed Media Streams URL in our TwiML answer. */
  VOICE_STREAM_URL_TTL_S: envInt(60, { min: 5, max: 3600 }),
  VOICE_DEFAULT_LANGUAGE: envEnum(CALL_LANGUAGES, 'en'),
  /** Caller speech over the agent this long interrupts without waiting for words (0: any speech). */
  VOICE_MIN_INTERRUPTION_MS: envInt(600, { min: 0, max: 5000 }),
  /** Acknowledgements that never interrupt the agent, per language (comma-separated). */
  VOICE_BACKCHANNELS_EN: envList([...DEFAULT_BACKCHANNELS.en]),
  VOICE_BACKCHANNELS_SW: envList([...DEFAULT_BACKCHANNELS.sw]),
  VOICE_BACKCHANNELS_RW: envList([...DEFAULT_BACKCHANNELS.rw]),
  VOICE_BACKCHANNELS_FR: envList([...DEFAULT_BACKCHANNELS.fr]),
  /** Replace the agent session after this long (at a quiet moment), before the provider's cap; 0: never. */
  VOICE_AGENT_SESSION_ROLLOVER_S: envInt(1500, { min: 0 }),
  /** Outbound calls: what to do when a machine answers (Twilio async AMD); `off` places calls without AMD. */
  VOICE_ON_MACHINE: envEnum(['hang_up', 'leave_message', 'connect_agent', 'off'], 'hang_up'),
  VOICE_MACHINE_MESSAGE: envString(
    'Hello, this is EasyMO. We tried to reach you about your request. Please call us back. Thank you.',
  ),
  /** The agent asks for recording/AI consent first (DTMF 1 / yes, 2 / no). */
  VOICE_CONSENT: envBool(true),
  VOICE_CONSENT_PROMPT: envString(
    'This call is answered by an AI assistant and recorded. Press 1 or say yes to continue, press 2 or say no to end the call.',
  ),
  VOICE_CONSENT_REFUSED_MESSAGE: envString('Understood. We will not continue with the assistant. Goodbye.'),
  /**
   * A call Twilio may or may not have created (our request timed out after it was sent) waits this long
   * for its first status callback or Twilio's late answer; then it is failed.
   */
  VOICE_PLACEMENT_CONFIRM_S: envInt(60, { min: 1, max: 3600 }),
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
