/** @module Hookline's database: Prisma client factory, offline migration runner and typed errors. */
export { createDatabase, createPrismaClient, type CreatePrismaClientOptions, type Database } from './client.ts'
export { DEFAULT_SCHEMA, ensureDatabase, migrate, type MigrateOptions, type MigrateResult } from './migrate.ts'
export * from './errors.ts'
// The generated client's whole surface: `PrismaClient`, the `Prisma` namespace, the enums
// (`EventStatus`, `EventSource`, `AttemptOutcome`, also as `$Enums`) and the model types.
export * from './generated/prisma/client.ts'
