// The database is shared: the workflow engine and the platform write these tables, and what this
// service installs there (the change feed's capture, the statistics' counts) must not refuse a
// statement that is valid without it. Every TRUNCATE of the tables, alone or together, with or
// without CASCADE and RESTART IDENTITY, succeeds, and the kept counts stay exact through it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.js';
import { foldDayCounts } from '../../src/data/migrationStats.js';
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
