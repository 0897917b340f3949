/** @module Builds Hookline's Prisma client over `pg` through the driver adapter (no native engine). */
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/prisma/client.ts'

/** Options of {@link createPrismaClient}. */
export interface CreatePrismaClientOptions {
  /**
   * Most connections the client's `pg` pool opens.
   * @defaultValue 10 (`pg`'s default)
   */
  poolMax?: number
}

/**
 * Creates a Prisma client for Hookline's tables on `databaseUrl`. The caller owns it and should
 * `$disconnect()` it on shutdown.
 *
 * @example
 * ```ts
 * const prisma = createPrismaClient('postgresql://postgres@127.0.0.1:5432/hookline', { poolMax: 5 })
 * const pending = await prisma.event.count({ where: { status: 'received' } })
 * await prisma.$disconnect()
 * ```
 */
export function createPrismaClient(
  databaseUrl: string,
  options: CreatePrismaClientOptions = {},
): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    ...(options.poolMax === undefined ? {} : { max: options.poolMax }),
  })
  return new PrismaClient({ adapter })
}
