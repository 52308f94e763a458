import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Vite prefers graphql's ES build (`module`), Node loads its CommonJS build (`main`), which is what
    // @apollo/subgraph's schema types come from: graphql-js refuses to mix the two ("another module or
    // realm"), so the tests load the one Node does.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Migrated template databases, copied by test/helpers/databases.ts for each test file.
    globalSetup: ['test/globalSetup.ts'],
    reporters: ['default', './test/reporters/slowestFiles.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
  },
});
