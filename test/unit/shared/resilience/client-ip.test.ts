import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientIp, normalizeIp } from '../../../../shared/resilience/client-ip.ts';

async function ipFor(
  env: unknown,
  headers: Record<string, string> = {},
  trustProxy?: string,
): Promise<string> {
  const app = new Hono().get('/', (c) => c.text(clientIp(c, trustProxy)));
  const res = await app.request('/', { headers }, env as Record<string, unknown>);
  return res.text();
}

const nodeEnv = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress } }, outgoing: {} });
const denoEnv = (hostname: string) => ({ remoteAddr: { hostname, port: 50_000, transport: 'tcp' } });

describe('clientIp', () => {
  it('reads the socket address as @hono/node-server exposes it', async () => {
    expect(await ipFor(nodeEnv('198.51.100.4'))).toBe('198.51.100.4');
    expect(await ipFor(nodeEnv('::ffff:198.51.100.4'))).toBe('198.51.100.4');
    expect(await ipFor({ server: nodeEnv('2001:db8::1') })).toBe('2001:db8::1');
  });

  it('reads remoteAddr as Deno.serve(app.fetch) passes it (what hono/deno getConnInfo reads)', async () => {
    expect(await ipFor(denoEnv('192.0.2.5'))).toBe('192.0.2.5');
  });

  it('says unknown when the runtime exposes no address', async () => {
    expect(await ipFor(undefined)).toBe('unknown');
    expect(await ipFor({})).toBe('unknown');
  });

  it('never trusts forwarding headers unless TRUST_PROXY names one', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.9', 'cf-connecting-ip': '203.0.113.10' };
    expect(await ipFor(nodeEnv('10.0.0.1'), headers)).toBe('10.0.0.1');
    expect(await ipFor(nodeEnv('10.0.0.1'), headers, '')).toBe('10.0.0.1');
    expect(await ipFor(nodeEnv('10.0.0.1'), headers, 'X-Forwarded-For')).toBe('203.0.113.9');
    expect(await ipFor(nodeEnv('10.0.0.1'), headers, 'cf-connecting-ip')).toBe('203.0.113.10');
  });

  it('takes the first x-forwarded-for entry and falls back to the socket on junk or absence', async () => {
    const env = denoEnv('10.0.0.1');
    const trust = 'x-forwarded-for';
    expect(await ipFor(env, { 'x-forwarded-for': ' 203.0.113.9 , 10.0.0.7' }, trust)).toBe('203.0.113.9');
    expect(await ipFor(env, { 'x-forwarded-for': 'evil, 203.0.113.9' }, trust)).toBe('10.0.0.1');
    expect(await ipFor(env, {}, trust)).toBe('10.0.0.1');
  });
});

describe('normalizeIp', () => {
  it.each([
    ['198.51.100.4', '198.51.100.4'],
    ['::ffff:198.51.100.4', '198.51.100.4'],
    ['198.51.100.4:8443', '198.51.100.4'],
    ['[2001:DB8::1]:443', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each(['', 'unknown', '1.2', '256.1.1.1', 'example.com', '1.2.3.4.5'])('rejects %j', (input) => {
    expect(normalizeIp(input)).toBeUndefined();
  });
});
