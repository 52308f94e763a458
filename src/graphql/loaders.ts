// Per-request DataLoaders over src/data. They live in the request context, so a batch never mixes
// two viewers' data and nothing is cached across requests.
import DataLoader from 'dataloader';
import type { Viewer } from '../auth/viewer.js';
import { graphsByKeys, type GraphKey, type GraphRecord } from '../data/graphs.js';
import { historiesByGraph, runCountsByGraph, runsByIds, type HistoryKey, type MigrationRunRecord, type RunWithGraph } from '../data/migrationRuns.js';
import type { PrismaClient } from '../db/client.js';

export interface Loaders {
  /** Graphs by `{ id }` or `{ slug }`, with the viewer's membership: one statement per batch. */
  graph: DataLoader<GraphKey, GraphRecord | null, string>;
  /**
   * A graph's newest runs, by `{ graphId, limit, after? }`: one statement per batch, so `migrations`
   * and `migrationsConnection` pages of any number of graphs share it.
   */
  history: DataLoader<HistoryKey, MigrationRunRecord[], string>;
  /** How many runs a graph has, by graph id: one statement per batch, only when totalCount is selected. */
  runCount: DataLoader<string, number>;
  /** Runs by id with their graph's permission facts: one statement per batch. */
  run: DataLoader<string, RunWithGraph | null>;
}

export function createLoaders(prisma: PrismaClient, viewer: Viewer): Loaders {
  const viewerId = viewer.kind === 'user' ? viewer.id : null;
  const graph: Loaders['graph'] = new DataLoader(
    async (keys) => {
      const graphs = await graphsByKeys(prisma, viewerId, keys);
      // A graph loaded by one key is known by the other too.
      for (const record of graphs) {
        if (record) graph.prime({ id: record.id }, record).prime({ slug: record.slug }, record);
      }
      return graphs;
    },
    { cacheKeyFn: (key) => ('id' in key ? `id:${key.id.toLowerCase()}` : `slug:${key.slug}`) },
  );
  return {
    graph,
    history: new DataLoader((keys) => historiesByGraph(prisma, keys), {
      cacheKeyFn: (key) => `${key.graphId}:${key.limit}:${key.after ? `${key.after.createdAt}:${key.after.id}` : ''}`,
    }),
    runCount: new DataLoader((graphIds) => runCountsByGraph(prisma, graphIds), { cacheKeyFn: (graphId) => graphId.toLowerCase() }),
    run: new DataLoader((ids) => runsByIds(prisma, viewerId, ids), { cacheKeyFn: (id) => id.toLowerCase() }),
  };
}
