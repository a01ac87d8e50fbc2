import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only adds contention (PGlite and ffmpeg are CPU-bound).
    maxWorkers: 2,
    pool: 'forks',
  },
});
