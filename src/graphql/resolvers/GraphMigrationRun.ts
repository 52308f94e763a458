import type { GraphMigrationRunResolvers } from '../__generated__/resolvers-types.js';
import { readable, requireUser } from '../access.js';

export const GraphMigrationRun: GraphMigrationRunResolvers = {
  __resolveReference: async ({ id }, context) => {
    const viewer = requireUser(context.viewer);
    const found = await context.loaders.run.load(id);
    return readable(viewer, found?.graph, found?.run ?? null);
  },
};
