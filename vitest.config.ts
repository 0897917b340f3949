/**
 * @module Test runner configuration: every package's `src/**\/*.test.ts`, the apps' and the
 * cross-package tests in `test/`. Each test file creates its own database and queue prefix, so
 * files run in parallel.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more parallel files than this only queue on Postgres and the CPU.
    maxWorkers: 3,
  },
})
