import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPostgresJs } from '../../../../shared/db/index.ts';
import { closedPort } from '../../../support/http.ts';
import { type Harness, inboundEnvelope, postWebhook, startHarness } from './harness.ts';

describe('error log lines during a database outage (real refused socket)', () => {
  let h: Harness;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const port = await closedPort();
    // The app's database is a real postgres.js pool pointed at the closed port: every query is refused.
    h = await startHarness({
      appDb: () => fromPostgresJs({ url: `postgres://postgres@127.0.0.1:${port}/none`, max: 1 }),
      logDestination: { write: (line) => lines.push(JSON.parse(line)) },
    });
  });
  afterAll(() => h?.close());

  it('logs the refused delivery with type, message, stack and code, phones masked, no client', async () => {
    const res = await postWebhook(
      h.url,
      inboundEnvelope(
        { id: 'wamid.OUTAGE', type: 'text', text: { body: 'hi' } },
        { name: 'Ana', waId: '250788123456' },
      ),
    );
    expect(res.status).toBe(503);
    const line = lines.find((l) => /not stored/.test(String(l.msg)));
    expect(line, JSON.stringify(lines)).toBeDefined();
    const err = line!.err as Record<string, unknown>;
    expect(err.type).toBe('Error');
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(String(err.stack)).toMatch(/ECONNREFUSED[\s\S]*\n\s+at /);
    for (const value of Object.values(err)) expect(typeof value).not.toBe('object');
    const raw = JSON.stringify(line);
    expect(raw.length).toBeLessThan(3000);
    expect(raw).not.toContain('788123456');
  });
});
