// The layers of docs/architecture.md, checked by `npm run lint` (docs/decisions/0013). Every import
// counts, type-only ones included: a type is as much a dependency for the reader as a value.
//
//   main.ts, service.ts, cli/    compose everything; nothing imports them
//   doors/graphql, doors/rest    one per protocol; neither imports the other
//   platform/                    HTTP every door stands on; knows no door and no rule of the domain
//   domain/                      the rules every door calls; no HTTP, no GraphQL
//   queries/                     the SQL statements and their records
//   database/                    connections, LISTEN, migrations, demo data
//   auth/                        tokens and the GRAPH_READ rule; no database
//   observability/, config.ts    logs, traces, metrics, settings; below everything
const layer = (name, path, mayImport) => ({
  name: `${name}-imports-only-below`,
  comment: `${path} may import only ${mayImport.join(', ') || 'nothing of src/'} (docs/architecture.md, layers)`,
  severity: 'error',
  from: { path: `^src/${path}` },
  to: { path: '^src/', pathNot: [`^src/${path}`, ...mayImport.map((allowed) => `^src/${allowed}`)] },
});

export default {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: neither can be read, tested or changed alone',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-import-of-composition-roots',
      comment: 'main.ts, service.ts and the command-line tools wire the layers together; no layer depends on them',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/main\\.ts$', '^src/cli/'] },
      to: { path: ['^src/main\\.ts$', '^src/service\\.ts$', '^src/cli/'] },
    },
    {
      name: 'doors-apart',
      comment: "No door imports another door's module: what two doors share lives below them",
      severity: 'error',
      from: { path: '^src/doors/([^/]+)/' },
      to: { path: '^src/doors/', pathNot: '^src/doors/$1/' },
    },
    layer('doors', 'doors/', ['platform/', 'domain/', 'queries/', 'database/errors\\.ts$', 'observability/', 'config\\.ts$']),
    layer('platform', 'platform/', ['database/errors\\.ts$', 'observability/', 'config\\.ts$']),
    layer('domain', 'domain/', ['queries/', 'database/', 'auth/', 'observability/', 'config\\.ts$']),
    layer('queries', 'queries/', ['database/', 'config\\.ts$']),
    layer('database', 'database/', ['observability/', 'config\\.ts$']),
    layer('auth', 'auth/', ['observability/', 'config\\.ts$']),
    layer('observability', 'observability/', ['config\\.ts$']),
    layer('config', 'config\\.ts$', []),
    {
      name: 'below-doors-no-http',
      comment: 'Below the doors nothing speaks GraphQL; below the platform nothing speaks HTTP',
      severity: 'error',
      from: { path: '^src/(domain|queries|database|auth|observability)/' },
      to: { path: 'node_modules/(fastify|@fastify/|graphql|graphql-sse|graphql-ws|graphql-jit|@apollo/|@as-integrations/)' },
    },
    {
      name: 'platform-speaks-no-graphql',
      comment: 'The platform serves every door; GraphQL is one door',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: 'node_modules/(graphql|graphql-sse|graphql-ws|graphql-jit|@apollo/|@as-integrations/)' },
    },
  ],
  options: {
    includeOnly: ['^src/', 'node_modules/'],
    exclude: { path: ['^src/database/generated/', '^src/doors/graphql/__generated__/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
