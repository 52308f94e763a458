import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import LongestFirst from './test/sequencer.js';

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
    // Every answer a test receives from a documented REST route is checked against the OpenAPI document.
    setupFiles: ['test/setupOpenApiCheck.ts'],
    reporters: ['default', './test/reporters/slowestFiles.ts'],
    // Measured on the shared 2-core machine (README, Tests): vitest's default of one worker
    // there (cores - 1) leaves it idle while tests wait on PostgreSQL, child processes and sockets;
    // four workers cut the run to about half. Isolation re-imported Apollo, Prisma and PGlite for
    // every file (a third of the CPU time): the files share nothing but what they close themselves.
    pool: 'forks',
    maxWorkers: 4,
    isolate: false,
    sequence: { sequencer: LongestFirst },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
  },
});
