import { type AddressInfo, connect, createServer, Socket } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger, maskPhone } from '../../../../shared/observability/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('masks phone numbers under phone-like keys, at any depth', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    logger.info(
      { to: '+250788123456', call: { From: '+14155550100' }, contacts: [{ wa_id: '250788123456' }] },
      'x',
    );
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('788123456');
    expect(line).not.toContain('4155550100');
    expect(lines[0].to).toBe('+25********56');
  });

  it('redacts secrets and authorization headers', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    logger.info({ req: { headers: { authorization: 'Bearer abc' } }, token: 't0k', apiKey: 'k' }, 'x');
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('Bearer abc');
    expect(line).not.toContain('t0k');
    expect(lines[0].service).toBe('s');
  });

  it('maskPhone keeps only the country prefix and the last two digits', () => {
    expect(maskPhone('+250788123456')).toBe('+25********56');
    expect(maskPhone('123')).toBe('***');
  });
});

/** An error from a real refused TCP connection: a port that was just listening and is now closed. */
async function refusedConnectionError(): Promise<Error> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', resolve);
  });
}

describe('logger: errors', () => {
  it('logs a refused connection with type, message, stack and code', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    const error = await refusedConnectionError();
    logger.error({ err: error }, 'webhook delivery not stored; asking Meta to retry');
    const err = lines[0].err as Record<string, unknown>;
    expect(err.type).toBe('Error');
    expect(err.message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(String(err.stack)).toMatch(/^Error: connect ECONNREFUSED[\s\S]+\n\s+at /);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.errno).toBe(-111);
    expect(lines[0].msg).toBe('webhook delivery not stored; asking Meta to retry');
  });

  it('logs an error passed alone, or under another key, the same way', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    const error = await refusedConnectionError();
    logger.error(error);
    logger.warn({ error, inboundId: 'x' }, 'media download failed');
    expect(lines[0]).toMatchObject({ msg: error.message, err: { type: 'Error', code: 'ECONNREFUSED' } });
    expect(lines[1].error).toMatchObject({ type: 'Error', message: error.message, code: 'ECONNREFUSED' });
    expect(typeof (lines[1].error as { stack: unknown }).stack).toBe('string');
  });

  it('never dumps a client or socket hanging off an error, or passed as a field', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    const client = new pg.Client({ connectionString: 'postgres://postgres:hunter2@127.0.0.1:1/db' });
    const socket = new Socket();
    const error = Object.assign(new Error('Connection terminated unexpectedly'), { client, code: '57P01' });
    logger.error({ err: error, socket }, 'query failed');
    socket.destroy();
    const raw = JSON.stringify(lines[0]);
    expect(raw.length).toBeLessThan(2000);
    expect(raw).not.toContain('hunter2');
    expect(lines[0].err).toMatchObject({
      type: 'Error',
      message: 'Connection terminated unexpectedly',
      code: '57P01',
    });
    expect(lines[0].err).not.toHaveProperty('client');
    expect(lines[0].socket).toBe('[Socket]');
  });

  it('masks phone numbers inside the serialized message, stack, cause and msg', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination });
    const cause = new Error('recipient 250788123456 is not on WhatsApp');
    const error = new Error('Invalid WhatsApp recipient: +250788123456', { cause });
    logger.error(error);
    logger.warn({ err: error }, 'send to +14155550100 failed');
    const raw = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(raw).not.toContain('788123456');
    expect(raw).not.toContain('4155550100');
    expect((lines[0].err as { message: string }).message).toContain('+25********56');
    expect((lines[0].err as { stack: string }).stack).toContain('caused by: Error: recipient 25********56');
    expect(lines[0].msg).toBe('Invalid WhatsApp recipient: +25********56');
    expect(lines[1].msg).toBe('send to +14*******00 failed');
    // Line numbers, ports and addresses are not phone numbers.
    expect((lines[0].err as { stack: string }).stack).toMatch(/logger\.test\.ts:\d+:\d+/);
  });
});
