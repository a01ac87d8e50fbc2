import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../shared/observability/index.ts';
import type { MediaBridge } from './media-bridge.ts';

/** The voice bridge's own metrics, beside the kit's on the same registry. */
export interface VoiceMetrics {
  bargeIns: Counter<'truncated'>;
  backchannels: Counter<'language'>;
  agentUnavailable: Counter<'cause'>;
  streamsRefused: Counter<'reason'>;
  consent: Counter<'decision' | 'via'>;
  rollovers: Counter<'cause'>;
  turnLatency: Histogram;
}

const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: L[]) =>
  (registry.getSingleMetric(name) as Counter<L> | undefined) ??
  new Counter({ name, help, labelNames, registers: [registry] });

/** @example const voiceMetrics = createVoiceMetrics(metrics.registry); */
export function createVoiceMetrics(registry: Registry): VoiceMetrics {
  return {
    bargeIns: counter(registry, 'voice_barge_ins_total', 'Caller interruptions of the agent', ['truncated']),
    backchannels: counter(
      registry,
      'voice_backchannels_total',
      'Caller acknowledgements over the agent that did not interrupt it',
      ['language'],
    ),
    agentUnavailable: counter(
      registry,
      'voice_agent_unavailable_total',
      'Media streams whose agent could not be reached (caller got the fallback)',
      ['cause'],
    ),
    streamsRefused: counter(
      registry,
      'voice_media_streams_refused_total',
      'Media Streams upgrades refused after a valid Twilio signature',
      ['reason'],
    ),
    rollovers: counter(
      registry,
      'voice_agent_rollovers_total',
      'Agent sessions replaced mid-call (session cap near, or the session dropped)',
      ['cause'],
    ),
    turnLatency:
      (registry.getSingleMetric('voice_turn_latency_seconds') as Histogram | undefined) ??
      new Histogram({
        name: 'voice_turn_latency_seconds',
        help: "End of the caller's turn (agent's end-of-speech event) to the first agent audio frame sent to Twilio",
        buckets: [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5],
        registers: [registry],
      }),
    consent: counter(registry, 'voice_consent_total', 'Consent answers by decision and channel', [
      'decision',
      'via',
    ]),
  };
}

/**
 * `voice_call_outcomes{outcome}`: ended calls by their one outcome, read from the database at scrape
 * time, so every instance reports the same totals and no call is counted twice.
 */
export function registerOutcomeGauge(
  registry: Registry,
  countOutcomes: () => Promise<Array<{ outcome: string; calls: number }>>,
) {
  if (registry.getSingleMetric('voice_call_outcomes')) return;
  new Gauge({
    name: 'voice_call_outcomes',
    help: 'Ended calls by terminal outcome (exactly one per call), from the database',
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const row of await countOutcomes()) this.set({ outcome: row.outcome }, row.calls);
      } catch {
        // the database is down: /ready says so; the scrape still answers
      }
    },
  });
}

/**
 * The one place a media bridge's events become logs and metrics (opossum style: the bridge emits, this
 * subscribes). Transitions log at debug; decisions a caller notices log at info.
 */
export function observeMediaBridge(
  bridge: MediaBridge,
  callId: string,
  logger: Logger,
  metrics: VoiceMetrics,
) {
  const log = logger.child({ callId });
  bridge.on('transition', (t) => log.debug(t, 'media stream transition'));
  bridge.on('agentUnavailable', ({ reason, breakerOpen }) => {
    metrics.agentUnavailable.inc({ cause: breakerOpen ? 'breaker_open' : 'connect_failed' });
    log.warn({ reason }, 'agent unreachable; caller gets the fallback');
  });
  bridge.on('bargeIn', (b) => {
    metrics.bargeIns.inc({ truncated: String(b.truncated) });
    log.info(b, 'caller barged in');
  });
  bridge.on('rollover', (r) => {
    metrics.rollovers.inc({ cause: r.cause });
    log.info(r, 'agent session rolled over');
  });
  bridge.on('turnLatency', ({ ms }) => metrics.turnLatency.observe(ms / 1000));
  bridge.on('backchannel', ({ language }) => metrics.backchannels.inc({ language }));
  bridge.on('falseInterruption', (f) => log.debug(f, 'sound over the agent ignored'));
  bridge.on('consent', (c) => {
    metrics.consent.inc(c);
    log.info(c, 'consent answered');
  });
  bridge.on('writeFailed', ({ error }) => log.error({ err: error }, 'voice store write failed'));
  bridge.on('closed', ({ reason, stats }) => log.info({ reason, ...stats }, 'media stream ended'));
}
