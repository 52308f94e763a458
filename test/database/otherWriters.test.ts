// The database is shared: the workflow engine and the platform write these tables, and what this
// service installs there (the change feed's capture, the statistics' counts) must not refuse a
// statement that is valid without it. Every TRUNCATE of the tables, alone or together, with or
// without CASCADE and RESTART IDENTITY, a DELETE, a COPY, a bulk INSERT … SELECT of 100,000 runs (20,000
// on PGlite: the same triggers, at a development database's size, in a fifth of the suite's time) and
// a writer's transaction held open across a fold all succeed, and the kept counts stay exact.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/database/client.js';
import { foldDayCounts } from '../../src/queries/migrationStats.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../helpers/databases.js';
import { addMember, insertGraph } from '../helpers/fixtures.js';
import { countMismatches } from '../helpers/statistics.js';

const TRUNCATES = [
  'TRUNCATE graphs CASCADE',
  'TRUNCATE graph_migration_runs, graph_members, graphs CASCADE',
  'TRUNCATE graph_migration_runs, graph_members, graphs RESTART IDENTITY CASCADE',
  'TRUNCATE graph_migration_runs',
  'TRUNCATE graph_migration_runs RESTART IDENTITY',
  'TRUNCATE graph_migration_runs CASCADE',
  'TRUNCATE graph_members',
];

describe.each(DATABASE_KINDS)("other writers' statements on %s", { timeout: 60_000 }, (kind) => {
  let testDatabase: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDatabase = await createTestDatabase(kind);
    database = await createDatabase(testDatabase.config);
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  /** Three graphs with 30 runs each over 30 days, some counts folded and some left as deltas. */
  async function someHistory(): Promise<void> {
    const prisma = database.prisma;
    for (let g = 0; g < 3; g++) {
      const graph = await insertGraph(prisma, { slug: `graph_${randomUUID().slice(0, 8)}` });
      await addMember(prisma, graph.id, randomUUID());
      await prisma.$executeRaw`
        INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
        SELECT gen_random_uuid(), ${graph.id}::uuid, i, i + 1, 'migration_' || i, (ARRAY['success','failed','running'])[1 + i % 3],
               now() - make_interval(days => i)
        FROM generate_series(1, 30) AS i`;
      if (g === 1) await database.transaction((sql) => foldDayCounts(sql));
    }
  }

  const foldAll = async () => {
    while ((await database.transaction((sql) => foldDayCounts(sql))) > 0);
  };

  it('keeps the counts exact through a DELETE of some runs and of a whole graph', async () => {
    await someHistory();
    await database.prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE from_version % 4 = 0`;
    expect(await countMismatches(database.prisma)).toBe(0);
    await database.prisma.$executeRaw`DELETE FROM graphs WHERE id = (SELECT graph_id FROM graph_migration_runs LIMIT 1)`;
    expect(await countMismatches(database.prisma)).toBe(0);
    await foldAll();
    expect(await countMismatches(database.prisma)).toBe(0);
  });

  const bulk = kind === 'postgres' ? 100_000 : 20_000;
  it(
    `keeps the counts exact through a bulk INSERT … SELECT of ${bulk.toLocaleString('en')} runs of one graph`,
    { timeout: 180_000 },
    async () => {
      const graph = await insertGraph(database.prisma, { slug: `bulk_${randomUUID().slice(0, 8)}` });
      await database.prisma.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      SELECT gen_random_uuid(), ${graph.id}::uuid, i, i + 1, 'bulk_' || i, (ARRAY['success','failed','pending'])[1 + i % 3],
             now() - make_interval(mins => i)
      FROM generate_series(1, ${bulk}::int) AS i`;
      expect(await countMismatches(database.prisma)).toBe(0);
      await foldAll();
      expect(await countMismatches(database.prisma)).toBe(0);
    },
  );

  it.runIf(kind === 'postgres')(
    'keeps the counts exact through a COPY, and through a writer whose transaction stays open across folds',
    async () => {
      await someHistory();
      const graph = await insertGraph(database.prisma, { slug: `copy_${randomUUID().slice(0, 8)}` });
      const writer = new pg.Client({ connectionString: testDatabase.url });
      await writer.connect();
      try {
        // COPY from a file the server reads, as a loader's bulk import does: its statement's triggers count it like an INSERT.
        const directory = await mkdtemp(path.join(tmpdir(), 'gms-copy-'));
        const file = path.join(directory, 'runs.tsv');
        const rows = Array.from({ length: 500 }, (_, i) =>
          [randomUUID(), graph.id, i, i + 1, `copied_${i}`, 'success', `2026-11-0${1 + (i % 9)}T12:00:00Z`].join('\t'),
        );
        await writeFile(file, `${rows.join('\n')}\n`);
        await chmod(directory, 0o755);
        try {
          await database.prisma.$executeRawUnsafe(
            `COPY graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at) FROM '${file}'`,
          );
        } finally {
          await rm(directory, { recursive: true, force: true });
        }
        expect(await countMismatches(database.prisma)).toBe(0);
        await writer.query('BEGIN');
        await writer.query(
          `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
         SELECT gen_random_uuid(), $1::uuid, i, i + 1, 'open_' || i, 'running', now() - make_interval(hours => i) FROM generate_series(1, 50) AS i`,
          [graph.id],
        );
        await foldAll();
        // The fold cannot see the open transaction's deltas; the recount cannot see its runs: still exact.
        expect(await countMismatches(database.prisma)).toBe(0);
        await writer.query(`UPDATE graph_migration_runs SET status = 'success' WHERE graph_id = $1::uuid AND migration_id LIKE 'open_%'`, [
          graph.id,
        ]);
        await writer.query('COMMIT');
        expect(await countMismatches(database.prisma)).toBe(0);
        await foldAll();
        expect(await countMismatches(database.prisma)).toBe(0);
      } finally {
        await writer.end();
      }
    },
  );

  it.each(TRUNCATES)('%s succeeds, and the counts stay exact through it and after', async (statement) => {
    await someHistory();
    await database.prisma.$executeRawUnsafe(statement);
    expect(await countMismatches(database.prisma)).toBe(0);
    await someHistory();
    expect(await countMismatches(database.prisma)).toBe(0);
    while ((await database.transaction((sql) => foldDayCounts(sql))) > 0);
    expect(await countMismatches(database.prisma)).toBe(0);
  });
});
