// Load shedding (docs/decisions/0006), on PostgreSQL over real sockets: a saturated instance refuses at
// once with 503 + Retry-After in each door's shape, /healthz and /readyz keep answering 200, and every
// refusal is counted by reason in /metrics. Saturation is made, not simulated: the test holds the
// pool's only connection in a transaction of its own, and real requests queue behind it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { startTestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const SLUG = 'shed_graph';
const HISTORY = `/api/v1/graphs/${SLUG}/migrations?limit=5`;
const QUERY = `{ graph(slug: "${SLUG}") { migrations(limit: 5) { id } } }`;
// Refusals must come at once; a request that waited for the queue's bound (10 s here) fails this.
const AT_ONCE_MS = 5_000;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

async function setUp(env: Record<string, string>) {
  const service = await startTestService('postgres', { env: { DATABASE_POOL_SIZE: '1', METRICS_PORT: '0', ...env } });
  const graph = await insertGraph(service.prisma, { slug: SLUG });
  await addMember(service.prisma, graph.id, MEMBER);
  await insertManyRuns(service.prisma, graph.id, 10);
  const token = await service.token(MEMBER);
  const send = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const started = Date.now();
    const response = await fetch(`${service.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'shed-test-1', ...init.headers },
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started };
  };
  const rest = () => send(HISTORY);
  const graphql = () =>
    send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) });
  /** Holds the pool's only connection until `release()`; resolves once it is held. */
  const hold = async () => {
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const { promise: holding, resolve: held } = Promise.withResolvers<void>();
    const done = service.service.database.transaction(async () => {
      held();
      await released;
    });
    await holding;
    return async () => {
      release();
      await done;
    };
  };
  const waiting = () => service.service.database.poolStatus()!.waiting;
  const shed = async () => {
    const text = await (await fetch(service.service.metricsUrl!)).text();
    return Object.fromEntries(
      [...text.matchAll(/^load_shed_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, n]) => [reason!, Number(n)]),
    );
  };
  // One answered request first: the pool has handed a connection back healthy (what /readyz goes by when busy).
  expect((await rest()).status).toBe(200);
  return { service, rest, graphql, send, hold, waiting, shed };
}

const expectRetryAfter = (answer: Answer) => {
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('1');
  expect(answer.headers.get('content-type')).toMatch(/^application\/json\b/);
  expect(answer.headers.get('x-request-id')).toBe('shed-test-1');
  expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  expect(answer.ms).toBeLessThan(AT_ONCE_MS);
};

describe.skipIf(!postgresAvailable)('load shedding on PostgreSQL', () => {
  describe('the pool wait queue (DATABASE_POOL_QUEUE_MAX=1, a pool of 1)', () => {
    let setup: Awaited<ReturnType<typeof setUp>>;
    beforeAll(async () => {
      setup = await setUp({ DATABASE_POOL_QUEUE_MAX: '1', DATABASE_POOL_QUEUE_TIMEOUT_MS: '10000', OVERLOAD_MAX_IN_FLIGHT: '0' });
    });
    afterAll(() => setup?.service.close());

    it('refuses a request beyond the queue at once on both doors, as a saturated database; health answers; counted as queue_full', async () => {
      const release = await setup.hold();
      let queued: Promise<Answer> | undefined;
      try {
        queued = setup.rest();
        await expect.poll(setup.waiting, { timeout: 10_000 }).toBe(1);

        const rest = await setup.rest();
        expectRetryAfter(rest);
        expect(rest.body).toEqual({ detail: 'Database unavailable' });

        const graphql = await setup.graphql();
        expectRetryAfter(graphql);
        expect(graphql.body).toEqual({
          data: { graph: null },
          errors: [
            {
              message: 'Database unavailable: try again shortly',
              path: ['graph'],
              locations: [{ line: 1, column: 3 }],
              extensions: { code: 'SERVICE_UNAVAILABLE' },
            },
          ],
        });

        // Neither goes red: the instance is busy, the database answers.
        expect((await setup.send('/healthz')).status).toBe(200);
        const ready = await setup.send('/readyz');
        expect(ready.status).toBe(200);
        expect(ready.body).toEqual({ status: 'ready' });
        expect(ready.ms).toBeLessThan(AT_ONCE_MS);
      } finally {
        await release();
      }
      // The queued request was served once the connection came back.
      const served = await queued!;
      expect(served.status).toBe(200);
      expect(served.body).toHaveLength(5);
      expect(await setup.shed()).toMatchObject({ queue_full: 2 });
      expect(setup.service.service.database.poolStatus()).toMatchObject({ waiting: 0 });
    });
  });

  describe('the queue wait bound (DATABASE_POOL_QUEUE_TIMEOUT_MS=300)', () => {
    let setup: Awaited<ReturnType<typeof setUp>>;
    beforeAll(async () => {
      setup = await setUp({ DATABASE_POOL_QUEUE_MAX: '10', DATABASE_POOL_QUEUE_TIMEOUT_MS: '300', OVERLOAD_MAX_IN_FLIGHT: '0' });
    });
    afterAll(() => setup?.service.close());

    it('refuses a request that waited the bound for a connection, counted as queue_wait', async () => {
      const release = await setup.hold();
      try {
        const [rest, graphql] = await Promise.all([setup.rest(), setup.graphql()]);
        expectRetryAfter(rest);
        expect(rest.body).toEqual({ detail: 'Database unavailable' });
        expectRetryAfter(graphql);
        expect(graphql.body.errors[0].extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
      } finally {
        await release();
      }
      expect(await setup.shed()).toMatchObject({ queue_wait: 2 });
      expect((await setup.rest()).status).toBe(200);
    });
  });

  describe('the in-flight bound (OVERLOAD_MAX_IN_FLIGHT=1)', () => {
    let setup: Awaited<ReturnType<typeof setUp>>;
    beforeAll(async () => {
      setup = await setUp({ DATABASE_POOL_QUEUE_MAX: '10', DATABASE_POOL_QUEUE_TIMEOUT_MS: '10000', OVERLOAD_MAX_IN_FLIGHT: '1' });
    });
    afterAll(() => setup?.service.close());

    it('refuses a request beyond the bound at once, in each door shape, before reading it; health and readiness answer', async () => {
      const release = await setup.hold();
      let admitted: Promise<Answer> | undefined;
      try {
        // The one request in flight, waiting for the held connection.
        admitted = setup.rest();
        await expect.poll(setup.waiting, { timeout: 10_000 }).toBe(1);

        const rest = await setup.rest();
        expectRetryAfter(rest);
        expect(rest.body).toEqual({ detail: 'Service overloaded: try again shortly' });

        const graphql = await setup.graphql();
        expectRetryAfter(graphql);
        expect(graphql.body).toEqual({
          errors: [{ message: 'Service overloaded: try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
        });
        // Any other route too (an unknown path would be a 404 once admitted).
        const unknown = await setup.send('/nothing-here');
        expectRetryAfter(unknown);

        expect((await setup.send('/healthz')).status).toBe(200);
        expect((await setup.send('/readyz/')).status).toBe(200);
      } finally {
        await release();
      }
      expect((await admitted!).status).toBe(200);
      // The slot came back with the answer.
      expect((await setup.graphql()).status).toBe(200);
      expect(await setup.shed()).toMatchObject({ in_flight: 3 });
    });
  });
});
