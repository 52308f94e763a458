// Database faults, PostgreSQL only (PGlite cannot go down). The service reaches its test database
// through a TCP proxy that the test cuts and restores; the shared server is never stopped. During
// an outage both doors answer 503 quickly, /readyz turns 503, and the same process serves again
// once the database is back. Also: a database that refuses connections (ALLOW_CONNECTIONS false
// after pg_terminate_backend), an exhausted pool and a statement_timeout are "unavailable".
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/database/client.js';
import { isDatabaseUnavailable } from '../../src/database/errors.js';
import { POSTGRES_ADMIN_URL, postgresAvailable } from '../helpers/databases.js';
import { insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

const USER = randomUUID();
const HISTORY = '/api/v1/graphs/default/migrations?limit=5';
const GRAPHQL_HISTORY = '{ graph(slug: "default") { migrations(limit: 5) { id } } }';

async function adminQuery(sql: string, database?: string): Promise<void> {
  const url = new URL(POSTGRES_ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgresAvailable)('database outage (PostgreSQL through a TCP proxy)', () => {
  let service: TestService;
  let proxy: TcpProxy;
  let token: string;
  let databaseName: string;

  const rest = async () => {
    const response = await fetch(`${service.url}${HISTORY}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
  };
  const graphql = async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: GRAPHQL_HISTORY }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: any[] } };
  };
  const ready = async () => (await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(20_000) })).status;

  /** Polls until the REST route answers 200 again (the pool reconnects on its own). */
  const recovered = async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await rest();
      if (answer.status === 200) return answer;
      if (Date.now() > deadline) throw new Error(`no recovery: still ${answer.status} ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  const expectServing = async () => {
    const answer = await recovered();
    expect(answer.body).toHaveLength(5);
    const viaGraphql = await graphql();
    expect(viaGraphql.status).toBe(200);
    expect(viaGraphql.body.data.graph.migrations).toHaveLength(5);
    // Readiness also waits for the live history's LISTEN session, which reconnects on its own (within 2 s).
    const deadline = Date.now() + 10_000;
    while ((await ready()) !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await ready()).toBe(200);
  };

  /** Both doors and /readyz answer 503 within 2 s of the fault being in place, with nothing internal in the bodies. */
  const expectUnavailableFast = async (faultInPlaceAt: number) => {
    const answer = await rest();
    const elapsed = Date.now() - faultInPlaceAt;
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ detail: 'Database unavailable' });
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(elapsed).toBeLessThan(2_000);

    const viaGraphql = await graphql();
    expect(viaGraphql.status).toBe(503);
    expect(viaGraphql.headers.get('retry-after')).toBe('1');
    expect(viaGraphql.body.data).toEqual({ graph: null });
    expect(viaGraphql.body.errors).toEqual([
      {
        message: 'Database unavailable: try again shortly',
        path: ['graph'],
        locations: [{ line: 1, column: 3 }],
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      },
    ]);
    expect(await ready()).toBe(503);
    expect(Date.now() - faultInPlaceAt).toBeLessThan(10_000);
  };

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: new URL(POSTGRES_ADMIN_URL).hostname, port: Number(new URL(POSTGRES_ADMIN_URL).port || 5432) });
    service = await startTestService('postgres', {
      databaseUrl: (url) => {
        const viaProxy = new URL(url);
        databaseName = viaProxy.pathname.slice(1);
        viaProxy.hostname = '127.0.0.1';
        viaProxy.port = String(proxy.port);
        return viaProxy.toString();
      },
      env: { DATABASE_CONNECT_TIMEOUT_MS: '1000' },
    });
    token = await service.token(USER);
    const graph = await insertGraph(service.prisma, { slug: 'default', isDefault: true });
    await insertManyRuns(service.prisma, graph.id, 10);
  });
  afterAll(async () => {
    await service?.close();
    await proxy?.close();
  });

  it('answers 503 within 2 s while the connection is cut, and 200 again from the same process once it is back', async () => {
    await expectServing();
    await proxy.cut();
    await expectUnavailableFast(Date.now());
    // Still down a while later: every request fails fast, none hangs.
    const burst = await Promise.all(Array.from({ length: 20 }, () => rest()));
    expect(burst.map((answer) => answer.status)).toEqual(Array(20).fill(503));
    await proxy.restore();
    await expectServing();
  });

  it('answers 503 while the database refuses connections (backends terminated, ALLOW_CONNECTIONS false), then recovers', async () => {
    await expectServing();
    await adminQuery(`ALTER DATABASE "${databaseName}" WITH ALLOW_CONNECTIONS false`);
    try {
      await adminQuery(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${databaseName}' AND pid <> pg_backend_pid()`,
      );
      await expectUnavailableFast(Date.now());
    } finally {
      await adminQuery(`ALTER DATABASE "${databaseName}" WITH ALLOW_CONNECTIONS true`);
    }
    await expectServing();
  });

  it('fails a wait for a pooled connection after DATABASE_CONNECT_TIMEOUT_MS, and a statement after statement_timeout, as unavailable', async () => {
    const database = await createDatabase({
      kind: 'postgres',
      url: service.database.url!,
      poolSize: 1,
      connectTimeoutMs: 300,
      statementTimeoutMs: 500,
    });
    try {
      const holding = Promise.resolve(database.prisma.$queryRaw`SELECT 1 AS held FROM pg_sleep(0.4)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const waited = Date.now();
      const queued = await database.prisma.$queryRaw`SELECT 1 AS queued`.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(Date.now() - waited).toBeLessThan(5_000);
      expect(isDatabaseUnavailable(queued)).toBe(true);
      await holding;
      const slow = await database.prisma.$queryRaw`SELECT 1 AS slow FROM pg_sleep(5)`.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailable(slow)).toBe(true);
      expect(database.poolStatus()).toMatchObject({ waiting: 0 });
    } finally {
      await database.close();
    }
  });
});
