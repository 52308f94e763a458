import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph } from '../access.js';
import { selectedHistoryPages } from '../history.js';

export const Query: QueryResolvers = {
  // The graph and the history pages selected under it are read in one statement.
  graph: (_parent, { slug }, context, info) => readableGraph(context, { slug }, selectedHistoryPages(info)),
};
