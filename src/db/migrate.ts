// Applies prisma/migrations/<timestamp>_<name>/migration.sql in order, through the service's own
// driver adapter, and records each in _prisma_migrations exactly as `prisma migrate deploy` does
// (same table, columns and SHA-256 checksum), so operators may use either tool on one database.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from './client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The key `prisma migrate` itself locks on: our step and Prisma's exclude each other too.
const MIGRATION_LOCK_KEY = 72707369;
const TRANSACTION_OPTIONS = { maxWait: 60_000, timeout: 15 * 60_000 };

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

interface MigrationFile {
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

interface AppliedMigration {
  checksum: string;
  finished_at: Date | null;
}

export async function readMigrations(directory = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(directory, name, 'migration.sql');
      const bytes = await readFile(file);
      return { name, file, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

/** Applies every pending migration; returns the names it applied (empty when up to date). */
export async function migrate(prisma: PrismaClient, directory = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(directory);
  await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
  }, TRANSACTION_OPTIONS);

  const applied: string[] = [];
  for (const migration of migrations) {
    // One transaction per migration, holding the lock: a replica that waited sees the other's
    // record once it gets the lock, and skips the migration instead of applying it twice.
    const didApply = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      const [record] = await tx.$queryRaw<AppliedMigration[]>`
        SELECT checksum, finished_at FROM "_prisma_migrations"
        WHERE migration_name = ${migration.name} AND rolled_back_at IS NULL
        ORDER BY started_at DESC LIMIT 1`;
      if (record) {
        if (record.finished_at === null) {
          throw new MigrationError(
            `Migration ${migration.name} (${migration.file}) failed or is in progress according to _prisma_migrations; resolve it (e.g. prisma migrate resolve) before applying more migrations`,
          );
        }
        if (record.checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was changed after it was applied: ${migration.file} no longer matches the checksum recorded in _prisma_migrations. Restore the file and add a new migration instead.`,
          );
        }
        return false;
      }
      const id = randomUUID();
      await tx.$executeRaw`
        INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
        VALUES (${id}, ${migration.checksum}, ${migration.name}, now(), 0)`;
      for (const statement of splitSqlStatements(migration.sql)) {
        await tx.$executeRawUnsafe(statement);
      }
      await tx.$executeRaw`
        UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = ${id}`;
      return true;
    }, TRANSACTION_OPTIONS);
    if (didApply) applied.push(migration.name);
  }
  return applied;
}

/**
 * Splits a migration script into single statements: PGlite's extended protocol runs one statement
 * per call. Semicolons inside quotes, quoted identifiers, dollar-quoted bodies and comments do not split.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (char === "'" || char === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === char && sql[j + 1] !== char)) j += sql[j] === char ? 2 : 1;
      i = j + 1;
    } else if (char === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? sql.length : end + tag.length;
      } else {
        i += 1;
      }
    } else if (char === ';') {
      statements.push(sql.slice(start, i));
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  statements.push(sql.slice(start));
  return statements.filter((statement) => !isBlank(statement));
}

function isBlank(statement: string): boolean {
  return statement.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim() === '';
}
