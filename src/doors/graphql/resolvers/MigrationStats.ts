import type { MigrationStatsResolvers } from '../__generated__/resolvers-types.js';

export const MigrationStats: MigrationStatsResolvers = {
  // Read only when selected (Graph.migrationStats and Query.migrationStats look ahead for it).
  durationSeconds: ({ durationSeconds }) => {
    if (!durationSeconds) throw new Error('durationSeconds was selected but not read: the look-ahead missed it');
    return durationSeconds;
  },
};
