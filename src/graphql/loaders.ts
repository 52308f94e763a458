// Per-request DataLoaders over src/data. They live in the request context, so a batch never mixes
// two viewers' data and nothing is cached across requests.
import DataLoader from 'dataloader';
import type { Viewer } from '../auth/viewer.js';
import { graphsByKeys, type GraphKey, type GraphRequest, type GraphWithPage } from '../data/graphs.js';
import {
  historiesByGraph,
  runCountsByGraph,
  runsByIds,
  type HistoryKey,
  type HistoryPage,
  type MigrationRunRecord,
  type RunWithGraph,
} from '../data/migrationRuns.js';
import type { RunSql } from '../db/client.js';

export interface Loaders {
  /**
   * Graphs by `{ id }` or `{ slug }`, with the viewer's membership and, when a request names one, a
   * page of the graph's history, which then primes `history`: one statement per batch.
   */
  graph: DataLoader<GraphRequest, GraphWithPage, string>;
  /**
   * A graph's newest runs, by `{ graphId, limit, after? }`: one statement per batch, so `migrations`
   * and `migrationsConnection` pages of any number of graphs share it. Pages read with their graph
   * are already here.
   */
  history: DataLoader<HistoryKey, MigrationRunRecord[], string>;
  /** How many runs a graph has, by graph id: one statement per batch, only when totalCount is selected. */
  runCount: DataLoader<string, number>;
  /** Runs by id with their graph's permission facts: one statement per batch. */
  run: DataLoader<string, RunWithGraph | null>;
}

const graphCacheKey = (key: GraphKey) => ('id' in key ? `id:${key.id.toLowerCase()}` : `slug:${key.slug}`);
const pageCacheKey = ({ limit, after }: HistoryPage) => `${limit}:${after ? `${after.createdAt}:${after.id}` : ''}`;

export function createLoaders(query: RunSql, viewer: Viewer): Loaders {
  const viewerId = viewer.kind === 'user' ? viewer.id : null;
  const history: Loaders['history'] = new DataLoader((keys) => historiesByGraph(query, keys), {
    cacheKeyFn: (key) => `${key.graphId}:${pageCacheKey(key)}`,
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
    { cacheKeyFn: ({ key, page }) => (page ? `${graphCacheKey(key)}|${pageCacheKey(page)}` : graphCacheKey(key)) },
  );
  return {
    graph,
    history,
    runCount: new DataLoader((graphIds) => runCountsByGraph(query, graphIds), { cacheKeyFn: (graphId) => graphId.toLowerCase() }),
    run: new DataLoader((ids) => runsByIds(query, viewerId, ids), { cacheKeyFn: (id) => id.toLowerCase() }),
  };
}
