import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Building a validator compiles every schema of a contract (~0.25 s here, several seconds on
    // a CI machine running every package's tests at once).
    testTimeout: 30_000,
  },
});
