/**
 * @module The app's own Prisma client (generated from prisma/schema.prisma into src/generated),
 * on Postgres through the `pg` driver adapter.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/prisma/client.js'

export { Prisma, PrismaClient } from './generated/prisma/client.js'

/** A Prisma client for `databaseUrl`; the caller `$disconnect()`s it on shutdown. */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 10 }) })
}
