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
//  3. A reconnect storm (issue 30): on the production defaults, LIVE_STORMS browsers' EventSource (the
//     `eventsource` package: a non-200 answer is final) created in one loop; printed per round: how
//     many streams opened and when the last did, how many were told to come back (200, `retry:`, an
//     `end` event), how many were lost (closed for good: must be 0), and commit → event of the next
//     run over the open ones.
// Knobs: LIVE_STREAMS (1000), LIVE_ROUNDS (20), LIVE_PGBENCH_ROUNDS (6), LIVE_PGBENCH_SECONDS (5),
// LIVE_STORMS (1000,10000), LIVE_STORM_ROUNDS (3), LIVE_STORM_ROOT (another checkout, built, to storm instead).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { EventSource } from 'eventsource';
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
const STORMS = (process.env.LIVE_STORMS ?? '1000,10000').split(',').filter(Boolean).map(Number);
const STORM_ROUNDS = Number(process.env.LIVE_STORM_ROUNDS ?? 3);
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
  // Once more on a dropped connection: with thousands of clients in this process its timers run late,
  // and fetch can reuse a kept-alive connection the metrics server has just closed ("other side closed").
  const text = await fetch(url)
    .catch(() => fetch(url))
    .then((response) => response.text());
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

interface StormRound {
  clients: number;
  /** Clients whose stream the instance holds, ms from the first client's creation until the count stopped rising (or reached all). */
  opened: number;
  openMs: number;
  /** Answers telling a client to come back (`event: end`, reason busy or unavailable), over the round. */
  refusals: number;
  /** EventSource objects closed for good (a non-200 answer): lost browsers. */
  lost: number;
  /** Commit → event of one run, over the open clients: p50, p99, last, and how many got it within 10 s. */
  first: { p50: number; p99: number; last: number; delivered: number };
}

/**
 * A reconnect storm: `clients` browsers' EventSource (the `eventsource` package, with a browser's
 * rules: a non-200 answer is final) created in one loop, then one committed run.
 */
async function storm(side: Side, metricsUrl: string, clients: number): Promise<StormRound> {
  const token = await signAccessToken(SECRET, { sub: MEMBER });
  const before = await metric(metricsUrl, 'live_streams_open');
  const arrivals = new Map<string, number[]>();
  let refusals = 0;
  const sources: EventSource[] = [];
  const started = performance.now();
  for (let index = 0; index < clients; index++) {
    const source = new EventSource(`${side.url}/api/v1/graphs/live_bench/migrations/stream`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
    });
    source.addEventListener('run', (event) => {
      const id = (JSON.parse(event.data) as { id: string }).id;
      arrivals.get(id)?.push(performance.now());
    });
    source.addEventListener('end', (event) => {
      if (/"reason":"(busy|unavailable)"/.test(event.data)) refusals += 1;
    });
    sources.push(source);
  }
  try {
    // Open: every client, or the count stopped rising for 2 s (the rest are told to come back).
    let opened = 0;
    let openMs = 0;
    let steadySince = performance.now();
    const until = performance.now() + 120_000;
    while (performance.now() < until) {
      const count = (await metric(metricsUrl, 'live_streams_open')) - before;
      if (count > opened) {
        opened = count;
        openMs = performance.now() - started;
        steadySince = performance.now();
      }
      if (opened >= clients || performance.now() - steadySince > 2_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const id = randomUUID();
    const times: number[] = [];
    arrivals.set(id, times);
    await sql(
      benchUrl,
      `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
       VALUES ($1, $2, 1, 2, $3, 'running', clock_timestamp())`,
      [id, GRAPH, `storm_${id}`],
    );
    const committedAt = performance.now();
    const deadline = performance.now() + 10_000;
    while (times.length < opened && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const sorted = times.map((at) => Math.max(0, at - committedAt)).sort((a, b) => a - b);
    const lost = sources.filter((source) => source.readyState === EventSource.CLOSED).length;
    return {
      clients,
      opened,
      openMs,
      refusals,
      lost,
      first: {
        p50: percentile(sorted, 50) ?? NaN,
        p99: percentile(sorted, 99) ?? NaN,
        last: sorted.at(-1) ?? NaN,
        delivered: sorted.length,
      },
    };
  } finally {
    for (const source of sources) source.close();
    const until = Date.now() + 60_000;
    while ((await metric(metricsUrl, 'live_streams_open')) > before && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A side's resident memory now (VmRSS) or at its peak (VmHWM), MB. */
const rssMb = (side: Side, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${side.child!.pid}/status`, 'utf8'))?.[1]) / 1024;

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
  // LIVE_STORM_ROOT: the storms on another checkout's build (an earlier commit, for a before and after).
  const stormSide: Side = { name: 'storm', env: process.env.LIVE_STORM_ROOT ? { BENCH_ROOT: process.env.LIVE_STORM_ROOT } : {} };
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
    // The storms run on the production defaults (LIVE_MAX_STREAMS 2,000, the pool's), as a deploy meets them.
    const stormPort = await freePort();
    await startSide(stormSide, { DATABASE_URL: benchUrl, AUTH_JWT_SECRET: SECRET, METRICS_PORT: String(stormPort) });
    const storms: StormRound[] = [];
    for (const clients of STORMS) {
      for (let round = 0; round < STORM_ROUNDS; round++) {
        const result = await storm(stormSide, `http://127.0.0.1:${stormPort}/metrics`, clients);
        storms.push(result);
        log(
          `storm of ${clients}, round ${round + 1}: ${result.opened} open after ${result.openMs.toFixed(0)} ms, ${result.refusals} told to come back, ` +
            `${result.lost} lost; first event p50 ${result.first.p50.toFixed(0)} ms, p99 ${result.first.p99.toFixed(0)} ms, last ${result.first.last.toFixed(0)} ms, ` +
            `${result.first.delivered} of ${result.opened} delivered; instance RSS ${Math.round(rssMb(stormSide, 'VmRSS'))} MB once they left`,
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
    // The storms' peak memory: what 10,000 clients at once (open, refused, reconnecting) cost the instance.
    const stormPeakMb = rssMb(stormSide, 'VmHWM');
    stormSide.child?.kill('SIGTERM');
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
      ...STORMS.flatMap((clients) => {
        const rounds = storms.filter((round) => round.clients === clients);
        const med = (pick: (round: StormRound) => number) => median(rounds.map(pick)).toFixed(0);
        return [
          `| storm of ${clients} EventSource at once: streams open (median of ${rounds.length}) | ${med((r) => r.opened)} after ${med((r) => r.openMs)} ms |`,
          `| storm of ${clients}: told to come back (200 + retry:) / lost (closed for good) | ${med((r) => r.refusals)} / ${Math.max(...rounds.map((r) => r.lost))} |`,
          `| storm of ${clients}: next change, commit → event p50 / p99 / last | ${med((r) => r.first.p50)} / ${med((r) => r.first.p99)} / ${med((r) => r.first.last)} ms |`,
        ];
      }),
      `| storms: the instance's peak RSS over all of them (VmHWM) | ${Math.round(stormPeakMb)} MB |`,
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
    stormSide.child?.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sql(ADMIN_URL, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    log('done');
  }
}

await main();
