// Graph.migrationStats, Query.migrationStats and Query.latestMigrationRuns against statistics the
// test computes itself with plain SQL over graph_migration_runs: windows whose bounds fall on UTC
// midnights, inside one day, at a run's own microsecond, open on either side; runs that change
// status, move to another day and are deleted after they were counted; deleted graphs left out;
// who may ask; and what a request costs in statements (one for any number of graphs' statistics).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldDayCounts } from '../../src/queries/migrationStats.js';
import { countMismatches } from '../helpers/statistics.js';
import type { PrismaClient } from '../../src/database/client.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun, type GraphFixture } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const SUPERUSER = randomUUID();

const RUN_FIELDS = 'id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt';
const STATS_FIELDS = `total byStatus { status count } latest { ${RUN_FIELDS} } latestSuccess { id } latestFailure { id }
  durationSeconds { p50 p95 max }`;

interface Window {
  since?: string;
  until?: string;
}

interface Stats {
  total: number;
  byStatus: { status: string; count: number }[];
  latest: Record<string, unknown> | null;
  latestSuccess: { id: string } | null;
  latestFailure: { id: string } | null;
  durationSeconds: { p50: number | null; p95: number | null; max: number | null };
}

/** The statistics as the test computes them: plain SQL over the runs, no day counts. `graphId` null: every graph not deleted. */
async function expected(prisma: PrismaClient, graphId: string | null, { since, until }: Window): Promise<Stats> {
  const scope = (
    await prisma.$queryRaw<{ id: string; status: string; createdAt: string; seconds: number | null }[]>`
    SELECT r.id::text AS id, r.status, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
      extract(epoch FROM r.finished_at - r.started_at)::float8 AS seconds
    FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
    WHERE (${graphId}::uuid IS NULL OR r.graph_id = ${graphId}::uuid) AND g.status <> 'deleted'
      AND (${since ?? null}::timestamptz IS NULL OR r.created_at >= ${since ?? null}::timestamptz)
      AND (${until ?? null}::timestamptz IS NULL OR r.created_at < ${until ?? null}::timestamptz)`
  ).sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.id < b.id ? 1 : -1));
  const counts = new Map<string, number>();
  for (const run of scope) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const byStatus = [...counts]
    .map(([status, count]) => ({ status, count }))
    .sort((a, b) => b.count - a.count || (a.status < b.status ? -1 : 1));
  const seconds = scope.flatMap((run) => (run.seconds === null ? [] : [run.seconds])).sort((a, b) => a - b);
  // percentile_cont: linear interpolation between the two nearest values, at (n - 1) * p.
  const percentile = (p: number) => {
    if (seconds.length === 0) return null;
    const at = (seconds.length - 1) * p;
    const below = Math.floor(at);
    const above = Math.ceil(at);
    return seconds[below]! + (seconds[above]! - seconds[below]!) * (at - below);
  };
  const latestWith = (status?: string) => scope.find((run) => status === undefined || run.status === status);
  const latest = latestWith();
  return {
    total: scope.length,
    byStatus,
    latest: latest ? { id: latest.id } : null,
    latestSuccess: latestWith('success') ? { id: latestWith('success')!.id } : null,
    latestFailure: latestWith('failed') ? { id: latestWith('failed')!.id } : null,
    durationSeconds: { p50: percentile(0.5), p95: percentile(0.95), max: seconds.length ? seconds.at(-1)! : null },
  };
}

/** What the service answered, in the shape `expected` computes (latest by id, durations to 1e-9). */
function comparable(stats: Stats) {
  const round = (value: number | null) => (value === null ? null : Math.round(value * 1e6) / 1e6);
  return {
    ...stats,
    latest: stats.latest ? { id: stats.latest.id } : null,
    durationSeconds: {
      p50: round(stats.durationSeconds.p50),
      p95: round(stats.durationSeconds.p95),
      max: round(stats.durationSeconds.max),
    },
  };
}

const STATUSES = ['success', 'success', 'success', 'failed', 'running', 'skipped', 'pending'];

describe.each(DATABASE_KINDS)('migration statistics on %s', (kind) => {
  let service: TestService;
  let memberToken: string;
  let superToken: string;
  let busy: GraphFixture;
  let quiet: GraphFixture;
  let empty: GraphFixture;
  let deleted: GraphFixture;
  let foreign: GraphFixture;

  const stats = async (slug: string, window: Window, token = memberToken) => {
    const result = await graphql(
      service.url,
      `query($slug: String!, $since: DateTime, $until: DateTime) { graph(slug: $slug) { migrationStats(since: $since, until: $until) { ${STATS_FIELDS} } } }`,
      { token, variables: { slug, ...window } },
    );
    expect(result.errors).toBeUndefined();
    return result.data.graph.migrationStats as Stats;
  };

  beforeAll(async () => {
    service = await startTestService(kind);
    memberToken = await service.token(MEMBER);
    superToken = await service.token(SUPERUSER, { isSuperuser: true });
    const prisma = service.prisma;
    busy = await insertGraph(prisma, { slug: 'busy_graph' });
    quiet = await insertGraph(prisma, { slug: 'quiet_graph' });
    empty = await insertGraph(prisma, { slug: 'empty_graph' });
    deleted = await insertGraph(prisma, { slug: 'deleted_graph', status: 'deleted' });
    foreign = await insertGraph(prisma, { slug: 'foreign_graph' });
    for (const graph of [busy, quiet, empty, deleted]) await addMember(prisma, graph.id, MEMBER);
    // 300 runs over about 12 days, 55 minutes and some microseconds apart, so that days, hours and
    // microseconds all matter; some without a start or an end; one exactly at a UTC midnight.
    await prisma.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, created_at)
      SELECT gen_random_uuid(), ${busy.id}::uuid, n, n + 1, 'm_' || n, (${STATUSES}::text[])[1 + n % 7],
        CASE WHEN n % 11 = 0 THEN NULL ELSE t.at + interval '1 second' END,
        CASE WHEN n % 13 = 0 THEN NULL ELSE t.at + make_interval(secs => 1 + (n * 37 % 600) + (n % 9) / 8.0) END,
        t.at
      FROM generate_series(1, 300) AS n,
        LATERAL (SELECT '2026-03-01T00:00:00Z'::timestamptz + make_interval(mins => n * 55, secs => (n % 17) / 1000000.0) AS at) t`;
    await insertRun(prisma, busy.id, {
      createdAt: '2026-03-05T00:00:00Z',
      status: 'failed',
      startedAt: '2026-03-05T00:00:00Z',
      finishedAt: '2026-03-05T00:00:41.5Z',
    });
    for (let i = 0; i < 5; i++) {
      await insertRun(prisma, quiet.id, { createdAt: `2026-03-0${2 + i}T12:00:00Z`, status: i === 4 ? 'failed' : 'success' });
    }
    await insertRun(prisma, deleted.id, { createdAt: '2026-03-04T00:00:00Z', status: 'failed' });
    await insertRun(prisma, foreign.id, { createdAt: '2026-03-04T00:00:00Z', status: 'success' });
    // Changes after the runs were counted: statuses (the latest run's too), a run moved to another
    // day, a deleted run.
    await prisma.$executeRaw`UPDATE graph_migration_runs SET status = 'success' WHERE graph_id = ${busy.id}::uuid AND migration_id IN ('m_4', 'm_5', 'm_300')`;
    await prisma.$executeRaw`UPDATE graph_migration_runs SET status = 'failed' WHERE graph_id = ${busy.id}::uuid AND migration_id = 'm_6'`;
    await prisma.$executeRaw`UPDATE graph_migration_runs SET created_at = created_at - interval '3 days' WHERE graph_id = ${busy.id}::uuid AND migration_id = 'm_200'`;
    await prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE graph_id = ${busy.id}::uuid AND migration_id IN ('m_100', 'm_299')`;
  });

  afterAll(() => service?.close());

  const windows: [string, Window][] = [
    ['no window', {}],
    ['since only', { since: '2026-03-04T10:00:00Z' }],
    ['until only', { until: '2026-03-07T03:30:00.000003Z' }],
    ['both on UTC midnights', { since: '2026-03-03T00:00:00Z', until: '2026-03-09T00:00:00Z' }],
    ['inside one day', { since: '2026-03-05T02:00:00Z', until: '2026-03-05T20:00:00Z' }],
    ['across one midnight', { since: '2026-03-05T20:00:00Z', until: '2026-03-06T04:00:00Z' }],
    ['many days, ragged ends', { since: '2026-03-02T07:13:00.5Z', until: '2026-03-11T16:02:00.25+02:00' }],
    ['a midnight run is inside since', { since: '2026-03-05T00:00:00Z', until: '2026-03-05T00:00:00.000001Z' }],
    ['a midnight run is outside until', { since: '2026-03-04T23:00:00Z', until: '2026-03-05T00:00:00Z' }],
    ['empty (since = until)', { since: '2026-03-05T00:00:00Z', until: '2026-03-05T00:00:00Z' }],
    ['before every run', { until: '2026-01-01T00:00:00Z' }],
  ];

  it.each(windows)('Graph.migrationStats over %s equals the statistics computed from the runs', async (_name, window) => {
    const answer = await stats(busy.slug, window);
    expect(comparable(answer)).toEqual(comparable(await expected(service.prisma, busy.id, window)));
  });

  it('serves the latest run with every field, as the history does', async () => {
    const answer = await stats(busy.slug, {});
    const history = await graphql(service.url, `{ graph(slug: "busy_graph") { migrations(limit: 1) { ${RUN_FIELDS} } } }`, {
      token: memberToken,
    });
    expect(answer.latest).toEqual(history.data.graph.migrations[0]);
    expect(answer.latest!.status).toBe('success');
  });

  it('has zero counts, no runs and null durations for a graph without runs', async () => {
    expect(await stats(empty.slug, {})).toEqual({
      total: 0,
      byStatus: [],
      latest: null,
      latestSuccess: null,
      latestFailure: null,
      durationSeconds: { p50: null, p95: null, max: null },
    });
  });

  it('keeps the counts right after many more changes (the day counts against the runs)', async () => {
    const prisma = service.prisma;
    await prisma.$executeRaw`UPDATE graph_migration_runs SET status = 'running' WHERE graph_id = ${busy.id}::uuid AND from_version % 5 = 0`;
    await prisma.$executeRaw`UPDATE graph_migration_runs SET created_at = created_at + interval '26 hours' WHERE graph_id = ${busy.id}::uuid AND from_version % 7 = 1`;
    await prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE graph_id = ${busy.id}::uuid AND from_version % 19 = 0`;
    for (const [, window] of windows) {
      expect(comparable(await stats(busy.slug, window))).toEqual(comparable(await expected(prisma, busy.id, window)));
    }
    // The day counts and the deltas not folded yet add up to a recount; folding them changes nothing.
    expect(await countMismatches(prisma)).toBe(0);
    const before = await stats(busy.slug, windows[6]![1]);
    while ((await service.service.database.transaction((sql) => foldDayCounts(sql))) > 0);
    const left = await prisma.$queryRaw<{ deltas: number }[]>`SELECT count(*)::int AS deltas FROM graph_migration_run_count_deltas`;
    expect(left[0]!.deltas).toBe(0);
    expect(await countMismatches(prisma)).toBe(0);
    expect(await stats(busy.slug, windows[6]![1])).toEqual(before);
  });

  it.runIf(kind === 'postgres')('never makes writers of the same graph wait for each other, and counts what both commit', async () => {
    const graph = await insertGraph(service.prisma, { slug: 'concurrent_graph' });
    await addMember(service.prisma, graph.id, MEMBER);
    const writers = [new pg.Client({ connectionString: service.database.url }), new pg.Client({ connectionString: service.database.url })];
    await Promise.all(writers.map((writer) => writer.connect()));
    try {
      const write = (writer: pg.Client, at: string) =>
        writer.query(
          `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
           VALUES (gen_random_uuid(), $1, 1, 2, 'concurrent_' || $2, 'running', $2::timestamptz)`,
          [graph.id, at],
        );
      for (const writer of writers) await writer.query(`BEGIN; SET LOCAL lock_timeout = '2s'`);
      await write(writers[0]!, '2026-03-06T13:00:00Z');
      // Would wait for the first writer's commit (and fail after lock_timeout) if both updated a shared row.
      await write(writers[1]!, '2026-03-06T13:00:01Z');
      await writers[1]!.query('COMMIT');
      await writers[0]!.query('COMMIT');
    } finally {
      await Promise.all(writers.map((writer) => writer.end()));
    }
    expect((await stats(graph.slug, {})).byStatus).toEqual([{ status: 'running', count: 2 }]);
  });

  it('refuses since after until, naming the argument', async () => {
    const result = await graphql(
      service.url,
      `
        {
          graph(slug: "busy_graph") {
            migrationStats(since: "2026-03-05T00:00:00Z", until: "2026-03-04T00:00:00Z") {
              total
            }
          }
        }
      `,
      {
        token: memberToken,
      },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/since/);
  });

  it("does not serve another graph's statistics (GRAPH_READ)", async () => {
    const result = await graphql(
      service.url,
      `
        {
          graph(slug: "foreign_graph") {
            migrationStats {
              total
            }
          }
        }
      `,
      { token: memberToken },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('reads the statistics of any number of graphs in one statement, and one page and statistics in two', async () => {
    const busyTotal = (await expected(service.prisma, busy.id, {})).total;
    service.statements.length = 0;
    const entities = await graphql(
      service.url,
      `
        query ($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on Graph {
              slug
              migrationStats {
                total
                latest {
                  id
                }
              }
            }
          }
        }
      `,
      { token: memberToken, variables: { r: [busy, quiet, empty].map(({ id }) => ({ __typename: 'Graph', id })) } },
    );
    expect(entities.errors).toBeUndefined();
    expect(entities.data._entities.map((graph: { migrationStats: Stats }) => graph.migrationStats.total)).toEqual([busyTotal, 5, 0]);
    // The graphs, then their statistics.
    expect(service.statements).toHaveLength(2);

    service.statements.length = 0;
    const both = await graphql(
      service.url,
      `
        {
          graph(slug: "quiet_graph") {
            migrations(limit: 2) {
              id
            }
            migrationStats(since: "2026-03-03T00:00:00Z") {
              total
              byStatus {
                status
                count
              }
              durationSeconds {
                max
              }
            }
          }
        }
      `,
      { token: memberToken },
    );
    expect(both.errors).toBeUndefined();
    expect(both.data.graph.migrationStats).toEqual({
      total: 4,
      byStatus: [
        { status: 'success', count: 3 },
        { status: 'failed', count: 1 },
      ],
      durationSeconds: { max: null },
    });
    expect(service.statements).toHaveLength(2);
  });

  describe('Query.migrationStats (superusers)', () => {
    const allStats = (window: Window, token: string | undefined) =>
      graphql(
        service.url,
        `query($since: DateTime, $until: DateTime) { migrationStats(since: $since, until: $until) { ${STATS_FIELDS} } }`,
        {
          token,
          variables: { ...window },
        },
      );

    it.each(windows)("over %s equals the statistics of every graph's runs but the deleted graph's", async (_name, window) => {
      const result = await allStats(window, superToken);
      expect(result.errors).toBeUndefined();
      expect(comparable(result.data.migrationStats)).toEqual(comparable(await expected(service.prisma, null, window)));
    });

    it('is refused to other users (FORBIDDEN) and without a token (UNAUTHENTICATED)', async () => {
      expect((await allStats({}, memberToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await allStats({}, undefined)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('Query.latestMigrationRuns (superusers)', () => {
    const LATEST = `query($status: [String!], $first: Int, $after: String) {
      latestMigrationRuns(status: $status, first: $first, after: $after) {
        edges { cursor node { id status createdAt graph { slug } } } pageInfo { hasNextPage endCursor } totalCount } }`;

    /** Each served graph's latest run with one of `statuses`, newest first: computed from the runs. */
    async function expectedLatest(statuses: string[] | null) {
      const rows = await service.prisma.$queryRaw<{ id: string; status: string; slug: string }[]>`
        SELECT l.id::text AS id, l.status, l.slug FROM (
          SELECT DISTINCT ON (r.graph_id) r.id, r.status, r.created_at, g.slug
          FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id WHERE g.status <> 'deleted'
          ORDER BY r.graph_id, r.created_at DESC, r.id DESC) l
        WHERE ${statuses}::text[] IS NULL OR l.status = ANY(${statuses}::text[])
        ORDER BY l.created_at DESC, l.id DESC`;
      return rows;
    }

    async function walk(status: string[] | null, first: number) {
      const seen: { id: string; status: string; slug: string }[] = [];
      let after: string | null = null;
      let totalCount = -1;
      for (let pages = 0; pages < 20; pages++) {
        const result: { data?: any; errors?: unknown[] } = await graphql(service.url, LATEST, {
          token: superToken,
          variables: { status, first, after },
        });
        expect(result.errors).toBeUndefined();
        const connection = result.data.latestMigrationRuns as {
          edges: { node: { id: string; status: string; graph: { slug: string } } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          totalCount: number;
        };
        totalCount = connection.totalCount;
        for (const { node } of connection.edges) seen.push({ id: node.id, status: node.status, slug: node.graph.slug });
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      return { seen, totalCount };
    }

    it.each([[null], [['failed']], [['success', 'running']], [['no_such_status']]])(
      'lists the graphs whose latest run has status %j, a page at a time',
      async (status) => {
        const want = await expectedLatest(status);
        const { seen, totalCount } = await walk(status, 1);
        expect(seen).toEqual(want);
        expect(totalCount).toBe(want.length);
      },
    );

    it('follows a status change of a latest run and a newer run', async () => {
      const failedBefore = (await walk(['failed'], 10)).seen.map((run) => run.slug);
      expect(failedBefore).toContain('quiet_graph');
      await service.prisma
        .$executeRaw`UPDATE graph_migration_runs SET status = 'success' WHERE graph_id = ${quiet.id}::uuid AND status = 'failed'`;
      expect((await walk(['failed'], 10)).seen.map((run) => run.slug)).not.toContain('quiet_graph');
      await insertRun(service.prisma, empty.id, { createdAt: '2026-04-01T00:00:00Z', status: 'failed' });
      const failed = await walk(['failed'], 10);
      expect(failed.seen[0]!.slug).toBe('empty_graph');
      expect(failed.seen).toEqual(await expectedLatest(['failed']));
    });

    it('is refused to other users (FORBIDDEN) and refuses a cursor of other statuses', async () => {
      const refused = await graphql(service.url, LATEST, { token: memberToken, variables: {} });
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const first = await graphql(service.url, LATEST, { token: superToken, variables: { status: ['success'], first: 1 } });
      const cursor = first.data.latestMigrationRuns.pageInfo.endCursor;
      const mismatch = await graphql(service.url, LATEST, { token: superToken, variables: { status: ['failed'], after: cursor } });
      expect(mismatch.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  it('sends timestamps as the history does: a whole second without its fraction, microseconds kept', async () => {
    expect((await stats(quiet.slug, {})).latest!.createdAt).toBe('2026-03-06T12:00:00Z');
    const fractional = await stats(busy.slug, { until: '2026-03-01T01:50:00.000003Z' });
    expect(fractional.latest!.createdAt).toBe('2026-03-01T01:50:00.000002Z');
  });
});
