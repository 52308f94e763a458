// Applies prisma/migrations/<timestamp>_<name>/migration.sql in order, through the service's own
// driver adapter, and records each in _prisma_migrations exactly as `prisma migrate deploy` does
// (same table, columns and SHA-256 checksum), so operators may use either tool on one database.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/logger.js';
import type { Database } from './client.js';
import { Prisma } from './generated/client.js';
import { records } from './sql.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The key `prisma migrate` itself locks on: our step and Prisma's exclude each other too.
const MIGRATION_LOCK_KEY = 72707369;

/**
 * The first statements of every migration transaction. The lock is transaction-scoped, so it holds
 * through a transaction-mode pooler too (a session lock would be taken and released on whichever
 * server session the pooler lent). No statement_timeout, whatever the connection would get from the
 * role's or database's settings (where a pooled deployment puts the serving timeout): DDL and the
 * wait for another instance's lock may rightly take longer than a request.
 */
async function lockForMigrations(execute: (statement: Prisma.Sql) => Promise<number>): Promise<void> {
  await execute(Prisma.sql`SET LOCAL statement_timeout = 0`);
  await execute(Prisma.sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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
  finished: boolean;
}

export async function readMigrations(directory = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(directory, name, 'migration.sql');
      const bytes = await readFile(file);
      return { name, file, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

/** `migrate`, with the outcome logged as start-up and `npm run db:migrate` report it. */
export async function applyMigrations(database: Pick<Database, 'transaction' | 'kind'>, logger: Logger): Promise<string[]> {
  const applied = await migrate(database);
  logger.info(
    { database: database.kind, applied },
    applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
  return applied;
}

/** Applies every pending migration; returns the names it applied (empty when up to date). */
export async function migrate(database: Pick<Database, 'transaction'>, directory = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(directory);
  try {
    await database.transaction(async ({ execute }) => {
      await lockForMigrations(execute);
      await execute(
        Prisma.raw(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      )`),
      );
    });
  } catch (error) {
    // A replica refuses the lock and the DDL with messages that do not say "wrong server": say it.
    if (await isStandby(database)) {
      throw new MigrationError(
        'Cannot migrate on a read-only replica (the server is in recovery): migrations run on the primary. Point DATABASE_MIGRATE_URL (or DATABASE_URL) at the primary; DATABASE_READ_URL is where a replica goes.',
        { cause: error },
      );
    }
    throw error;
  }

  const applied: string[] = [];
  for (const migration of migrations) {
    // One transaction per migration, holding the lock: a replica that waited sees the other's
    // record once it gets the lock, and skips the migration instead of applying it twice.
    const didApply = await database.transaction(async ({ query, execute }) => {
      await lockForMigrations(execute);
      const [record] = records<AppliedMigration>(
        await query(Prisma.sql`
          SELECT checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations"
          WHERE migration_name = ${migration.name} AND rolled_back_at IS NULL
          ORDER BY started_at DESC LIMIT 1`),
      );
      if (record) {
        if (!record.finished) {
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
      await execute(Prisma.sql`
        INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
        VALUES (${id}, ${migration.checksum}, ${migration.name}, now(), 0)`);
      const statements = splitSqlStatements(migration.sql);
      for (const [index, statement] of statements.entries()) {
        try {
          await execute(Prisma.raw(statement));
        } catch (error) {
          // The transaction rolls back the whole migration and its record; the operator needs to
          // know which file and statement to fix, and the database's own reason.
          throw new MigrationError(
            `Migration ${migration.name} failed and was rolled back: statement ${index + 1} of ${statements.length} in ${migration.file} was refused: ${databaseMessage(error)}`,
            { cause: error },
          );
        }
      }
      await execute(Prisma.sql`
        UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = ${id}`);
      return true;
    });
    if (didApply) applied.push(migration.name);
  }
  return applied;
}

/** True when the server is a hot standby; false when it is not, or cannot say (PGlite has no such function). */
async function isStandby(database: Pick<Database, 'transaction'>): Promise<boolean> {
  try {
    const [row] = records<{ standby: boolean }>(
      await database.transaction(({ query }) => query(Prisma.sql`SELECT pg_is_in_recovery() AS standby`)),
    );
    return row?.standby === true;
  } catch {
    return false;
  }
}

/** The database's reason for refusing a statement, as the driver adapter reports it. */
function databaseMessage(error: unknown): string {
  const cause = (error as { cause?: { originalMessage?: unknown } }).cause;
  if (typeof cause?.originalMessage === 'string') return cause.originalMessage;
  return error instanceof Error ? error.message.trim() : String(error);
}

// Characters that may continue an unquoted identifier, `$` included (so `a$b$` is a name, not a quote).
const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_QUOTE_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Splits a migration script into single statements: PGlite's extended protocol runs one statement
 * per call. Semicolons inside string literals (E'' escapes included), quoted identifiers,
 * dollar-quoted bodies and comments (nested block comments included) do not split, and a part
 * holding only comments is not a statement.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (char === '/' && next === '*') {
      i = endOfBlockComment(sql, i);
      continue;
    }
    if (char === ';') {
      if (hasCode) statements.push(sql.slice(start, i));
      i += 1;
      start = i;
      hasCode = false;
      continue;
    }
    if (!/\s/.test(char)) hasCode = true;
    if (char === "'") {
      i = endOfQuoted(sql, i, "'", false);
    } else if (char === '"') {
      i = endOfQuoted(sql, i, '"', false);
    } else if (char === '$') {
      const tag = DOLLAR_QUOTE_TAG.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? sql.length : end + tag.length;
      } else {
        i += 1;
      }
    } else if (IDENTIFIER_CHAR.test(char)) {
      let end = i + 1;
      while (end < sql.length && IDENTIFIER_CHAR.test(sql[end]!)) end += 1;
      // E'...' is an escape string: a backslash escapes the quote that follows it.
      const escapeString = end === i + 1 && (char === 'E' || char === 'e') && sql[end] === "'";
      i = escapeString ? endOfQuoted(sql, end, "'", true) : end;
    } else {
      i += 1;
    }
  }
  if (hasCode) statements.push(sql.slice(start));
  return statements;
}

/** Index just past the literal or quoted identifier opening at `open` (doubled quotes stay inside). */
function endOfQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let j = open + 1;
  while (j < sql.length) {
    if (backslashEscapes && sql[j] === '\\') {
      j += 2;
    } else if (sql[j] === quote) {
      if (sql[j + 1] !== quote) return j + 1;
      j += 2;
    } else {
      j += 1;
    }
  }
  return sql.length;
}

/** Index just past the block comment opening at `open`; PostgreSQL nests block comments. */
function endOfBlockComment(sql: string, open: number): number {
  let depth = 0;
  let j = open;
  while (j < sql.length) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth += 1;
      j += 2;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth -= 1;
      j += 2;
      if (depth === 0) return j;
    } else {
      j += 1;
    }
  }
  return sql.length;
}
