import { encodeCursor } from '../../../domain/cursor.js';
import type { HistoryFilter } from '../../../queries/historyFilter.js';
import type { MigrationRunRecord } from '../../../queries/migrationRuns.js';
import type { GraphMigrationRunConnectionResolvers, GraphMigrationRunEdgeResolvers } from '../__generated__/resolvers-types.js';

/** An edge: its run, and the filter its cursor is bound to. */
export interface MigrationRunEdge {
  run: MigrationRunRecord;
  filter: HistoryFilter;
}

export const GraphMigrationRunConnection: GraphMigrationRunConnectionResolvers = {
  edges: ({ runs, filter }) => runs.map((run): MigrationRunEdge => ({ run, filter })),
  pageInfo: ({ runs, hasNextPage, filter }) => ({
    hasNextPage,
    hasPreviousPage: false,
    startCursor: runs.length > 0 ? encodeCursor(runs[0]!, filter) : null,
    endCursor: runs.length > 0 ? encodeCursor(runs.at(-1)!, filter) : null,
  }),
  // Its own loader, so the count is only run when a client selects it, once for all graphs in the request.
  totalCount: ({ graphId, latestOfEachGraph, filter }, _args, context) =>
    latestOfEachGraph
      ? context.loaders.latestRunCount.load(filter)
      : graphId === null
        ? context.loaders.allGraphsRunCount.load(filter)
        : context.loaders.runCount.load({ graphId, filter }),
};

export const GraphMigrationRunEdge: GraphMigrationRunEdgeResolvers = {
  cursor: ({ run, filter }) => encodeCursor(run, filter),
  node: ({ run }) => run,
};
