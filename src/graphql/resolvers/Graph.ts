import { HISTORY_LIMIT, type HistoryPosition } from '../../data/migrationRuns.js';
import type { GraphResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph } from '../access.js';
import { decodeCursor } from '../cursor.js';
import { invalidCursor, outOfRange } from '../errors.js';

export const Graph: GraphResolvers = {
  // The gateway may refer to a graph by either key; both go through the same batched loader.
  __resolveReference: (reference, context) =>
    readableGraph(context, 'id' in reference ? { id: reference.id } : { slug: reference.slug }),
  migrations: (graph, { limit }, context) => {
    if (limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max) throw outOfRange('limit', limit, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
    return context.loaders.history.load({ graphId: graph.id, limit });
  },
  migrationsConnection: async (graph, { first, after }, context) => {
    if (first < HISTORY_LIMIT.min || first > HISTORY_LIMIT.max) throw outOfRange('first', first, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
    // One run more than the page tells whether another page follows, in the same statement.
    const runs = await context.loaders.history.load({ graphId: graph.id, limit: first + 1, after: positionAfter(after) });
    return { graphId: graph.id, runs: runs.slice(0, first), hasNextPage: runs.length > first };
  },
};

function positionAfter(after: string | null | undefined): HistoryPosition | undefined {
  if (after == null) return undefined;
  const decoded = decodeCursor(after);
  if (!decoded.ok) throw invalidCursor('after', decoded.reason);
  return decoded.position;
}
