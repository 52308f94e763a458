// Every database read about migration statistics: counts by status, the latest runs and the
// durations of a window of a graph's history (or of every graph's), and each graph's latest run.
// Counts come from the runs per graph, UTC day and status that triggers keep (the folded day counts
// and the deltas not folded yet: prisma/migrations/20261203000000_run_statistics), so they cost what
// the window's days cost, not what its runs do; docs/decisions/0010.
import { Prisma } from '../database/generated/client.js';
import type { HistoryFilter } from './historyFilter.js';
import { statusesArray, statusesParameter } from './historyFilter.js';
import { newestFirst, pageStart, type HistoryPage, type MigrationRunRecord } from './migrationRuns.js';
import { records, utcTimestamp, type RunSql, type TransactionSql } from '../database/sql.js';

/** The statuses `latestSuccess` and `latestFailure` stand for. */
export const SUCCESS_STATUS = 'success';
export const FAILURE_STATUS = 'failed';

export interface StatusCount {
  status: string;
  count: number;
}

/** finished_at − started_at in seconds, over the runs that have both; null when none has. */
export interface DurationSummary {
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export interface MigrationStatsRecord {
  total: number;
  /** Most frequent first, ties by status (code point order); statuses with no run left out. */
  byStatus: StatusCount[];
  latest: MigrationRunRecord | null;
  latestSuccess: MigrationRunRecord | null;
  latestFailure: MigrationRunRecord | null;
  /** Absent when the key did not ask for durations (they read every run of the window). */
  durationSeconds?: DurationSummary;
}

/** A window of created_at (`since` inclusive, `until` exclusive: the history filter's), and whether to read durations. */
export interface StatsWindow {
  filter: Pick<HistoryFilter, 'since' | 'until'>;
  durations: boolean;
}

export interface GraphStatsKey extends StatsWindow {
  graphId: string;
}

/** One string per distinct window: for cache keys. */
export function windowKey({ filter, durations }: StatsWindow): string {
  return `${filter.since ?? ''}|${filter.until ?? ''}|${durations ? 'd' : ''}`;
}

/** A run as one JSON object with MigrationRunRecord's keys (the latest runs: three per window at most). */
const RUN_JSON = Prisma.sql`json_build_object('id', r.id::text, 'graphId', r.graph_id::text, 'fromVersion', r.from_version,
  'toVersion', r.to_version, 'migrationId', r.migration_id, 'status', r.status, 'startedAt', ${utcTimestamp('r.started_at')},
  'finishedAt', ${utcTimestamp('r.finished_at')}, 'error', r.error, 'workflowRunId', r.workflow_run_id,
  'createdAt', ${utcTimestamp('r.created_at')})::text`;

/** Which runs and which day counts a statistic covers: one graph's, or every graph's but the deleted ones'. */
interface Scope {
  /** `FROM ... WHERE` over graph_migration_runs `r`, ready for more conditions after `AND`. */
  runs: Prisma.Sql;
  /** `FROM ... WHERE` over the day counts and the deltas not folded yet, as `d` (day, status, runs), the same way. */
  days: Prisma.Sql;
}

const ONE_GRAPH: Scope = {
  runs: Prisma.sql`FROM graph_migration_runs r WHERE r.graph_id = k.graph_id`,
  days: Prisma.sql`FROM (
      SELECT c.day, c.status, c.runs FROM graph_migration_run_daily_counts c WHERE c.graph_id = k.graph_id
      UNION ALL
      SELECT c.day, c.status, c.runs FROM graph_migration_run_count_deltas c WHERE c.graph_id = k.graph_id
    ) d WHERE true`,
};

// `r.status <> ''` holds for every run: it lets the all-graphs scans use the partial all-graphs
// indexes (see runsOfAllGraphs in ./migrationRuns.ts).
const ALL_GRAPHS: Scope = {
  runs: Prisma.sql`FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id WHERE g.status <> 'deleted' AND r.status <> ''`,
  days: Prisma.sql`FROM (
      SELECT c.graph_id, c.day, c.status, c.runs FROM graph_migration_run_daily_counts c
      UNION ALL
      SELECT c.graph_id, c.day, c.status, c.runs FROM graph_migration_run_count_deltas c
    ) d JOIN graphs g ON g.id = d.graph_id WHERE g.status <> 'deleted'`,
};

/**
 * The statistics of each key `k` (columns since, until, durations) over `scope`, one row per key.
 *
 * The window [lo, hi) is cut at UTC midnights: the days it covers whole, [first_day, last_day), are
 * summed from the day counts; the runs of its partial first and last days, [lo, lead_end) and
 * [trail_start, hi), are counted from the history index (a day of runs at most on each side). A
 * window within one day has no whole day, and is counted from the index alone. Without bounds the
 * window is every day: the counts then read one row per day and status of the graph's history.
 * The latest runs are one index probe each; the durations read every run of the window, and only
 * when the key asks for them (a one-time filter on `k.durations`: "never executed" otherwise).
 */
function statsStatement(scope: Scope, keys: Prisma.Sql): Prisma.Sql {
  const latest = (status?: string) => Prisma.sql`(SELECT ${RUN_JSON} ${scope.runs}
      ${status === undefined ? Prisma.empty : Prisma.sql`AND r.status = ${status}`}
      AND r.created_at >= w.lo AND r.created_at < w.hi
    ORDER BY r.created_at DESC, r.id DESC LIMIT 1)`;
  return Prisma.sql`
    SELECT k.key_index::int AS "keyIndex",
      (SELECT COALESCE(json_agg(json_build_object('status', c.status, 'count', c.runs) ORDER BY c.runs DESC, c.status COLLATE "C"), '[]')::text
       FROM (
         SELECT s.status, sum(s.runs)::int AS runs FROM (
           SELECT d.status, d.runs ${scope.days} AND d.day >= w.first_day AND d.day < w.last_day
           UNION ALL
           SELECT r.status, 1 ${scope.runs} AND r.created_at >= w.lo AND r.created_at < w.lead_end
           UNION ALL
           SELECT r.status, 1 ${scope.runs} AND r.created_at >= w.trail_start AND r.created_at < w.hi
         ) s GROUP BY s.status
       ) c WHERE c.runs > 0) AS "byStatus",
      ${latest()} AS latest,
      ${latest(SUCCESS_STATUS)} AS "latestSuccess",
      ${latest(FAILURE_STATUS)} AS "latestFailure",
      durations.p50::text AS p50, durations.p95::text AS p95, durations.max::text AS max
    FROM ${keys}
    CROSS JOIN LATERAL (
      SELECT b.lo, b.hi, e.first_day, e.last_day, LEAST(e.first_day, b.hi) AS lead_end,
             GREATEST(e.last_day, LEAST(e.first_day, b.hi)) AS trail_start
      FROM (SELECT COALESCE(k.since, '-infinity') AS lo, COALESCE(k.until, 'infinity') AS hi) b
      CROSS JOIN LATERAL (
        SELECT CASE WHEN date_trunc('day', b.lo, 'UTC') = b.lo THEN b.lo
                    ELSE date_trunc('day', b.lo, 'UTC') + interval '24 hours' END AS first_day,
               date_trunc('day', b.hi, 'UTC') AS last_day
      ) e
    ) w
    LEFT JOIN LATERAL (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x.seconds) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY x.seconds) AS p95,
             max(x.seconds) AS max
      FROM (
        SELECT extract(epoch FROM r.finished_at - r.started_at)::float8 AS seconds ${scope.runs}
          AND k.durations AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL
          AND r.created_at >= w.lo AND r.created_at < w.hi
      ) x
    ) durations ON k.durations`;
}

interface StatsRow {
  keyIndex: number;
  byStatus: string;
  latest: string | null;
  latestSuccess: string | null;
  latestFailure: string | null;
  p50: string | null;
  p95: string | null;
  max: string | null;
}

function statsFromRows(rows: StatsRow[], windows: readonly StatsWindow[]): MigrationStatsRecord[] {
  const results = new Array<MigrationStatsRecord>(windows.length);
  const run = (json: string | null) => (json === null ? null : (JSON.parse(json) as MigrationRunRecord));
  const seconds = (text: string | null) => (text === null ? null : Number(text));
  for (const row of rows) {
    const byStatus = JSON.parse(row.byStatus) as StatusCount[];
    results[row.keyIndex - 1] = {
      total: byStatus.reduce((sum, { count }) => sum + count, 0),
      byStatus,
      latest: run(row.latest),
      latestSuccess: run(row.latestSuccess),
      latestFailure: run(row.latestFailure),
      ...(windows[row.keyIndex - 1]!.durations && {
        durationSeconds: { p50: seconds(row.p50), p95: seconds(row.p95), max: seconds(row.max) },
      }),
    };
  }
  return results;
}

/** Each window's columns for `unnest` (since, until, durations), in key order. */
const windowArrays = (windows: readonly StatsWindow[]) => Prisma.sql`
  ${windows.map((window) => window.filter.since ?? null)}::timestamptz[],
  ${windows.map((window) => window.filter.until ?? null)}::timestamptz[],
  ${windows.map((window) => window.durations)}::boolean[]`;

/** The statistics of each key's graph over its window, for any number of keys, in one statement. Results are in key order. */
export async function statsByGraph(query: RunSql, keys: readonly GraphStatsKey[]): Promise<MigrationStatsRecord[]> {
  const keyRows = Prisma.sql`unnest(${keys.map((key) => key.graphId)}::uuid[], ${windowArrays(keys)})
    WITH ORDINALITY AS k(graph_id, since, until, durations, key_index)`;
  return statsFromRows(records<StatsRow>(await query(statsStatement(ONE_GRAPH, keyRows))), keys);
}

/**
 * The statistics of every graph's runs (deleted graphs left out) over each window, in one
 * statement. Results are in key order. The caller decides who may see this (superusers only).
 */
export async function statsOfAllGraphs(query: RunSql, windows: readonly StatsWindow[]): Promise<MigrationStatsRecord[]> {
  const keyRows = Prisma.sql`unnest(${windowArrays(windows)}) WITH ORDINALITY AS k(since, until, durations, key_index)`;
  return statsFromRows(records<StatsRow>(await query(statsStatement(ALL_GRAPHS, keyRows))), windows);
}

/** Each graph's newest run (`r`), one index probe of its history per graph (deleted graphs left out). */
const LATEST_OF_EACH_GRAPH = Prisma.sql`graphs g
    CROSS JOIN LATERAL (
      SELECT * FROM graph_migration_runs WHERE graph_id = g.id ORDER BY created_at DESC, id DESC LIMIT 1
    ) r`;

/**
 * Each graph's latest run (deleted graphs left out) whose status the page's filter selects, newest
 * first, the newest `limit` after the page's position: "which graphs' latest run failed". Only the
 * filter's statuses apply (since and until do not). One probe of the history index per graph, so a
 * page costs what the number of graphs does (1,001 graphs: a few ms), not what their histories do.
 * The caller decides who may see this (superusers only).
 */
export async function latestRunsOfGraphs(query: RunSql, page: HistoryPage): Promise<MigrationRunRecord[]> {
  const start = pageStart({ ...page, filter: undefined });
  const runs = records<MigrationRunRecord>(
    await query(Prisma.sql`
    SELECT r.id::text AS id, r.graph_id::text AS "graphId", r.from_version AS "fromVersion", r.to_version AS "toVersion",
      r.migration_id AS "migrationId", r.status, ${utcTimestamp('r.started_at')} AS "startedAt",
      ${utcTimestamp('r.finished_at')} AS "finishedAt", r.error, r.workflow_run_id AS "workflowRunId",
      ${utcTimestamp('r.created_at')} AS "createdAt"
    FROM (
      SELECT ${page.limit}::int AS row_limit, ${start?.createdAt ?? null}::timestamptz AS after_created_at,
             ${start?.id ?? null}::uuid AS after_id, ${statusesArray(page.filter)}::text[] AS statuses
    ) k
    CROSS JOIN LATERAL (
      SELECT r.* FROM ${LATEST_OF_EACH_GRAPH}
      WHERE g.status <> 'deleted' AND (k.statuses IS NULL OR r.status = ANY(k.statuses))
        AND (r.created_at, r.id) < (COALESCE(k.after_created_at, 'infinity'), COALESCE(k.after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT k.row_limit
    ) r`),
  );
  return runs.sort(newestFirst);
}

/** How many graphs (deleted ones left out) have a latest run whose status each filter selects, in one statement. */
export async function latestRunCounts(query: RunSql, filters: readonly HistoryFilter[]): Promise<number[]> {
  const rows = records<{ keyIndex: number; graphCount: number }>(
    await query(Prisma.sql`
    SELECT k.key_index::int AS "keyIndex",
      (SELECT count(*) FROM ${LATEST_OF_EACH_GRAPH}
       WHERE g.status <> 'deleted'
         AND (k.statuses IS NULL OR r.status IN (SELECT json_array_elements_text(k.statuses::json))))::int AS "graphCount"
    FROM unnest(${filters.map(statusesParameter)}::text[]) WITH ORDINALITY AS k(statuses, key_index)`),
  );
  const counts = filters.map(() => 0);
  for (const { keyIndex, graphCount } of rows) counts[keyIndex - 1] = graphCount;
  return counts;
}

/** The fold's statement starts with this comment: operators (pg_stat_statements) and tests tell it from requests'. */
export const FOLD_STATEMENT_MARK = '/* day counts */';

/** Deltas folded per statement at most: a fold stays short however far behind it is. */
export const FOLD_BATCH = 10_000;

/**
 * Folds the oldest committed deltas (at most FOLD_BATCH) into the day counts, in one statement on
 * the primary; returns how many were folded. Instances fold side by side: each takes rows the
 * others have not locked (SKIP LOCKED), and the deltas of a graph that no longer exists are dropped.
 * Readers add deltas and day counts, so a fold changes no statistic, only how many rows it reads.
 */
export async function foldDayCounts(sql: TransactionSql): Promise<number> {
  return sql.execute(Prisma.sql`${Prisma.raw(FOLD_STATEMENT_MARK)}
    WITH taken AS (
      DELETE FROM graph_migration_run_count_deltas WHERE delta_id IN (
        SELECT delta_id FROM graph_migration_run_count_deltas ORDER BY delta_id LIMIT ${FOLD_BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING graph_id, day, status, runs
    ), folded AS (
      INSERT INTO graph_migration_run_daily_counts AS c (graph_id, day, status, runs)
      SELECT t.graph_id, t.day, t.status, sum(t.runs)::int FROM taken t JOIN graphs g ON g.id = t.graph_id GROUP BY 1, 2, 3
      ON CONFLICT (graph_id, day, status) DO UPDATE SET runs = c.runs + EXCLUDED.runs
    )
    SELECT FROM taken`);
}
