// The data model's rules live in the database (docs/contract.md#data-model): CHECK constraints on every enumerated
// column and the slug, the uniqueness of a run, and cascading deletes. Each rule is shown to reject
// the bad value with its own constraint, and to accept the good ones (so a broken insert cannot pass).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, type PrismaClient } from '../../src/database/client.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';

/** Resolves with the error's text, so a test can check which constraint refused the row. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String(error instanceof Error ? `${error.message} ${JSON.stringify((error as { meta?: unknown }).meta ?? {})}` : error);
  }
  throw new Error('expected the statement to be rejected, but it succeeded');
}

let slugCounter = 0;
const uniqueSlug = () => `graph_${++slugCounter}`;

async function count(prisma: PrismaClient, table: 'graphs' | 'graph_migration_runs' | 'graph_members', graphId: string): Promise<number> {
  const column = table === 'graphs' ? 'id' : 'graph_id';
  const [row] = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1::uuid`,
    graphId,
  );
  return row!.n;
}

describe.each(DATABASE_KINDS)('constraints on %s', { timeout: 60_000 }, (kind) => {
  let testDatabase: TestDatabase;
  let database: Database;
  let prisma: PrismaClient;
  beforeAll(async () => {
    testDatabase = await createTestDatabase(kind);
    database = await createDatabase(testDatabase.config);
    prisma = database.prisma;
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('graph status: only provisioning, active, error, deleted', async () => {
    for (const status of ['provisioning', 'active', 'error', 'deleted']) {
      await insertGraph(prisma, { slug: uniqueSlug(), status });
    }
    expect(await rejection(insertGraph(prisma, { slug: uniqueSlug(), status: 'archived' }))).toContain('ck_graphs_status');
    expect(await rejection(insertGraph(prisma, { slug: uniqueSlug(), status: 'Active' }))).toContain('ck_graphs_status');
  });

  it('slug: 3 to 100 of a-z, 0-9 and _, neither starting nor ending with _', async () => {
    for (const slug of ['abc', 'a_b', '0_9', 'default', `a${'b'.repeat(98)}c`]) {
      await insertGraph(prisma, { slug });
    }
    for (const slug of ['Upper_case', 'ab', 'a', '_leading', 'trailing_', 'has-dash', 'has space', 'dot.ted', 'ünï']) {
      expect(await rejection(insertGraph(prisma, { slug })), slug).toContain('ck_graphs_slug');
    }
  });

  it('read_only_reason: null or owner, migrating, error', async () => {
    const insert = (reason: string | null) => prisma.$executeRaw`
      INSERT INTO graphs (id, slug, name, read_only, read_only_reason)
      VALUES (${randomUUID()}::uuid, ${uniqueSlug()}, 'g', ${reason !== null}, ${reason})`;
    for (const reason of [null, 'owner', 'migrating', 'error']) await insert(reason);
    expect(await rejection(insert('maintenance'))).toContain('ck_graphs_read_only_reason');
    expect(await rejection(insert(''))).toContain('ck_graphs_read_only_reason');
  });

  it('run status: only pending, running, success, failed, skipped', async () => {
    const graph = await insertGraph(prisma, { slug: uniqueSlug() });
    for (const status of ['pending', 'running', 'success', 'failed', 'skipped']) {
      await insertRun(prisma, graph.id, { createdAt: '2026-01-01T00:00:00Z', status });
    }
    expect(await rejection(insertRun(prisma, graph.id, { createdAt: '2026-01-01T00:00:00Z', status: 'cancelled' }))).toContain(
      'ck_graph_migration_runs_status',
    );
    expect(await rejection(insertRun(prisma, graph.id, { createdAt: '2026-01-01T00:00:00Z', status: 'SUCCESS' }))).toContain(
      'ck_graph_migration_runs_status',
    );
    // The column default is a valid state.
    await prisma.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id)
      VALUES (${randomUUID()}::uuid, ${graph.id}::uuid, 1, 2, 'defaulted')`;
    const [row] = await prisma.$queryRaw<{ status: string }[]>`SELECT status FROM graph_migration_runs WHERE migration_id = 'defaulted'`;
    expect(row!.status).toBe('pending');
  });

  it('member role: only reader, writer, admin', async () => {
    const graph = await insertGraph(prisma, { slug: uniqueSlug() });
    for (const role of ['reader', 'writer', 'admin']) await addMember(prisma, graph.id, randomUUID(), role);
    expect(await rejection(addMember(prisma, graph.id, randomUUID(), 'owner'))).toContain('ck_graph_members_role');
  });

  it('uq_graph_migration_run: one run per (graph_id, migration_id, to_version)', async () => {
    const graph = await insertGraph(prisma, { slug: uniqueSlug() });
    const other = await insertGraph(prisma, { slug: uniqueSlug() });
    const run = { createdAt: '2026-01-01T00:00:00Z', migrationId: 'add_aliases', fromVersion: 1, toVersion: 2 };
    await insertRun(prisma, graph.id, run);
    // Same migration to another version, or on another graph: distinct runs.
    await insertRun(prisma, graph.id, { ...run, fromVersion: 2, toVersion: 3 });
    await insertRun(prisma, other.id, run);
    expect(await rejection(insertRun(prisma, graph.id, { ...run, createdAt: '2026-02-01T00:00:00Z', status: 'failed' }))).toContain(
      'uq_graph_migration_run',
    );
    expect(await count(prisma, 'graph_migration_runs', graph.id)).toBe(2);
  });

  it('deleting a graph deletes its runs and members, and nobody else’s', async () => {
    const doomed = await insertGraph(prisma, { slug: uniqueSlug() });
    const kept = await insertGraph(prisma, { slug: uniqueSlug() });
    for (const graph of [doomed, kept]) {
      await insertRun(prisma, graph.id, { createdAt: '2026-01-01T00:00:00Z' });
      await insertRun(prisma, graph.id, { createdAt: '2026-01-02T00:00:00Z' });
      await addMember(prisma, graph.id, randomUUID(), 'admin');
    }
    expect(await count(prisma, 'graph_migration_runs', doomed.id)).toBe(2);
    expect(await count(prisma, 'graph_members', doomed.id)).toBe(1);

    await prisma.$executeRaw`DELETE FROM graphs WHERE id = ${doomed.id}::uuid`;

    expect(await count(prisma, 'graphs', doomed.id)).toBe(0);
    expect(await count(prisma, 'graph_migration_runs', doomed.id)).toBe(0);
    expect(await count(prisma, 'graph_members', doomed.id)).toBe(0);
    expect(await count(prisma, 'graph_migration_runs', kept.id)).toBe(2);
    expect(await count(prisma, 'graph_members', kept.id)).toBe(1);
  });

  it('a run needs an existing graph', async () => {
    expect(await rejection(insertRun(prisma, randomUUID(), { createdAt: '2026-01-01T00:00:00Z' }))).toContain(
      'graph_migration_runs_graph_id_fkey',
    );
  });
});
