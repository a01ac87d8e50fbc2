import type { LoadConfig } from '../scenarios/flows.js';

export const LOAD_DEFAULTS: Readonly<Record<string, string>>;
export const DEFAULT_BASE_URLS: Readonly<Record<string, string>>;
export const BASE_URL_ENV: Readonly<Record<string, string>>;
export function loadTargetsFromEnv(env: Record<string, string | undefined>): {
  baseUrls: Record<string, string>;
  config: LoadConfig;
};
export function parseServiceList(value: string | undefined): string[] | undefined;
