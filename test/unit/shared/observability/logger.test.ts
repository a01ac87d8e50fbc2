import { Writable } from 'node:stream';
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
