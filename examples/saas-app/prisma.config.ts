/**
 * Prisma CLI configuration: `prisma generate` reads the schema from here. `prisma migrate` (on a
 * machine where Prisma's schema engine runs) also needs the database: DATABASE_URL.
 */
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
})
