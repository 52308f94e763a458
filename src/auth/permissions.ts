// The GRAPH_READ rule (docs/contract.md#permission-graph_read), in the one place both doors (GraphQL and REST) ask it.
import type { User } from './viewer.js';

export function canReadGraph(viewer: User, graph: { isDefault: boolean }, viewerRole: string | null): boolean {
  return viewer.isSuperuser || graph.isDefault || viewerRole !== null;
}
