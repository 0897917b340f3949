/**
 * @module Prisma CLI configuration. Only `generate`, `validate` and `format` run here (offline);
 * migrations are applied by this package's own runner (see src/migrate.ts).
 */
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
})
