// Prisma 7 configuration. The CLI is used here for `prisma generate` only: migrations are applied by
// src/database/migrate.ts (see README), which records them exactly as `prisma migrate deploy` does, so an
// operator with the schema engine available may use `prisma migrate deploy` against DATABASE_URL too.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' },
});
