import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed resolvers from schema.graphql. The output is committed; CI regenerates it and fails when
// it differs, so the types can never drift from the schema.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/doors/graphql/__generated__/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        federation: true,
        useTypeImports: true,
        contextType: '../../../domain/context.js#Context',
        mappers: {
          Graph: '../../../queries/graphs.js#GraphRecord',
          GraphMigrationRun: '../../../queries/migrationRuns.js#MigrationRunRecord',
          // A page as the loader returns it; edges, pageInfo and totalCount are resolved from it.
          GraphMigrationRunConnection: '../../../domain/history.js#MigrationRunPage',
          // An edge is its run and its page's filter: the cursor is derived from the run's position and the filter.
          GraphMigrationRunEdge: '../resolvers/GraphMigrationRunConnection.js#MigrationRunEdge',
          // A change of a run in the feed (src/queries/runChanges.ts): cursor and kind are derived from it.
          MigrationRunEvent: '../../../queries/runChanges.js#RunEvent',
          // Statistics as one statement reads them; durationSeconds is absent when it was not selected.
          MigrationStats: '../../../queries/migrationStats.js#MigrationStatsRecord',
        },
        scalars: { DateTime: 'string', UUID: 'string' },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
