// Reference server for the benchmark only: the same subgraph schema resolved the naive way, with one
// Prisma query per graph and no DataLoader (and no auth), to show what batching buys.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createDatabase } from '../src/database/client.js';
import { SCHEMA_FILE } from '../src/doors/graphql/server.js';

// Every statement Prisma sends, so the benchmark counts statements per request for it too.
let statements = 0;
const { prisma } = await createDatabase(
  { kind: 'postgres', url: process.env.DATABASE_URL!, poolSize: Number(process.env.POOL_SIZE ?? 10) },
  { onQuery: () => void (statements += 1) },
);
const graphBy = (where: { id: string } | { slug: string }) => prisma.graph.findUnique({ where });

const resolvers = {
  Query: {
    graph: (_: unknown, { slug }: { slug: string }) => graphBy({ slug }),
    statements: () => statements,
  },
  Graph: {
    __resolveReference: (reference: { id?: string; slug?: string }) =>
      graphBy(reference.id ? { id: reference.id } : { slug: reference.slug! }),
    migrations: (graph: { id: string }, { limit }: { limit: number }) =>
      prisma.graphMigrationRun.findMany({ where: { graphId: graph.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit }),
  },
};

const typeDefs = parse(`${readFileSync(SCHEMA_FILE, 'utf8')}\nextend type Query { statements: Int! }`);
const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }) });
await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: '127.0.0.1' } });
console.log('ready');
process.once('SIGTERM', () =>
  server
    .stop()
    .then(() => prisma.$disconnect())
    .then(() => process.exit(0)),
);
