import type { GraphMigrationRunResolvers } from '../__generated__/resolvers-types.js';
import { readable, readableGraph, requireUser } from '../../../domain/access.js';
import { graphDeletedMeanwhile } from '../errors.js';
import { selectedHistoryPages } from '../lookahead.js';

export const GraphMigrationRun: GraphMigrationRunResolvers = {
  __resolveReference: async ({ id }, context) => {
    const viewer = requireUser(context.viewer);
    const found = await context.loaders.run.load(id);
    return readable(viewer, found?.graph, found?.run ?? null);
  },
  // Through the batched graph loader, with the history pages selected under it: one statement for
  // the graphs of every run in the response, none when they are already loaded (a run reached
  // through its graph). GRAPH_READ is checked as everywhere. A run is only served to a viewer who
  // may read its graph, and never from a deleted graph, so the graph is there unless it was deleted
  // after the run was read.
  graph: async (run, _args, context, info) => {
    const graph = await readableGraph(context, { id: run.graphId }, selectedHistoryPages(info));
    if (!graph) throw graphDeletedMeanwhile();
    return graph;
  },
};
