import { Counter, Gauge, Histogram } from 'prom-client';
import type { BusinessMetrics, ServiceMetrics } from '../../shared/observability/index.ts';

/**
 * Render-attempt metrics on the service's registry (create once per registry), plus the business
 * counters (renders by status, queued → final duration) the worker records.
 */
export interface RenderMetrics extends Pick<BusinessMetrics, 'videoRenders' | 'videoRenderDuration'> {
  attempts: Counter<'outcome'>;
  attemptDuration: Histogram<'outcome'>;
  active: Gauge;
}

export function createRenderMetrics(metrics: ServiceMetrics): RenderMetrics {
  const registers = [metrics.registry];
  return {
    videoRenders: metrics.videoRenders,
    videoRenderDuration: metrics.videoRenderDuration,
    attempts: new Counter({
      name: 'video_render_attempts_total',
      help: 'Render attempts by outcome (completed, failed, retry, canceled, requeued, skipped)',
      labelNames: ['outcome'],
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'video_render_attempt_seconds',
      help: 'Wall time of one render attempt, download to upload',
      labelNames: ['outcome'],
      buckets: [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300],
      registers,
    }),
    active: new Gauge({
      name: 'video_renders_active',
      help: 'Render attempts running in this process',
      registers,
    }),
  };
}
