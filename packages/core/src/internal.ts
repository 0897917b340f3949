/**
 * @module `@hookline/core/internal`: the parts of core that Hookline's own packages, its service,
 * tests and benchmarks use, and that an application should not build on (they change with the
 * implementation).
 */
export * from './index.ts'
