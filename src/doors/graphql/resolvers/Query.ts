import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph, requireSuperuser } from '../../../domain/access.js';
import { filterOf, loadAllGraphsConnection } from '../../../domain/history.js';
import { loadAllGraphsStats, loadLatestRunsConnection, statsWindow } from '../../../domain/stats.js';
import { selectedHistoryPages, selectsSubfield } from '../lookahead.js';

export const Query: QueryResolvers = {
  // The graph and the history pages selected under it are read in one statement.
  graph: (_parent, { slug }, context, info) => readableGraph(context, { slug }, selectedHistoryPages(info)),
  // Who may ask is decided before the arguments are looked at: nothing about them reaches others.
  migrationRuns: (_parent, { first, after, ...filters }, context) => {
    requireSuperuser(context.viewer);
    return loadAllGraphsConnection(context, first, after, filterOf(filters));
  },
  migrationStats: (_parent, window, context, info) => {
    requireSuperuser(context.viewer);
    return loadAllGraphsStats(context, statsWindow(window, selectsSubfield(info, 'durationSeconds')));
  },
  latestMigrationRuns: (_parent, { status, first, after }, context) => loadLatestRunsConnection(context, first, after, status),
};
