import type { MigrationRunRecord } from '../../data/migrationRuns.js';
import type { GraphMigrationRunConnectionResolvers, GraphMigrationRunEdgeResolvers } from '../__generated__/resolvers-types.js';
import { encodeCursor } from '../../data/cursor.js';

/** One page of a graph's history: what Graph.migrationsConnection resolves to. */
export interface MigrationRunPage {
  graphId: string;
  runs: MigrationRunRecord[];
  hasNextPage: boolean;
}

export const GraphMigrationRunConnection: GraphMigrationRunConnectionResolvers = {
  edges: (page) => page.runs,
  pageInfo: ({ runs, hasNextPage }) => ({
    hasNextPage,
    hasPreviousPage: false,
    startCursor: runs.length > 0 ? encodeCursor(runs[0]!) : null,
    endCursor: runs.length > 0 ? encodeCursor(runs.at(-1)!) : null,
  }),
  // Its own loader, so the count is only run when a client selects it, once for all graphs in the request.
  totalCount: (page, _args, context) => context.loaders.runCount.load(page.graphId),
};

export const GraphMigrationRunEdge: GraphMigrationRunEdgeResolvers = {
  cursor: (run) => encodeCursor(run),
  node: (run) => run,
};
