// One trace across a real Hive Gateway (@graphql-hive/gateway's runtime with its OpenTelemetry
// plugin) and this subgraph: the gateway exports its spans over OTLP/HTTP to an in-test receiver
// and sends W3C `traceparent` on its subgraph fetch; the subgraph, configured by the standard OTEL_
// variables and trusting the loopback proxy's traceparent, exports its spans to the same receiver.
// A small forwarding proxy in front of the subgraph records the traceparent the gateway sent.
// Loopback only.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { trace, type ProxyTracerProvider } from '@opentelemetry/api';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlpReceiver.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

// Loaded by names TypeScript does not follow: graphql-yoga's declarations, which come with the
// gateway (and its OpenTelemetry entry points), redeclare GraphQL error extensions (`http.headers`
// as a plain record) in a way that contradicts Apollo Server's (a HeaderMap) for the whole program.
const HIVE_GATEWAY = '@graphql-hive/gateway';
const HIVE_OPENTELEMETRY = '@graphql-hive/gateway/opentelemetry';
const HIVE_OPENTELEMETRY_SETUP = '@graphql-hive/gateway/opentelemetry/setup';
type Gateway = ((request: unknown, response: unknown) => void) & { dispose(): Promise<void> };
type CreateGateway = (config: Record<string, unknown>) => Gateway;
type HiveLogger = new (options: { level: false }) => unknown;
type HiveOpenTelemetry = { useOpenTelemetry(options: Record<string, unknown>): unknown };
type HiveOpenTelemetrySetup = { openTelemetrySetup(options: Record<string, unknown>): void; disable(): void };

const MEMBER = randomUUID();
const SLUG = 'traced_graph';
const SUBGRAPH_SERVICE = 'graph-migrations-subgraph';
const GATEWAY_SERVICE = 'gateway';
const QUERY = `query History { graph(slug: "${SLUG}") { slug migrations(limit: 5) { id status } } }`;
const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/** A forwarding HTTP proxy to `target` that records each request's `traceparent` header. */
async function startTraceparentRecorder(
  target: string,
): Promise<{ url: string; traceparents: (string | undefined)[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const traceparents: (string | undefined)[] = [];
  const server = createServer((incoming, outgoing) => {
    const header = incoming.headers.traceparent;
    traceparents.push(Array.isArray(header) ? header[0] : header);
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traceparents,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The W3C traceparent's trace id (`00-<trace id>-<parent id>-<flags>`). */
const traceIdOf = (traceparent: string | undefined) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(traceparent ?? '')?.[1];

describe('a query through Hive Gateway, traced (pglite)', () => {
  let receiver: OtlpReceiver;
  let service: TestService;
  let recorder: Awaited<ReturnType<typeof startTraceparentRecorder>>;
  let otelSetup: HiveOpenTelemetrySetup | undefined;
  let gateway: Gateway;
  let server: Server;
  let gatewayUrl: string;
  let token: string;
  let response: { data?: any; errors?: unknown[] };

  // Spans of the one traced request, found once by the first test and read by both.
  let traceId: string;
  let gatewayRoot: ReceivedSpan;
  let gatewayFetch: ReceivedSpan;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    service = await startTestService('pglite', {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: SUBGRAPH_SERVICE,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // The gateway (through the recorder) connects from loopback: its traceparent is honoured.
        TRUST_PROXY: '127.0.0.1',
      },
    });
    const { id } = await insertGraph(service.prisma, { slug: SLUG });
    await addMember(service.prisma, id, MEMBER);
    for (const [index, status] of ['success', 'failed', 'running'].entries()) {
      await insertRun(service.prisma, id, { createdAt: `2026-07-0${index + 1}T00:00:00Z`, status });
    }
    token = await service.token(MEMBER);
    recorder = await startTraceparentRecorder(service.url);

    const sdl = (await graphql<{ _service: { sdl: string } }>(service.url, '{ _service { sdl } }')).data!._service.sdl;
    const composed = composeServices([{ name: 'graphs', typeDefs: parse(sdl), url: `${recorder.url}/graphql` }]);
    if (!composed.supergraphSdl) throw new Error(`composition failed: ${JSON.stringify(composed.errors)}`);

    // The gateway's OpenTelemetry, as Hive documents it for a programmatic gateway: the setup
    // registers a global tracer provider (service.name `gateway`, an OTLP/HTTP exporter) and the
    // W3C propagators; no instrumentation of node:http or fetch is installed (the subgraph's own
    // server in this process gets no spans from it). No global context manager either: the plugin
    // then parents its spans through the request's state, and nothing of the gateway's context can
    // leak into the subgraph, whose SDK registers no global and reads none.
    otelSetup = (await import(HIVE_OPENTELEMETRY_SETUP)) as HiveOpenTelemetrySetup;
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const { createGatewayRuntime, Logger } = (await import(HIVE_GATEWAY)) as { createGatewayRuntime: CreateGateway; Logger: HiveLogger };
    otelSetup.openTelemetrySetup({
      log: new Logger({ level: false }),
      resource: { serviceName: GATEWAY_SERVICE },
      traces: { exporter: new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }), batching: false },
      contextManager: null,
      configureDiagLogger: false,
    });
    const { useOpenTelemetry } = (await import(HIVE_OPENTELEMETRY)) as HiveOpenTelemetry;
    gateway = createGatewayRuntime({
      supergraph: composed.supergraphSdl,
      logging: false,
      // The viewer's token reaches the subgraph, as a production gateway is configured to do.
      propagateHeaders: {
        fromClientToSubgraphs: ({ request }: { request: Request }) => ({ authorization: request.headers.get('authorization') }),
      },
      plugins: (context: Record<string, unknown>) => [useOpenTelemetry({ ...context, traces: true })],
    });
    server = createServer(gateway as Parameters<typeof createServer>[1]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    recorder.traceparents.length = 0;
    response = await graphql(gatewayUrl, QUERY, { token });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    // Flushes the gateway's tracer provider (the plugin's flushOnDispose) before the globals go.
    await gateway?.dispose();
    // The test files share their worker's modules (vitest's isolate: false): the gateway's
    // OpenTelemetry globals must not outlive this file.
    const provider = trace.getTracerProvider() as ProxyTracerProvider;
    await (provider.getDelegate() as { shutdown?(): Promise<void> }).shutdown?.();
    otelSetup?.disable();
    await recorder?.close();
    await service?.close();
    await receiver?.close();
  });

  it("exports the gateway's spans and sends the trace's traceparent to the subgraph", async () => {
    expect(response.errors).toBeUndefined();
    expect(response.data.graph.slug).toBe(SLUG);
    expect(response.data.graph.migrations).toHaveLength(3);

    const spans = await receiver.waitFor(
      (all) => all.some((span) => span.serviceName === GATEWAY_SERVICE && span.kind === SPAN_KIND.SERVER && !span.parentSpanId),
      10_000,
    );
    const gatewaySpans = spans.filter((span) => span.serviceName === GATEWAY_SERVICE && span.name !== 'gateway.initialization');
    gatewayRoot = gatewaySpans.find((span) => span.kind === SPAN_KIND.SERVER && !span.parentSpanId)!;
    expect(gatewayRoot).toMatchObject({ name: 'POST /graphql', attributes: { 'http.method': 'POST', 'http.route': '/graphql' } });
    traceId = gatewayRoot.traceId;
    expect(new Set(gatewaySpans.map((span) => span.traceId))).toEqual(new Set([traceId]));
    // Hive's spans only: nothing instrumented node:http or fetch for the gateway (no spans for the
    // recorder, the subgraph's server or the exporter's own requests).
    expect(gatewaySpans.map((span) => span.name).sort()).toEqual([
      'POST /graphql',
      'graphql.context',
      'graphql.execute',
      'graphql.operation History',
      'graphql.parse',
      'graphql.validate',
      'http.fetch',
      'subgraph.execute (graphs)',
    ]);

    const byId = new Map(gatewaySpans.map((span) => [span.spanId, span]));
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      return parent ? [parent, ...ancestors(parent)] : [];
    };
    const operation = gatewaySpans.find((span) => span.name === 'graphql.operation History')!;
    expect(operation).toMatchObject({ parentSpanId: gatewayRoot.spanId, attributes: { 'graphql.operation.type': 'query' } });
    const subgraphExecute = gatewaySpans.find((span) => span.name === 'subgraph.execute (graphs)')!;
    expect(subgraphExecute).toMatchObject({ kind: SPAN_KIND.CLIENT, attributes: { 'hive.gateway.upstream.subgraph.name': 'graphs' } });
    expect(ancestors(subgraphExecute)).toContain(operation);
    gatewayFetch = gatewaySpans.find((span) => span.name === 'http.fetch')!;
    expect(gatewayFetch).toMatchObject({
      kind: SPAN_KIND.CLIENT,
      parentSpanId: subgraphExecute.spanId,
      attributes: { 'http.method': 'POST', 'http.url': `${recorder.url}/graphql`, 'http.status_code': 200 },
    });

    // The subgraph got the trace: the traceparent names this trace and the fetch span as parent.
    expect(recorder.traceparents).toHaveLength(1);
    expect(traceIdOf(recorder.traceparents[0])).toBe(traceId);
    expect(recorder.traceparents[0]).toBe(`00-${traceId}-${gatewayFetch.spanId}-01`);
  });

  it("exports the subgraph's spans in the gateway's trace, with no viewer data in them", async () => {
    expect(gatewayFetch, 'the first test found the gateway span').toBeDefined();
    const subgraphOf = (all: ReceivedSpan[]) => all.filter((span) => span.serviceName === SUBGRAPH_SERVICE && span.traceId === traceId);
    const spans = await receiver.waitFor((all) => {
      const subgraph = subgraphOf(all);
      return (
        subgraph.some((span) => span.kind === SPAN_KIND.SERVER) &&
        subgraph.some((span) => span.name === 'query History') &&
        subgraph.some((span) => span.kind === SPAN_KIND.CLIENT)
      );
    }, 10_000);
    const subgraph = subgraphOf(spans);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      return parent ? [parent, ...ancestors(parent)] : [];
    };

    const serverSpans = subgraph.filter((span) => span.kind === SPAN_KIND.SERVER);
    expect(serverSpans).toHaveLength(1);
    const serverSpan = serverSpans[0]!;
    expect(serverSpan.parentSpanId).toBe(gatewayFetch.spanId);
    expect(serverSpan.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'http.response.status_code': 200,
    });

    const operation = subgraph.find((span) => span.name === 'query History')!;
    expect(operation).toMatchObject({
      kind: SPAN_KIND.INTERNAL,
      parentSpanId: serverSpan.spanId,
      attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'History' },
    });

    const statements = subgraph.filter((span) => span.kind === SPAN_KIND.CLIENT);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.attributes['db.system.name']).toBe('postgresql');
      expect(typeof statement.attributes['db.query.text']).toBe('string');
      expect(ancestors(statement)).toContain(operation);
    }

    // The subgraph's spans carry neither the viewer's data nor credentials. (The gateway's are Hive's
    // to decide: its graphql.parse span holds the document, slug literal included.)
    const secrets = [SLUG, MEMBER, token, 'Bearer'];
    for (const span of subgraph) {
      for (const [name, value] of Object.entries(span.attributes)) {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        for (const secret of secrets) expect(text, `${span.serviceName} span "${span.name}" attribute ${name}`).not.toContain(secret);
      }
    }
  });
});
