import { canReadGraph } from '../../auth/permissions.js';
import type { GraphMigrationRunResolvers } from '../__generated__/resolvers-types.js';
import { requireUser } from '../access.js';
import { forbidden } from '../errors.js';

export const GraphMigrationRun: GraphMigrationRunResolvers = {
  __resolveReference: async ({ id }, context) => {
    const viewer = requireUser(context.viewer);
    const found = await context.loaders.run.load(id);
    if (!found || found.graph.status === 'deleted') return null;
    if (!canReadGraph(viewer, found.graph, found.graph.viewerRole)) throw forbidden();
    return found.run;
  },
};
