/**
 * The Node runner against services that are already running (k6 semantics, no k6 binary needed):
 *   node load/run.ts [--profile ci|easymo-baseline|<path.json>] [--open open-model|open-model-ci]
 *                    [--services voice-bridge,whatsapp-webhook] [--results load/results]
 * Targets and secrets come from the same variables the k6 scripts read (BASE_VOICE_URL,
 * BASE_WHATSAPP_URL, BASE_VIDEO_URL, VOICE_PUBLIC_URL, TWILIO_AUTH_TOKEN, ...; see load/README.md).
 * Exits 99 when a threshold failed, as k6 does.
 */
import { parseArgs } from 'node:util';
import { loadTargetsFromEnv, parseServiceList } from './common/config.js';
import { loadClosedProfile, loadOpenProfile, loadSeedResults } from './runner/profiles.ts';
import { formatConsoleSummary, toSummaryFile, writeResults } from './runner/results.ts';
import { runLoad } from './runner/run-load.ts';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'ci' },
    open: { type: 'string' },
    services: { type: 'string' },
    results: { type: 'string', default: 'load/results' },
  },
});

const log = (line: string) => process.stdout.write(`[load] ${line}\n`);
const abort = new AbortController();
process.once('SIGINT', () => abort.abort());

const profile = await loadClosedProfile(values.profile);
const seed = await loadSeedResults();
const targets = loadTargetsFromEnv(process.env);
const services = parseServiceList(values.services ?? process.env.SERVICES);
log(`targets ${JSON.stringify(targets.baseUrls)}`);
const { closed, openModel } = await runLoad({
  profile,
  openProfile: values.open ? await loadOpenProfile(values.open) : undefined,
  seed,
  baseUrls: targets.baseUrls,
  config: targets.config,
  services,
  log,
  signal: abort.signal,
});
const summary = toSummaryFile(closed, openModel, seed);
const paths = await writeResults(summary, values.results);
process.stdout.write(formatConsoleSummary(summary));
log(`wrote ${paths.json} and ${paths.html}`);
process.exitCode = closed.exitCode;
