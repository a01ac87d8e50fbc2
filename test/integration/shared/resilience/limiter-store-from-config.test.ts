import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../shared/observability/logger.ts';
import { createLimitersFromConfig } from '../../../../shared/resilience/index.ts';

const logger = createLogger({ service: 'limiter-config-test', level: 'silent' });
const policy = () => ({ name: `cfg-${Math.random().toString(36).slice(2)}`, points: 2, duration: 60 });

async function consumeThree(limiter: { consume(key: string): Promise<unknown> }) {
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    outcomes.push(
      await limiter.consume('k').then(
        () => 'ok',
        () => 'limited',
      ),
    );
  }
  return outcomes;
}

describe('createLimitersFromConfig', () => {
  it('uses memory by default', async () => {
    const { limiterFor, close } = createLimitersFromConfig({ RATE_LIMIT_STORE: 'memory' }, logger);
    expect(await consumeThree(limiterFor(policy()))).toEqual(['ok', 'ok', 'limited']);
    await close();
  });

  it('refuses a remote store without its URL, naming the variable', () => {
    expect(() => createLimitersFromConfig({ RATE_LIMIT_STORE: 'redis' }, logger)).toThrow(/REDIS_URL/);
    expect(() => createLimitersFromConfig({ RATE_LIMIT_STORE: 'postgres' }, logger)).toThrow(/DATABASE_URL/);
  });

  it.skipIf(!process.env.REDIS_URL)('limits through Redis when REDIS_URL is set', async () => {
    const { limiterFor, close } = createLimitersFromConfig(
      { RATE_LIMIT_STORE: 'redis', REDIS_URL: process.env.REDIS_URL },
      logger,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await consumeThree(limiterFor(policy()))).toEqual(['ok', 'ok', 'limited']);
    await close();
  });

  it.skipIf(!process.env.DATABASE_URL)('limits through Postgres when DATABASE_URL is set', async () => {
    const { limiterFor, close } = createLimitersFromConfig(
      { RATE_LIMIT_STORE: 'postgres', DATABASE_URL: process.env.DATABASE_URL },
      logger,
    );
    const limiter = limiterFor(policy());
    await limiterFor.ready();
    expect(await consumeThree(limiter)).toEqual(['ok', 'ok', 'limited']);
    await close();
  });
});
