// A subscription through a real Hive Gateway (@graphql-hive/gateway's runtime) composed with this
// subgraph (@theguild/federation-composition, from the subgraph's own `_service { sdl }`): the
// gateway forwards the subscription to the subgraph over GraphQL over SSE, its default, with the
// client's Authorization header, and a client of the gateway receives the events. Loopback only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

// Loaded by a name TypeScript does not follow: graphql-yoga's declarations, which come with it,
// redeclare GraphQL error extensions (`http.headers` as a plain record) in a way that contradicts
// Apollo Server's (a HeaderMap) for the whole program.
const HIVE_GATEWAY = '@graphql-hive/gateway';
type Gateway = ((request: unknown, response: unknown) => void) & { dispose(): Promise<void> };
type CreateGateway = (config: Record<string, unknown>) => Gateway;

const MEMBER = randomUUID();
const SLUG = 'gateway_graph';

describe('a subscription through Hive Gateway (pglite)', () => {
  let service: TestService;
  let gateway: Gateway;
  let server: Server;
  let gatewayUrl: string;

  beforeAll(async () => {
    service = await startTestService('pglite', { env: { LIVE_RECHECK_MS: '1000' } });
    const { id } = await insertGraph(service.prisma, { slug: SLUG });
    await addMember(service.prisma, id, MEMBER);
    const sdl = (await graphql<{ _service: { sdl: string } }>(service.url, '{ _service { sdl } }')).data!._service.sdl;
    const composed = composeServices([{ name: 'graphs', typeDefs: parse(sdl), url: `${service.url}/graphql` }]);
    if (!composed.supergraphSdl) throw new Error(`composition failed: ${JSON.stringify(composed.errors)}`);
    const { createGatewayRuntime } = (await import(HIVE_GATEWAY)) as { createGatewayRuntime: CreateGateway };
    gateway = createGatewayRuntime({
      supergraph: composed.supergraphSdl,
      logging: false,
      // The viewer's token reaches the subgraph, as a production gateway is configured to do.
      propagateHeaders: {
        fromClientToSubgraphs: ({ request }: { request: Request }) => ({ authorization: request.headers.get('authorization') }),
      },
    });
    server = createServer(gateway as Parameters<typeof createServer>[1]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await gateway?.dispose();
    await service?.close();
  });

  it("delivers the subgraph's events to a client of the gateway", async () => {
    const token = await service.token(MEMBER);
    const client = createClient({ url: gatewayUrl, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const events: unknown[] = [];
    const errors: unknown[] = [];
    const stop = client.subscribe(
      { query: `subscription { migrationRunEvents(slug: "${SLUG}") { kind run { id status graph { slug } } } }` },
      { next: (result) => events.push(result), error: (error) => errors.push(error), complete: () => {} },
    );
    try {
      const until = Date.now() + 20_000;
      while (service.service.openStreams() < 1) {
        if (Date.now() > until || errors.length > 0) throw new Error(`no stream opened through the gateway: ${JSON.stringify(errors)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const id = await insertRun(service.prisma, (await service.prisma.graph.findFirstOrThrow({ where: { slug: SLUG } })).id, {
        createdAt: '2026-08-01T00:00:00Z',
        status: 'running',
      });
      while (events.length < 1) {
        if (Date.now() > until || errors.length > 0) throw new Error(`no event through the gateway: ${JSON.stringify(errors)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(events[0]).toEqual({
        data: { migrationRunEvents: { kind: 'INSERTED', run: { id, status: 'running', graph: { slug: SLUG } } } },
      });
    } finally {
      stop();
      client.dispose();
    }
  });
});
