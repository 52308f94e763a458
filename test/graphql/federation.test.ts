// Federation for real: this subgraph and a second one composed by @apollo/gateway, which resolves a
// Graph that the other subgraph only references by slug through our `_entities`, forwarding the
// viewer's bearer token. Everything listens on 127.0.0.1; nothing reports to Apollo.
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID } from '../../src/database/seed.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

// Apollo's libraries must not phone home from a test run (vitest.config.ts sets this).
expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('true');
expect(process.env.APOLLO_KEY).toBeUndefined();

interface GatewayContext {
  authorization?: string;
}

const DASHBOARDS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

  type Dashboard {
    title: String!
    "Nullable, so that a graph the viewer may not read nulls only itself."
    graph: Graph
  }

  type Graph @key(fields: "slug", resolvable: false) {
    slug: String!
  }

  type Query {
    dashboards: [Dashboard!]!
  }
`;

const NO_REPORTING = [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled()];

const THROUGH_GATEWAY = `{ dashboards { title graph { slug migrations(limit: 3) { id status createdAt } } } }`;
const DIRECT = `{ graph(slug: "${DEMO_GRAPH_SLUG}") { slug migrations(limit: 3) { id status createdAt } } }`;

describe('federation through @apollo/gateway (pglite)', () => {
  let service: TestService;
  let dashboards: ApolloServer | undefined;
  let gateway: ApolloServer<GatewayContext> | undefined;

  beforeAll(async () => {
    service = await startTestService('pglite', { seed: true });

    const dashboardsServer = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(DASHBOARDS_SDL),
        resolvers: {
          Query: {
            dashboards: () => [{ title: 'Migrations overview', graph: { __typename: 'Graph', slug: DEMO_GRAPH_SLUG } }],
          },
        },
      }),
      plugins: [...NO_REPORTING, ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: dashboardsUrl } = await startStandaloneServer(dashboardsServer, { listen: { host: '127.0.0.1', port: 0 } });
    dashboards = dashboardsServer;

    const gatewayServer = new ApolloServer<GatewayContext>({
      gateway: new ApolloGateway({
        supergraphSdl: new IntrospectAndCompose({
          subgraphs: [
            { name: 'graphs', url: `${service.url}/graphql` },
            { name: 'dashboards', url: dashboardsUrl },
          ],
        }),
        buildService: ({ url }) =>
          new RemoteGraphQLDataSource<GatewayContext>({
            url,
            willSendRequest({ request, context }) {
              if (context.authorization) request.http?.headers.set('authorization', context.authorization);
            },
          }),
      }),
      plugins: NO_REPORTING,
    });
    // Composition happens here: it fails when the two subgraphs do not compose or the gateway
    // refuses the supergraph (it refuses any `for: SECURITY` feature, such as @requiresScopes).
    await gatewayServer.start();
    gateway = gatewayServer;
  });

  afterAll(async () => {
    await gateway?.stop();
    await dashboards?.stop();
    await service?.close();
  });

  async function throughGateway(authorization?: string) {
    const response = await gateway!.executeOperation({ query: THROUGH_GATEWAY }, { contextValue: { authorization } });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult;
  }

  it('resolves the referenced graph and its history through our _entities, as the subgraph answers it directly', async () => {
    const token = await service.token(DEMO_MEMBER_ID);
    const direct = await graphql(service.url, DIRECT, { token });
    expect(direct.errors).toBeUndefined();
    expect(direct.data.graph.migrations).toHaveLength(3);

    service.statements.length = 0;
    const federated = await throughGateway(`Bearer ${token}`);
    expect(federated.errors).toBeUndefined();
    expect(federated.data).toEqual({ dashboards: [{ title: 'Migrations overview', graph: direct.data.graph }] });
    // The gateway's entity fetch costs this subgraph what a direct query does.
    expect(service.statements.length).toBeLessThanOrEqual(2);
    // The demo history: two runs share a created_at to the microsecond, ordered by id.
    expect(direct.data.graph.migrations.map((run: { createdAt: string }) => run.createdAt)).toEqual([
      '2026-05-06T11:00:00.000001Z',
      '2026-05-06T11:00:00.000001Z',
      '2026-04-17T21:25:43.123456Z',
    ]);
  });

  it('checks the forwarded token itself: no token is UNAUTHENTICATED, the dashboard still answers', async () => {
    const federated = await throughGateway(undefined);
    expect(federated.data).toEqual({ dashboards: [{ title: 'Migrations overview', graph: null }] });
    expect(federated.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('checks GRAPH_READ itself: a non-member gets FORBIDDEN and no run', async () => {
    const federated = await throughGateway(`Bearer ${await service.token('0d7e7c1a-52b4-4f0e-9a51-1b2c3d4e5f60')}`);
    expect(federated.data).toEqual({ dashboards: [{ title: 'Migrations overview', graph: null }] });
    expect(federated.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});
