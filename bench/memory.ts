// npm run bench:memory: the production start's memory under distinct GraphQL operations (issue 19 §1).
// A fresh PostgreSQL database with 1,000 graphs × 200 runs; `node dist/main.js` (built by
// `npm run build`; BENCH_MEMORY_ROOT points at another checkout's build, e.g. the previous release,
// for a before/after); 20 concurrent clients send distinct operations, each twice, three in four with
// a member's token and one in four anonymous. Prints RSS and heap used after 0, 10k, 50k and 100k
// distinct operations and RSS(100k) / RSS(10k). Loopback only; stops by itself.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { freePort } from '../test/helpers/net.js';
import { waitUntilReady, withClient } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ROOT = process.env.BENCH_MEMORY_ROOT ?? new URL('..', import.meta.url).pathname;
const CHECKPOINTS = (process.env.BENCH_MEMORY_CHECKPOINTS ?? '10000,50000,100000').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_MEMORY_CLIENTS ?? 20);
/** Extra node flags for the service, e.g. `--max-old-space-size=192`. */
const NODE_FLAGS = (process.env.BENCH_MEMORY_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** An unbounded build can take the machine's memory: stop once the service's RSS passes this. */
const MAX_RSS_MB = Number(process.env.BENCH_MEMORY_MAX_RSS_MB ?? 3_000);
/** A directory: a heap snapshot of the service is written there at every checkpoint (for Chrome DevTools' Memory tab). */
const SNAPSHOTS = process.env.BENCH_MEMORY_SNAPSHOTS;
const GRAPHS = 1_000;
const RUNS_PER_GRAPH = 200;
const SECRET = randomBytes(32).toString('base64url');
const USER_ID = '11111111-2222-4333-8444-555555555555';

const dbName = `gms_benchmem_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

function log(message: string) {
  console.error(`[bench:memory ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function loadData(client: pg.Client) {
  await client.query(`
    INSERT INTO graphs (id, slug, name, type_version, created_at)
    SELECT gen_random_uuid(), 'g_' || n, 'Graph ' || n, 1, now() - interval '400 days' FROM generate_series(0, ${GRAPHS - 1}) AS n`);
  await client.query(`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
    SELECT gen_random_uuid(), g.id, i, i + 1, 'migration_' || i,
      (ARRAY['success','failed','skipped','pending','running'])[1 + (i % 5)], now() - make_interval(secs => i * 60)
    FROM graphs g, generate_series(1, ${RUNS_PER_GRAPH}) AS i`);
  await client.query(`INSERT INTO graph_members (graph_id, user_id, role) SELECT id, '${USER_ID}', 'reader' FROM graphs`);
  await client.query('ANALYZE');
}

/** The i-th distinct operation: its own name, alias and page size. */
const operation = (i: number) =>
  `query Q${i} { graph(slug: "g_${i % GRAPHS}") { id a${i}: slug migrations(limit: ${1 + (i % 50)}) { id status createdAt } } }`;

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

async function heapUsedMb(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const match = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
  return match ? Number(match[1]) / 2 ** 20 : NaN;
}

async function main() {
  log(`database ${dbName}: ${GRAPHS} graphs × ${RUNS_PER_GRAPH} runs`);
  await withClient(ADMIN_URL, (client) => client.query(`CREATE DATABASE "${dbName}"`));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const snapshotFlags = SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOTS}`] : [];
  const child = spawn(process.execPath, [...NODE_FLAGS, ...snapshotFlags, 'dist/main.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: benchUrl,
      AUTH_JWT_SECRET: SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The measure is memory: a busy machine's slow pool waits should not turn requests into 503s.
      DATABASE_CONNECT_TIMEOUT_MS: '10000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  const url = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    await waitUntilReady('the service', child, url);
    await withClient(benchUrl, loadData);
    const authorization = `Bearer ${await signAccessToken(SECRET, { sub: USER_ID, expiresIn: '2h' })}`;

    // A 503 (no pool connection in time: the shared machine is busy) is sent again after a pause and counted.
    let retried = 0;
    const send = async (i: number): Promise<void> => {
      const anonymous = i % 4 === 3;
      for (let attempt = 1; ; attempt++) {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(anonymous ? {} : { authorization }) },
          body: JSON.stringify({ query: operation(i) }),
        });
        const body = (await response.json()) as { data?: { graph?: { id?: string } }; errors?: { extensions?: { code?: string } }[] };
        if (response.status === 503 && attempt < 20) {
          retried += 1;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const expected = anonymous ? body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED' : typeof body.data?.graph?.id === 'string';
        if (!expected)
          throw new Error(`operation ${i} (${anonymous ? 'anonymous' : 'member'}): ${response.status} ${JSON.stringify(body)}`);
        return;
      }
    };

    const rows: { operations: number; rssMb: number; peakMb: number; heapMb: number; seconds: number }[] = [];
    const record = async (operations: number, started: number) => {
      const row = { operations, ...memoryOf(child.pid!), heapMb: await heapUsedMb(metricsUrl), seconds: (Date.now() - started) / 1000 };
      rows.push(row);
      if (SNAPSHOTS) {
        // The process writes the snapshot synchronously on the signal: it answers again once it is written.
        child.kill('SIGUSR2');
        await new Promise((resolve) => setTimeout(resolve, 500));
        await fetch(`${url}/healthz`);
      }
      log(
        `${operations} distinct operations: RSS ${row.rssMb.toFixed(0)} MB (peak ${row.peakMb.toFixed(0)}), heap used ${row.heapMb.toFixed(0)} MB, ${row.seconds.toFixed(0)} s`,
      );
      return row;
    };

    const started = Date.now();
    await record(0, started);
    let next = 0;
    let stopped: string | undefined;
    for (const checkpoint of CHECKPOINTS) {
      // Each client takes the next operation and sends it twice (the second is when graphql-jit compiles).
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (!stopped && next < checkpoint) {
            const i = next++;
            await send(i);
            await send(i);
            if (i % 1000 === 0 && memoryOf(child.pid!).rssMb > MAX_RSS_MB) stopped = `RSS above ${MAX_RSS_MB} MB after ${i} operations`;
          }
        }),
      );
      await record(next, started);
      if (stopped) break;
    }

    console.log(`\nnode ${NODE_FLAGS.join(' ')} dist/main.js in ${ROOT}`);
    console.log('| distinct operations | RSS (MB) | peak RSS (MB) | heap used (MB) | elapsed (s) |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(
        `| ${row.operations.toLocaleString('en')} | ${row.rssMb.toFixed(0)} | ${row.peakMb.toFixed(0)} | ${row.heapMb.toFixed(0)} | ${row.seconds.toFixed(0)} |`,
      );
    }
    const at = (operations: number) => rows.find((row) => row.operations === operations);
    const first = at(CHECKPOINTS[0]!);
    const last = at(CHECKPOINTS.at(-1)!);
    console.log(`requests sent again after a 503: ${retried}`);
    if (stopped) console.log(`stopped: ${stopped}`);
    else if (first && last) {
      console.log(
        `RSS(${last.operations / 1000}k) / RSS(${first.operations / 1000}k) = ${(last.rssMb / first.rssMb).toFixed(2)}; heap used ${(last.heapMb / first.heapMb).toFixed(2)}`,
      );
    }
  } finally {
    if (!exited) child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(undefined) : child.once('exit', resolve)));
    await withClient(ADMIN_URL, (client) => client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  }
}

await main();
