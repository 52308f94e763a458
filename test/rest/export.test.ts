// GET /api/v1/graphs/{slug}/migrations/export and GET /api/v1/migrations/export over real sockets:
// both formats against what the test's own SQL says the history is, the whole of a large history
// in about one statement per 500 runs, a reader that stops (the reads stop with it) and one that
// goes away (no statement after), a database failing mid-body (an NDJSON error line, a CSV body
// without its last chunk), the list route's refusals, HEAD, and shutdown.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../src/domain/cursor.js';
import { adminQuery } from '../helpers/postgresAdmin.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, bulkWrite, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { CONTRACT_KEYS, MIGRATIONS, get, unsignedToken } from './support.js';
import { parseCsv, RawClient, settled } from './exportClient.js';

const MEMBER = randomUUID();
const OUTSIDER = randomUUID();
const EXPORT = (slug: string, query = '') => MIGRATIONS(slug, `/export${query}`);
const ALL_EXPORT = (query = '') => `/api/v1/migrations/export${query}`;
const PAGE = 500;
const SLOW_RUNS = 4_000;
const NDJSON = 'application/x-ndjson';
const CSV = 'text/csv; charset=utf-8; header=present';

/** A timestamp column as pydantic 2 wrote it, in SQL: UTC, six fractional digits or none on a whole second. */
const wire = (column: string) => `CASE WHEN ${column} IS NULL THEN NULL
  ELSE to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN extract(microseconds FROM ${column})::bigint % 1000000 = 0 THEN '' ELSE to_char(${column} AT TIME ZONE 'UTC', '.US') END
    || 'Z' END`;

type Row = Record<(typeof CONTRACT_KEYS)[number], string | number | null>;

/** The items the contract says the export holds, from the test's own SELECT (`where` over `r`, graphs `g`). */
async function expectedItems(service: TestService, where: string, parameters: unknown[] = []): Promise<Row[]> {
  const rows = await service.prisma.$queryRawUnsafe<Row[]>(
    `SELECT r.id::text AS id, r.graph_id::text AS graph_id, r.from_version, r.to_version, r.migration_id, r.status,
            ${wire('r.started_at')} AS started_at, ${wire('r.finished_at')} AS finished_at, r.error, r.workflow_run_id,
            ${wire('r.created_at')} AS created_at
     FROM graph_migration_runs r JOIN graphs g ON g.id = r.graph_id
     WHERE ${where}
     ORDER BY r.created_at DESC, r.id DESC`,
    ...parameters,
  );
  // In the contract's key order, whatever order the driver gives them in.
  return rows.map((row) => Object.fromEntries(CONTRACT_KEYS.map((key) => [key, row[key]])) as Row);
}

/** CSV as RFC 4180 writes it, independently of the service: quoted when needed, "" for an empty string, nothing for null. */
function csvOf(rows: Row[]): string {
  const field = (value: string | number | null) => {
    if (value === null) return '';
    const text = String(value);
    if (text === '') return '""';
    return /[",\r\n]/.test(text) ? `"${text.split('"').join('""')}"` : text;
  };
  return [CONTRACT_KEYS, ...rows.map((row) => CONTRACT_KEYS.map((key) => row[key]))]
    .map((record) => `${record.map(field).join(',')}\r\n`)
    .join('');
}

const ndjsonOf = (rows: Row[]) => rows.map((row) => `${JSON.stringify(row)}\n`).join('');

async function download(url: string, path: string, token?: string) {
  const response = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Inserts `count` runs of a graph in one statement: statuses in turn, pairs sharing an instant (ids decide), some nulls, `errorBytes` of error text. */
async function insertBulk(service: TestService, graphId: string, count: number, options: { newest?: string; errorBytes?: number } = {}) {
  await bulkWrite(
    service.prisma,
    (tx) =>
      tx.$executeRawUnsafe(
        `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
     SELECT gen_random_uuid(), $1::uuid, n, n + 1, 'bulk_' || n, (ARRAY['success','failed','running','pending','skipped'])[1 + n % 5],
            CASE WHEN n % 3 = 0 THEN NULL ELSE t + interval '1 second' END,
            CASE WHEN n % 4 = 0 THEN NULL ELSE t + make_interval(secs => 2.5) END,
            CASE WHEN $3::int > 0 THEN repeat('x', $3::int) WHEN n % 5 = 1 THEN 'failed at ' || n || ', "step" ' || n ELSE NULL END,
            CASE WHEN n % 2 = 0 THEN 'wf-' || n ELSE NULL END,
            t
     FROM generate_series(1, $4::int) AS n,
          LATERAL (SELECT $2::timestamptz - make_interval(secs => (n / 2) * 60) + make_interval(secs => ((n / 2) % 3) * 0.000125) AS t) AS at`,
        graphId,
        options.newest ?? '2026-06-01T00:00:00Z',
        options.errorBytes ?? 0,
        count,
      ),
    // The exports' data, loaded as a restore loads it: no change log or day counts (see bulkWrite).
    { restore: true },
  );
}

describe.each(DATABASE_KINDS)('the history export on %s', (kind) => {
  let service: TestService;
  let member: string;
  let outsider: string;
  let superuser: string;
  const graphs: Record<string, string> = {};
  const large = kind === 'postgres' ? 20_500 : 3_000;

  const statementCount = () => service.statements.length;

  beforeAll(async () => {
    service = await startTestService(kind);
    for (const slug of ['exported', 'empty', 'large', 'slow']) {
      graphs[slug] = (await insertGraph(service.prisma, { slug })).id;
      await addMember(service.prisma, graphs[slug]!, MEMBER);
    }
    graphs.other = (await insertGraph(service.prisma, { slug: 'other' })).id;
    graphs.gone = (await insertGraph(service.prisma, { slug: 'gone', status: 'deleted' })).id;
    await addMember(service.prisma, graphs.gone, MEMBER, 'admin');
    graphs.default = (await insertGraph(service.prisma, { slug: 'default', isDefault: true })).id;
    const exported = graphs.exported!;
    // The shapes a CSV or a timestamp can get wrong, on top of 1,200 runs (three pages).
    await insertRun(service.prisma, exported, {
      id: '00000000-0000-4000-8000-0000000000aa',
      createdAt: '2026-07-01T00:00:00Z',
      startedAt: '2026-07-01T00:00:01.5Z',
      finishedAt: '2026-07-01T00:00:03Z',
      status: 'failed',
      error: 'Schritt "Überführung", Zeile 3\nfehlgeschlagen\r\n— naïve ✓ 日本',
      workflowRunId: 'wf,"1"',
      migrationId: 'add "quoted", columns',
    });
    await insertRun(service.prisma, exported, {
      id: '00000000-0000-4000-8000-0000000000ab',
      createdAt: '2026-07-01T00:00:00Z',
      status: 'pending',
      error: '',
    });
    await insertRun(service.prisma, exported, { createdAt: '2026-06-30T23:59:59.000001Z', status: 'running', error: '=1+2' });
    await insertBulk(service, exported, 1_200);
    await insertBulk(service, graphs.other!, 40, { newest: '2026-06-15T00:00:00Z' });
    await insertBulk(service, graphs.gone!, 30);
    await insertBulk(service, graphs.default!, 7);
    await insertBulk(service, graphs.large!, large, { newest: '2025-01-01T00:00:00Z' });
    // Fat runs (8 kB each, 33 MB in all), so that what the sockets buffer (Linux on loopback: several MB
    // even when the reader reads nothing) is a fraction of the export.
    await insertBulk(service, graphs.slow!, SLOW_RUNS, { errorBytes: 8_000 });
    [member, outsider, superuser] = await Promise.all([
      service.token(MEMBER),
      service.token(OUTSIDER),
      service.token(randomUUID(), { isSuperuser: true }),
    ]);
  });
  afterAll(() => service?.close());

  describe('formats', () => {
    it('NDJSON: every run of the graph, newest first, each line the list route item', async () => {
      const expected = await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.exported]);
      expect(expected).toHaveLength(1_203);
      const answer = await download(service.url, EXPORT('exported'), member);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(NDJSON);
      expect(answer.headers.get('content-disposition')).toBe('attachment; filename="exported-migrations.ndjson"');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('content-length')).toBeNull();
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(answer.text).toBe(ndjsonOf(expected));
      // And the same items the list route serves, page for page.
      const firstPage = await get(service.url, MIGRATIONS('exported', '?limit=500'), { token: member });
      expect(answer.text.split('\n').slice(0, 500).join('\n')).toBe(firstPage.body.map((item: unknown) => JSON.stringify(item)).join('\n'));
      // ?format=ndjson is the default written out.
      expect((await download(service.url, EXPORT('exported', '?format=ndjson'), member)).text).toBe(answer.text);
    });

    it('CSV: a header row, CRLF, quoted fields, null empty, "" for an empty string, timestamps as the list route', async () => {
      const expected = await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.exported]);
      const answer = await download(service.url, EXPORT('exported', '?format=csv'), member);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(CSV);
      expect(answer.headers.get('content-disposition')).toBe('attachment; filename="exported-migrations.csv"');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.text).toBe(csvOf(expected));
      const records = parseCsv(answer.text);
      expect(records[0]).toEqual([...CONTRACT_KEYS]);
      expect(records).toHaveLength(expected.length + 1);
      // The awkward run, spelled out: tied at its instant, the larger id first.
      const lines = answer.text.split('\r\n');
      expect(lines[1]).toBe(
        '00000000-0000-4000-8000-0000000000ab,' +
          `${graphs.exported},1,2,m_00000000-0000-4000-8000-0000000000ab,pending,,,"",,2026-07-01T00:00:00Z`,
      );
      expect(records[2]).toEqual([
        '00000000-0000-4000-8000-0000000000aa',
        graphs.exported,
        '1',
        '2',
        'add "quoted", columns',
        'failed',
        '2026-07-01T00:00:01.500000Z',
        '2026-07-01T00:00:03Z',
        'Schritt "Überführung", Zeile 3\nfehlgeschlagen\r\n— naïve ✓ 日本',
        'wf,"1"',
        '2026-07-01T00:00:00Z',
      ]);
      expect(records[3]![8]).toBe('=1+2');
      expect(records[3]![10]).toBe('2026-06-30T23:59:59.000001Z');
      // UTF-8 without a byte order mark.
      const bytes = Buffer.from(
        await (
          await fetch(`${service.url}${EXPORT('exported', '?format=csv')}`, { headers: { authorization: `Bearer ${member}` } })
        ).arrayBuffer(),
      );
      expect(bytes.subarray(0, 3).toString('latin1')).toBe('id,');
      expect(bytes.toString('utf8')).toBe(answer.text);
    });

    it('an empty history: no line in NDJSON, the header row alone in CSV', async () => {
      const ndjson = await download(service.url, EXPORT('empty'), member);
      expect([ndjson.status, ndjson.text]).toEqual([200, '']);
      const csv = await download(service.url, EXPORT('empty', '?format=csv'), member);
      expect([csv.status, csv.text]).toEqual([200, `${CONTRACT_KEYS.join(',')}\r\n`]);
    });

    it('filters: status (repeated), since (inclusive), until (exclusive), together, as the list route reads them', async () => {
      const since = '2026-05-31T20:00:00.000125Z';
      const until = '2026-05-31T23:00:00Z';
      const cases: [string, string, unknown[]][] = [
        ['?status=failed', `r.graph_id = $1::uuid AND r.status = 'failed'`, []],
        ['?status=failed&status=running&status=failed', `r.graph_id = $1::uuid AND r.status IN ('failed', 'running')`, []],
        ['?status=no_such_state', 'r.graph_id = $1::uuid AND false', []],
        [`?since=${since}`, 'r.graph_id = $1::uuid AND r.created_at >= $2::timestamptz', [since]],
        [`?until=${until}`, 'r.graph_id = $1::uuid AND r.created_at < $2::timestamptz', [until]],
        [
          `?status=success&status=skipped&since=${encodeURIComponent('2026-05-31T22:00:00.000125+02:00')}&until=${until}&limit=1&cursor=ignored`,
          `r.graph_id = $1::uuid AND r.status IN ('success', 'skipped') AND r.created_at >= $2::timestamptz AND r.created_at < $3::timestamptz`,
          [since, until],
        ],
      ];
      for (const [query, where, parameters] of cases) {
        const expected = await expectedItems(service, where, [graphs.exported, ...parameters]);
        if (!where.endsWith('false')) expect(expected.length, query).toBeGreaterThan(0);
        expect((await download(service.url, EXPORT('exported', query), member)).text, query).toBe(ndjsonOf(expected));
        expect((await download(service.url, EXPORT('exported', `${query}&format=csv`), member)).text, query).toBe(csvOf(expected));
      }
    });

    it("every graph's runs for a superuser, deleted graphs left out, filtered as the list route", async () => {
      const expected = await expectedItems(service, `g.status <> 'deleted'`);
      expect(expected.some((row) => row.graph_id === graphs.gone)).toBe(false);
      const answer = await download(service.url, ALL_EXPORT(), superuser);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-disposition')).toBe('attachment; filename="migrations.ndjson"');
      expect(answer.text).toBe(ndjsonOf(expected));
      const failed = await expectedItems(service, `g.status <> 'deleted' AND r.status = 'failed' AND r.created_at >= $1::timestamptz`, [
        '2026-05-31T00:00:00Z',
      ]);
      const csv = await download(service.url, ALL_EXPORT('?status=failed&since=2026-05-31T00:00:00Z&format=csv'), superuser);
      expect(csv.headers.get('content-disposition')).toBe('attachment; filename="migrations.csv"');
      expect(csv.text).toBe(csvOf(failed));
    });

    it('the default graph is exported to any authenticated user', async () => {
      const expected = await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.default]);
      expect((await download(service.url, EXPORT('default'), outsider)).text).toBe(ndjsonOf(expected));
    });
  });

  describe('size', () => {
    it(`a large history (${large} runs): every run exactly once, in order, in one statement per ${PAGE} runs`, async () => {
      const expected = (await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.large])).map((row) => row.id);
      expect(expected).toHaveLength(large);
      service.statements.length = 0;
      const answer = await download(service.url, EXPORT('large'), member);
      const pages = Math.ceil(large / PAGE);
      // The graph's statement reads the first page; each further page is one statement.
      expect(statementCount()).toBe(pages);
      const ids = answer.text
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { id: string }).id);
      expect(new Set(ids).size).toBe(large);
      expect(ids).toEqual(expected);
      // The cross-graph export pages the same way (one statement per page, none for the access check).
      const all = (await expectedItems(service, `g.status <> 'deleted' AND r.status = 'failed'`)).map((row) => row.id);
      service.statements.length = 0;
      const allAnswer = await download(service.url, ALL_EXPORT('?status=failed'), superuser);
      expect(statementCount()).toBe(Math.ceil(all.length / PAGE));
      expect(
        allAnswer.text
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { id: string }).id),
      ).toEqual(all);
    });

    it('a reader that stops reading stops the reads; when it reads again, the export completes', async () => {
      const expected = (await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.slow])).map((row) => row.id);
      const pages = Math.ceil(expected.length / PAGE);
      service.statements.length = 0;
      const client = RawClient.open(service.url, EXPORT('slow'), { token: member, paused: true });
      // Reading nothing: the pages the socket buffers are read, then nothing more.
      const paused = await settled(statementCount, 1_000);
      expect(paused).toBeGreaterThanOrEqual(1);
      expect(paused).toBeLessThan(pages);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(statementCount()).toBe(paused);
      // Reading a little lets a little more be read, not the rest.
      await client.readAtLeast(5_000_000);
      const afterSome = await settled(statementCount, 1_000);
      expect(afterSome).toBeLessThan(pages);
      const answer = await client.finish();
      expect(answer.status).toBe(200);
      expect(answer.complete).toBe(true);
      expect(statementCount()).toBe(pages);
      expect(
        answer.body
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { id: string }).id),
      ).toEqual(expected);
    });

    it('a client that goes away mid-export: no statement after it left (but the one in flight)', async () => {
      const pages = Math.ceil(SLOW_RUNS / PAGE);
      for (const format of ['ndjson', 'csv']) {
        service.statements.length = 0;
        const client = RawClient.open(service.url, EXPORT('slow', `?format=${format}`), { token: member });
        await client.readAtLeast(100_000);
        const atDisconnect = statementCount();
        client.destroy();
        await client.closed;
        const after = await settled(statementCount, 1_000);
        expect(after, format).toBeLessThanOrEqual(atDisconnect + 1);
        expect(after, format).toBeLessThan(pages);
        // And the service goes on serving.
        expect((await get(service.url, MIGRATIONS('slow', '?limit=1'), { token: member })).status).toBe(200);
      }
    });
  });

  describe('a database failure', () => {
    /** Opens an export of the fat graph and waits, reading nothing, until its reads stop on backpressure. */
    async function pausedExport(query: string) {
      service.statements.length = 0;
      const client = RawClient.open(service.url, EXPORT('slow', query), { token: member, paused: true });
      const read = await settled(statementCount, 1_000);
      expect(read).toBeLessThan(Math.ceil(SLOW_RUNS / PAGE));
      return client;
    }

    /** The next page's statement fails (the table is gone), until the returned function puts it back. */
    async function breakTheTable() {
      await service.prisma.$executeRawUnsafe('ALTER TABLE graph_migration_runs RENAME TO graph_migration_runs_away');
      return () => service.prisma.$executeRawUnsafe('ALTER TABLE graph_migration_runs_away RENAME TO graph_migration_runs');
    }

    it('after the body started: NDJSON ends with an export_error line; its cursor continues on the list route', async () => {
      const client = await pausedExport('');
      const restore = await breakTheTable();
      let answer;
      try {
        answer = await client.finish();
      } finally {
        await restore();
      }
      expect(answer.status).toBe(200);
      // The response ends properly: the error line is the last thing in it.
      expect(answer.complete).toBe(true);
      const lines = answer.body.split('\n');
      expect(lines.at(-1)).toBe('');
      const last = JSON.parse(lines.at(-2)!) as { export_error: { status: number; detail: string; runs_sent: number; cursor: string } };
      const runs = lines.slice(0, -2).map((line) => JSON.parse(line) as { id: string; created_at: string });
      expect(runs.length % PAGE).toBe(0);
      expect(Object.keys(last)).toEqual(['export_error']);
      expect(last.export_error).toEqual({
        status: 500,
        detail: 'Internal Server Error',
        runs_sent: runs.length,
        cursor: expect.any(String),
      });
      const position = decodeCursor(last.export_error.cursor);
      expect(position.ok && position.position.id).toBe(runs.at(-1)!.id);
      // Nothing internal on the wire.
      expect(answer.body).not.toMatch(/graph_migration_runs|relation|SELECT/);
      const next = await get(service.url, MIGRATIONS('slow', `?limit=3&cursor=${last.export_error.cursor}`), { token: member });
      const expected = await expectedItems(service, 'r.graph_id = $1::uuid', [graphs.slow]);
      expect(next.body.map((item: { id: string }) => item.id)).toEqual(expected.slice(runs.length, runs.length + 3).map((row) => row.id));
    });

    it('after the body started: CSV ends without the terminating chunk, and fetch rejects the body', async () => {
      const client = await pausedExport('?format=csv');
      const restore = await breakTheTable();
      let answer;
      try {
        answer = await client.finish();
      } finally {
        await restore();
      }
      expect(answer.status).toBe(200);
      expect(answer.chunked).toBe(true);
      expect(answer.complete).toBe(false);
      expect(answer.body.startsWith(`${CONTRACT_KEYS.join(',')}\r\n`)).toBe(true);
      // A client library sees it as a failed transfer, not as an end.
      const response = await fetch(`${service.url}${EXPORT('slow', '?format=csv')}`, { headers: { authorization: `Bearer ${member}` } });
      const reader = response.body!.getReader();
      await reader.read();
      await settled(statementCount, 1_000);
      const restoreAgain = await breakTheTable();
      try {
        await expect(
          (async () => {
            for (;;) if ((await reader.read()).done) return 'ended';
          })(),
        ).rejects.toThrow();
      } finally {
        await restoreAgain();
      }
    });

    it('before the first byte: the JSON answer of the list route', async () => {
      const restore = await breakTheTable();
      try {
        for (const path of [EXPORT('exported'), EXPORT('exported', '?format=csv')]) {
          const answer = await get(service.url, path, { token: member });
          expect(answer.status).toBe(500);
          expect(answer.headers.get('content-type')).toBe('application/json');
          expect(answer.body).toEqual({ detail: 'Internal Server Error' });
        }
        const all = await get(service.url, ALL_EXPORT(), { token: superuser });
        expect([all.status, all.body]).toEqual([500, { detail: 'Internal Server Error' }]);
      } finally {
        await restore();
      }
    });

    it.runIf(kind === 'postgres')('the database refusing connections: 503 before the body, an error line of 503 after', async () => {
      const name = new URL(service.database.url!).pathname.slice(1);
      const cut = async () => {
        await adminQuery(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
        await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
      };
      const restore = () => adminQuery(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      const client = await pausedExport('');
      await cut();
      try {
        const answer = await client.finish();
        const lines = answer.body.split('\n');
        const last = JSON.parse(lines.at(-2)!) as { export_error: Record<string, unknown> };
        expect(last.export_error).toEqual({
          status: 503,
          detail: 'Database unavailable',
          runs_sent: lines.length - 2,
          cursor: expect.any(String),
        });
        const before = await get(service.url, EXPORT('exported'), { token: member });
        expect([before.status, before.body, before.headers.get('retry-after')]).toEqual([503, { detail: 'Database unavailable' }, '1']);
      } finally {
        await restore();
      }
      // The pool reconnects on its own.
      const deadline = Date.now() + 20_000;
      while ((await download(service.url, EXPORT('empty'), member)).status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect((await download(service.url, EXPORT('empty'), member)).status).toBe(200);
    });
  });

  describe('refusals, as the list route answers them', () => {
    /** The list route's answer to the same request, for comparing bodies byte for byte. */
    const listAnswer = (path: string, options: Parameters<typeof get>[2]) =>
      get(service.url, path.replace('/migrations/export', '/migrations'), options).then((answer) => [
        answer.status,
        answer.text,
        answer.headers.get('www-authenticate'),
      ]);
    const exportAnswer = (path: string, options: Parameters<typeof get>[2]) =>
      get(service.url, path, options).then((answer) => [answer.status, answer.text, answer.headers.get('www-authenticate')]);

    it('401 without a token or with a bad one (before 422), with WWW-Authenticate: Bearer', async () => {
      for (const options of [{}, { token: 'not-a-jwt' }, { token: unsignedToken({ sub: MEMBER, exp: 4102444800 }) }]) {
        for (const path of [EXPORT('exported', '?format=xml&since=yesterday'), ALL_EXPORT('?format=xml')]) {
          const answer = await exportAnswer(path, options);
          expect(answer[0]).toBe(401);
          expect(answer[2]).toBe('Bearer');
          expect(answer).toEqual(await listAnswer(path, options));
        }
      }
    });

    it('404 for an unknown or deleted graph, 403 for a non-member: the list route bodies', async () => {
      for (const [slug, token, status] of [
        ['no_such_graph', member, 404],
        ['gone', member, 404],
        ['exported', outsider, 403],
      ] as const) {
        const answer = await exportAnswer(EXPORT(slug), { token });
        expect(answer[0]).toBe(status);
        expect(answer).toEqual(await listAnswer(EXPORT(slug), { token }));
        expect((await exportAnswer(EXPORT(slug, '?format=csv'), { token }))[0]).toBe(status);
      }
    });

    it("403 for everyone but superusers on every graph's export", async () => {
      const answer = await get(service.url, ALL_EXPORT('?format=csv'), { token: member });
      expect([answer.status, answer.body]).toEqual([
        403,
        { detail: "Superusers only: every graph's history is not readable with this token" },
      ]);
      expect(await exportAnswer(ALL_EXPORT(), { token: member })).toEqual(await listAnswer(ALL_EXPORT(), { token: member }));
    });

    it('422: format as a Literal, with the filters as the list route validates them, in parameter order', async () => {
      const literal = (input: string) => ({
        type: 'literal_error',
        loc: ['query', 'format'],
        msg: "Input should be 'ndjson' or 'csv'",
        input,
        ctx: { expected: "'ndjson' or 'csv'" },
      });
      for (const raw of ['xml', 'CSV', 'json', '', ' csv']) {
        const answer = await get(service.url, EXPORT('exported', `?format=${encodeURIComponent(raw)}`), { token: member });
        expect([answer.status, answer.text]).toEqual([422, JSON.stringify({ detail: [literal(raw)] })]);
        expect(answer.headers.get('content-type')).toBe('application/json');
      }
      // The last of repeated ones counts.
      expect((await download(service.url, EXPORT('exported', '?format=xml&format=csv'), member)).status).toBe(200);
      expect((await get(service.url, EXPORT('exported', '?format=csv&format=xml'), { token: member })).status).toBe(422);
      // Filter items exactly as the list route's, then format's; a bad request on an unknown graph is a 422.
      const statuses = Array.from({ length: 11 }, (_, i) => `status=s${i}`).join('&');
      for (const filters of [
        `?${statuses}&since=yesterday&until=2026-01-01T00:00:00Z`,
        '?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
      ]) {
        for (const slug of ['exported', 'no_such_graph']) {
          const list = await get(service.url, MIGRATIONS(slug, filters), { token: member });
          expect(list.status).toBe(422);
          const answer = await get(service.url, EXPORT(slug, `${filters}&format=xml`), { token: member });
          expect(answer.status).toBe(422);
          expect(answer.body).toEqual({ detail: [...list.body.detail, literal('xml')] });
          expect(await exportAnswer(EXPORT(slug, filters), { token: member })).toEqual([422, list.text, null]);
        }
      }
      const all = await get(service.url, ALL_EXPORT('?format=tsv&until=later'), { token: member });
      expect(all.body.detail.map((item: { loc: string[] }) => item.loc[1])).toEqual(['until', 'format']);
    });

    it('405 for other methods', async () => {
      const response = await fetch(`${service.url}${EXPORT('exported')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${member}` },
      });
      expect([response.status, await response.json()]).toEqual([405, { detail: 'Method Not Allowed' }]);
    });
  });

  describe('HEAD', () => {
    it('answers the checks and the headers, and reads nothing of the history', async () => {
      service.statements.length = 0;
      const head = await fetch(`${service.url}${EXPORT('large', '?format=csv')}`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${member}` },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe(CSV);
      expect(head.headers.get('content-disposition')).toBe('attachment; filename="large-migrations.csv"');
      expect(head.headers.get('cache-control')).toBe('no-store');
      expect(await head.text()).toBe('');
      // The graph and the viewer's membership: one statement (a GET reads the first page in it too: see above).
      expect(service.statements).toHaveLength(1);
      service.statements.length = 0;
      const all = await fetch(`${service.url}${ALL_EXPORT()}`, { method: 'HEAD', headers: { authorization: `Bearer ${superuser}` } });
      expect([all.status, all.headers.get('content-type')]).toEqual([200, NDJSON]);
      expect(service.statements).toHaveLength(0);
      for (const [path, token, status] of [
        [EXPORT('exported'), outsider, 403],
        [EXPORT('gone'), member, 404],
        [ALL_EXPORT(), member, 403],
        [EXPORT('exported', '?format=x'), member, 422],
      ] as const) {
        expect((await fetch(`${service.url}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })).status, path).toBe(
          status,
        );
      }
    });
  });
});

describe.each(DATABASE_KINDS)('an export during shutdown on %s', (kind) => {
  it('does not keep the instance: a stalled export is cut when the drain times out, its body incomplete', async () => {
    const service = await startTestService(kind, { env: { SHUTDOWN_TIMEOUT_MS: '1000' } });
    let closed = false;
    try {
      const graph = await insertGraph(service.prisma, { slug: 'stalled' });
      await insertBulk(service, graph.id, 3_000, { errorBytes: 2_000 });
      const token = await service.token(randomUUID(), { isSuperuser: true });
      const client = RawClient.open(service.url, EXPORT('stalled'), { token, paused: true });
      await settled(() => service.statements.length, 1_000);
      const started = Date.now();
      await service.service.close();
      closed = true;
      expect(Date.now() - started).toBeLessThan(10_000);
      const answer = await client.finish();
      expect(answer.status).toBe(200);
      expect(answer.complete).toBe(false);
    } finally {
      if (closed) await service.database.drop();
      else await service.close();
    }
  });
});
