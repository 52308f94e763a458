// Per-request DataLoaders over src/queries. They live in the request context, so a batch never mixes
// two viewers' data and nothing is cached across requests.
import DataLoader from 'dataloader';
import type { Viewer } from '../auth/viewer.js';
import { graphsByKeys, type GraphKey, type GraphRequest, type GraphWithPage } from '../queries/graphs.js';
import { filterKey, NO_FILTER, type HistoryFilter } from '../queries/historyFilter.js';
import {
  historiesByGraph,
  pageKey,
  runCountsByGraph,
  runCountsOfAllGraphs,
  runsByIds,
  runsOfAllGraphs,
  type HistoryKey,
  type HistoryPage,
  type MigrationRunRecord,
  type RunCountKey,
  type RunWithGraph,
} from '../queries/migrationRuns.js';
import {
  latestRunCounts,
  latestRunsOfGraphs,
  statsByGraph,
  statsOfAllGraphs,
  windowKey,
  type GraphStatsKey,
  type MigrationStatsRecord,
  type StatsWindow,
} from '../queries/migrationStats.js';
import type { RunSql } from '../database/sql.js';

export interface Loaders {
  /**
   * Graphs by `{ id }` or `{ slug }`, with the viewer's membership and, when a request names one, a
   * page of the graph's history, which then primes `history`: one statement per batch.
   */
  graph: DataLoader<GraphRequest, GraphWithPage, string>;
  /**
   * A graph's newest runs, by `{ graphId, limit, after?, filter? }`: one statement per batch, so
   * `migrations` and `migrationsConnection` pages of any number of graphs, with any filters, share
   * it. Pages read with their graph are already here.
   */
  history: DataLoader<HistoryKey, MigrationRunRecord[], string>;
  /** How many runs a filter selects in a graph, by `{ graphId, filter? }`: one statement per batch, only when totalCount is selected. */
  runCount: DataLoader<RunCountKey, number, string>;
  /** Runs by id with their graph's permission facts: one statement per batch. */
  run: DataLoader<string, RunWithGraph | null>;
  /**
   * Pages of every graph's runs (the cross-graph view; the caller checks that the viewer is a
   * superuser): one statement per distinct page, which in practice is one per request.
   */
  allGraphsHistory: DataLoader<HistoryPage, MigrationRunRecord[], string>;
  /** How many runs of all graphs a filter selects: one statement per batch, only when totalCount is selected. */
  allGraphsRunCount: DataLoader<HistoryFilter, number, string>;
  /** A graph's statistics over a window, by `{ graphId, filter, durations }`: one statement per batch. */
  stats: DataLoader<GraphStatsKey, MigrationStatsRecord, string>;
  /** Every graph's statistics over a window (the caller checks that the viewer is a superuser): one statement per batch. */
  allGraphsStats: DataLoader<StatsWindow, MigrationStatsRecord, string>;
  /** Pages of the graphs' latest runs (superusers; checked by the caller): one statement per distinct page. */
  latestRuns: DataLoader<HistoryPage, MigrationRunRecord[], string>;
  /** How many graphs' latest runs a filter's statuses select: one statement per batch, only when totalCount is selected. */
  latestRunCount: DataLoader<HistoryFilter, number, string>;
}

const graphCacheKey = (key: GraphKey) => ('id' in key ? `id:${key.id.toLowerCase()}` : `slug:${key.slug}`);

export function createLoaders(query: RunSql, viewer: Viewer): Loaders {
  const viewerId = viewer.kind === 'user' ? viewer.id : null;
  const history: Loaders['history'] = new DataLoader((keys) => historiesByGraph(query, keys), {
    cacheKeyFn: (key) => `${key.graphId}:${pageKey(key)}`,
  });
  const graph: Loaders['graph'] = new DataLoader(
    async (requests) => {
      const results = await graphsByKeys(query, viewerId, requests);
      // A graph loaded by one key is known by the other too, and a page read with it is known to `history`.
      results.forEach(({ graph: record, runs }, index) => {
        if (!record) return;
        graph.prime({ key: { id: record.id } }, { graph: record }).prime({ key: { slug: record.slug } }, { graph: record });
        const page = requests[index]!.page;
        if (page && runs) history.prime({ graphId: record.id, ...page }, runs);
      });
      return results;
    },
    { cacheKeyFn: ({ key, page }) => (page ? `${graphCacheKey(key)}|${pageKey(page)}` : graphCacheKey(key)) },
  );
  return {
    graph,
    history,
    runCount: new DataLoader((keys) => runCountsByGraph(query, keys), {
      cacheKeyFn: ({ graphId, filter = NO_FILTER }) => `${graphId.toLowerCase()}|${filterKey(filter)}`,
    }),
    run: new DataLoader((ids) => runsByIds(query, viewerId, ids), { cacheKeyFn: (id) => id.toLowerCase() }),
    allGraphsHistory: new DataLoader((pages) => Promise.all(pages.map((page) => runsOfAllGraphs(query, page))), { cacheKeyFn: pageKey }),
    allGraphsRunCount: new DataLoader((filters) => runCountsOfAllGraphs(query, filters), { cacheKeyFn: filterKey }),
    stats: new DataLoader((keys) => statsByGraph(query, keys), { cacheKeyFn: (key) => `${key.graphId.toLowerCase()}|${windowKey(key)}` }),
    allGraphsStats: new DataLoader((windows) => statsOfAllGraphs(query, windows), { cacheKeyFn: windowKey }),
    latestRuns: new DataLoader((pages) => Promise.all(pages.map((page) => latestRunsOfGraphs(query, page))), { cacheKeyFn: pageKey }),
    latestRunCount: new DataLoader((filters) => latestRunCounts(query, filters), { cacheKeyFn: filterKey }),
  };
}
