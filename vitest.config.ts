import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real sockets and real client processes on a shared 2-core machine: generous per-test bounds.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The e2e files start daemons and many client processes; too many at once only adds noise.
    maxWorkers: 2,
  },
});
