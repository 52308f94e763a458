// Load, bounded: LOAD_TEST_SECONDS (5 s unless set; `LOAD_TEST_SECONDS=30 npm test` for a longer soak),
// 100 concurrent loopback connections, mixed REST and GraphQL traffic against the real service on
// PostgreSQL. Zero errors, and afterwards no leaked connections: the test database's backends
// (pg_stat_activity) are no more than the pool's size, and nothing waits.
import { randomUUID } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import autocannon from 'autocannon';
import pg from 'pg';
import { LISTEN_APPLICATION } from '../src/database/listen.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_ADMIN_URL, postgresAvailable } from './helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from './helpers/fixtures.js';
import { startTestService, type TestService } from './helpers/service.js';

const MEMBER = randomUUID();
const POOL_SIZE = 10;
const DURATION_SECONDS = loadTestSeconds(process.env.LOAD_TEST_SECONDS);
// The load itself, plus generous time for a busy shared machine to set up and check.
const TIMEOUT_MS = DURATION_SECONDS * 1_000 + 150_000;
const CONNECTIONS = 100;

// Exported by autocannon, missing from @types/autocannon.
const { aggregateResult } = autocannon as unknown as {
  aggregateResult(results: unknown[], options: autocannon.Options): autocannon.Result;
};

function loadTestSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return 5;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`LOAD_TEST_SECONDS="${value}": a whole number of seconds, 1 or more`);
  return seconds;
}

async function backends(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    // The pool's connections; the live history's session (one per instance, outside the pool) is not one.
    const { rows } = await client.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2',
      [database, LISTEN_APPLICATION],
    );
    return rows[0]!.count;
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgresAvailable)('mixed load on PostgreSQL', () => {
  let service: TestService;
  let databaseName: string;
  let token: string;

  beforeAll(async () => {
    // A shared 2-core machine may be slow: the queue bounds are not under test here (test/database/outage.test.ts,
    // test/platform/overload.test.ts).
    service = await startTestService('postgres', {
      env: { DATABASE_POOL_SIZE: String(POOL_SIZE), DATABASE_CONNECT_TIMEOUT_MS: '10000', DATABASE_POOL_QUEUE_TIMEOUT_MS: '10000' },
    });
    databaseName = new URL(service.database.url!).pathname.slice(1);
    token = await service.token(MEMBER);
    for (const slug of ['load_a', 'load_b']) {
      const graph = await insertGraph(service.prisma, { slug });
      await addMember(service.prisma, graph.id, MEMBER);
      await insertManyRuns(service.prisma, graph.id, 120);
    }
  });
  afterAll(() => service?.close());

  it(`${CONNECTIONS} connections for ${DURATION_SECONDS} s: zero errors, no leaked connections`, { timeout: TIMEOUT_MS }, async () => {
    const authorization = `Bearer ${token}`;
    const graphqlBody = (slug: string) =>
      JSON.stringify({ query: `{ graph(slug: "${slug}") { id migrations(limit: 20) { id status createdAt } } }` });
    const options: autocannon.Options = {
      url: service.url,
      connections: CONNECTIONS,
      duration: DURATION_SECONDS,
      timeout: 20,
      headers: { authorization },
      requests: [
        { method: 'GET', path: '/api/v1/graphs/load_a/migrations?limit=50' },
        { method: 'POST', path: '/graphql', headers: { authorization, 'content-type': 'application/json' }, body: graphqlBody('load_b') },
        { method: 'GET', path: '/api/v1/graphs/load_b/migrations?limit=5' },
        { method: 'POST', path: '/graphql', headers: { authorization, 'content-type': 'application/json' }, body: graphqlBody('load_a') },
      ],
    };
    const raw = await autocannon(options);
    // In a worker thread (vitest's threads pool) autocannon leaves its result for a parent thread to
    // aggregate (latency and request statistics); aggregate it here as its main thread would.
    const result = isMainThread ? raw : aggregateResult([raw], options);
    const during = service.service.database.poolStatus();
    // Give the last answers' connections back; idle ones stay open (up to the pool's size) until the idle timeout.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = { backends: await backends(databaseName), pool: service.service.database.poolStatus() };
    console.log(
      `load: ${result.requests.total} requests (${Math.round(result.requests.total / DURATION_SECONDS)}/s), 2xx ${result['2xx']}, non-2xx ${result.non2xx}, ` +
        `errors ${result.errors}, timeouts ${result.timeouts}, latency p99 ${result.latency.p99} ms; ` +
        `pool at the end ${JSON.stringify(during)}, afterwards ${JSON.stringify(after)}`,
    );
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['2xx']).toBeGreaterThan(CONNECTIONS);
    expect(after.pool).toMatchObject({ waiting: 0 });
    expect(after.pool!.total).toBeLessThanOrEqual(POOL_SIZE);
    expect(after.backends).toBeLessThanOrEqual(POOL_SIZE);
    // And the service still answers normally.
    const check = await fetch(`${service.url}/api/v1/graphs/load_a/migrations?limit=1`, { headers: { authorization } });
    expect(check.status).toBe(200);
  });
});
