import { parsePrometheusText } from '../../shared/observability/index.ts';

/**
 * One sample's value from a Prometheus text exposition: `name` plus every label given must match
 * (other labels, such as the default `service`, are ignored). 0 when no sample matches.
 *
 * @example
 * sampleValue(await (await fetch(`${url}/metrics`)).text(), 'webhook_deliveries_total', { result: 'stored' });
 */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const sample of parsePrometheusText(text)) {
    if (sample.name !== name) continue;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) total += sample.value;
  }
  return total;
}

/** GET /metrics as text. */
export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}
