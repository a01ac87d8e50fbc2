import type { OpenProfile } from '../common/options.js';
import type { OpenModelResult } from '../common/summary.js';
import { type ClosedRunOptions, type ClosedRunResult, runClosedProfile } from './run-closed.ts';
import { runOpenModel } from './run-open.ts';

export interface LoadRunOptions extends ClosedRunOptions {
  /** The open-model probe to run after the closed profile; skipped when absent or once aborted. */
  openProfile?: OpenProfile;
}

export interface LoadRunResult {
  closed: ClosedRunResult;
  openModel: Record<string, OpenModelResult> | null;
}

/**
 * One load run as both entry points make it (`npm run load:ci`, `load/run.ts`): the closed profile
 * (staged VUs, thresholds), then the optional open-model probe against the same targets.
 */
export async function runLoad(options: LoadRunOptions): Promise<LoadRunResult> {
  const { openProfile, ...closedOptions } = options;
  options.log?.(`closed model: profile ${options.profile.name}`);
  const closed = await runClosedProfile(closedOptions);
  if (!openProfile || options.signal?.aborted) return { closed, openModel: null };
  options.log?.(`open model: profile ${openProfile.name}`);
  const openModel = await runOpenModel({
    profile: openProfile,
    baseUrls: options.baseUrls,
    config: options.config,
    services: options.services,
    log: options.log,
    signal: options.signal,
  });
  return { closed, openModel };
}
