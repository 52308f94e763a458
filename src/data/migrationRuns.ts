// Every database read about migration runs. The history is read newest first (created_at DESC,
// id DESC) with each graph's limit applied in SQL, as one index range scan per graph.
import type { RunSql } from '../db/client.js';
import { Prisma } from '../db/generated/client.js';
import { isUuid, records, utcTimestamp } from './sql.js';

export interface MigrationRunRecord {
  id: string;
  graphId: string;
  fromVersion: number;
  toVersion: number;
  migrationId: string;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  workflowRunId: string | null;
  createdAt: string;
}

/** Bounds of a history page, shared by both doors. */
export const HISTORY_LIMIT = { min: 1, max: 500, default: 100 } as const;

/**
 * A position in a graph's history: the run a page ended on. `createdAt` is the database's text
 * (RFC 3339 UTC with microseconds), never a JS Date, which would drop the microseconds and skip or
 * repeat runs that share a millisecond.
 */
export interface HistoryPosition {
  createdAt: string;
  id: string;
}

/** Which runs of a graph's history to read: the newest `limit`, after `after` when given. */
export interface HistoryPage {
  limit: number;
  /** Only runs strictly after this position (older, or as old with a smaller id); from the newest when absent. */
  after?: HistoryPosition;
}

export interface HistoryKey extends HistoryPage {
  graphId: string;
}

/** A MigrationRunRecord's columns, from the history page `r`. */
const RUN_COLUMNS = Prisma.sql`
  r.id::text AS id, r.graph_id::text AS "graphId", r.from_version AS "fromVersion",
  r.to_version AS "toVersion", r.migration_id AS "migrationId", r.status,
  ${utcTimestamp('r.started_at')} AS "startedAt", ${utcTimestamp('r.finished_at')} AS "finishedAt",
  r.error, r.workflow_run_id AS "workflowRunId", ${utcTimestamp('r.created_at')} AS "createdAt"`;

/**
 * `LATERAL (...) r`: one page of the history of the graph whose id is the SQL expression `graphId`,
 * described by the expressions `rowLimit`, `afterCreatedAt` and `afterId` (NULLs: from the newest).
 * The outer row decides which graph and page, so any number of pages share one statement. Each is
 * an index range scan on (graph_id, created_at DESC, id DESC) that starts at the position and stops
 * after `rowLimit` rows, so a page deep in the history costs what the first one does (keyset, never
 * offset).
 *
 * A page without a position compares against (infinity, max uuid) rather than `after IS NULL OR ...`:
 * PostgreSQL cannot use an OR with a non-indexable branch as an index condition and would read and
 * filter every row before the position (test/graphql/pagination.test.ts holds the plan to this).
 * The one row the sentinel hides, created_at 'infinity' with the all-f uuid, cannot come from the
 * platform, which records runs at now().
 */
export function historyPage(graphId: string, rowLimit: string, afterCreatedAt: string, afterId: string): Prisma.Sql {
  return Prisma.sql`LATERAL (
      SELECT * FROM graph_migration_runs
      WHERE graph_id = ${Prisma.raw(graphId)}
        AND (created_at, id) < (COALESCE(${Prisma.raw(afterCreatedAt)}, 'infinity'), COALESCE(${Prisma.raw(afterId)}, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
      ORDER BY created_at DESC, id DESC
      LIMIT ${Prisma.raw(rowLimit)}
    ) r`;
}

/**
 * The newest `limit` runs of each graph after each key's position, for any number of keys, in one
 * statement. Results are in key order.
 */
export async function historiesByGraph(query: RunSql, keys: readonly HistoryKey[]): Promise<MigrationRunRecord[][]> {
  const rows = records<MigrationRunRecord & { keyIndex: number }>(
    await query(Prisma.sql`
    SELECT k.key_index::int AS "keyIndex", ${RUN_COLUMNS}
    FROM unnest(
           ${keys.map((key) => key.graphId)}::uuid[],
           ${keys.map((key) => key.limit)}::int[],
           ${keys.map((key) => key.after?.createdAt ?? null)}::timestamptz[],
           ${keys.map((key) => key.after?.id ?? null)}::uuid[]
         ) WITH ORDINALITY AS k(graph_id, row_limit, after_created_at, after_id, key_index)
    CROSS JOIN ${historyPage('k.graph_id', 'k.row_limit', 'k.after_created_at', 'k.after_id')}`),
  );
  const histories = keys.map((): MigrationRunRecord[] => []);
  for (const { keyIndex, ...run } of rows) histories[keyIndex - 1]!.push(run);
  for (const history of histories) history.sort(newestFirst);
  return histories;
}

/** How many runs each graph has, in one statement; 0 for a graph with none. Results are in key order. */
export async function runCountsByGraph(query: RunSql, graphIds: readonly string[]): Promise<number[]> {
  const rows = records<{ graphId: string; runCount: number }>(
    await query(Prisma.sql`
    SELECT graph_id::text AS "graphId", count(*)::int AS "runCount"
    FROM graph_migration_runs
    WHERE graph_id = ANY(${graphIds}::uuid[])
    GROUP BY graph_id`),
  );
  const byGraph = new Map(rows.map((row) => [row.graphId, row.runCount]));
  return graphIds.map((graphId) => byGraph.get(graphId.toLowerCase()) ?? 0);
}

/**
 * The history order, on the text timestamps (fixed width, UTC) and lowercase UUIDs, which sort as
 * the database sorts them. The scans already return this order; sorting makes it a guarantee rather
 * than a plan detail (and costs one pass over an array that is already in order).
 */
export function newestFirst(a: MigrationRunRecord, b: MigrationRunRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface RunWithGraph {
  run: MigrationRunRecord;
  graph: { isDefault: boolean; status: string; viewerRole: string | null };
}

/** Runs by id with what the permission check needs of their graph, in one statement. */
export async function runsByIds(query: RunSql, viewerId: string | null, ids: readonly string[]): Promise<(RunWithGraph | null)[]> {
  const validIds = ids.filter(isUuid).map((id) => id.toLowerCase());
  if (validIds.length === 0) return ids.map(() => null);
  const memberId = viewerId !== null && isUuid(viewerId) ? viewerId : null;
  const rows = records<MigrationRunRecord & { graphIsDefault: boolean; graphStatus: string; viewerRole: string | null }>(
    await query(Prisma.sql`
    SELECT ${RUN_COLUMNS}, g.is_default AS "graphIsDefault", g.status AS "graphStatus", m.role AS "viewerRole"
    FROM graph_migration_runs r
    JOIN graphs g ON g.id = r.graph_id
    LEFT JOIN graph_members m ON m.graph_id = g.id AND m.user_id = ${memberId}::uuid
    WHERE r.id = ANY(${validIds}::uuid[])`),
  );
  const byId = new Map(
    rows.map(({ graphIsDefault, graphStatus, viewerRole, ...run }) => [
      run.id,
      { run, graph: { isDefault: graphIsDefault, status: graphStatus, viewerRole } },
    ]),
  );
  return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
}
