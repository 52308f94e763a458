// The migration step: applies prisma/migrations once, records them as `prisma migrate deploy` does,
// refuses changed history, rolls a failing migration back whole, and is safe for replicas starting together.
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/database/client.js';
import { migrate, MIGRATIONS_DIR, MigrationError, splitSqlStatements } from '../../src/database/migrate.js';
import { createTestDatabase, DATABASE_KINDS, postgresAvailable, type DatabaseKind, type TestDatabase } from '../helpers/databases.js';

interface MigrationRecord {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The migration directories and the SHA-256 of their files, computed here rather than by the code under test. */
async function expectedMigrations(directory = MIGRATIONS_DIR): Promise<{ name: string; checksum: string }[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      checksum: createHash('sha256')
        .update(await readFile(path.join(directory, name, 'migration.sql')))
        .digest('hex'),
    })),
  );
}

async function records(database: Database): Promise<MigrationRecord[]> {
  return database.prisma.$queryRaw<MigrationRecord[]>`
    SELECT id, checksum, migration_name, finished_at, rolled_back_at, applied_steps_count
    FROM "_prisma_migrations" ORDER BY migration_name, started_at`;
}

async function tableExists(database: Database, table: string): Promise<boolean> {
  const [row] = await database.prisma.$queryRaw<{ exists: boolean }[]>`SELECT to_regclass(${table}) IS NOT NULL AS "exists"`;
  return row!.exists;
}

/** A copy of prisma/migrations that a test may change. */
async function copyOfMigrations(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'gms-migrations-'));
  await cp(MIGRATIONS_DIR, directory, { recursive: true });
  return directory;
}

async function addMigration(directory: string, name: string, sql: string): Promise<string> {
  await mkdir(path.join(directory, name));
  const file = path.join(directory, name, 'migration.sql');
  await writeFile(file, sql);
  return file;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A database that was never migrated: these tests are about migrating it. */
async function freshDatabase(kind: DatabaseKind): Promise<{ testDatabase: TestDatabase; database: Database }> {
  const testDatabase = await createTestDatabase(kind, { empty: true });
  cleanups.push(() => testDatabase.drop());
  const database = await createDatabase(testDatabase.config);
  cleanups.push(() => database.close());
  return { testDatabase, database };
}

async function temporaryDirectory(directory: string): Promise<string> {
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

// PGlite opens and migrates slowly on a busy machine: generous time, never a timing assertion.
describe.each(DATABASE_KINDS)('migrate on %s', { timeout: 120_000 }, (kind) => {
  it('applies every migration to an empty database once and records it as prisma migrate deploy does', async () => {
    const { database } = await freshDatabase(kind);
    const expected = await expectedMigrations();
    expect(expected.length).toBeGreaterThan(0);

    expect(await migrate(database)).toEqual(expected.map((migration) => migration.name));
    expect(await tableExists(database, 'graphs')).toBe(true);
    expect(await tableExists(database, 'graph_migration_runs')).toBe(true);
    expect(await tableExists(database, 'graph_members')).toBe(true);

    const applied = await records(database);
    expect(applied.map((record) => record.migration_name)).toEqual(expected.map((migration) => migration.name));
    for (const [index, record] of applied.entries()) {
      expect(record.checksum).toBe(expected[index]!.checksum);
      expect(record.id).toMatch(UUID);
      expect(record.finished_at).toBeInstanceOf(Date);
      expect(record.rolled_back_at).toBeNull();
      expect(record.applied_steps_count).toBe(1);
    }

    // Up to date: nothing applied, nothing recorded again.
    expect(await migrate(database)).toEqual([]);
    expect(await records(database)).toEqual(applied);
  });

  it('refuses a migration whose file changed after it was applied, naming the file', async () => {
    const { database } = await freshDatabase(kind);
    const directory = await temporaryDirectory(await copyOfMigrations());
    const applied = await expectedMigrations(directory);
    const [first] = applied;
    await migrate(database, directory);

    const file = path.join(directory, first!.name, 'migration.sql');
    await appendFile(file, '\n-- an edit after the fact\n');

    const failure = await migrate(database, directory).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as Error).message).toContain(file);
    // The records are untouched: the original checksums stay.
    expect((await records(database)).map((record) => record.checksum)).toEqual(applied.map((migration) => migration.checksum));
  });

  it('refuses to go on past a migration recorded as started but never finished', async () => {
    const { database } = await freshDatabase(kind);
    const directory = await temporaryDirectory(await copyOfMigrations());
    await migrate(database, directory);
    const name = '20990101000000_left_unfinished';
    await addMigration(directory, name, 'CREATE TABLE "never_created" ("id" INTEGER);\n');
    // What `prisma migrate deploy` leaves behind when a migration fails half way.
    await database.prisma.$executeRaw`
      INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count, logs)
      VALUES (gen_random_uuid()::text, 'x', ${name}, now(), 0, 'failed')`;

    const failure = await migrate(database, directory).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as Error).message).toContain(name);
    expect(await tableExists(database, 'never_created')).toBe(false);
  });

  it('rolls a failing migration back whole: nothing recorded, earlier migrations kept, an error naming it', async () => {
    const { database } = await freshDatabase(kind);
    const directory = await temporaryDirectory(await copyOfMigrations());
    const earlier = await expectedMigrations(directory);
    const name = '20990101000000_broken';
    const file = await addMigration(
      directory,
      name,
      'CREATE TABLE "created_before_the_error" ("id" INTEGER);\nINSERT INTO "table_that_does_not_exist" VALUES (1);\n',
    );

    const failure = await migrate(database, directory).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as Error).message).toContain(file);
    // The database's own reason is kept, so the operator sees what to fix.
    expect((failure as Error).message).toContain('table_that_does_not_exist');

    expect((await records(database)).map((record) => record.migration_name)).toEqual(earlier.map((migration) => migration.name));
    expect(await tableExists(database, 'graphs')).toBe(true);
    expect(await tableExists(database, 'created_before_the_error')).toBe(false);

    // Nothing is left half-recorded: once the file is fixed, the next run applies it.
    await writeFile(file, 'CREATE TABLE "created_before_the_error" ("id" INTEGER);\n');
    expect(await migrate(database, directory)).toEqual([name]);
    expect(await tableExists(database, 'created_before_the_error')).toBe(true);
  });
});

describe.runIf(postgresAvailable)('migrate on postgres, two replicas starting at once', { timeout: 120_000 }, () => {
  it('applies and records each migration exactly once while both succeed', async () => {
    const testDatabase = await createTestDatabase('postgres', { empty: true });
    cleanups.push(() => testDatabase.drop());
    const directory = await temporaryDirectory(await copyOfMigrations());
    // Extra migrations widen the window in which the two could interleave, and count their applications:
    // a migration applied twice would add two rows (or fail on the table that already exists).
    await addMigration(directory, '20990101000000_applications', 'CREATE TABLE "applications" ("step" TEXT NOT NULL);\n');
    await addMigration(directory, '20990102000000_slow', 'SELECT pg_sleep(0.3);\nINSERT INTO "applications" VALUES (\'slow\');\n');
    await addMigration(directory, '20990103000000_after', 'INSERT INTO "applications" VALUES (\'after\');\n');
    const names = (await expectedMigrations(directory)).map((migration) => migration.name);

    const first = await createDatabase(testDatabase.config);
    cleanups.push(() => first.close());
    const second = await createDatabase(testDatabase.config);
    cleanups.push(() => second.close());

    const [appliedByFirst, appliedBySecond] = await Promise.all([migrate(first, directory), migrate(second, directory)]);
    expect([...appliedByFirst, ...appliedBySecond].sort()).toEqual(names);

    const recorded = await records(first);
    expect(recorded.map((record) => record.migration_name)).toEqual(names);
    expect(recorded.every((record) => record.finished_at !== null && record.applied_steps_count === 1)).toBe(true);
    const applications = await first.prisma.$queryRaw<{ step: string }[]>`SELECT step FROM "applications" ORDER BY step`;
    expect(applications.map((row) => row.step)).toEqual(['after', 'slow']);
  });
});

describe('splitSqlStatements', () => {
  const trimmed = (sql: string) => splitSqlStatements(sql).map((statement) => statement.trim());

  it('splits on semicolons and drops empty statements', () => {
    expect(trimmed('SELECT 1;\nSELECT 2;\n\n;')).toEqual(['SELECT 1', 'SELECT 2']);
    expect(trimmed('SELECT 1')).toEqual(['SELECT 1']);
    expect(trimmed('')).toEqual([]);
  });

  it('keeps semicolons inside string literals, doubled quotes included', () => {
    expect(trimmed("INSERT INTO t VALUES ('a;b');SELECT 'it''s; fine', '';SELECT ''''")).toEqual([
      "INSERT INTO t VALUES ('a;b')",
      "SELECT 'it''s; fine', ''",
      "SELECT ''''",
    ]);
  });

  it('keeps semicolons inside escape strings with backslash-escaped quotes', () => {
    expect(trimmed("SELECT E'it\\'s; fine';SELECT 2")).toEqual(["SELECT E'it\\'s; fine'", 'SELECT 2']);
  });

  it('keeps semicolons inside quoted identifiers', () => {
    expect(trimmed('CREATE TABLE "odd;name" ("a""b;c" INT);SELECT 1')).toEqual(['CREATE TABLE "odd;name" ("a""b;c" INT)', 'SELECT 1']);
  });

  it('keeps dollar-quoted bodies whole, $$ and tagged, a different tag nested inside', () => {
    const plain = `CREATE FUNCTION f() RETURNS int AS $$ BEGIN PERFORM 1; RETURN 2; END $$ LANGUAGE plpgsql`;
    const tagged = `CREATE FUNCTION g() RETURNS text AS $body$ SELECT $$;$$ || ';'; $body$ LANGUAGE sql`;
    const withDigits = `DO $do_1$ BEGIN RAISE NOTICE 'x;y'; END $do_1$`;
    expect(trimmed(`${plain};\n${tagged};\n${withDigits};\nSELECT 3;`)).toEqual([plain, tagged, withDigits, 'SELECT 3']);
  });

  it('does not mistake positional parameters or $ inside identifiers for dollar quotes', () => {
    expect(trimmed('PREPARE p AS SELECT $1;SELECT 2')).toEqual(['PREPARE p AS SELECT $1', 'SELECT 2']);
    expect(trimmed('SELECT 1 AS a$b;SELECT 2 AS c$')).toEqual(['SELECT 1 AS a$b', 'SELECT 2 AS c$']);
    expect(trimmed('SELECT 1 AS x$y$;SELECT 2')).toEqual(['SELECT 1 AS x$y$', 'SELECT 2']);
  });

  it('ignores semicolons in comments, nested block comments included, and drops comment-only statements', () => {
    const sql = [
      '-- header; with a semicolon',
      'CREATE TABLE a (id INT); -- trailing; comment',
      '/* block; comment */ CREATE TABLE b (id INT);',
      '/* outer /* inner; */ still; a comment */ CREATE TABLE c (id INT);',
      '-- only a comment at the end;',
      '/* and a block; /* nested */ one */',
    ].join('\n');
    const statements = trimmed(sql);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toMatch(/CREATE TABLE a \(id INT\)$/);
    expect(statements[1]).toMatch(/CREATE TABLE b \(id INT\)$/);
    expect(statements[2]).toMatch(/CREATE TABLE c \(id INT\)$/);
  });

  it('splits the real migrations into statements that each hold SQL', async () => {
    for (const { name } of await expectedMigrations()) {
      const statements = splitSqlStatements(await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8'));
      expect(statements.length).toBeGreaterThan(1);
      for (const statement of statements) expect(statement).toMatch(/\b(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|COMMENT)\b/);
    }
  });
});
