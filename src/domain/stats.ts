// Statistics of the history, for every door: a graph's (the caller has checked GRAPH_READ), every
// graph's, and each graph's latest run (superusers only), read through the request's loaders.
// Refusals are InvalidArgumentError / AccessDeniedError (src/domain/errors.ts), named by the API's
// argument names.
import { NO_FILTER } from '../queries/historyFilter.js';
import type { MigrationStatsRecord, StatsWindow } from '../queries/migrationStats.js';
import { requireSuperuser } from './access.js';
import type { Context } from './context.js';
import { connectionPage, filterOf, type FilterArguments, type MigrationRunPage } from './history.js';

/**
 * The checked window of `since` and `until` (as the history filters check them), and whether the
 * caller will read the durations: only then are they computed, as they read every run of the window.
 */
export function statsWindow({ since, until }: Pick<FilterArguments, 'since' | 'until'>, durations: boolean): StatsWindow {
  return { filter: filterOf({ since, until }), durations };
}

/** A readable graph's statistics over `window`: one statement for every graph of the request. */
export function loadGraphStats(context: Context, graphId: string, window: StatsWindow): Promise<MigrationStatsRecord> {
  return context.loaders.stats.load({ graphId, ...window });
}

/** Every graph's statistics (deleted graphs left out) over `window`. Superusers only, checked before anything is read. */
export function loadAllGraphsStats(context: Context, window: StatsWindow): Promise<MigrationStatsRecord> {
  requireSuperuser(context.viewer);
  return context.loaders.allGraphsStats.load(window);
}

/**
 * A page of the graphs' latest runs (one per graph, deleted graphs left out) whose status is one of
 * `status` (absent: any), newest first, keyset-paged as every history page is. Superusers only.
 */
export async function loadLatestRunsConnection(
  context: Context,
  first: number,
  after: string | null | undefined,
  status: readonly string[] | null | undefined,
): Promise<MigrationRunPage> {
  requireSuperuser(context.viewer);
  const filter = status == null ? NO_FILTER : filterOf({ status });
  const runs = await context.loaders.latestRuns.load(connectionPage(first, after, filter));
  return { graphId: null, latestOfEachGraph: true, runs: runs.slice(0, first), hasNextPage: runs.length > first, filter };
}
