// How a resolver obtains a graph it may show: authenticated viewer, visible graph, GRAPH_READ.
import { canReadGraph } from '../auth/permissions.js';
import type { User, Viewer } from '../auth/viewer.js';
import type { GraphKey, GraphRecord } from '../data/graphs.js';
import type { Context } from './context.js';
import { forbidden, unauthenticated } from './errors.js';

export function requireUser(viewer: Viewer): User {
  if (viewer.kind !== 'user') throw unauthenticated(viewer);
  return viewer;
}

/** The graph, or null when unknown or deleted; a FORBIDDEN error when the viewer may not read it. */
export async function readableGraph(context: Context, key: GraphKey): Promise<GraphRecord | null> {
  const viewer = requireUser(context.viewer);
  const graph = await context.loaders.graph.load(key);
  if (!graph || graph.status === 'deleted') return null;
  if (!canReadGraph(viewer, graph, graph.viewerRole)) throw forbidden();
  return graph;
}
