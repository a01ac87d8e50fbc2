export { baseEnvShape } from './base-env.ts';
export {
  envBool,
  envEnum,
  envInt,
  envList,
  envOptionalInt,
  envOptionalPort,
  envOptionalString,
  envPort,
  envString,
  envUrl,
} from './env-fields.ts';
export {
  envSecret,
  type LiveWhen,
  liveSecretProblems,
  MIN_SECRET_LENGTH,
  refuseDevSecretsWhenLive,
} from './env-secret.ts';
export { ConfigError, exitOnConfigError, loadConfig, loadConfigOrExit } from './load-config.ts';
export { runtimeEnv } from './runtime-env.ts';
