// Every database read about migration runs. The history is read newest first (created_at DESC,
// id DESC) with each graph's limit applied in SQL, as one index range scan per graph.
import { Prisma } from '../database/generated/client.js';
import { filterKey, NO_FILTER, statusesArray, statusesParameter, type HistoryFilter } from './historyFilter.js';
import { records, utcTimestamp, type RunSql } from '../database/sql.js';
import { isUuid } from './ids.js';

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

/** Which runs of a graph's history to read: the newest `limit` that `filter` selects, after `after` when given. */
export interface HistoryPage {
  limit: number;
  /** Only runs strictly after this position (older, or as old with a smaller id); from the newest when absent. */
  after?: HistoryPosition;
  /** From checkHistoryFilter (src/queries/historyFilter.ts); absent: every run. */
  filter?: HistoryFilter;
}

export interface HistoryKey extends HistoryPage {
  graphId: string;
}

/** One string per distinct page (limit, position, filter): for cache keys. */
export function pageKey({ limit, after, filter = NO_FILTER }: HistoryPage): string {
  return `${limit}:${after ? `${after.createdAt}:${after.id}` : ''}:${filterKey(filter)}`;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Where the scan of a page starts: its position, or `until` when that is older. `created_at < until`
 * is exactly `(created_at, id) < (until, nil uuid)` (no id is below the nil uuid), so the window's
 * upper end and the cursor are one bound of the same index condition, and the statement binds one
 * position. Timestamps are the database's fixed-width UTC text and ids lowercase: they compare as
 * PostgreSQL compares them.
 */
export function pageStart({ after, filter }: HistoryPage): HistoryPosition | undefined {
  if (filter?.until === undefined) return after;
  const until = { createdAt: filter.until, id: NIL_UUID };
  if (!after) return until;
  return comparePositions(after, until) < 0 ? after : until;
}

/** Negative when `a` comes before `b` in time ((created_at, id) smaller), 0 when equal. */
function comparePositions(a: HistoryPosition, b: HistoryPosition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A MigrationRunRecord's columns, from the history page `r`. */
const RUN_COLUMNS = Prisma.sql`
  r.id::text AS id, r.graph_id::text AS "graphId", r.from_version AS "fromVersion",
  r.to_version AS "toVersion", r.migration_id AS "migrationId", r.status,
  ${utcTimestamp('r.started_at')} AS "startedAt", ${utcTimestamp('r.finished_at')} AS "finishedAt",
  r.error, r.workflow_run_id AS "workflowRunId", ${utcTimestamp('r.created_at')} AS "createdAt"`;

/**
 * "The run's status is `wanted.status`", for a statement read one status at a time. The equality is
 * stated a second time as a range, which changes nothing about the rows but everything about the
 * plan: a generic plan cannot know how selective the bound status is, and where the statistics saw
 * one status (a rare one can be missing from ANALYZE's sample), it estimated the status index no
 * better than the graph's history index with a filter on status, and chose the latter: 100,000 rows
 * read for a page of a status no run had. A range of two bound values is estimated at 0.5 % of the
 * rows, which only an index with `status` among its leading columns can use (50× cheaper in that
 * estimate, whatever the statistics say).
 */
const ONE_STATUS = Prisma.sql`status = wanted.status AND status BETWEEN wanted.status AND wanted.status`;
const ONE_STATUS_OF_R = Prisma.sql`r.status = wanted.status AND r.status BETWEEN wanted.status AND wanted.status`;

/** SQL expressions (columns of the outer row) that describe one page; a NULL value means "no bound". */
export interface PageExpressions {
  graphId: string;
  rowLimit: string;
  /** pageStart's position. */
  afterCreatedAt: string;
  afterId: string;
  /** timestamptz: only runs created at or after it. */
  since: string;
  /** statusesParameter's JSON text: only runs with one of these statuses; NULL: any status. */
  statuses: string;
}

/**
 * `LATERAL (...) r`: one page of the history of the graph whose id is the SQL expression `graphId`,
 * as the other expressions of `page` describe it. The outer row decides which graph and page, so
 * any number of pages share one statement. A page is index range scans that start at its position,
 * stop at `since` and read at most `rowLimit` rows each, so a page deep in the history costs what
 * the first one does (keyset, never offset), and a filter reads the runs it selects, not the
 * history it selects them from.
 *
 * The statement text is fixed and runs with generic plans, so which index serves a page cannot be
 * left to the planner per request, and `(x IS NULL OR status = ...)` would be a filter over every
 * row of the range instead of an index condition. The two cases are two branches, each behind a
 * condition on the page alone, which PostgreSQL evaluates once per page before touching the table
 * (a one-time filter: the other branch shows "never executed" in EXPLAIN ANALYZE):
 * - no status filter: one range of (graph_id, created_at DESC, id DESC);
 * - statuses: one range of (graph_id, status, created_at DESC, id DESC) per status, each stopping at
 *   `rowLimit`, merged newest first (a sort of at most statuses × rowLimit rows, never the history).
 *
 * A page without a position compares against (infinity, max uuid) rather than `after IS NULL OR ...`,
 * and one without `since` against -infinity, for the same reason (test/graphql/pagination.test.ts
 * holds the plan to it). The one row the sentinel hides, created_at 'infinity' with the all-f uuid,
 * cannot come from the platform, which records runs at now().
 */
export function historyPage(page: PageExpressions): Prisma.Sql {
  const { graphId, rowLimit, afterCreatedAt, afterId, since, statuses } = Object.fromEntries(
    Object.entries(page).map(([name, expression]) => [name, Prisma.raw(expression)]),
  ) as Record<keyof PageExpressions, Prisma.Sql>;
  const range = Prisma.sql`(created_at, id) < (COALESCE(${afterCreatedAt}, 'infinity'), COALESCE(${afterId}, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
          AND created_at >= COALESCE(${since}, '-infinity')`;
  return Prisma.sql`LATERAL (
      (SELECT * FROM graph_migration_runs
        WHERE ${statuses} IS NULL AND graph_id = ${graphId}
          AND ${range}
        ORDER BY created_at DESC, id DESC
        LIMIT ${rowLimit})
      UNION ALL
      SELECT merged.* FROM (
        SELECT s.* FROM json_array_elements_text(${statuses}::json) AS wanted(status)
        CROSS JOIN LATERAL (
          SELECT * FROM graph_migration_runs
          WHERE graph_id = ${graphId} AND ${ONE_STATUS}
            AND ${range}
          ORDER BY created_at DESC, id DESC
          LIMIT ${rowLimit}
        ) s
        ORDER BY s.created_at DESC, s.id DESC
        LIMIT ${rowLimit}
      ) merged
      WHERE ${statuses} IS NOT NULL
    ) r`;
}

/** What a statement binds for `historyPage`, one array per expression, in page order (undefined: no page). */
export function pageParameters(pages: readonly (HistoryPage | undefined)[]) {
  const starts = pages.map((page) => (page ? pageStart(page) : undefined));
  return {
    limits: pages.map((page) => page?.limit ?? null),
    afterCreatedAts: starts.map((start) => start?.createdAt ?? null),
    afterIds: starts.map((start) => start?.id ?? null),
    sinces: pages.map((page) => page?.filter?.since ?? null),
    statuses: pages.map((page) => statusesParameter(page?.filter)),
  };
}

const KEY_PAGE = historyPage({
  graphId: 'k.graph_id',
  rowLimit: 'k.row_limit',
  afterCreatedAt: 'k.after_created_at',
  afterId: 'k.after_id',
  since: 'k.since',
  statuses: 'k.statuses',
});

/**
 * The newest `limit` runs of each graph that each key's filter selects, after each key's position,
 * for any number of keys, in one statement. Results are in key order.
 */
export async function historiesByGraph(query: RunSql, keys: readonly HistoryKey[]): Promise<MigrationRunRecord[][]> {
  const page = pageParameters(keys);
  const rows = records<MigrationRunRecord & { keyIndex: number }>(
    await query(Prisma.sql`
    SELECT k.key_index::int AS "keyIndex", ${RUN_COLUMNS}
    FROM unnest(
           ${keys.map((key) => key.graphId)}::uuid[],
           ${page.limits}::int[],
           ${page.afterCreatedAts}::timestamptz[],
           ${page.afterIds}::uuid[],
           ${page.sinces}::timestamptz[],
           ${page.statuses}::text[]
         ) WITH ORDINALITY AS k(graph_id, row_limit, after_created_at, after_id, since, statuses, key_index)
    CROSS JOIN ${KEY_PAGE}`),
  );
  const histories = keys.map((): MigrationRunRecord[] => []);
  for (const { keyIndex, ...run } of rows) histories[keyIndex - 1]!.push(run);
  for (const history of histories) history.sort(newestFirst);
  return histories;
}

/** Which runs of a graph to count: all of them, or those a filter selects. */
export interface RunCountKey {
  graphId: string;
  filter?: HistoryFilter;
}

/**
 * How many runs each key's filter selects in its graph's history (the whole window, whatever page
 * is shown), in one statement; 0 for a graph with none. Results are in key order. Like a page, the
 * count is two branches behind one-time filters: the graph's range of its history index, or one
 * range of (graph_id, status, …) per status, each counted on its own (a join of the statuses with
 * the history would let the planner read the whole history to count a rare status).
 */
export async function runCountsByGraph(query: RunSql, keys: readonly RunCountKey[]): Promise<number[]> {
  const rows = records<{ keyIndex: number; runCount: number }>(
    await query(Prisma.sql`
    SELECT k.key_index::int AS "keyIndex",
      ((SELECT count(*) FROM graph_migration_runs
         WHERE k.statuses IS NULL AND graph_id = k.graph_id
           AND created_at >= COALESCE(k.since, '-infinity') AND created_at < COALESCE(k.until, 'infinity'))
       + (SELECT COALESCE(sum(c.run_count), 0) FROM json_array_elements_text(k.statuses::json) AS wanted(status)
          CROSS JOIN LATERAL (
            SELECT count(*) AS run_count FROM graph_migration_runs
            WHERE graph_id = k.graph_id AND ${ONE_STATUS}
              AND created_at >= COALESCE(k.since, '-infinity') AND created_at < COALESCE(k.until, 'infinity')
          ) c
          WHERE k.statuses IS NOT NULL))::int AS "runCount"
    FROM unnest(
           ${keys.map((key) => key.graphId)}::uuid[],
           ${keys.map((key) => key.filter?.since ?? null)}::timestamptz[],
           ${keys.map((key) => key.filter?.until ?? null)}::timestamptz[],
           ${keys.map((key) => statusesParameter(key.filter))}::text[]
         ) WITH ORDINALITY AS k(graph_id, since, until, statuses, key_index)`),
  );
  const counts = keys.map(() => 0);
  for (const { keyIndex, runCount } of rows) counts[keyIndex - 1] = runCount;
  return counts;
}

const ALL_GRAPHS_RANGE = Prisma.sql`(r.created_at, r.id) < (COALESCE(k.after_created_at, 'infinity'), COALESCE(k.after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
            AND r.created_at >= COALESCE(k.since, '-infinity')`;

/**
 * Every graph's runs, newest first, the newest `limit` that the filter selects after the position:
 * the cross-graph view. Runs of deleted graphs are left out. One statement, index range scans that
 * read the runs they return: (created_at DESC, id DESC) without a status filter, one range of
 * (status, created_at DESC, id DESC) per status with one (merged as in `historyPage`, behind the
 * same one-time filters), each run's graph looked up by primary key to leave deleted graphs out.
 * The caller decides who may see this (superusers only).
 *
 * `r.status <> ''` holds for every row (the CHECK admits no empty status): it is the predicate of
 * the two all-graphs indexes, which are partial so that only statements saying it can use them
 * (prisma/migrations/20261125000000_history_filter_indexes).
 */
export async function runsOfAllGraphs(query: RunSql, page: HistoryPage): Promise<MigrationRunRecord[]> {
  const start = pageStart(page);
  // The page's values are bound once, as the columns of a one-row `k`, and referred to from there.
  const runs = records<MigrationRunRecord>(
    await query(Prisma.sql`
    SELECT ${RUN_COLUMNS}
    FROM (
      SELECT ${page.limit}::int AS row_limit, ${start?.createdAt ?? null}::timestamptz AS after_created_at,
             ${start?.id ?? null}::uuid AS after_id, ${page.filter?.since ?? null}::timestamptz AS since,
             ${statusesArray(page.filter)}::text[] AS statuses
    ) k
    CROSS JOIN LATERAL (
      (SELECT r.* FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
        WHERE k.statuses IS NULL AND r.status <> '' AND g.status <> 'deleted'
          AND ${ALL_GRAPHS_RANGE}
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT k.row_limit)
      UNION ALL
      SELECT merged.* FROM (
        SELECT s.* FROM unnest(k.statuses) AS wanted(status)
        CROSS JOIN LATERAL (
          SELECT r.* FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
          WHERE ${ONE_STATUS_OF_R} AND r.status <> '' AND g.status <> 'deleted'
            AND ${ALL_GRAPHS_RANGE}
          ORDER BY r.created_at DESC, r.id DESC
          LIMIT k.row_limit
        ) s
        ORDER BY s.created_at DESC, s.id DESC
        LIMIT k.row_limit
      ) merged
      WHERE k.statuses IS NOT NULL
    ) r`),
  );
  return runs.sort(newestFirst);
}

/**
 * How many runs of all graphs (deleted graphs left out) each filter selects, in one statement.
 * Results are in key order. Reads every selected run's index entry: it is only run when a client
 * asks for the cross-graph view's totalCount.
 */
export async function runCountsOfAllGraphs(query: RunSql, filters: readonly HistoryFilter[]): Promise<number[]> {
  const rows = records<{ keyIndex: number; runCount: number }>(
    await query(Prisma.sql`
    SELECT k.key_index::int AS "keyIndex",
      ((SELECT count(*) FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
         WHERE k.statuses IS NULL AND r.status <> '' AND g.status <> 'deleted'
           AND r.created_at >= COALESCE(k.since, '-infinity') AND r.created_at < COALESCE(k.until, 'infinity'))
       + (SELECT COALESCE(sum(c.run_count), 0) FROM json_array_elements_text(k.statuses::json) AS wanted(status)
          CROSS JOIN LATERAL (
            SELECT count(*) AS run_count FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
            WHERE ${ONE_STATUS_OF_R} AND r.status <> '' AND g.status <> 'deleted'
              AND r.created_at >= COALESCE(k.since, '-infinity') AND r.created_at < COALESCE(k.until, 'infinity')
          ) c
          WHERE k.statuses IS NOT NULL))::int AS "runCount"
    FROM unnest(
           ${filters.map((filter) => filter.since ?? null)}::timestamptz[],
           ${filters.map((filter) => filter.until ?? null)}::timestamptz[],
           ${filters.map((filter) => statusesParameter(filter))}::text[]
         ) WITH ORDINALITY AS k(since, until, statuses, key_index)`),
  );
  const counts = filters.map(() => 0);
  for (const { keyIndex, runCount } of rows) counts[keyIndex - 1] = runCount;
  return counts;
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
