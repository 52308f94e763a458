// npm run bench:live (and the end of npm run bench): the live history (docs/decisions/0008).
//  1. Commit to event: one production instance (`node dist/main.js` on PostgreSQL) with 1,000 REST
//     event streams open; a writer of its own commits one run at a time, and each stream's arrival
//     time of that run's event is taken against the moment the writer's COMMIT returned. Printed:
//     p50 and p99 over every delivery of every round, and the slowest round's last delivery.
//  2. The writer's cost: pgbench (PostgreSQL's own, when installed) running a writer's transaction
//     (insert a run and commit, then update a run) with every trigger of graph_migration_runs on
//     and off (the change feed's capture, and the statistics' day counts and latest run:
//     docs/decisions/0010), one graph written by every writer (the worst case for the statistics,
//     whose rows of one graph the writers then share), sides
//     interleaved round by round, their order swapped every round (on-off, off-on, …): latency per
//     transaction with 1 writer, throughput with 4; the ratio is the median of the rounds' ratios.
//     Rounds on this shared machine differ by tens of percent, so also the capture's own server
//     time: 2,000 inserts and updates inside the server (one rolled-back transaction, no network,
//     no commit), on and off interleaved, in µs per insert + update.
// Knobs: LIVE_STREAMS (1000), LIVE_ROUNDS (20), LIVE_PGBENCH_ROUNDS (6), LIVE_PGBENCH_SECONDS (5).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { freePort } from '../test/helpers/net.js';
import { openEventStreams } from '../test/helpers/sse.js';
import { startSide, type Side } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const STREAMS = Number(process.env.LIVE_STREAMS ?? 1_000);
const ROUNDS = Number(process.env.LIVE_ROUNDS ?? 20);
const PGBENCH_ROUNDS = Number(process.env.LIVE_PGBENCH_ROUNDS ?? 6);
const PGBENCH_SECONDS = Number(process.env.LIVE_PGBENCH_SECONDS ?? 5);
const SECRET = 'live-benchmark-secret-that-is-at-least-32-characters';
const MEMBER = randomUUID();
const GRAPH = randomUUID();
const root = new URL('..', import.meta.url).pathname;
const dbName = `gms_live_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

const log = (message: string) => console.error(`[live ${new Date().toISOString().slice(11, 19)}] ${message}`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function sql(url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
}

/** Commit-to-event latencies (ms) of every delivery, per round. */
async function commitToEvent(side: Side, metricsUrl: string): Promise<number[][]> {
  const token = await signAccessToken(SECRET, { sub: MEMBER });
  const waiting = new Map<string, { committedAt: number; arrivals: number[] }>();
  const buffers = new Map<number, string>();
  const requests = await openEventStreams(
    `${side.url}/api/v1/graphs/live_bench/migrations/stream`,
    { authorization: `Bearer ${token}` },
    STREAMS,
    (index, chunk) => {
      const at = performance.now();
      let text = (buffers.get(index) ?? '') + chunk;
      let end: number;
      while ((end = text.indexOf('\n\n')) !== -1) {
        const id = /"id":"([0-9a-f-]{36})"/.exec(text.slice(0, end))?.[1];
        if (id) waiting.get(id)?.arrivals.push(at);
        text = text.slice(end + 2);
      }
      buffers.set(index, text);
    },
  );
  try {
    const until = Date.now() + 120_000;
    while ((await metric(metricsUrl, 'live_streams_open')) < STREAMS) {
      if (Date.now() > until) throw new Error(`only ${await metric(metricsUrl, 'live_streams_open')} of ${STREAMS} streams opened`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    log(`${STREAMS} streams open`);
    const writer = new pg.Client({ connectionString: benchUrl });
    await writer.connect();
    const rounds: number[][] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const id = randomUUID();
        const entry = { committedAt: 0, arrivals: [] as number[] };
        waiting.set(id, entry);
        await writer.query('BEGIN');
        await writer.query(
          `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
           VALUES ($1, $2, 1, 2, $3, 'running', clock_timestamp())`,
          [id, GRAPH, `bench_${round}`],
        );
        await writer.query('COMMIT');
        entry.committedAt = performance.now();
        const deadline = Date.now() + 10_000;
        while (entry.arrivals.length < STREAMS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        const latencies = entry.arrivals.map((at) => Math.max(0, at - entry.committedAt));
        rounds.push(latencies);
        const sorted = [...latencies].sort((a, b) => a - b);
        log(
          `round ${round + 1}: ${latencies.length} of ${STREAMS} delivered, p50 ${percentile(sorted, 50).toFixed(0)} ms, last ${sorted.at(-1)?.toFixed(0)} ms`,
        );
        waiting.delete(id);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await writer.end();
    }
    return rounds;
  } finally {
    for (const request of requests) request.destroy();
  }
}

function pgbenchPath(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  for (const version of readdirSync(base).sort().reverse()) {
    const candidate = `${base}/${version}/bin/pgbench`;
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

interface WriterCost {
  /** Per round, on and off: latency (ms) with 1 writer, throughput (tps) with 4. */
  rounds: { on: { latency: number; tps: number }; off: { latency: number; tps: number } }[];
  /** Per round, on and off: the server's µs per insert + update. */
  server: { on: number; off: number }[];
}

/** The writer's cost: pgbench with the capture triggers on and off, and the server's own time, interleaved. */
async function writerCost(): Promise<WriterCost | undefined> {
  const pgbench = pgbenchPath();
  if (!pgbench) return undefined;
  const script = `${os.tmpdir()}/gms-live-writer-${process.pid}.sql`;
  writeFileSync(
    script,
    [
      '\\set v random(1, 1000000000)',
      'BEGIN;',
      `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at) VALUES (gen_random_uuid(), '${GRAPH}', 1, 2, 'w_' || :v || '_' || random(), 'pending', clock_timestamp());`,
      'COMMIT;',
      `UPDATE graph_migration_runs SET status = 'running', started_at = clock_timestamp() WHERE id = (SELECT id FROM graph_migration_runs WHERE graph_id = '${GRAPH}' AND status = 'pending' ORDER BY created_at DESC LIMIT 1);`,
    ].join('\n'),
  );
  const url = new URL(benchUrl);
  const run = (clients: number) => {
    const result = spawnSync(
      pgbench,
      [
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        url.username || 'postgres',
        '-n',
        '-c',
        String(clients),
        '-T',
        String(PGBENCH_SECONDS),
        '-f',
        script,
        dbName,
      ],
      {
        encoding: 'utf8',
      },
    );
    return {
      latency: Number(/latency average = ([\d.]+) ms/.exec(result.stdout)?.[1]),
      tps: Number(/tps = ([\d.]+)/.exec(result.stdout)?.[1]),
    };
  };
  const triggers = (side: 'on' | 'off') => `ALTER TABLE graph_migration_runs ${side === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER USER`;
  // The server's time for 2,000 inserts and updates of the same runs, in one transaction rolled back (nothing kept).
  const serverTime = async (side: 'on' | 'off') => {
    const client = new pg.Client({ connectionString: benchUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(triggers(side));
      await client.query(`
        CREATE FUNCTION pg_temp.gms_writes(graph uuid, n int) RETURNS double precision LANGUAGE plpgsql AS $$
        DECLARE started timestamptz := clock_timestamp(); run uuid;
        BEGIN
          FOR i IN 1..n LOOP
            run := gen_random_uuid();
            INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
            VALUES (run, graph, 1, 2, 's_' || run, 'pending', clock_timestamp());
            UPDATE graph_migration_runs SET status = 'running', started_at = clock_timestamp() WHERE id = run;
          END LOOP;
          RETURN extract(epoch FROM clock_timestamp() - started) * 1e6 / n;
        END $$`);
      const { rows } = await client.query<{ us: number }>(`SELECT pg_temp.gms_writes($1::uuid, 2000) AS us`, [GRAPH]);
      return rows[0]!.us;
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      await client.end();
    }
  };
  const cost: WriterCost = { rounds: [], server: [] };
  for (let round = 0; round < PGBENCH_ROUNDS; round++) {
    const sides = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const measured = {} as WriterCost['rounds'][number];
    const server = {} as WriterCost['server'][number];
    for (const side of sides) {
      execFileSync('psql', [benchUrl, '-qc', triggers(side)], { stdio: 'ignore' });
      const single = run(1);
      const four = run(4);
      measured[side] = { latency: single.latency, tps: four.tps };
      server[side] = await serverTime(side);
      log(
        `writer round ${round + 1}, capture ${side}: pgbench 1 writer ${single.latency} ms, 4 writers ${four.tps.toFixed(0)} tps; ` +
          `server ${server[side].toFixed(1)} µs per insert + update`,
      );
    }
    cost.rounds.push(measured);
    cost.server.push(server);
  }
  execFileSync('psql', [benchUrl, '-qc', triggers('on')], { stdio: 'ignore' });
  return cost;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
/** The median of per-round ratios, with their range. */
const ratio = (values: number[]) =>
  `${median(values).toFixed(2)} (rounds ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;

async function main() {
  log(`creating database ${dbName}`);
  await sql(ADMIN_URL, `CREATE DATABASE "${dbName}"`);
  const side: Side = { name: 'live', env: {} };
  try {
    log('building the service (npm run build)');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    const metricsPort = await freePort();
    await startSide(side, {
      DATABASE_URL: benchUrl,
      AUTH_JWT_SECRET: SECRET,
      METRICS_PORT: String(metricsPort),
      LIVE_MAX_STREAMS: String(STREAMS + 10),
      DATABASE_POOL_SIZE: '10',
    });
    await sql(benchUrl, `INSERT INTO graphs (id, slug, name) VALUES ($1, 'live_bench', 'Live benchmark')`, [GRAPH]);
    await sql(benchUrl, `INSERT INTO graph_members (graph_id, user_id, role) VALUES ($1, $2, 'reader')`, [GRAPH, MEMBER]);
    const rounds = await commitToEvent(side, `http://127.0.0.1:${metricsPort}/metrics`);
    side.child?.kill('SIGTERM');
    const all = rounds.flat().sort((a, b) => a - b);
    const delivered = rounds.map((round) => round.length);
    const slowest = Math.max(...rounds.map((round) => Math.max(...round)));
    const cost = await writerCost();
    const lines = [
      `| live history | value |`,
      `|---|---:|`,
      `| commit → event, ${STREAMS} streams, p50 | ${percentile(all, 50).toFixed(0)} ms |`,
      `| commit → event, ${STREAMS} streams, p99 | ${percentile(all, 99).toFixed(0)} ms |`,
      `| commit → event, slowest delivery of ${ROUNDS} rounds | ${slowest.toFixed(0)} ms |`,
      `| deliveries | ${delivered.reduce((a, b) => a + b, 0)} of ${STREAMS * ROUNDS} |`,
      ...(cost
        ? [
            `| writer, 1 client: latency with capture ÷ without (median of ${PGBENCH_ROUNDS} rounds' ratios) | ${ratio(cost.rounds.map((r) => r.on.latency / r.off.latency))} (${median(cost.rounds.map((r) => r.on.latency)).toFixed(3)} ÷ ${median(cost.rounds.map((r) => r.off.latency)).toFixed(3)} ms) |`,
            `| writer, 4 clients: throughput with capture ÷ without | ${ratio(cost.rounds.map((r) => r.on.tps / r.off.tps))} (${median(cost.rounds.map((r) => r.on.tps)).toFixed(0)} ÷ ${median(cost.rounds.map((r) => r.off.tps)).toFixed(0)} tps) |`,
            `| server time per insert + update, capture on − off (no network, no commit) | ${median(cost.server.map((r) => r.on - r.off)).toFixed(1)} µs (${median(cost.server.map((r) => r.on)).toFixed(1)} − ${median(cost.server.map((r) => r.off)).toFixed(1)}) |`,
          ]
        : ['| writer cost | pgbench not installed: skipped |']),
      '',
      `${os.cpus().length} cores, Node ${process.version}; every round is printed above.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    side.child?.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sql(ADMIN_URL, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    log('done');
  }
}

await main();
