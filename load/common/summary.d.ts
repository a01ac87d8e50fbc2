import type { CompiledClosedProfile } from './options.js';

export interface ComparisonRow {
  service: string;
  measure: string;
  unit: string;
  ours: number | null;
  seed: number | null;
  lowerIsBetter: boolean;
  better: boolean | null;
}

export interface StageSummary {
  index: number;
  label: string;
  from: number;
  target: number;
  durationMs: number;
  requests: number;
  throughputRps: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errorRate: number | null;
  failedRate: number | null;
  services: Record<
    string,
    { requests: number; throughputRps: number; p95Ms: number | null; errorRate: number | null }
  >;
}

export interface ServiceSummary {
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errorRate: number | null;
  failedRate: number | null;
  healthP95Ms: number | null;
  peakStage: number;
  peakVus: number | null;
  peakThroughputRps: number | null;
  maxSustainableRps: number | null;
  /** The open model's last step that held, and the step that broke (null: none did). */
  maxSustainableRate: number | null;
  brokeAtRate: number | null;
  /** Every open-model step held: `maxSustainableRps` is a lower bound. */
  ceilingAboveStaircase: boolean;
}

export interface OpenModelStep {
  index: number;
  rate: number;
  requests: number;
  achievedRps: number;
  p95Ms: number | null;
  failedRate: number | null;
  dropped: number | null;
  ok: boolean;
  reached: boolean;
}

export interface OpenModelResult {
  service: string;
  steps: OpenModelStep[];
  maxSustainableRps: number | null;
  maxSustainableRate: number | null;
  brokeAtRate: number | null;
  /** False when every step held: the climb hit the profile's maxRate before the service broke. */
  ceilingReached: boolean;
  /** The ceiling in words: between the last step that held and the step that broke. */
  ceiling: string;
  reason: string;
}

export interface EasymoSummary {
  tool: string;
  profile: string;
  testRunDurationMs: number;
  services: string[];
  overall: {
    requests: number;
    throughputRps: number | null;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    errorRate: number | null;
    failedRate: number | null;
    checksRate: number | null;
    iterations: number;
    vusMax: number | null;
  };
  stages: StageSummary[];
  perService: Record<string, ServiceSummary>;
  health: { p95Ms: number | null };
  renders: {
    completed: number;
    perSecond: number | null;
    submitted: number;
    submittedPerSecond: number | null;
    processingP95Ms: number | null;
  };
  openModel: Record<string, OpenModelResult> | null;
  seed: unknown;
  comparison: ComparisonRow[];
  thresholds: { metric: string; expression: string; ok: boolean }[];
  checks: { name: string; passes: number; fails: number }[];
  passed: boolean;
}

export function peakHoldStage(plan: { index: number; from: number; target: number }[]): number;
export function thresholdVerdicts(
  metrics: Record<string, unknown>,
  realThresholds: Record<string, unknown[]>,
): { metric: string; expression: string; ok: boolean }[];
export function buildEasymoSummary(input: {
  metrics: Record<string, unknown>;
  checks?: { name: string; passes: number; fails: number }[];
  compiled: CompiledClosedProfile;
  profileName: string;
  seed: unknown;
  tool: string;
  testRunDurationMs: number;
  openModel?: Record<string, OpenModelResult> | null;
}): EasymoSummary;
export function compareWithSeed(s: {
  perService: Record<string, ServiceSummary>;
  health: { p95Ms: number | null };
  renders: { perSecond: number | null; submittedPerSecond?: number | null; processingP95Ms: number | null };
  seed: unknown;
}): ComparisonRow[];
export function comparisonTable(rows: ComparisonRow[]): string;
export function mainMetrics(metrics: Record<string, unknown>): Record<string, unknown>;
export function analyzeOpenModel(input: {
  service: string;
  metrics: Record<string, unknown>;
  steps: { index: number; rate: number; startMs: number; endMs: number }[];
  droppedByStep?: number[] | null;
  maxDroppedRatio?: number;
}): OpenModelResult;
