import type { GraphResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph } from '../../../domain/access.js';
import { filterOf, listPage, loadConnection } from '../../../domain/history.js';
import { loadGraphStats, statsWindow } from '../../../domain/stats.js';
import { selectedHistoryPages, selectsSubfield } from '../lookahead.js';

export const Graph: GraphResolvers = {
  // The gateway may refer to a graph by either key; both go through the same batched loader, and the
  // history pages selected under `_entities` come in the same statement.
  __resolveReference: (reference, context, info) =>
    readableGraph(context, 'id' in reference ? { id: reference.id } : { slug: reference.slug }, selectedHistoryPages(info)),
  migrations: (graph, { limit, ...filters }, context) =>
    context.loaders.history.load({ graphId: graph.id, ...listPage(limit, filterOf(filters)) }),
  migrationsConnection: (graph, { first, after, ...filters }, context) =>
    loadConnection(context, graph.id, first, after, filterOf(filters)),
  // The durations read every run of the window: only when the selection asks for them.
  migrationStats: (graph, window, context, info) =>
    loadGraphStats(context, graph.id, statsWindow(window, selectsSubfield(info, 'durationSeconds'))),
};
