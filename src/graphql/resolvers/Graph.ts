import { HISTORY_LIMIT } from '../../data/migrationRuns.js';
import type { GraphResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph } from '../access.js';
import { outOfRange } from '../errors.js';

export const Graph: GraphResolvers = {
  // The gateway may refer to a graph by either key; both go through the same batched loader.
  __resolveReference: (reference, context) =>
    readableGraph(context, 'id' in reference ? { id: reference.id } : { slug: reference.slug }),
  migrations: (graph, { limit }, context) => {
    if (limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max) throw outOfRange('limit', limit, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
    return context.loaders.history.load({ graphId: graph.id, limit });
  },
};
