export type { ServiceName } from '../../services/manifest.d.ts';

export interface StageSpec {
  duration: string;
  target: number;
}

export interface MixEntry {
  flow: string;
  weight: number;
  params?: Record<string, unknown>;
}

export type ThresholdList = (
  | string
  | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string }
)[];

export interface ClosedProfile {
  name: string;
  description?: string;
  model: 'closed';
  stages: StageSpec[];
  gracefulRampDown?: string;
  gracefulStop?: string;
  iterationSleepSeconds?: number;
  requestTimeout?: string;
  thresholds: Record<string, ThresholdList>;
  services: Partial<Record<string, { vuScale?: number; steps?: string[]; mix: MixEntry[] }>>;
  extraScenarios?: Record<
    string,
    {
      executor: 'shared-iterations';
      service: string;
      flow: string;
      vus?: number;
      iterations?: number;
      startTime?: string;
      maxDuration?: string;
      params?: Record<string, unknown>;
    }
  >;
}

export interface OpenProfile {
  name: string;
  description?: string;
  model: 'open';
  /** The staircase's rates as written; or */
  rates?: number[];
  /** a climb: startRate, × factor each step, up to maxRate (the probe's bound). */
  climb?: { startRate: number; factor: number; maxRate: number };
  stepDuration: string;
  preAllocatedVUs?: number;
  maxVUs?: number;
  requestTimeout?: string;
  breakpoint: { http_req_duration: string; http_req_failed: string; maxDroppedRatio?: number };
  services: Partial<Record<string, { mix: MixEntry[] }>>;
}

export interface PlannedStage {
  index: number;
  startMs: number;
  endMs: number;
  durationMs: number;
  from: number;
  target: number;
  label: string;
}

export interface ScenarioMeta {
  service: string;
  kind: 'mix' | 'flow';
  steps?: string[];
  mix?: MixEntry[];
  flow?: string;
  params?: Record<string, unknown>;
  startOffsetMs: number;
}

export interface K6ScenarioOptions {
  executor: 'ramping-vus' | 'shared-iterations' | 'ramping-arrival-rate';
  startVUs?: number;
  stages?: StageSpec[];
  gracefulRampDown?: string;
  gracefulStop?: string;
  vus?: number;
  iterations?: number;
  startTime?: string;
  maxDuration?: string;
  startRate?: number;
  timeUnit?: string;
  preAllocatedVUs?: number;
  maxVUs?: number;
  exec: string;
  tags: Record<string, string>;
}

export interface CompiledClosedProfile {
  options: {
    scenarios: Record<string, K6ScenarioOptions>;
    thresholds: Record<string, ThresholdList>;
    summaryTrendStats: string[];
    setupTimeout: string;
    teardownTimeout: string;
  };
  realThresholds: Record<string, ThresholdList>;
  services: string[];
  plan: PlannedStage[];
  scenarios: Record<string, ScenarioMeta>;
  sleepSeconds: number;
  requestTimeout: string;
}

export interface OpenStep {
  index: number;
  rate: number;
  startMs: number;
  endMs: number;
}

export interface CompiledOpenProfile {
  options: {
    scenarios: Record<string, K6ScenarioOptions>;
    thresholds: Record<string, ThresholdList>;
    summaryTrendStats: string[];
    setupTimeout: string;
  };
  service: string;
  steps: OpenStep[];
  mix: MixEntry[];
  requestTimeout: string;
}

export const SERVICES: readonly string[];
export const SUMMARY_TREND_STATS: string[];
export const METRIC_TYPES: Readonly<Record<string, 'counter' | 'trend' | 'rate' | 'gauge'>>;
export function stagePlan(stages: StageSpec[], startVUs?: number): PlannedStage[];
export function stageIndexAt(plan: { startMs: number; endMs: number }[], elapsedMs: number): number;
export function stepIndexAt(steps: { startMs: number; endMs: number }[], elapsedMs: number): number;
export function scaleStages(stages: StageSpec[], scale: number): StageSpec[];
export function pickFromMix(mix: MixEntry[], random: number): MixEntry;
export function parseMetricKey(key: string): { metric: string; tags: Record<string, string> };
export function reportMetricKeys(services: string[], stageCount: number): string[];
export function compileClosedProfile(
  profile: ClosedProfile,
  select?: { services?: string[] },
): CompiledClosedProfile;
export function openProfileRates(profile: Pick<OpenProfile, 'rates' | 'climb'>): number[];
export function compileOpenProfile(
  profile: OpenProfile,
  service: string,
  opts?: { abortOnFail?: boolean },
): CompiledOpenProfile;
