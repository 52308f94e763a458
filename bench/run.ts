// npm run bench: the service against the floor (bench/floor.ts), PostGraphile v5 (bench/postgraphile.ts)
// and a naive resolver (bench/naive.ts) on one realistic PostgreSQL data set, interleaved so machine
// drift cancels out. Every side's answers are compared before anything is timed; each side then gets an
// untimed warm-up per scenario, and each figure is the median of its rounds.
// Loopback only. Prints a table and writes bench/results/latest.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { FOLD_STATEMENT_MARK } from '../src/queries/migrationStats.js';
import { createDatabase } from '../src/database/client.js';
import { migrate } from '../src/database/migrate.js';
import { freePort } from '../test/helpers/net.js';
import { productionNodeArgs } from '../test/helpers/productionStart.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Untimed seconds per side per scenario before its rounds (PostGraphile 5.1 was still speeding up after 12 s: 216, 302, 384 req/s in its rounds). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const POOL_SIZE = '10';
const SECRET = randomBytes(32).toString('base64url');
const USER_ID = '11111111-2222-4333-8444-555555555555';
const root = new URL('..', import.meta.url).pathname;

const dbName = `gms_bench_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function log(message: string) {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function loadData(client: pg.Client) {
  // 1,000 graphs, 1,000,000 runs, skewed: 900 graphs with 10–100 runs, 95 with ~4,700, 5 with 100,000.
  await client.query(`SELECT setseed(0.42)`);
  await client.query(`
    INSERT INTO graphs (id, slug, name, type_version, created_at)
    SELECT gen_random_uuid(), 'graph_' || lpad(n::text, 4, '0'), 'Graph ' || n, 1, now() - interval '400 days'
    FROM generate_series(1, 1000) AS n`);
  await client.query(`
    CREATE TEMP TABLE sizes AS
    SELECT id, slug, n, CASE WHEN n <= 5 THEN 100000 WHEN n <= 100 THEN 0 ELSE 10 + floor(random() * 91)::int END AS runs
    FROM (SELECT id, slug, row_number() OVER (ORDER BY slug) AS n FROM graphs) g`);
  // The 95 mid-size graphs take what is left of exactly 1,000,000.
  await client.query(`
    UPDATE sizes SET runs = left_over / 95 + CASE WHEN n - 5 <= left_over % 95 THEN 1 ELSE 0 END
    FROM (SELECT 1000000 - sum(runs)::int AS left_over FROM sizes) t WHERE n BETWEEN 6 AND 100`);
  const { rows } = await client.query<{ total: string }>(`SELECT sum(runs)::text AS total FROM sizes`);
  await client.query(`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
    SELECT gen_random_uuid(), s.id, i, i + 1, 'migration_' || i,
      (ARRAY['success','success','success','failed','skipped','pending','running'])[1 + (i % 7)],
      ts + interval '1 second', ts + interval '42 seconds',
      CASE WHEN i % 7 = 3 THEN 'constraint violation on relation ' || i END,
      'wf-' || i, ts
    FROM sizes s, generate_series(1, s.runs) AS i,
    LATERAL (SELECT now() - make_interval(secs => i * 60) - (random() * interval '1 second') AS ts) t`);
  await client.query(`INSERT INTO graph_members (graph_id, user_id, role) SELECT id, '${USER_ID}', 'reader' FROM graphs`);
  await client.query(`ANALYZE`);
  return Number(rows[0]!.total);
}

/**
 * For PostGraphile, in the bench database only: its fairest one-statement form of "these 50 graphs by
 * id, in this order, each with its 100 newest runs". A STABLE SQL set-returning function becomes a
 * Query field (`graphsByIds`), the planner inlines it, and PostGraphile nests the runs into the same
 * statement as a correlated subquery per graph.
 */
async function addPostGraphileFunctions(client: pg.Client) {
  await client.query(`
    CREATE FUNCTION graphs_by_ids(ids uuid[]) RETURNS SETOF graphs LANGUAGE sql STABLE AS $$
      SELECT g.* FROM unnest(ids) WITH ORDINALITY AS k(id, ord) JOIN graphs g ON g.id = k.id ORDER BY k.ord
    $$`);
}

interface Proc {
  /** As printed in the table and written to latest.json. */
  name: string;
  child: ChildProcess;
  url: string;
  /** How a reference server reports the statements it has sent: GET /__statements, or a GraphQL field. */
  counter?: 'endpoint' | 'graphql';
  /** SQL statements logged so far (debug-level instances only). */
  sqlStatements?: () => number;
}

async function startProcess(name: string, args: string[], env: Record<string, string>, readyUrl?: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', APOLLO_TELEMETRY_DISABLED: 'true', DATABASE_URL: benchUrl, PORT: String(port), POOL_SIZE, ...env },
    stdio: ['ignore', env.LOG_LEVEL === 'debug' ? 'pipe' : 'ignore', 'inherit'],
  });
  let sqlStatements = 0;
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    // The statistics' fold (every 2 s, docs/decisions/0010) is the instance's own work, not a request's.
    for (const line of lines) if (line.includes('"component":"sql"') && !line.includes(FOLD_STATEMENT_MARK)) sqlStatements += 1;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}${readyUrl ?? '/'}`);
      if (readyUrl ? response.ok : response.status > 0) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { name, child, url, sqlStatements: () => sqlStatements };
}

/** Statements a reference server has sent so far (each counts its own). */
async function statementsSent(proc: Proc): Promise<number | undefined> {
  if (proc.counter === 'endpoint') return ((await (await fetch(`${proc.url}/__statements`)).json()) as { statements: number }).statements;
  if (proc.counter === 'graphql') {
    const response = await fetch(`${proc.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ statements }"}',
    });
    return ((await response.json()) as { data: { statements: number } }).data.statements;
  }
  return undefined;
}

/**
 * The service has no statement counter of its own: a second instance of the same build runs with
 * LOG_LEVEL=debug, which logs every SQL statement, and the same requests are replayed against it one
 * at a time; its log lines are counted.
 */
async function serviceStatementsPerRequest(calibration: Proc, makeRequest: RequestFactory, samples = 20): Promise<number> {
  const before = calibration.sqlStatements!();
  for (let i = 0; i < samples; i++) {
    const { method, path, body, headers } = makeRequest();
    const response = await fetch(`${calibration.url}${path}`, { method, body, headers });
    if (!response.ok) throw new Error(`calibration request failed: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // the last log lines
  return (calibration.sqlStatements!() - before) / samples;
}

interface Measurement {
  server: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statementsPerRequest: number;
}

type RequestFactory = () => { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> };

async function measure(proc: Proc, makeRequest: RequestFactory, serviceStatements: number, duration = DURATION): Promise<Measurement> {
  const before = await statementsSent(proc);
  const result = await autocannon({
    url: proc.url,
    connections: CONNECTIONS,
    duration,
    requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, ...makeRequest() }) }],
  });
  const after = await statementsSent(proc);
  const requests = result.requests.total;
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    server: proc.name,
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
    statementsPerRequest: before === undefined || after === undefined ? serviceStatements : requests ? (after - before) / requests : 0,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One server's rounds as one line: the median of the rounds for req/s, p50 and p99 (each on its own),
 * so one disturbed round moves nothing; requests and errors summed; statements per request over all.
 */
function combine(runs: Measurement[]): Measurement {
  const sum = (pick: (m: Measurement) => number) => runs.reduce((total, m) => total + pick(m), 0);
  const requests = sum((m) => m.requests);
  return {
    server: runs[0]!.server,
    requests,
    rps: median(runs.map((m) => m.rps)),
    p50: median(runs.map((m) => m.p50)),
    p99: median(runs.map((m) => m.p99)),
    errors: sum((m) => m.errors),
    statementsPerRequest: sum((m) => m.statementsPerRequest * m.requests) / Math.max(requests, 1),
  };
}

function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

/** One request whose answer must be a 2xx and, for GraphQL, carry no errors. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answer check reads each side's own JSON shape
async function answer(proc: Proc, request: ReturnType<RequestFactory>): Promise<any> {
  const response = await fetch(`${proc.url}${request.path}`, { method: request.method, body: request.body, headers: request.headers });
  const text = await response.text();
  if (!response.ok) throw new Error(`${proc.name} ${request.method} ${request.path}: ${response.status} ${text.slice(0, 500)}`);
  const json = JSON.parse(text);
  if (json && typeof json === 'object' && 'errors' in json)
    throw new Error(`${proc.name} ${request.path}: ${JSON.stringify(json.errors).slice(0, 500)}`);
  return json;
}

/** Throws unless every side's list of run ids is the same, in the same order, and as long as expected. */
function assertSameIds(what: string, expectedLength: number, answers: Record<string, string[]>) {
  const entries = Object.entries(answers);
  const [referenceName, reference] = entries[0]!;
  const show = (ids: string[]) => `${ids.length} ids [${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}]`;
  for (const [name, ids] of entries) {
    if (ids.length !== expectedLength)
      throw new Error(`answers check failed for ${what}: ${name} returned ${show(ids)}, expected ${expectedLength}`);
    const at = ids.findIndex((id, i) => id !== reference[i]);
    if (at >= 0)
      throw new Error(
        `answers check failed for ${what}: ${name} differs from ${referenceName} at position ${at}: ${show(ids)} vs ${show(reference)}`,
      );
  }
}

async function main() {
  const started = Date.now();
  log(`creating database ${dbName}`);
  await admin(`CREATE DATABASE "${dbName}"`);
  const procs: Proc[] = [];
  const stats = new pg.Client({ connectionString: benchUrl });
  try {
    const database = await createDatabase({ kind: 'postgres', url: benchUrl, poolSize: 2 });
    await migrate(database);
    await database.close();
    await stats.connect();
    log('loading 1,000 graphs and 1,000,000 runs');
    const totalRuns = await loadData(stats);
    await addPostGraphileFunctions(stats);
    const graphs = (await stats.query<{ id: string; slug: string; runs: number }>(`SELECT id, slug, runs FROM sizes`)).rows;
    const largest = graphs.filter((g) => g.runs === 100000)[0]!;
    const smallest = graphs.find((g) => g.runs === 10) ?? graphs.reduce((a, b) => (a.runs <= b.runs ? a : b));
    log(`loaded ${totalRuns} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`);

    log('building the service (npm run build)');
    await new Promise<void>((resolve, reject) =>
      spawn('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`build failed (${code})`)),
      ),
    );
    const token = await signAccessToken(SECRET, { sub: USER_ID, expiresIn: '2h' });
    // The service runs as the README's production command (`npm run start:prod`) runs it, flags included.
    const productionArgs = productionNodeArgs();
    log(`service: node ${productionArgs.join(' ')}`);
    const service = await startProcess(
      'service',
      productionArgs,
      {
        NODE_ENV: 'production',
        AUTH_JWT_SECRET: SECRET,
        DATABASE_POOL_SIZE: POOL_SIZE,
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
      },
      '/readyz',
    );
    const calibration = await startProcess(
      'calibration',
      productionArgs,
      {
        NODE_ENV: 'production',
        AUTH_JWT_SECRET: SECRET,
        DATABASE_POOL_SIZE: '2',
        LOG_LEVEL: 'debug',
        HOST: '127.0.0.1',
      },
      '/readyz',
    );
    const floor: Proc = { ...(await startProcess('floor', ['--import', 'tsx', 'bench/floor.ts'], {})), counter: 'endpoint' };
    const naive: Proc = { ...(await startProcess('naive', ['--import', 'tsx', 'bench/naive.ts'], {})), counter: 'graphql' };
    // Labelled with the version actually installed, so the table says which PostGraphile it measured.
    const postgraphileVersion = (
      JSON.parse(readFileSync(new URL('../node_modules/postgraphile/package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    const postgraphile: Proc = {
      ...(await startProcess(`PostGraphile ${postgraphileVersion}`, ['--import', 'tsx', 'bench/postgraphile.ts'], {
        GRAPHILE_ENV: 'production',
      })),
      counter: 'endpoint',
    };
    procs.push(service, calibration, floor, naive, postgraphile);
    // A fresh copy per request: autocannon writes Content-Length into the headers object it is given.
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'apollo-require-preflight': 'true' };

    const restPath = (slug: string, limit: number) => `/api/v1/graphs/${slug}/migrations?limit=${limit}`;
    const statsQuery = (durations: boolean) =>
      `query($slug: String!) { graph(slug: $slug) { migrationStats { total byStatus { status count } latest { id status createdAt } latestSuccess { id } latestFailure { id }${durations ? ' durationSeconds { p50 p95 max }' : ''} } } }`;
    const statsRequest = (slug: string, durations: boolean) => ({
      method: 'POST' as const,
      path: '/graphql',
      headers: { ...auth },
      body: JSON.stringify({ query: statsQuery(durations), variables: { slug } }),
    });
    const singleQuery = `query($slug: String!) { graph(slug: $slug) { migrations(limit: 100) { id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt } } }`;
    const entitiesQuery = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { id migrations(limit: 100) { id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt } } } }`;
    // PostGraphile (amber preset): `id` is `rowId`; graphBySlug comes from the @unique smart tag and
    // graphsByIds from the function added above. Same columns, same order, same limit as the service.
    const pglRunFields = `rowId graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt`;
    const pglRuns = `graphMigrationRunsByGraphId(first: 100, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { ${pglRunFields} } }`;
    const pglSingleQuery = `query($slug: String!) { graphBySlug(slug: $slug) { ${pglRuns} } }`;
    const pglEntitiesQuery = `query($ids: [UUID]!) { graphsByIds(ids: $ids) { nodes { rowId ${pglRuns} } } }`;
    const sample50 = () => Array.from({ length: 50 }, () => pick(graphs));
    const json = { 'content-type': 'application/json' };
    const single = {
      service: (slug: string) => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...auth },
        body: JSON.stringify({ query: singleQuery, variables: { slug } }),
      }),
      postgraphile: (slug: string) => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...json },
        body: JSON.stringify({ query: pglSingleQuery, variables: { slug } }),
      }),
      floor: (slug: string) => ({ method: 'GET' as const, path: restPath(slug, 100) }),
    };
    const fifty = {
      service: (ids: string[]) => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...auth },
        body: JSON.stringify({ query: entitiesQuery, variables: { r: ids.map((id) => ({ __typename: 'Graph', id })) } }),
      }),
      naive: (ids: string[]) => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...json },
        body: JSON.stringify({ query: entitiesQuery, variables: { r: ids.map((id) => ({ __typename: 'Graph', id })) } }),
      }),
      postgraphile: (ids: string[]) => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...json },
        body: JSON.stringify({ query: pglEntitiesQuery, variables: { ids } }),
      }),
      floor: (ids: string[]) => ({
        method: 'POST' as const,
        path: '/entities',
        headers: { ...json },
        body: JSON.stringify({ ids, limit: 100 }),
      }),
    };

    // Before timing anything: every side must return the same runs in the same order.
    log('checking that all sides return the same runs');
    const pglStatements: number[] = [];
    const viaPostGraphile = async (request: ReturnType<RequestFactory>) => {
      const before = (await statementsSent(postgraphile))!;
      const result = await answer(postgraphile, request);
      pglStatements.push((await statementsSent(postgraphile))! - before);
      return result;
    };
    const midSize = graphs.find((g) => g.runs > 1000 && g.runs < 100000)!;
    for (const graph of [largest, midSize, smallest, pick(graphs), pick(graphs)]) {
      const serviceIds = (await answer(service, single.service(graph.slug))).data.graph.migrations.map((r: { id: string }) => r.id);
      const pglIds = (await viaPostGraphile(single.postgraphile(graph.slug))).data.graphBySlug.graphMigrationRunsByGraphId.nodes.map(
        (r: { rowId: string }) => r.rowId,
      );
      const floorIds = (await answer(floor, single.floor(graph.slug))).map((r: { id: string }) => r.id);
      assertSameIds(`graph(slug: "${graph.slug}") (${graph.runs} runs)`, Math.min(graph.runs, 100), {
        service: serviceIds,
        postgraphile: pglIds,
        floor: floorIds,
      });
    }
    const checkSample = [largest, smallest, midSize, ...sample50()].slice(0, 50);
    const checkIds = checkSample.map((g) => g.id);
    const serviceEntities = (await answer(service, fifty.service(checkIds))).data._entities as {
      id: string;
      migrations: { id: string }[];
    }[];
    const naiveEntities = (await answer(naive, fifty.naive(checkIds))).data._entities as { id: string; migrations: { id: string }[] }[];
    const pglGraphs = (await viaPostGraphile(fifty.postgraphile(checkIds))).data.graphsByIds.nodes as {
      rowId: string;
      graphMigrationRunsByGraphId: { nodes: { rowId: string }[] };
    }[];
    const floorRows = (await answer(floor, fifty.floor(checkIds))) as { ord: string; id: string; graph_id: string }[];
    const floorByGraph = checkIds.map(() => [] as string[]);
    for (const row of floorRows) floorByGraph[Number(row.ord) - 1]!.push(row.id);
    if (serviceEntities.length !== 50 || naiveEntities.length !== 50 || pglGraphs.length !== 50) {
      throw new Error(
        `answers check failed for 50 graphs: service ${serviceEntities.length}, naive ${naiveEntities.length}, postgraphile ${pglGraphs.length} graphs`,
      );
    }
    checkSample.forEach((graph, i) => {
      const sides = { service: serviceEntities[i]!.id, naive: naiveEntities[i]!.id, postgraphile: pglGraphs[i]!.rowId };
      for (const [name, id] of Object.entries(sides))
        if (id !== graph.id)
          throw new Error(`answers check failed for 50 graphs: ${name} has graph ${id} at position ${i}, expected ${graph.id}`);
      assertSameIds(`50 graphs, graph ${i} ${graph.slug} (${graph.runs} runs)`, Math.min(graph.runs, 100), {
        service: serviceEntities[i]!.migrations.map((r) => r.id),
        naive: naiveEntities[i]!.migrations.map((r) => r.id),
        postgraphile: pglGraphs[i]!.graphMigrationRunsByGraphId.nodes.map((r) => r.rowId),
        floor: floorByGraph[i]!,
      });
    });
    // The statistics against the database's own count and percentile, before they are timed.
    {
      const answered = (await answer(service, statsRequest(largest.slug, true))).data.graph.migrationStats;
      const truth = (
        await stats.query<{ total: number; p50: number }>(
          `SELECT count(*)::int AS total, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)::float8) AS p50
           FROM graph_migration_runs WHERE graph_id = $1`,
          [largest.id],
        )
      ).rows[0]!;
      if (answered.total !== truth.total || Math.abs(answered.durationSeconds.p50 - truth.p50) > 1e-9)
        throw new Error(`answers check failed for the statistics: ${JSON.stringify(answered)} vs ${JSON.stringify(truth)}`);
    }
    log(
      `answers match; PostGraphile sent ${pglStatements.join(', ')} statement(s) for the check requests (graphBySlug ×5, graphsByIds ×1)`,
    );

    const scenarios: { name: string; contestants: [Proc, RequestFactory][] }[] = [
      {
        name: 'REST limit=100, random slugs',
        contestants: [
          [service, () => ({ method: 'GET', path: restPath(pick(graphs).slug, 100), headers: { ...auth } })],
          [floor, () => ({ method: 'GET', path: restPath(pick(graphs).slug, 100) })],
        ],
      },
      {
        name: 'GraphQL graph(slug) migrations(limit: 100)',
        contestants: [
          [service, () => single.service(pick(graphs).slug)],
          [postgraphile, () => single.postgraphile(pick(graphs).slug)],
          [floor, () => single.floor(pick(graphs).slug)],
        ],
      },
      {
        name: '_entities x50, migrations(limit: 100)',
        contestants: [
          [service, () => fifty.service(sample50().map((g) => g.id))],
          [postgraphile, () => fifty.postgraphile(sample50().map((g) => g.id))],
          [naive, () => fifty.naive(sample50().map((g) => g.id))],
          [floor, () => fifty.floor(sample50().map((g) => g.id))],
        ],
      },
      {
        name: 'REST limit=10: 100,000-run graph vs 10-run graph',
        contestants: [
          [
            { ...service, name: 'service (100,000 runs)' },
            () => ({ method: 'GET', path: restPath(largest.slug, 10), headers: { ...auth } }),
          ],
          [{ ...service, name: 'service (10 runs)' }, () => ({ method: 'GET', path: restPath(smallest.slug, 10), headers: { ...auth } })],
        ],
      },
      {
        // Counts and latest runs come from the per-day counts (docs/decisions/0010); the durations read every run.
        name: 'statistics of the 100,000-run graph vs a page of it',
        contestants: [
          [{ ...service, name: 'service (stats, no durations)' }, () => statsRequest(largest.slug, false)],
          [{ ...service, name: 'service (page of 100)' }, () => single.service(largest.slug)],
          [{ ...service, name: 'service (stats with durations)' }, () => statsRequest(largest.slug, true)],
        ],
      },
    ];

    const results: {
      scenario: string;
      /** Per server: the median of its rounds (see combine). */
      measurements: Measurement[];
      /** Per server: its untimed warm-up (none with BENCH_WARMUP=0). */
      warmups: Measurement[];
      /** Per server: every timed round, in the order run. */
      rounds: Record<string, Measurement[]>;
      /** Per ratio: the median of roundRatios. */
      ratios: Record<string, number>;
      roundRatios: Record<string, number[]>;
    }[] = [];
    for (const scenario of scenarios) {
      log(`scenario: ${scenario.name}`);
      const runs = new Map<string, Measurement[]>();
      const warmups: Measurement[] = [];
      const serviceStatements = await serviceStatementsPerRequest(calibration, scenario.contestants[0]![1]);
      // Untimed: each side first runs the scenario's own requests long enough to reach its pace (JIT,
      // plan caches, pools), so that its first timed round is not a warm-up. The rounds after it still
      // alternate the sides, so drift on the shared machine cancels out.
      if (WARMUP > 0)
        for (const [proc, makeRequest] of scenario.contestants) {
          const warmup = await measure(proc, makeRequest, serviceStatements, WARMUP);
          warmups.push(warmup);
          log(`  warm-up ${proc.name}: ${warmup.rps.toFixed(0)} req/s over ${WARMUP} s`);
        }
      for (let round = 0; round < ROUNDS; round++) {
        for (const [proc, makeRequest] of scenario.contestants) {
          const measurement = await measure(proc, makeRequest, serviceStatements);
          runs.set(proc.name, [...(runs.get(proc.name) ?? []), measurement]);
          log(`  round ${round + 1}/${ROUNDS} ${proc.name}: ${measurement.rps.toFixed(0)} req/s, p99 ${measurement.p99} ms`);
        }
      }
      const measurements = [...runs.values()].map(combine);
      // Each ratio is the median of the rounds' own ratios: a round's sides ran back to back, so the
      // machine's drift between rounds cancels (a ratio of medians would mix rounds).
      const ratios: Record<string, number> = {};
      const roundRatios: Record<string, number[]> = {};
      const [svcRounds, ...otherRounds] = [...runs.values()];
      for (const rounds of otherRounds) {
        for (const metric of ['rps', 'p50', 'p99'] as const) {
          const name = `${metric} ${svcRounds![0]!.server}/${rounds[0]!.server}`;
          roundRatios[name] = rounds.map((other, i) => svcRounds![i]![metric] / other[metric]);
          ratios[name] = median(roundRatios[name]);
        }
      }
      results.push({ scenario: scenario.name, measurements, warmups, rounds: Object.fromEntries(runs), ratios, roundRatios });
    }

    const rssMb = peakRssMb(service.child.pid!);
    const peakRss: Record<string, number> = Object.fromEntries(
      [service, postgraphile, floor, naive].map((p) => [p.name, peakRssMb(p.child.pid!)]),
    );
    // A side whose first round is its slowest may not have been warm yet (or it is chance: for a warm
    // side, one run in BENCH_ROUNDS); said in the output rather than hidden by the median.
    const firstRoundSlowest = results.flatMap((r) =>
      Object.entries(r.rounds)
        .filter(([, rounds]) => rounds.length > 1 && rounds.slice(1).every((m) => m.rps > rounds[0]!.rps))
        .map(([server]) => `${r.scenario}: ${server}`),
    );
    const report = {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      settings: {
        durationSeconds: DURATION,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        /** Each server's figures are the median of its rounds. */
        aggregate: 'median',
        connections: CONNECTIONS,
        poolSize: Number(POOL_SIZE),
        graphs: graphs.length,
        runs: totalRuns,
      },
      versions: { postgraphile: postgraphileVersion },
      servicePeakRssMb: rssMb,
      /** Peak RSS (VmHWM) per server process; floor, naive and postgraphile run under tsx's loader. */
      peakRssMb: peakRss,
      /** Statements PostGraphile sent for each check request (graphBySlug ×5, then graphsByIds ×1). */
      postgraphileCheckStatements: pglStatements,
      /** Scenario and server whose first timed round was the slowest of its rounds. */
      firstRoundSlowest,
      results,
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(new URL('results/latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);

    const roundHeads = Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`);
    const lines = [
      `Median of ${ROUNDS} rounds of ${DURATION} s per server, after ${WARMUP} s of warm-up per server per scenario.`,
      '',
      `| scenario | server | req/s | p50 ms | p99 ms | SQL/req | errors |`,
      `|---|---|---:|---:|---:|---:|---:|`,
      ...results.flatMap((r) =>
        r.measurements.map(
          (m) =>
            `| ${r.scenario} | ${m.server} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.statementsPerRequest.toFixed(2)} | ${m.errors} |`,
        ),
      ),
      '',
      `Every round, req/s (p99 ms), in the order run; the median is the table's figure:`,
      '',
      `| scenario | server | warm-up | ${roundHeads.join(' | ')} | median |`,
      `|---|---|---:|${roundHeads.map(() => '---:|').join('')}---:|`,
      ...results.flatMap((r) =>
        r.measurements.map((m) => {
          const warmup = r.warmups.find((w) => w.server === m.server);
          const rounds = r.rounds[m.server]!.map((round) => `${round.rps.toFixed(0)} (${round.p99.toFixed(1)})`);
          return `| ${r.scenario} | ${m.server} | ${warmup ? warmup.rps.toFixed(0) : '–'} | ${rounds.join(' | ')} | ${m.rps.toFixed(0)} (${m.p99.toFixed(1)}) |`;
        }),
      ),
      '',
      `| scenario | ratio (median of the rounds' ratios) | value | rounds |`,
      `|---|---|---:|---|`,
      ...results.flatMap((r) =>
        Object.entries(r.ratios).map(
          ([name, value]) =>
            `| ${r.scenario} | ${name} | ${value.toFixed(2)} | ${r.roundRatios[name]!.map((x) => x.toFixed(2)).join(', ')} |`,
        ),
      ),
      '',
      `Peak RSS (VmHWM): ${Object.entries(peakRss)
        .map(([name, mb]) => `${name} ${mb} MB`)
        .join(', ')} (floor, naive and postgraphile include the tsx loader). PostGraphile ${postgraphileVersion}.`,
      `${report.machine.cores} cores, Node ${process.version}, ${WARMUP} s warm-up then ${DURATION} s × ${ROUNDS} rounds per server (median), ${CONNECTIONS} connections, pool ${POOL_SIZE}.`,
      firstRoundSlowest.length
        ? `First round the slowest of ${ROUNDS} for: ${firstRoundSlowest.join('; ')} (not warm enough, or chance; try a longer BENCH_WARMUP).`
        : `No server's first round was its slowest.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    for (const proc of procs) proc.child.kill('SIGTERM');
    await stats.end().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    log('done');
  }
}

await main();
