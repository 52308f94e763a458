// The change feed of migration runs (docs/decisions/0008): what the capture triggers of
// prisma/migrations/20261202000000_run_change_feed (inserts, updates) and
// 20261206100000_run_deletions_in_feed (deletes, truncations) recorded, put in commit order, read
// after a position, and pruned.
import { Prisma } from '../database/generated/client.js';
import type { MigrationRunRecord } from './migrationRuns.js';
import { records, utcTimestamp, type RunSql, type TransactionSql } from '../database/sql.js';

/** The channel `orderCommittedChanges` notifies (at its commit) when it has given changes their positions. */
export const FEED_CHANNEL = 'graph_migration_run_feed';

/** Every statement of the feed starts with this comment: operators (pg_stat_statements) and tests tell them from requests'. */
export const FEED_STATEMENT_MARK = '/* change feed */';

// pg_try_advisory_xact_lock's key: one instance orders the feed at a time. ('gmrfeed' in ASCII.)
const ORDERING_LOCK = 0x676d7266656564n;

/** What happened to a run: DELETED carries the run as it was. */
export type ChangeKind = 'INSERTED' | 'UPDATED' | 'DELETED';

/** A change of one run. */
export interface RunEvent {
  /** The change's place in the feed: commit order. */
  position: bigint;
  kind: ChangeKind;
  /** The run as this change left it (as it was, for DELETED). */
  run: MigrationRunRecord;
}

/** A TRUNCATE of the runs (prisma/migrations/20261206100000_run_deletions_in_feed): no run, every stream's concern. */
export interface HistoryTruncation {
  position: bigint;
  kind: 'TRUNCATED';
}

export type RunChange = RunEvent | HistoryTruncation;

/**
 * Gives every committed change without a position one, in capture order, in one transaction under
 * an advisory lock (one instance at a time; the others return at once). Only committed changes are
 * visible to it, so a change committed later gets a later position: the feed is in commit order
 * (changes of different runs committed within one round, milliseconds apart, are in capture order;
 * a run's own changes are always in commit order, as its row lock orders its writers). Notifies
 * FEED_CHANNEL (at commit) when it ordered anything. `pending`: more wait than one batch took.
 * Called often (every instance looks every 100 ms): without changes waiting it costs one index probe.
 */
const UNORDERED = Prisma.sql`/* change feed */ SELECT EXISTS (SELECT 1 FROM graph_migration_run_changes WHERE position IS NULL) AS pending`;

export async function orderCommittedChanges(
  query: RunSql,
  transaction: <T>(work: (sql: TransactionSql) => Promise<T>) => Promise<T>,
  batch = 10_000,
): Promise<{ locked: boolean; ordered: number; pending: boolean }> {
  // Most calls find nothing to order: one index probe, no transaction, no lock.
  const { rows: waiting } = await query(UNORDERED);
  if (!(waiting[0]![0] as boolean)) return { locked: true, ordered: 0, pending: false };
  return transaction(async (sql) => {
    const { rows } = await sql.query(Prisma.sql`/* change feed */ SELECT pg_try_advisory_xact_lock(${ORDERING_LOCK}::bigint) AS locked`);
    if (!(rows[0]![0] as boolean)) return { locked: false, ordered: 0, pending: true };
    // A statement of its own, after the lock: its snapshot sees every position given before.
    const ordered = await sql.execute(Prisma.sql`
      /* change feed */ WITH next AS (
        SELECT change_id, row_number() OVER (ORDER BY change_id) AS n
        FROM graph_migration_run_changes
        WHERE position IS NULL
        ORDER BY change_id
        LIMIT ${batch}::int
      ), last AS (
        SELECT greatest(
          (SELECT max(position) FROM graph_migration_run_changes),
          (SELECT pruned_through FROM graph_migration_run_feed)
        ) AS position
      )
      UPDATE graph_migration_run_changes c
      SET position = coalesce(last.position, 0) + next.n
      FROM next, last
      WHERE c.change_id = next.change_id`);
    if (ordered > 0) await sql.execute(Prisma.sql`/* change feed */ SELECT pg_notify(${FEED_CHANNEL}, '')`);
    const { rows: left } = await sql.query(UNORDERED);
    return { locked: true, ordered, pending: left[0]![0] as boolean };
  });
}

interface ChangeRow extends MigrationRunRecord {
  position: string;
  /** A truncation's run columns are NULL: not read. */
  kind: RunChange['kind'];
}

/** The run columns of a change row `c`, as MigrationRunRecord (the history's own format). */
const CHANGE_COLUMNS = Prisma.sql`
  c.position::text AS position, c.kind,
  c.run_id::text AS id, c.graph_id::text AS "graphId", c.from_version AS "fromVersion",
  c.to_version AS "toVersion", c.migration_id AS "migrationId", c.status,
  ${utcTimestamp('c.started_at')} AS "startedAt", ${utcTimestamp('c.finished_at')} AS "finishedAt",
  c.error, c.workflow_run_id AS "workflowRunId", ${utcTimestamp('c.created_at')} AS "createdAt"`;

/**
 * Up to `limit` changes after `position`, in feed order, deleted graphs' left out (a graph deleted
 * outright too: its runs' deletions as well); `graphId` narrows to one graph's. Truncations concern
 * every graph: always included.
 */
export async function changesAfter(query: RunSql, position: bigint, limit: number, graphId?: string): Promise<RunChange[]> {
  const result = await query(Prisma.sql`
    /* change feed */ SELECT ${CHANGE_COLUMNS}
    FROM graph_migration_run_changes c
    LEFT JOIN graphs g ON g.id = c.graph_id
    WHERE c.position > ${position.toString()}::bigint
      AND (c.kind = 'TRUNCATED' OR g.status <> 'deleted')
      ${graphId === undefined ? Prisma.empty : Prisma.sql`AND (c.kind = 'TRUNCATED' OR c.graph_id = ${graphId}::uuid)`}
    ORDER BY c.position
    LIMIT ${limit}::int`);
  return records<ChangeRow>(result).map(({ position: at, kind, ...run }): RunChange =>
    kind === 'TRUNCATED' ? { position: BigInt(at), kind } : { position: BigInt(at), kind, run },
  );
}

/** The feed's ends: the last position given (0 when none), and the last pruned (a cursor at or below it cannot be resumed). */
export async function feedBounds(query: RunSql): Promise<{ head: bigint; prunedThrough: bigint }> {
  const { rows } = await query(Prisma.sql`
    /* change feed */ SELECT coalesce((SELECT max(position) FROM graph_migration_run_changes), 0)::text AS head,
           (SELECT pruned_through FROM graph_migration_run_feed)::text AS pruned`);
  const [head, pruned] = rows[0] as [string, string];
  const prunedThrough = BigInt(pruned);
  const last = BigInt(head);
  return { head: last > prunedThrough ? last : prunedThrough, prunedThrough };
}

/**
 * Deletes the ordered changes recorded more than `keepMs` ago, and records the last position
 * deleted, so a cursor at or before it is known to be gone rather than read as "nothing since".
 */
export async function pruneChanges(transaction: <T>(work: (sql: TransactionSql) => Promise<T>) => Promise<T>, keepMs: number) {
  return transaction(async (sql) => {
    const { rows } = await sql.query(Prisma.sql`
      /* change feed */ WITH gone AS (
        DELETE FROM graph_migration_run_changes
        WHERE position IS NOT NULL AND recorded_at < clock_timestamp() - ${keepMs}::int * interval '1 millisecond'
        RETURNING position
      )
      UPDATE graph_migration_run_feed
      SET pruned_through = greatest(pruned_through, coalesce((SELECT max(position) FROM gone), 0))
      RETURNING (SELECT count(*) FROM gone)::int AS deleted`);
    return { deleted: rows[0]![0] as number };
  });
}
