// Plain ECMAScript shared by the k6 scripts (`__ENV`) and the Node runner (`process.env`): the same
// variable names configure both. Defaults are the values `npm run load:ci` starts the system with.

import { baseUrlVariable, SERVICES } from '../../services/manifest.js';

/**
 * Secrets the load and the system under load agree on when nothing else is set. The Twilio pair is the
 * provider sandbox's public dev account (voice-bridge uses it when TWILIO_* are unset), so the
 * sandbox's own callbacks and ours verify alike. The system runs with NODE_ENV=production, which refuses
 * public dev secrets and short ones: these are at least 32 characters.
 */
export const LOAD_DEFAULTS = {
  TWILIO_AUTH_TOKEN: 'sandbox-twilio-auth-token',
  TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
  VOICE_API_KEY: 'load-voice-api-key-0123456789abcdef',
  WHATSAPP_APP_SECRET: 'load-whatsapp-app-secret-0123456789',
  WHATSAPP_API_KEY: 'load-whatsapp-api-key-0123456789ab',
  WHATSAPP_PHONE_NUMBER_ID: '100000000000001',
  WHATSAPP_DISPLAY_PHONE_NUMBER: '250788000100',
  VIDEO_API_KEY: 'load-video-api-key-0123456789abcdef',
};

/** Where each service listens when no BASE_* variable says otherwise (the manifest's ports, the seed's). */
export const DEFAULT_BASE_URLS = Object.fromEntries(
  SERVICES.map((service) => [service.name, `http://127.0.0.1:${service.port}`]),
);

/** The environment variable naming each service's base URL (`BASE_<prefix>_URL`). */
export const BASE_URL_ENV = Object.fromEntries(
  SERVICES.map((service) => [service.name, baseUrlVariable(service)]),
);

/**
 * @param {Record<string, string | undefined>} env
 * @param {string} name
 */
function read(env, name) {
  const value = env[name];
  return value !== undefined && value !== ''
    ? value
    : /** @type {Record<string, string>} */ (LOAD_DEFAULTS)[name];
}

/**
 * Base URLs and signing secrets from an environment (k6's `__ENV` or Node's `process.env`).
 *
 * @param {Record<string, string | undefined>} env
 */
export function loadTargetsFromEnv(env) {
  /** @type {Record<string, string>} */
  const baseUrls = {};
  for (const [service, name] of Object.entries(BASE_URL_ENV)) {
    baseUrls[service] = (
      env[name] || /** @type {Record<string, string>} */ (DEFAULT_BASE_URLS)[service]
    ).replace(/\/$/, '');
  }
  return {
    baseUrls,
    config: {
      voicePublicUrl: (env.VOICE_PUBLIC_URL || baseUrls['voice-bridge']).replace(/\/$/, ''),
      twilioAuthToken: read(env, 'TWILIO_AUTH_TOKEN'),
      twilioAccountSid: read(env, 'TWILIO_ACCOUNT_SID'),
      voiceApiKey: read(env, 'VOICE_API_KEY'),
      whatsappAppSecret: read(env, 'WHATSAPP_APP_SECRET'),
      whatsappApiKey: read(env, 'WHATSAPP_API_KEY'),
      whatsappPhoneNumberId: read(env, 'WHATSAPP_PHONE_NUMBER_ID'),
      whatsappDisplayPhoneNumber: read(env, 'WHATSAPP_DISPLAY_PHONE_NUMBER'),
      videoApiKey: read(env, 'VIDEO_API_KEY'),
    },
  };
}

/**
 * `SERVICES=voice-bridge,whatsapp-webhook` restricts a run to some services; unset means all.
 *
 * @param {string | undefined} value
 */
export function parseServiceList(value) {
  if (!value) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
