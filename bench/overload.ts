// npm run bench:overload: the production build under 10× its capacity, 1,000 connections for 10 s
// with a 10 s client timeout (autocannon), on two loads: REST limit=500 alone, and REST limit=500 +
// GraphQL migrations(limit: 100) mixed half and half (random slugs of 1,000 graphs × 200 runs); a
// third, REST limit=100, on request (OVERLOAD_LOADS). Each
// side is the same build (`node dist/main.js`) with other load-shedding settings (docs/decisions/0006):
//   off        every bound 0 and Node's one accepting handle: the old behaviour (pg-pool's unbounded queue,
//              bounded by the 2 s connect timeout)
//   defaults   the shipped defaults: in-flight bound, pool wait queue, event-loop delay and heap backstops
//   pool-only  the pool wait queue alone (no bound at the door)
//   door-only  the in-flight bound and the under-pressure backstops alone (pg-pool's old queue)
// Sides run interleaved, round by round, so the shared machine's drift falls on all of them. Printed
// per run: served (200) count and p50/p99, refusals (503) count and p50/p99, client timeouts, other
// errors, the instance's peak RSS so far (VmHWM); then medians over rounds. Knobs: OVERLOAD_ROUNDS
// (2), OVERLOAD_DURATION (10 s), OVERLOAD_CONNECTIONS (1000), OVERLOAD_BASELINE (16: each run is paired
// with one at that many connections, and the goodput, served at 1,000 ÷ served at 16, is printed;
// 0: none), OVERLOAD_LOADS (comma-separated of
// rest500, mixed, rest100; default rest500,mixed; a number: that many of the default), OVERLOAD_SIDES (comma-separated, default all
// four), OVERLOAD_EXTRA (more sides: 'name:VAR=value,VAR=value;…', then named in OVERLOAD_SIDES; a
// side's BENCH_NODE_FLAGS sets its runtime flags, BENCH_NODE and BENCH_ROOT its Node and checkout;
// bench/instances.ts).
// Writes bench/results/overload-latest.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { createDatabase } from '../src/database/client.js';
import { migrate } from '../src/database/migrate.js';
import { startSide, type Side } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.OVERLOAD_ROUNDS ?? 2);
const DURATION = Number(process.env.OVERLOAD_DURATION ?? 10);
const CONNECTIONS = Number(process.env.OVERLOAD_CONNECTIONS ?? 1000);
// Goodput: each run at CONNECTIONS is paired with one at this many (what the instance serves
// unloaded), and the ratio of what each served is printed; 0 leaves it out.
const BASELINE = Number(process.env.OVERLOAD_BASELINE ?? 16);
const CLIENT_TIMEOUT_S = 10;
const GRAPHS = 1_000;
const RUNS_PER_GRAPH = 200;
const SECRET = randomBytes(32).toString('base64url');
const USER_ID = '11111111-2222-4333-8444-555555555555';
const root = new URL('..', import.meta.url).pathname;
const dbName = `gms_overload_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

const OFF = {
  DATABASE_POOL_QUEUE_MAX: '0',
  DATABASE_POOL_QUEUE_TIMEOUT_MS: '0',
  OVERLOAD_MAX_IN_FLIGHT: '0',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_HEAP_PERCENT: '0',
  HTTP_ACCEPT_HANDLES: '1',
};
const ALL_SIDES: Record<string, Record<string, string>> = {
  off: OFF,
  defaults: {},
  'pool-only': { OVERLOAD_MAX_IN_FLIGHT: '0', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_HEAP_PERCENT: '0' },
  'door-only': { DATABASE_POOL_QUEUE_MAX: '0', DATABASE_POOL_QUEUE_TIMEOUT_MS: '0' },
};

const log = (message: string) => console.error(`[overload ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function admin(sql: string, database = ADMIN_URL) {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Run {
  side: string;
  load: string;
  round: number;
  connections: number;
  served: number;
  servedP50: number;
  servedP99: number;
  refused: number;
  refusedP50: number;
  refusedP99: number;
  timeouts: number;
  /** Socket errors other than timeouts, and answers other than 200 and 503. */
  errors: number;
  /** /healthz answered during the load (one probe a second), and its slowest answer. */
  healthzOk: number;
  healthzMaxMs: number;
  /** The machine's 1-minute load average when the run ended (2 cores, shared). */
  load1: number;
  /** The instance's peak resident memory since it started (VmHWM), when the run ended. */
  peakRssMb: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : NaN;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

type RequestFactory = () => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string };

async function measure(side: Side, load: string, round: number, makeRequest: RequestFactory, connections = CONNECTIONS): Promise<Run> {
  const latencies = new Map<number, number[]>();
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: side.url!,
        connections,
        duration: DURATION,
        timeout: CLIENT_TIMEOUT_S,
        requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, ...makeRequest() }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    let list = latencies.get(statusCode);
    if (!list) latencies.set(statusCode, (list = []));
    list.push(responseTime);
  });
  // The liveness probe an orchestrator would send meanwhile, once a second, from a process of its own
  // (this one's event loop is busy with 1,000 connections): curl with a 5 s timeout.
  let healthzOk = 0;
  let healthzMaxMs = 0;
  const probe = setInterval(() => {
    const curl = spawn('curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code} %{time_total}', `${side.url}/healthz`]);
    let output = '';
    curl.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    curl.on('close', () => {
      const [code, seconds] = output.split(' ');
      if (code === '200') healthzOk += 1;
      healthzMaxMs = Math.max(healthzMaxMs, Number(seconds ?? 5) * 1000);
    });
  }, 1_000);
  const result = await finished;
  clearInterval(probe);
  const sorted = (status: number) => (latencies.get(status) ?? []).sort((a, b) => a - b);
  const served = sorted(200);
  const refused = sorted(503);
  const others = [...latencies.entries()].filter(([status]) => status !== 200 && status !== 503).reduce((n, [, l]) => n + l.length, 0);
  return {
    side: side.name,
    load,
    round,
    connections,
    served: served.length,
    servedP50: percentile(served, 0.5),
    servedP99: percentile(served, 0.99),
    refused: refused.length,
    refusedP50: percentile(refused, 0.5),
    refusedP99: percentile(refused, 0.99),
    timeouts: result.timeouts,
    errors: Math.max(0, result.errors - result.timeouts) + others,
    healthzOk,
    healthzMaxMs,
    load1: os.loadavg()[0]!,
    peakRssMb: Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${side.child!.pid}/status`, 'utf8'))?.[1]) / 1024,
  };
}

const ms = (value: number) => (Number.isNaN(value) ? '–' : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`);
const row = (r: Omit<Run, 'round' | 'load' | 'connections'> & { round: number | string }) =>
  `| ${r.side} | ${r.round} | ${r.served} | ${ms(r.servedP50)} | ${ms(r.servedP99)} | ${r.refused} | ${ms(r.refusedP50)} | ${ms(r.refusedP99)} | ${r.timeouts} | ${r.errors} | ${r.healthzOk}/${DURATION - 1}, max ${ms(r.healthzMaxMs)} | ${r.load1.toFixed(1)} | ${Math.round(r.peakRssMb)} MB |`;

async function main() {
  const started = Date.now();
  // Extra sides to explore settings: OVERLOAD_EXTRA='name:VAR=value,VAR=value;name2:…'.
  for (const entry of (process.env.OVERLOAD_EXTRA ?? '').split(';').filter(Boolean)) {
    const [name, settings = ''] = entry.split(':');
    ALL_SIDES[name!] = Object.fromEntries(
      settings
        .split(',')
        .filter(Boolean)
        // At the first '=': a value may hold more (BENCH_NODE_FLAGS=--max-semi-space-size=16 --heap-growing-percent=50).
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    );
  }
  const sideNames = (process.env.OVERLOAD_SIDES ?? Object.keys(ALL_SIDES).join(',')).split(',').map((name) => name.trim());
  for (const name of sideNames)
    if (!ALL_SIDES[name]) throw new Error(`OVERLOAD_SIDES: unknown side ${name} (${Object.keys(ALL_SIDES).join(', ')})`);
  const sides: Side[] = sideNames.map((name) => ({ name, env: ALL_SIDES[name]! }));
  log(`creating database ${dbName}`);
  await admin(`CREATE DATABASE "${dbName}"`);
  try {
    const database = await createDatabase({ kind: 'postgres', url: benchUrl, poolSize: 1 });
    await migrate(database);
    await database.close();
    log(`loading ${GRAPHS} graphs × ${RUNS_PER_GRAPH} runs`);
    await admin(
      `INSERT INTO graphs (id, slug, name) SELECT gen_random_uuid(), 'graph_' || lpad(n::text, 4, '0'), 'Graph ' || n FROM generate_series(1, ${GRAPHS}) AS n;
       INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, workflow_run_id, created_at)
       SELECT gen_random_uuid(), g.id, i, i + 1, 'migration_' || i, (ARRAY['success','failed','running','pending'])[1 + i % 4],
              now() - make_interval(secs => i * 60) + interval '1 second', now() - make_interval(secs => i * 60) + interval '9 seconds',
              'wf-' || i, now() - make_interval(secs => i * 60)
       FROM graphs g, generate_series(1, ${RUNS_PER_GRAPH}) AS i;
       INSERT INTO graph_members (graph_id, user_id, role) SELECT id, '${USER_ID}', 'reader' FROM graphs;`,
      benchUrl,
    );
    await admin('VACUUM ANALYZE', benchUrl);
    log('building the service (npm run build)');
    await new Promise<void>((resolve, reject) =>
      spawn('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`build failed (${code})`)),
      ),
    );
    for (const side of sides) await startSide(side, { AUTH_JWT_SECRET: SECRET, DATABASE_URL: benchUrl });
    const token = await signAccessToken(SECRET, { sub: USER_ID, expiresIn: '2h' });
    const slug = () => `graph_${String(1 + Math.floor(Math.random() * GRAPHS)).padStart(4, '0')}`;
    const authorization = `Bearer ${token}`;
    const restPage = (limit: number) => () => ({
      method: 'GET' as const,
      path: `/api/v1/graphs/${slug()}/migrations?limit=${limit}`,
      headers: { authorization },
    });
    const rest = restPage(500);
    const query =
      'query($slug: String!) { graph(slug: $slug) { migrations(limit: 100) { id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt } } }';
    const graphql = () => ({
      method: 'POST' as const,
      path: '/graphql',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: { slug: slug() } }),
    });
    const allLoads: Record<string, [string, RequestFactory]> = {
      rest500: ['REST limit=500', rest],
      mixed: ['REST limit=500 + GraphQL limit: 100', () => (Math.random() < 0.5 ? rest() : graphql())],
      rest100: ['REST limit=100', restPage(100)],
    };
    // A number (as earlier records give it) keeps the first loads of the default.
    const chosen = process.env.OVERLOAD_LOADS ?? 'rest500,mixed';
    const keys = /^\d+$/.test(chosen) ? ['rest500', 'mixed'].slice(0, Number(chosen)) : chosen.split(',');
    const loads = keys.map((key) => {
      const load = allLoads[key.trim()];
      if (!load) throw new Error(`OVERLOAD_LOADS: unknown load ${key} (${Object.keys(allLoads).join(', ')})`);
      return load;
    });
    // Every side answers both shapes, the same runs, before anything is timed.
    for (const make of [rest, graphql] as RequestFactory[]) {
      const request = make();
      request.path = request.path.replace(/graph_\d{4}/, 'graph_0001');
      const bodies = await Promise.all(
        sides.map(async (side) => {
          const body = request.body?.replace(/graph_\d{4}/, 'graph_0001');
          const response = await fetch(`${side.url}${request.path}`, { method: request.method, headers: request.headers, body });
          const text = await response.text();
          if (response.status !== 200 || text.includes('"errors"'))
            throw new Error(`${side.name}: ${response.status} ${text.slice(0, 300)}`);
          return text;
        }),
      );
      if (bodies.some((body) => body !== bodies[0])) throw new Error('the sides disagree');
    }
    log(`answers match; warming up (${sides.length} sides × 3 s at 16 connections)`);
    for (const side of sides)
      await autocannon({
        url: side.url!,
        connections: 16,
        duration: 3,
        requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, ...loads[loads.length - 1]![1]() }) }],
      });

    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [load, make] of loads) {
        for (const side of sides) {
          for (const connections of BASELINE > 0 ? [BASELINE, CONNECTIONS] : [CONNECTIONS]) {
            const run = await measure(side, load, round, make, connections);
            runs.push(run);
            log(
              `round ${round}, ${load}, ${side.name}, ${connections} connections: ${run.served} × 200 (p50 ${ms(run.servedP50)}, p99 ${ms(run.servedP99)}), ` +
                `${run.refused} × 503 (p50 ${ms(run.refusedP50)}, p99 ${ms(run.refusedP99)}), ${run.timeouts} timeouts, ${run.errors} errors`,
            );
            // Let the last answers and the pool settle before the next run.
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
        }
      }
    }

    const lines = [
      `${CONNECTIONS} connections, ${DURATION} s per run, client timeout ${CLIENT_TIMEOUT_S} s, ${ROUNDS} interleaved rounds; ${GRAPHS} graphs × ${RUNS_PER_GRAPH} runs; production build, DATABASE_POOL_SIZE 10; ${os.cpus().length} cores (shared with PostgreSQL and autocannon)`,
    ];
    for (const [load] of loads) {
      lines.push(
        '',
        `### ${load}`,
        '',
        '| side | round | 200s | 200 p50 | 200 p99 | 503s | 503 p50 | 503 p99 | timeouts | errors | /healthz | load avg | peak RSS |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
      );
      for (const side of sides) {
        const mine = runs.filter((run) => run.side === side.name && run.load === load && run.connections === CONNECTIONS);
        for (const run of mine) lines.push(row(run));
        const pick = (key: keyof Run) => median(mine.map((run) => run[key] as number));
        lines.push(
          row({
            side: `**${side.name}**`,
            round: 'median',
            served: pick('served'),
            servedP50: pick('servedP50'),
            servedP99: pick('servedP99'),
            refused: pick('refused'),
            refusedP50: pick('refusedP50'),
            refusedP99: pick('refusedP99'),
            timeouts: pick('timeouts'),
            errors: pick('errors'),
            healthzOk: pick('healthzOk'),
            healthzMaxMs: pick('healthzMaxMs'),
            load1: pick('load1'),
            peakRssMb: Math.max(...mine.map((run) => run.peakRssMb)),
          }),
        );
      }
    }
    if (BASELINE > 0) {
      lines.push(
        '',
        `### Goodput: answers served at ${CONNECTIONS} connections ÷ at ${BASELINE} (the same side, round and load)`,
        '',
        `| load | ${sides.map((side) => side.name).join(' | ')} |`,
        `|---|${sides.map(() => '---:').join('|')}|`,
      );
      for (const [load] of loads) {
        const cells = sides.map((side) => {
          const served = (connections: number) =>
            runs.filter((run) => run.side === side.name && run.load === load && run.connections === connections).map((run) => run.served);
          const [loaded, baseline] = [served(CONNECTIONS), served(BASELINE)];
          const ratios = loaded.map((value, index) => value / baseline[index]!);
          return `${median(ratios).toFixed(2)} (rounds ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}; ${median(loaded)} ÷ ${median(baseline)})`;
        });
        lines.push(`| ${load} | ${cells.join(' | ')} |`);
      }
    }
    console.log(lines.join('\n'));
    writeFileSync(
      new URL('results/overload-latest.json', import.meta.url),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: { cores: os.cpus().length, node: process.version },
          settings: {
            connections: CONNECTIONS,
            baselineConnections: BASELINE,
            durationSeconds: DURATION,
            rounds: ROUNDS,
            clientTimeoutSeconds: CLIENT_TIMEOUT_S,
          },
          sides: Object.fromEntries(sides.map((side) => [side.name, side.env])),
          runs,
          elapsedSeconds: Math.round((Date.now() - started) / 1000),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    for (const side of sides) side.child?.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

await main();
