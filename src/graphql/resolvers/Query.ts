import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import { readableGraph } from '../access.js';

export const Query: QueryResolvers = {
  graph: (_parent, { slug }, context) => readableGraph(context, { slug }),
};
