// The live history across restarts of PostgreSQL itself: a cluster of the test's own
// (test/helpers/replica.ts), crashed (pg_ctl -m immediate) and cleanly stopped (-m fast) under a
// running service with open streams. Changes committed just before the stop and not yet ordered,
// changes written while the service is reconnecting, and a transaction the crash rolls back: every
// stream gets each committed change once, in commit order, and never the rolled-back one; a reader
// resuming from before the restarts gets the same events.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { addMember, insertGraph } from '../helpers/fixtures.js';
import { replicaAvailable, startOwnCluster, type OwnCluster } from '../helpers/replica.js';
import { testConfig, testToken } from '../helpers/service.js';
import { openSse, type SseStream } from '../helpers/sse.js';

const DATABASE = 'gms_restart';
const MEMBER = randomUUID();
const SLUG = 'restarted_graph';
const STREAM = `/api/v1/graphs/${SLUG}/migrations/stream`;

describe.skipIf(!replicaAvailable())('live history across a restart of PostgreSQL', () => {
  let cluster: OwnCluster;
  let service: Service;
  let dataDir: string;
  let graphId: string;
  const streams: SseStream[] = [];
  let created = 0;

  /** A writer of its own (the workflow engine): a fresh connection each time, as the server may have restarted. */
  const write = async (sql: string, values: unknown[]) => {
    const client = new pg.Client({ connectionString: cluster.url(DATABASE) });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const insertRun = async (status = 'pending') => {
    const createdAt = new Date(Date.UTC(2026, 5, 1) + (created += 1) * 1_000).toISOString();
    const [row] = await write(
      `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
       VALUES (gen_random_uuid(), $1, 1, 2, $2, $3, $4) RETURNING id::text`,
      [graphId, `m_${randomUUID()}`, status, createdAt],
    );
    return row!.id as string;
  };
  const setStatus = (id: string, status: string) => write('UPDATE graph_migration_runs SET status = $1 WHERE id = $2', [status, id]);
  const open = async (headers: Record<string, string> = {}) => {
    const stream = await openSse(service.url, STREAM, { authorization: `Bearer ${await testToken(MEMBER)}`, ...headers });
    streams.push(stream);
    expect(stream.status).toBe(200);
    return stream;
  };
  const ready = async () => (await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(20_000) })).status;
  const untilReady = async () => {
    const deadline = Date.now() + 30_000;
    while ((await ready()) !== 200) {
      if (Date.now() > deadline) throw new Error('the service did not become ready again after PostgreSQL restarted');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const summary = (events: { data: string }[]) =>
    events.map((event) => {
      const run = JSON.parse(event.data) as { id: string; status: string };
      return `${run.id} ${run.status}`;
    });

  beforeAll(async () => {
    cluster = await startOwnCluster();
    await cluster.query(`CREATE DATABASE ${DATABASE}`);
    dataDir = await mkdtemp(path.join(tmpdir(), 'gms-service-data-'));
    const config = testConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: cluster.url(DATABASE),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      LIVE_HEARTBEAT_MS: '300',
    });
    service = await startService(config, createLogger(config.logLevel));
    ({ id: graphId } = await insertGraph(service.database.prisma, { slug: SLUG }));
    await addMember(service.database.prisma, graphId, MEMBER);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await service?.close();
    await cluster?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers every committed change once, in commit order, through a crash and a clean restart, and never a rolled-back one', async () => {
    const live = await open();
    const first = await insertRun();
    const [before] = await live.waitFor(1);
    live.events.length = 0;
    const expected: string[] = [];

    // A crash: one change committed a moment before it (not ordered yet: the service orders every
    // 100 ms), and a transaction still open when it comes, which recovery rolls back.
    const inFlight = new pg.Client({ connectionString: cluster.url(DATABASE) });
    await inFlight.connect();
    inFlight.on('error', () => {}); // the crash ends this session
    await inFlight.query('BEGIN');
    await inFlight.query(
      `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
       VALUES (gen_random_uuid(), $1, 1, 2, 'rolled_back', 'pending', now())`,
      [graphId],
    );
    await setStatus(first, 'running');
    expected.push(`${first} running`);
    await cluster.stop('immediate');
    await inFlight.end().catch(() => {});
    expect(await ready()).toBe(503);
    await cluster.start();
    // Written while the service is still reconnecting, then after it is back.
    const during = await insertRun('running');
    expected.push(`${during} running`);
    await untilReady();
    await setStatus(during, 'success');
    expected.push(`${during} success`);
    expect(summary(await live.waitFor(expected.length, 30_000))).toEqual(expected);

    // A clean restart (pg_ctl -m fast), a change committed just before it.
    const second = await insertRun();
    expected.push(`${second} pending`);
    await cluster.stop('fast');
    await cluster.start();
    await setStatus(second, 'failed');
    expected.push(`${second} failed`);
    await untilReady();
    expect(summary(await live.waitFor(expected.length, 30_000))).toEqual(expected);

    // Nothing more arrives (no event twice), and the rolled-back run never does.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(summary(live.events)).toEqual(expected);
    expect(await write(`SELECT count(*)::int AS n FROM graph_migration_runs WHERE migration_id = 'rolled_back'`, [])).toEqual([{ n: 0 }]);

    // A reader resuming from before both restarts gets the same events, with the same cursors.
    const resumed = await open({ 'last-event-id': before!.id! });
    const replayed = await resumed.waitFor(expected.length, 30_000);
    expect(summary(replayed)).toEqual(expected);
    expect(replayed.map((event) => event.id)).toEqual(live.events.map((event) => event.id));
  });
});
