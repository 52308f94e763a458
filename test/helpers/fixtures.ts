// Test data written with plain SQL through the service's Prisma client: ids and timestamps chosen by the test.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/database/client.js';

type TransactionClient = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export interface GraphFixture {
  id: string;
  slug: string;
}

export async function insertGraph(
  prisma: PrismaClient,
  fields: { slug: string; isDefault?: boolean; status?: string; id?: string },
): Promise<GraphFixture> {
  const id = fields.id ?? randomUUID();
  await prisma.$executeRaw`
    INSERT INTO graphs (id, slug, name, is_default, status)
    VALUES (${id}::uuid, ${fields.slug}, ${`Graph ${fields.slug}`}, ${fields.isDefault ?? false}, ${fields.status ?? 'active'})`;
  return { id, slug: fields.slug };
}

export async function addMember(prisma: PrismaClient, graphId: string, userId: string, role = 'reader'): Promise<void> {
  await prisma.$executeRaw`INSERT INTO graph_members (graph_id, user_id, role) VALUES (${graphId}::uuid, ${userId}::uuid, ${role})`;
}

export interface RunFixture {
  id?: string;
  createdAt: string;
  status?: string;
  migrationId?: string;
  fromVersion?: number;
  toVersion?: number;
  startedAt?: string | null;
  finishedAt?: string | null;
  error?: string | null;
  workflowRunId?: string | null;
}

export async function insertRun(prisma: PrismaClient, graphId: string, run: RunFixture): Promise<string> {
  const id = run.id ?? randomUUID();
  await prisma.$executeRaw`
    INSERT INTO graph_migration_runs
      (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
    VALUES (${id}::uuid, ${graphId}::uuid, ${run.fromVersion ?? 1}, ${run.toVersion ?? 2}, ${run.migrationId ?? `m_${id}`},
      ${run.status ?? 'success'}, ${run.startedAt ?? null}::timestamptz, ${run.finishedAt ?? null}::timestamptz,
      ${run.error ?? null}, ${run.workflowRunId ?? null}, ${run.createdAt}::timestamptz)`;
  return id;
}

/**
 * Runs a bulk write without the serving pool's statement_timeout (5 s), which a loaded machine's
 * insert of thousands of runs can pass, in a transaction of its own with Prisma's transaction timeout
 * (also 5 s) lifted too. `restore`: as pg_restore --disable-triggers loads data, without the triggers
 * (session_replication_role = replica), for the fixtures of plan and export tests, whose 100,000 runs
 * are a table's size, not a writer's changes: no change log or day counts for them (the capture tripled
 * the insert, and the change feed then read every change); a test of what the triggers keep must not use it.
 */
export async function bulkWrite(
  prisma: PrismaClient,
  write: (tx: TransactionClient) => Promise<unknown>,
  { restore = false }: { restore?: boolean } = {},
): Promise<void> {
  await prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SET LOCAL statement_timeout = 0`;
      if (restore) await tx.$executeRaw`SET LOCAL session_replication_role = replica`;
      await write(tx);
    },
    { maxWait: 60_000, timeout: 600_000 },
  );
}

/** `count` runs for one graph in one statement, one second apart, newest at `newest` (`restore`: see bulkWrite). */
export async function insertManyRuns(
  prisma: PrismaClient,
  graphId: string,
  count: number,
  newest = '2026-06-01T00:00:00Z',
  options: { restore?: boolean } = {},
): Promise<void> {
  await bulkWrite(
    prisma,
    (tx) => tx.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      SELECT gen_random_uuid(), ${graphId}::uuid, n, n + 1, 'bulk_' || n, 'success', ${newest}::timestamptz - make_interval(secs => n)
      FROM generate_series(1, ${count}) AS n`,
    options,
  );
}

/** Graphs that `memberId` reads, named after their slugs as insertGraph names them, in two statements. */
export async function insertGraphsWithMember(prisma: PrismaClient, slugs: readonly string[], memberId: string): Promise<GraphFixture[]> {
  const graphs = slugs.map((slug) => ({ id: randomUUID(), slug }));
  const ids = graphs.map((graph) => graph.id);
  await prisma.$executeRaw`
    INSERT INTO graphs (id, slug, name, is_default, status)
    SELECT g.id, g.slug, 'Graph ' || g.slug, false, 'active' FROM unnest(${ids}::uuid[], ${[...slugs]}::text[]) AS g(id, slug)`;
  await prisma.$executeRaw`
    INSERT INTO graph_members (graph_id, user_id, role) SELECT g.id, ${memberId}::uuid, 'reader' FROM unnest(${ids}::uuid[]) AS g(id)`;
  return graphs;
}

/** Runs of any graphs, as insertRun writes them (versions 1 to 2, success), in one statement. */
export async function insertRunsOfGraphs(
  prisma: PrismaClient,
  runs: readonly { graphId: string; id: string; createdAt: string }[],
): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
    SELECT r.id, r.graph_id, 1, 2, 'm_' || r.id, 'success', r.created_at
    FROM unnest(${runs.map((run) => run.id)}::uuid[], ${runs.map((run) => run.graphId)}::uuid[], ${runs.map((run) => run.createdAt)}::timestamptz[])
      AS r(id, graph_id, created_at)`;
}

/** Runs with ids and microsecond timestamps chosen by the test, in one statement. */
export async function insertRuns(prisma: PrismaClient, graphId: string, runs: readonly { id: string; createdAt: string }[]): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
    SELECT r.id, ${graphId}::uuid, 1, 2, 'm_' || r.id, 'success', r.created_at
    FROM unnest(${runs.map((run) => run.id)}::uuid[], ${runs.map((run) => run.createdAt)}::timestamptz[]) AS r(id, created_at)`;
}
