// The subgraph's own spans, exported to an in-test OTLP/HTTP receiver over real sockets: what each
// door's request makes (names, kinds, parents, the conventions' attributes, no viewer data), that a
// traceparent from a client that is not a trusted proxy is ignored, that a request's log lines carry
// its trace id, and that a failed statement says only its kind. The gateway's side is
// test/graphql/gatewayTracing.test.ts.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Prisma } from '../../src/database/generated/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlpReceiver.js';
import { startTestService, type TestService } from '../helpers/service.js';

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const SLUG = 'traced_graph_http';
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-00f067aa0ba902b7-01`;

describe.each(DATABASE_KINDS)('tracing on %s', (kind) => {
  let receiver: OtlpReceiver;
  let service: TestService;
  let token: string;
  const member = randomUUID();
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    // No TRUST_PROXY: every client is a public one.
    service = await startTestService(kind, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
      logger: pino({ level: 'info' }, sink),
    });
    const { id } = await insertGraph(service.prisma, { slug: SLUG });
    await addMember(service.prisma, id, member);
    await insertRun(service.prisma, id, { createdAt: '2026-07-01T00:00:00Z', status: 'success' });
    token = await service.token(member);
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  /** The spans of the trace whose SERVER span is named `name`, once its CLIENT spans arrived too. */
  async function traceOf(name: string, clientSpans = 1): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
    const all = await receiver.waitFor((spans) => {
      const server = spans.find((span) => span.kind === SPAN_KIND.SERVER && span.name === name);
      return (
        server !== undefined &&
        spans.filter((span) => span.traceId === server.traceId && span.kind === SPAN_KIND.CLIENT).length >= clientSpans
      );
    }, 10_000);
    const server = all.find((span) => span.kind === SPAN_KIND.SERVER && span.name === name)!;
    return { server, spans: all.filter((span) => span.traceId === server.traceId) };
  }

  const noViewerData = (spans: ReceivedSpan[]) => {
    const text = JSON.stringify(spans);
    for (const secret of [SLUG, member, token, 'Bearer']) expect(text).not.toContain(secret);
  };

  it('gives a REST request a SERVER span named by its route, its statement a CLIENT span under it, its check of a new token a span', async () => {
    const response = await fetch(`${service.url}/api/v1/graphs/${SLUG}/migrations?limit=5`, {
      headers: { authorization: `Bearer ${token}`, traceparent: CLIENT_TRACEPARENT },
    });
    expect(response.status).toBe(200);
    const { server, spans } = await traceOf('GET /api/v1/graphs/:slug/migrations');
    // A public client's traceparent is not continued: a trace of our own, with no parent.
    expect(server.traceId).not.toBe(CLIENT_TRACE);
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/graphs/:slug/migrations',
      'http.response.status_code': 200,
      'url.scheme': 'http',
    });
    expect(server.attributes).not.toHaveProperty('url.path');
    const statements = spans.filter((span) => span.kind === SPAN_KIND.CLIENT);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({
      parentSpanId: server.spanId,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'WITH', 'db.response.returned_rows': expect.any(Number) },
    });
    expect(statements[0]!.attributes['db.query.text']).toMatch(/\$1::uuid\[\]/);
    if (kind === 'postgres') expect(statements[0]!.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': 5432 });
    const verification = spans.find((span) => span.name === 'verify access token');
    expect(verification).toMatchObject({ kind: SPAN_KIND.INTERNAL, parentSpanId: server.spanId });
    noViewerData(spans);
    // Every log line of the request carries its trace id.
    const requestLine = logLines.find((line) => line.msg === 'request' && line.trace_id === server.traceId);
    expect(requestLine).toMatchObject({ span_id: server.spanId, status: 200 });
  });

  it('gives a GraphQL request its operation span between the SERVER span and the statements; a cached token gets no span', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `query Traced { graph(slug: "${SLUG}") { migrations(limit: 2) { id status } } }` }),
    });
    expect(response.status).toBe(200);
    const { server, spans } = await traceOf('POST /graphql');
    const operation = spans.find((span) => span.kind === SPAN_KIND.INTERNAL && span.name === 'query Traced');
    expect(operation).toMatchObject({
      parentSpanId: server.spanId,
      attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'Traced' },
    });
    const statements = spans.filter((span) => span.kind === SPAN_KIND.CLIENT);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) expect(statement.parentSpanId).toBe(operation!.spanId);
    expect(spans.some((span) => span.name === 'verify access token')).toBe(false);
    noViewerData(spans);
  });

  it("keeps Apollo's federated trace (ftv1) for a gateway that asks for it", async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'apollo-federation-include-trace': 'ftv1' },
      body: JSON.stringify({ query: `query Traced { graph(slug: "${SLUG}") { migrations(limit: 2) { id } } }` }),
    });
    const body = (await response.json()) as { data: unknown; extensions?: { ftv1?: unknown } };
    expect(body.data).toEqual({ graph: { migrations: [{ id: expect.any(String) }] } });
    expect(typeof body.extensions?.ftv1).toBe('string');
    expect(Buffer.from(body.extensions!.ftv1 as string, 'base64').length).toBeGreaterThan(10);
  });

  it('marks a failed statement with its SQLSTATE and a 500 as an error, with no message; a statement outside a request makes no span', async () => {
    await service.service.database.query(Prisma.sql`SELECT 1 AS outside_a_request`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.spans().filter((span) => String(span.attributes['db.query.text']).includes('outside_a_request'))).toEqual([]);

    await service.prisma.$executeRawUnsafe('ALTER TABLE graph_migration_runs RENAME TO graph_migration_runs_away');
    try {
      const response = await fetch(`${service.url}/api/v1/graphs/${SLUG}/migrations?limit=3`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(500);
    } finally {
      await service.prisma.$executeRawUnsafe('ALTER TABLE graph_migration_runs_away RENAME TO graph_migration_runs');
    }
    const spans = await receiver.waitFor(
      (all) => all.some((span) => span.kind === SPAN_KIND.SERVER && span.attributes['http.response.status_code'] === 500),
      10_000,
    );
    const server = spans.find((span) => span.kind === SPAN_KIND.SERVER && span.attributes['http.response.status_code'] === 500)!;
    expect(server).toMatchObject({ status: { code: 2 }, attributes: { 'error.type': '500' } });
    const failed = spans.find((span) => span.traceId === server.traceId && span.kind === SPAN_KIND.CLIENT);
    // 42P01: undefined_table. The driver's message (which names the table) is not in the span.
    expect(failed).toMatchObject({ status: { code: 2 }, attributes: { 'error.type': '42P01' } });
    expect(JSON.stringify(failed)).not.toContain('does not exist');
  });
});
