// The service with a read replica (DATABASE_READ_URL): a real streaming replica made by this file
// (initdb a small primary, pg_basebackup -R -X stream, pg_ctl on free loopback ports; see
// test/helpers/replica.ts). Runs are written on the primary and read through the service once the
// replica has replayed them; while replay is paused they do not appear (replication lag, as it is).
// A replica that is down is a 503 on both doors and /readyz, as a primary that is down is without
// a replica, and the service serves again once it is back; a primary that is unreachable does not
// stop reads, and a read the replica cancels for a recovery conflict is a 503 to retry. Migrations
// go to the primary, and refuse a replica with a message saying so.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/database/client.js';
import { isDatabaseUnavailable } from '../../src/database/errors.js';
import { Prisma } from '../../src/database/generated/client.js';
import { migrate, MigrationError } from '../../src/database/migrate.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { MIGRATIONS } from '../rest/support.js';
import { coreCases, insertCoreData, type CoreData } from '../helpers/coreCases.js';
import { insertRun } from '../helpers/fixtures.js';
import { describeLoad, mixedLoad } from '../helpers/load.js';
import { replicaAvailable, startReplicatedPair, type ReplicatedPair } from '../helpers/replica.js';
import { testConfig, testToken } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

const DATABASE = 'gms_replica';
const POOL_SIZE = 6;

describe.skipIf(!replicaAvailable())('reading from a streaming replica (DATABASE_READ_URL)', () => {
  let pair: ReplicatedPair;
  let primaryProxy: TcpProxy;
  let service: Service;
  let dataDir: string;
  let data: CoreData;
  const statements: string[] = [];

  const rest = async (slug: string, token: string) => {
    const response = await fetch(`${service.url}${MIGRATIONS(slug, '?limit=5')}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const graphqlHistory = async (slug: string, token: string) => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ graph(slug: "${slug}") { migrations(limit: 5) { id } } }` }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: any[] } };
  };
  const readyz = async () => {
    const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(20_000) });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const ready = async () => (await readyz()).status;
  const newestIds = async (token: string) => ((await rest(data.other.slug, token)).body as { id: string }[]).map((run) => run.id);

  beforeAll(async () => {
    pair = await startReplicatedPair();
    await pair.primary.query(`CREATE DATABASE ${DATABASE}`);
    await pair.waitForReplay();
    // The service reaches the primary through a proxy the test can cut; the replica streams from the primary directly.
    primaryProxy = await startTcpProxy({ host: '127.0.0.1', port: pair.primary.port });
    dataDir = await mkdtemp(path.join(tmpdir(), 'gms-service-data-'));
    const config = testConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${primaryProxy.port}/${DATABASE}`,
      DATABASE_READ_URL: pair.replica.url(DATABASE),
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    // Migrations run at start, on the primary: the replica would refuse them.
    service = await startService(config, createLogger(config.logLevel), { onQuery: (event) => statements.push(event.query) });
    // Written through the service's Prisma client: the primary.
    data = await insertCoreData(service.database.prisma);
    await pair.waitForReplay();
  });
  afterAll(async () => {
    await service?.close();
    await primaryProxy?.close();
    await pair?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('applied the migrations on the primary, and the replica has them by replication', async () => {
    expect(service.database.readsFromReplica).toBe(true);
    const onPrimary = await pair.primary.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY 1',
      [],
      DATABASE,
    );
    expect(onPrimary.length).toBeGreaterThan(0);
    expect(
      await pair.replica.query('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY 1', [], DATABASE),
    ).toEqual(onPrimary);
  });

  coreCases(() => ({ url: service.url, data, statements }));

  it('reads from the replica: a run recorded on the primary appears only once the replica has replayed it', async () => {
    const token = await testToken(data.member);
    const before = await newestIds(token);
    await pair.replica.query('SELECT pg_wal_replay_pause()');
    try {
      const id = await insertRun(service.database.prisma, data.other.id, { createdAt: '2027-01-01T00:00:00.000001Z' });
      // On the primary now…
      const [onPrimary] = await pair.primary.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM graph_migration_runs WHERE id = $1',
        [id],
        DATABASE,
      );
      expect(onPrimary).toEqual({ count: 1 });
      // …but not where the service reads, while replay is paused: both doors still give the history before it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await newestIds(token)).toEqual(before);
      const viaGraphql = await graphqlHistory(data.other.slug, token);
      expect(viaGraphql.body.data.graph.migrations.map((run: { id: string }) => run.id)).toEqual(before);
      await pair.replica.query('SELECT pg_wal_replay_resume()');
      await pair.waitForReplay();
      expect(await newestIds(token)).toEqual([id, ...before.slice(0, 4)]);
    } finally {
      await pair.replica.query('SELECT pg_wal_replay_resume()').catch(() => {});
    }
  });

  it('answers 503 on both doors and /readyz while the replica is down, and serves again once it is back', { timeout: 60_000 }, async () => {
    const token = await testToken(data.member);
    expect(await service.database.readiness()).toEqual({ ready: true, primary: true, replica: true });
    await pair.replica.stop('immediate');
    try {
      const down = Date.now();
      const answer = await rest(data.walked.slug, token);
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ detail: 'Database unavailable' });
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(Date.now() - down).toBeLessThan(2_000);
      const viaGraphql = await graphqlHistory(data.walked.slug, token);
      expect(viaGraphql.status).toBe(503);
      expect(viaGraphql.body.data).toEqual({ graph: null });
      expect(viaGraphql.body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
      expect(await readyz()).toEqual({ status: 503, body: { status: 'database unavailable', primary: 'up', replica: 'down' } });
      expect(await service.database.readiness()).toEqual({ ready: false, primary: true, replica: false });
    } finally {
      await pair.replica.start();
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await rest(data.walked.slug, token);
      if (answer.status === 200) break;
      if (Date.now() > deadline) throw new Error(`no recovery: still ${answer.status} ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await graphqlHistory(data.walked.slug, token)).status).toBe(200);
    expect(await ready()).toBe(200);
    // Streaming again: what the primary writes now reaches the replica.
    await insertRun(service.database.prisma, data.other.id, { createdAt: '2027-02-01T00:00:00.000001Z' });
    await pair.waitForReplay(30_000);
  });

  it('goes on serving reads from the replica while the primary is unreachable; readiness reports the primary down', async () => {
    const token = await testToken(data.member);
    await primaryProxy.cut();
    try {
      expect((await rest(data.walked.slug, token)).status).toBe(200);
      expect((await graphqlHistory(data.walked.slug, token)).status).toBe(200);
      expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', primary: 'down', replica: 'up' } });
      expect(await service.database.readiness()).toEqual({ ready: true, primary: false, replica: true });
    } finally {
      await primaryProxy.restore();
    }
    expect(await service.database.readiness()).toEqual({ ready: true, primary: true, replica: true });
  });

  it('serves a short load from the replica with zero errors, the primary pool left idle', { timeout: 60_000 }, async () => {
    const [result] = await mixedLoad([service.url], {
      token: await testToken(data.member),
      slugs: [data.walked.slug, data.other.slug],
      connections: 12,
    });
    console.log(`from the replica: ${describeLoad([result!])}`);
    expect(result).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0 });
    expect(result!.ok).toBeGreaterThan(12);
    // Serving reads went to the replica's pool (12 clients would fill the primary's 6). The primary's holds at most
    // the readiness check's connection and the statistics fold's (every 2 s, a write), which can overlap.
    expect(service.database.poolStatus()!.total).toBeGreaterThan(2);
    expect(service.database.primaryPoolStatus()!.total).toBeLessThanOrEqual(2);
  });

  it(
    'treats a read the replica cancels for a recovery conflict as unavailable (503, retry), not as a bug',
    { timeout: 30_000 },
    async () => {
      // Rows a running read still sees are vacuumed away on the primary; the replica, told not to wait, cancels the read.
      await pair.replica.configure({ max_standby_streaming_delay: '0' });
      try {
        await pair.primary.query('CREATE TABLE conflicted AS SELECT n FROM generate_series(1, 1000) AS n', [], DATABASE);
        await pair.waitForReplay();
        const reading = service.database.query(Prisma.sql`SELECT count(*) AS rows FROM conflicted CROSS JOIN pg_sleep(3)`).then(
          () => undefined,
          (error: unknown) => error,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        await pair.primary.query('DELETE FROM conflicted', [], DATABASE);
        await pair.primary.query('VACUUM conflicted', [], DATABASE);
        const error = (await reading) as { cause?: { originalCode?: string; originalMessage?: string } } | undefined;
        expect(error?.cause?.originalMessage).toMatch(/conflict with recovery/);
        expect(error?.cause?.originalCode).toBe('40001');
        expect(isDatabaseUnavailable(error)).toBe(true);
      } finally {
        await pair.replica.configure({ max_standby_streaming_delay: '30s' });
      }
    },
  );

  it('refuses to migrate on the replica, saying to point the migration URL at the primary', async () => {
    const onReplica = await createDatabase({ kind: 'postgres', url: pair.replica.url(DATABASE), poolSize: 1 });
    try {
      const error = await migrate(onReplica).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /^Cannot migrate on a read-only replica .* Point DATABASE_MIGRATE_URL \(or DATABASE_URL\) at the primary/,
      );
    } finally {
      await onReplica.close();
    }
  });
});
