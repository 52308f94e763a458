// npm run bench:scaleout: the REST history read (GET /api/v1/graphs/{slug}/migrations?limit=100,
// random slugs) on the deployment shapes of "Running in production", interleaved in one run so
// machine drift cancels out:
//   direct    DATABASE_URL = the primary (named statements, generic plans)
//   pgbouncer DATABASE_URL = PgBouncer (pool_mode=transaction) in front of it, DATABASE_POOLER=transaction
//   replica   DATABASE_READ_URL = a streaming replica of it
//   unnamed   DATABASE_URL = the primary, DATABASE_POOLER=transaction (no pooler): what unnamed
//             statements cost by themselves, apart from the pooler's hop
// The primary and the replica are made for the run (test/helpers/replica.ts), PgBouncer too
// (test/helpers/pgbouncer.ts), all on free loopback ports, and removed at the end. The service runs
// as `npm run start:prod` runs it. A pgbench comparison through the same PgBouncer follows: one
// statement per read vs BEGIN; SET LOCAL statement_timeout; the read; COMMIT (the alternative to
// setting statement_timeout on the server). Ratios are the median over rounds of each side against the
// direct run of the same round, which cancels drift between rounds. Knobs: SCALEOUT_DURATION (s per run, 4),
// SCALEOUT_ROUNDS (4), SCALEOUT_CONNECTIONS (10), SCALEOUT_POOL (10, the service's pool and PgBouncer's).
// Prints a table and writes bench/results/scaleout-latest.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { signAccessToken } from '../src/auth/viewer.js';
import { createDatabase } from '../src/database/client.js';
import { migrate } from '../src/database/migrate.js';
import { startSide, type Side } from './instances.js';
import { startPgBouncer, type PgBouncer } from '../test/helpers/pgbouncer.js';
import { handToServerUser, run } from '../test/helpers/processes.js';
import { POSTGRES_BIN, startReplicatedPair, type ReplicatedPair } from '../test/helpers/replica.js';

const DURATION = Number(process.env.SCALEOUT_DURATION ?? 4);
const ROUNDS = Number(process.env.SCALEOUT_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.SCALEOUT_CONNECTIONS ?? 10);
const POOL = Number(process.env.SCALEOUT_POOL ?? 10);
const GRAPHS = 1_000;
const DATABASE = 'gms_scaleout';
const SECRET = randomBytes(32).toString('base64url');
const USER_ID = '11111111-2222-4333-8444-555555555555';
const root = new URL('..', import.meta.url).pathname;

const log = (message: string) => console.error(`[scaleout ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(url: string, token: string, slugs: string[], duration = DURATION): Promise<Measurement> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => ({
          ...request,
          method: 'GET',
          path: `/api/v1/graphs/${slugs[Math.floor(Math.random() * slugs.length)]}/migrations?limit=100`,
          headers: { authorization: `Bearer ${token}` },
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** pgbench through PgBouncer: transactions/s of a history read alone vs wrapped to carry SET LOCAL statement_timeout. */
async function pgbenchSetLocal(bouncer: PgBouncer, directory: string): Promise<Record<string, number>> {
  // pgbench turns every :name into a parameter, so the timestamp format has no colon.
  const read = `\\set n random(1, ${GRAPHS})
SELECT r.id, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24.MI.SS.US"Z"') FROM graphs g
  JOIN LATERAL (SELECT * FROM graph_migration_runs WHERE graph_id = g.id ORDER BY created_at DESC, id DESC LIMIT 100) r ON true
  WHERE g.slug = 'graph_' || lpad(CAST(:n AS text), 4, '0');
`;
  const scripts = {
    'one statement': read,
    'BEGIN; SET LOCAL; read; COMMIT': `BEGIN;\nSET LOCAL statement_timeout = 5000;\n${read}COMMIT;\n`,
  };
  const results: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, script] of Object.entries(scripts)) {
      const file = path.join(directory, `${name.replace(/\W+/g, '_')}.sql`);
      await writeFile(file, script);
      handToServerUser(file);
      const output = await run(
        path.join(POSTGRES_BIN!, 'pgbench'),
        [
          '-n',
          '-M',
          'extended',
          '-c',
          String(CONNECTIONS),
          '-j',
          '2',
          '-T',
          String(DURATION),
          '-f',
          file,
          '-h',
          '127.0.0.1',
          '-p',
          String(bouncer.port),
          '-U',
          'postgres',
          DATABASE,
        ],
        { timeoutMs: (DURATION + 30) * 1000 },
      );
      const tps = /tps = ([\d.]+)/.exec(output);
      if (!tps) throw new Error(`pgbench printed no tps:\n${output}`);
      (results[name] ??= []).push(Number(tps[1]));
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, values]) => [name, mean(values)]));
}

async function main() {
  const started = Date.now();
  let pair: ReplicatedPair | undefined;
  let bouncer: PgBouncer | undefined;
  const sides: Side[] = [];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gms-scaleout-'));
  handToServerUser(scratch);
  try {
    log('starting a primary and a streaming replica, and PgBouncer in front of the primary');
    pair = await startReplicatedPair();
    await pair.primary.query(`CREATE DATABASE ${DATABASE}`);
    const primaryUrl = pair.primary.url(DATABASE);
    bouncer = await startPgBouncer({ target: { host: '127.0.0.1', port: pair.primary.port, user: 'postgres' }, poolSize: POOL });

    const database = await createDatabase({ kind: 'postgres', url: primaryUrl, poolSize: 1 });
    await migrate(database);
    await database.close();
    log(`loading ${GRAPHS} graphs with 10 to 300 runs each`);
    await pair.primary.query(
      `INSERT INTO graphs (id, slug, name) SELECT gen_random_uuid(), 'graph_' || lpad(n::text, 4, '0'), 'Graph ' || n FROM generate_series(1, ${GRAPHS}) AS n`,
      [],
      DATABASE,
    );
    await pair.primary.query(
      `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
       SELECT gen_random_uuid(), g.id, i, i + 1, 'migration_' || i, 'success', now() - make_interval(secs => i * 60)
       FROM graphs g, LATERAL generate_series(1, 10 + (hashtext(g.slug) & 1023) % 291) AS i`,
      [],
      DATABASE,
    );
    await pair.primary.query(
      `INSERT INTO graph_members (graph_id, user_id, role) SELECT id, '${USER_ID}', 'reader' FROM graphs`,
      [],
      DATABASE,
    );
    // Hint bits and the visibility map set once, as on a database that has been running a while.
    await pair.primary.query('VACUUM ANALYZE', [], DATABASE);
    // As "Running in production" says for a transaction pooler: the serving statement_timeout set on the server.
    await pair.primary.query(`ALTER ROLE postgres IN DATABASE ${DATABASE} SET statement_timeout = 5000`);
    await pair.waitForReplay(60_000);
    const [{ runs }] = (await pair.primary.query<{ runs: number }>(
      'SELECT count(*)::int AS runs FROM graph_migration_runs',
      [],
      DATABASE,
    )) as [{ runs: number }];
    const slugs = Array.from({ length: GRAPHS }, (_, i) => `graph_${String(i + 1).padStart(4, '0')}`);

    log('building the service (npm run build)');
    await new Promise<void>((resolve, reject) =>
      spawn('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`build failed (${code})`)),
      ),
    );
    sides.push(
      { name: 'direct', env: { DATABASE_URL: primaryUrl } },
      {
        name: 'pgbouncer',
        env: { DATABASE_URL: bouncer.via(primaryUrl), DATABASE_POOLER: 'transaction', DATABASE_MIGRATE_URL: primaryUrl },
      },
      { name: 'replica', env: { DATABASE_URL: primaryUrl, DATABASE_READ_URL: pair.replica.url(DATABASE) } },
      { name: 'unnamed', env: { DATABASE_URL: primaryUrl, DATABASE_POOLER: 'transaction' } },
    );
    for (const side of sides) await startSide(side, { AUTH_JWT_SECRET: SECRET, DATABASE_POOL_SIZE: String(POOL) }, 'inherit');
    const token = await signAccessToken(SECRET, { sub: USER_ID, expiresIn: '2h' });

    // Every side must give the same answer before anything is timed.
    for (const slug of [slugs[0]!, slugs[GRAPHS - 1]!, slugs[Math.floor(GRAPHS / 2)]!]) {
      const bodies = await Promise.all(
        sides.map(async (side) => {
          const response = await fetch(`${side.url}/api/v1/graphs/${slug}/migrations?limit=100`, {
            headers: { authorization: `Bearer ${token}` },
          });
          if (!response.ok) throw new Error(`${side.name}: ${response.status} ${await response.text()}`);
          return response.text();
        }),
      );
      if (bodies.some((body) => body !== bodies[0])) throw new Error(`the sides disagree on ${slug}`);
    }
    log(`answers match; ${ROUNDS} rounds × ${sides.length} sides × ${DURATION} s, ${CONNECTIONS} connections, pool ${POOL}`);

    // Unmeasured first pass: each side's server (the replica has caches of its own) and process warm up.
    for (const side of sides) await measure(side.url!, token, slugs, 2);
    const runsBySide = new Map<string, Measurement[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of sides) {
        const measurement = await measure(side.url!, token, slugs);
        runsBySide.set(side.name, [...(runsBySide.get(side.name) ?? []), measurement]);
        log(`${side.name}: ${measurement.rps.toFixed(0)} req/s, p99 ${measurement.p99} ms, ${measurement.errors} errors`);
      }
    }
    const directRuns = runsBySide.get('direct')!;
    const combined = sides.map((side) => {
      const runs = runsBySide.get(side.name)!;
      return {
        side: side.name,
        rps: mean(runs.map((m) => m.rps)),
        p50: mean(runs.map((m) => m.p50)),
        p99: mean(runs.map((m) => m.p99)),
        errors: runs.reduce((total, m) => total + m.errors, 0),
        rpsRatio: median(runs.map((m, round) => m.rps / directRuns[round]!.rps)),
        p99Ratio: median(runs.map((m, round) => m.p99 / directRuns[round]!.p99)),
        rounds: runs,
      };
    });

    log('pgbench through PgBouncer: one statement vs BEGIN; SET LOCAL; read; COMMIT');
    const pgbench = await pgbenchSetLocal(bouncer, scratch);

    const report = {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      settings: { durationSeconds: DURATION, rounds: ROUNDS, connections: CONNECTIONS, pool: POOL, graphs: GRAPHS, runs },
      results: combined,
      pgbenchThroughPgBouncer: pgbench,
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
    };
    await writeFile(new URL('results/scaleout-latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
    const [alone, wrapped] = Object.values(pgbench) as [number, number];
    console.log(
      [
        `REST limit=100, random slugs (${GRAPHS} graphs, ${runs} runs), ${CONNECTIONS} connections, pool ${POOL}, ${DURATION} s × ${ROUNDS} rounds per side`,
        '',
        '| side | req/s (mean) | p50 ms | p99 ms | errors | req/s ÷ direct (median of rounds) | p99 ÷ direct (median of rounds) |',
        '|---|---:|---:|---:|---:|---:|---:|',
        ...report.results.map(
          (m) =>
            `| ${m.side} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.errors} | ${m.rpsRatio.toFixed(2)} | ${m.p99Ratio.toFixed(2)} |`,
        ),
        '',
        `pgbench through PgBouncer, ${CONNECTIONS} clients: one statement ${alone.toFixed(0)} tps; BEGIN; SET LOCAL; read; COMMIT ${wrapped.toFixed(0)} tps (${(wrapped / alone).toFixed(2)}×)`,
      ].join('\n'),
    );
  } finally {
    for (const side of sides) side.child?.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await bouncer?.close();
    await pair?.close();
    await rm(scratch, { recursive: true, force: true });
    log('done');
  }
}

await main();
