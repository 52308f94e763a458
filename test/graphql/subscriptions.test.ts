// Subscription.migrationRunEvents on /graphql, on PGlite and PostgreSQL, through both protocols'
// own clients over real sockets: GraphQL over SSE (graphql-sse, distinct connections) and
// graphql-ws over WebSocket. Events carry the run as it changed; `after` resumes with none twice;
// refusals are GraphQL errors with this service's codes; queries are not served there.
import { randomUUID } from 'node:crypto';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const SLUG = 'subscribed_graph';
const EVENTS = `subscription ($slug: String, $after: String, $status: [String!]) {
  migrationRunEvents(slug: $slug, after: $after, status: $status) { cursor kind run { id status graph { slug } } }
}`;

interface Result {
  data?: { migrationRunEvents: { cursor: string; kind: string; run: { id: string; status: string; graph: { slug: string } } } } | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

let created = 0;
const nextRun = (status = 'pending') => ({ createdAt: new Date(Date.UTC(2026, 6, 1) + (created += 1) * 1_000).toISOString(), status });

/** A subscription's results as they come, and a way to wait for some. */
function collector() {
  const results: Result[] = [];
  const waiters: (() => void)[] = [];
  let done = false;
  return {
    results,
    push(result: Result) {
      results.push(result);
      for (const wake of waiters.splice(0)) wake();
    },
    complete() {
      done = true;
      for (const wake of waiters.splice(0)) wake();
    },
    get done() {
      return done;
    },
    async waitFor(count: number, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (results.length < count && !done) {
        if (Date.now() > until) throw new Error(`${results.length} of ${count} results: ${JSON.stringify(results)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return results;
    },
  };
}

describe.each(DATABASE_KINDS)('Subscription.migrationRunEvents on %s', (kind) => {
  let service: TestService;
  let graphId: string;
  let token: string;
  const cleanups: (() => void)[] = [];

  const overSse = (variables: Record<string, unknown>, authorization = `Bearer ${token}`, query = EVENTS) => {
    const client = createSseClient({ url: `${service.url}/graphql`, headers: { authorization }, retryAttempts: 0 });
    const got = collector();
    const stop = client.subscribe<Result['data']>(
      { query, variables },
      {
        next: (r) => got.push(r as Result),
        error: (e) => (got.push({ errors: [{ message: String(e) }] }), got.complete()),
        complete: () => got.complete(),
      },
    );
    cleanups.push(() => (stop(), client.dispose()));
    return got;
  };
  const overWs = (variables: Record<string, unknown>, authorization = `Bearer ${token}`) => {
    const client = createWsClient({
      url: `${service.url.replace('http', 'ws')}/graphql`,
      connectionParams: { Authorization: authorization },
      retryAttempts: 0,
    });
    const got = collector();
    const stop = client.subscribe<Result['data']>(
      { query: EVENTS, variables },
      {
        next: (r) => got.push(r as Result),
        error: (e) => (got.push({ errors: Array.isArray(e) ? e : [{ message: String(e) }] }), got.complete()),
        complete: () => got.complete(),
      },
    );
    cleanups.push(() => (stop(), void client.dispose()));
    return got;
  };

  beforeAll(async () => {
    service = await startTestService(kind, { env: { LIVE_RECHECK_MS: '300' } });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    token = await service.token(MEMBER);
  });
  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await service?.close();
  });

  /** Waits until `count` streams are open (subscriptions registered), so the next write is theirs. */
  const streamsOpen = async (count: number) => {
    const until = Date.now() + 10_000;
    while (service.service.openStreams() < count) {
      if (Date.now() > until) throw new Error(`${service.service.openStreams()} of ${count} streams open`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  for (const [transport, open] of [
    ['GraphQL over SSE', (v: Record<string, unknown>) => overSse(v)],
    ['graphql-ws', (v: Record<string, unknown>) => overWs(v)],
  ] as const) {
    it(`sends each insert and change of a run over ${transport}, with the run as it changed`, async () => {
      const before = service.service.openStreams();
      const got = open({ slug: SLUG });
      await streamsOpen(before + 1);
      const id = await insertRun(service.prisma, graphId, nextRun('pending'));
      await service.prisma.$executeRaw`UPDATE graph_migration_runs SET status = 'running' WHERE id = ${id}::uuid`;
      const results = await got.waitFor(2);
      expect(results.map((result) => result.errors)).toEqual([undefined, undefined]);
      expect(results.map((result) => [result.data!.migrationRunEvents.kind, result.data!.migrationRunEvents.run])).toEqual([
        ['INSERTED', { id, status: 'pending', graph: { slug: SLUG } }],
        ['UPDATED', { id, status: 'running', graph: { slug: SLUG } }],
      ]);
      const [first, second] = results.map((result) => BigInt(result.data!.migrationRunEvents.cursor));
      expect(first! < second!).toBe(true);
    });
  }

  it('resumes after a cursor: the events after it first, none twice', async () => {
    const before = service.service.openStreams();
    const live = overSse({ slug: SLUG });
    await streamsOpen(before + 1);
    const ids = [await insertRun(service.prisma, graphId, nextRun()), await insertRun(service.prisma, graphId, nextRun())];
    const seen = await live.waitFor(2);
    const resumed = overWs({ slug: SLUG, after: seen[0]!.data!.migrationRunEvents.cursor });
    const replayed = await resumed.waitFor(1);
    expect(replayed[0]!.data!.migrationRunEvents.run.id).toBe(ids[1]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resumed.results).toHaveLength(1);
  });

  it("refuses with this service's codes: no token, an unknown graph, a bad cursor, every graph for a member", async () => {
    const cases: [string, Result[]][] = [];
    for (const [name, variables, authorization] of [
      ['no token', { slug: SLUG }, ''],
      ['unknown graph', { slug: 'no_such_graph' }, undefined],
      ['bad cursor', { slug: SLUG, after: 'x' }, undefined],
      ['every graph', { slug: null }, undefined],
    ] as const) {
      const got = overSse(variables, authorization ?? `Bearer ${token}`);
      cases.push([name, await got.waitFor(1)]);
    }
    const codes = Object.fromEntries(cases.map(([name, results]) => [name, results[0]!.errors?.[0]?.extensions?.code]));
    expect(codes).toEqual({
      'no token': 'UNAUTHENTICATED',
      'unknown graph': 'NOT_FOUND',
      'bad cursor': 'BAD_USER_INPUT',
      'every graph': 'FORBIDDEN',
    });
  });

  it("ends a removed member's subscription at the next access check with FORBIDDEN", async () => {
    const leaving = randomUUID();
    await addMember(service.prisma, graphId, leaving);
    const before = service.service.openStreams();
    const got = overSse({ slug: SLUG }, `Bearer ${await service.token(leaving)}`);
    await streamsOpen(before + 1);
    await service.prisma.$executeRaw`DELETE FROM graph_members WHERE user_id = ${leaving}::uuid`;
    const [result] = await got.waitFor(1);
    expect(result!.errors?.[0]).toMatchObject({ message: 'Not a member of this graph', extensions: { code: 'FORBIDDEN' } });
  });

  it('ends a graphql-ws subscription with SERVICE_UNAVAILABLE when the instance stops, without waiting for the drain timeout', async () => {
    const stopping = await startTestService(kind, { env: { SHUTDOWN_TIMEOUT_MS: '30000' } });
    const { id } = await insertGraph(stopping.prisma, { slug: SLUG });
    await addMember(stopping.prisma, id, MEMBER);
    const client = createWsClient({
      url: `${stopping.url.replace('http', 'ws')}/graphql`,
      connectionParams: { Authorization: `Bearer ${await stopping.token(MEMBER)}` },
      retryAttempts: 0,
    });
    const got = collector();
    client.subscribe(
      { query: EVENTS, variables: { slug: SLUG } },
      { next: (r) => got.push(r as Result), error: () => got.complete(), complete: () => got.complete() },
    );
    const until = Date.now() + 10_000;
    while (stopping.service.openStreams() < 1 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await stopping.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    await got.waitFor(1);
    expect(got.results[0]!.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    await client.dispose();
  });

  it('closes a WebSocket connection beyond LIVE_MAX_STREAMS at once with 1013', async () => {
    const capped = await startTestService(kind, { env: { LIVE_MAX_STREAMS: '1' } });
    const url = `${capped.url.replace('http', 'ws')}/graphql`;
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        socket.addEventListener('open', () => resolve(socket), { once: true });
        socket.addEventListener('error', reject, { once: true });
      });
    const closed = (socket: WebSocket) =>
      new Promise<number>((resolve) => socket.addEventListener('close', (event) => resolve(event.code), { once: true }));
    try {
      const first = await open();
      const second = await open();
      expect(await closed(second)).toBe(1013);
      expect(first.readyState).toBe(WebSocket.OPEN);
      first.close();
      await closed(first);
      // The slot is free again.
      const third = await open();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(third.readyState).toBe(WebSocket.OPEN);
      third.close();
    } finally {
      await capped.close();
    }
  });

  it('serves no query over these transports: queries are POSTed to /graphql (400, as graphql-sse refuses a request)', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Result;
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(body.errors?.[0]?.message).toMatch(/POST it to \/graphql/);
  });

  it('refuses a document that does not parse or validate with the codes a query gets (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED)', async () => {
    const refused = async (query: string) => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      expect(response.status).toBe(400);
      return ((await response.json()) as Result).errors?.[0];
    };
    const unparsed = await refused('subscription { migrationRunEvents(slug: "x") { cursor ');
    expect(unparsed?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(unparsed?.message).toMatch(/^Syntax Error/);
    const invalid = await refused('subscription { migrationRunEvents(slug: "x") { noSuchField } }');
    expect(invalid?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(invalid?.message).toMatch(/Cannot query field "noSuchField"/);
  });
});
