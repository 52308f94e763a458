// The statistics' kept counts (docs/decisions/0010) against a recount of the runs themselves.
import type { PrismaClient } from '../../src/database/client.js';

/**
 * (graph, UTC day, status) groups whose day counts plus unfolded deltas differ from a count of the
 * runs: 0 when exact. As the readers do, only graphs that exist count: a deleted graph's day counts
 * go with it (their foreign key), its deltas stay until the fold drops them.
 */
export async function countMismatches(prisma: PrismaClient): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (
      SELECT graph_id, day, status, sum(runs)::int AS runs FROM (
        SELECT graph_id, day, status, runs FROM graph_migration_run_daily_counts
        UNION ALL SELECT graph_id, day, status, runs FROM graph_migration_run_count_deltas) kept
      WHERE EXISTS (SELECT FROM graphs g WHERE g.id = kept.graph_id)
      GROUP BY 1, 2, 3) d
    FULL JOIN (SELECT graph_id, date_trunc('day', created_at, 'UTC') AS day, status, count(*)::int AS runs
               FROM graph_migration_runs GROUP BY 1, 2, 3) a USING (graph_id, day, status)
    WHERE COALESCE(d.runs, 0) <> COALESCE(a.runs, 0)`;
  return row!.n;
}
