/**
 * One sample's value from a Prometheus text exposition: `name` plus every label given must match
 * (other labels, such as the default `service`, are ignored). 0 when no sample matches.
 *
 * @example
 * sampleValue(await (await fetch(`${url}/metrics`)).text(), 'webhook_deliveries_total', { result: 'stored' });
 */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!braces) continue;
    const found = new Map<string, string>();
    for (const pair of (braces[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found.set(pair[1], pair[2]);
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) total += Number(braces[2]);
  }
  return total;
}

/** GET /metrics as text. */
export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}
