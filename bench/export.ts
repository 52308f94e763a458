// npm run bench:export: the production start's memory while it exports a 100,000-run graph
// (GET /api/v1/graphs/{slug}/migrations/export) to a fast client (reads as fast as it can) and to a
// slow one (a raw socket that reads BENCH_EXPORT_SLOW_KBPS kB/s), NDJSON and CSV. A fresh
// PostgreSQL database on BENCH_DATABASE_URL; `node dist/main.js` (built by `npm run build`).
// Prints, per export, the service's RSS before, the highest RSS sampled during (every 50 ms) and
// after, the bytes and lines received (the slow client's raw socket counts the HTTP head and chunk
// framing lines too) and the time taken. BENCH_EXPORT_NODE_FLAGS: flags for the service's node
// (`--max-old-space-size=64` shows what an export needs rather than what V8 lets grow before it
// collects). Loopback only; stops by itself.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { freePort } from '../test/helpers/net.js';
import { waitUntilReady, withClient } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const RUNS = Number(process.env.BENCH_EXPORT_RUNS ?? 100_000);
const SLOW_KBPS = Number(process.env.BENCH_EXPORT_SLOW_KBPS ?? 4_096);
/** Extra node flags for the service, e.g. `--max-old-space-size=96` (an export that kept what it sent would not fit). */
const NODE_FLAGS = (process.env.BENCH_EXPORT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const SECRET = randomBytes(32).toString('base64url');
const USER_ID = '11111111-2222-4333-8444-555555555555';
const SLUG = 'exported';

const dbName = `gms_benchexport_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

const log = (message: string) => console.error(`[bench:export ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function loadData(client: pg.Client) {
  const {
    rows: [graph],
  } = await client.query<{ id: string }>(
    `INSERT INTO graphs (id, slug, name) VALUES (gen_random_uuid(), '${SLUG}', 'Exported') RETURNING id`,
  );
  // Runs like the platform's: a fifth failed with an error message, most with a workflow run id.
  await client.query(
    `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
     SELECT gen_random_uuid(), $1::uuid, n, n + 1, 'migration_' || n, (ARRAY['success','failed','skipped','pending','running'])[1 + n % 5],
            t + interval '1 second', t + interval '42.5 seconds',
            CASE WHEN n % 5 = 1 THEN 'step ' || n || ' failed: constraint "fk_' || n || '" violated, see workflow log' END,
            'wf-' || n, t
     FROM generate_series(1, ${RUNS}) AS n, LATERAL (SELECT now() - make_interval(secs => n * 30) AS t) AS at`,
    [graph!.id],
  );
  await client.query(`INSERT INTO graph_members (graph_id, user_id, role) VALUES ($1::uuid, '${USER_ID}', 'reader')`, [graph!.id]);
  await client.query('ANALYZE');
}

const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Samples the RSS of `pid` every 50 ms while `work` runs; the highest sample. */
async function sampled<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peakMb = rssMb(pid);
  const timer = setInterval(() => (peakMb = Math.max(peakMb, rssMb(pid))), 50);
  try {
    return { result: await work(), peakMb };
  } finally {
    clearInterval(timer);
  }
}

async function fastClient(url: string, path: string, authorization: string) {
  const response = await fetch(`${url}${path}`, { headers: { authorization } });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines += 1;
  }
  return { bytes, lines };
}

/** A raw socket that reads `kbps` kB per second (pausing between reads), until the server closes. */
function slowClient(url: string, path: string, authorization: string, kbps: number) {
  const { hostname, port } = new URL(url);
  return new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let bytes = 0;
    let lines = 0;
    const started = Date.now();
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines += 1;
      // Ahead of the budget: stop reading until the clock catches up.
      const aheadMs = (bytes / 1024 / kbps) * 1000 - (Date.now() - started);
      if (aheadMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), aheadMs);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve({ bytes, lines }));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`);
  });
}

async function main() {
  log(`database ${dbName}: one graph of ${RUNS.toLocaleString('en')} runs`);
  await withClient(ADMIN_URL, (client) => client.query(`CREATE DATABASE "${dbName}"`));
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_FLAGS, 'dist/main.js'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: benchUrl,
      AUTH_JWT_SECRET: SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady('the service', child, url);
    await withClient(benchUrl, loadData);
    const authorization = `Bearer ${await signAccessToken(SECRET, { sub: USER_ID, expiresIn: '2h' })}`;
    const path = (format: string) => `/api/v1/graphs/${SLUG}/migrations/export?format=${format}`;
    // Warm-up: the first export's code paths and the pool's connection, so "before" is a serving instance.
    await fastClient(url, `/api/v1/graphs/${SLUG}/migrations/export?status=no_such_state`, authorization);
    await fastClient(url, `/api/v1/graphs/${SLUG}/migrations?limit=500`, authorization);

    const rows: { run: string; beforeMb: number; peakMb: number; afterMb: number; bytes: number; lines: number; seconds: number }[] = [];
    const measure = async (run: string, work: () => Promise<{ bytes: number; lines: number }>) => {
      const beforeMb = rssMb(child.pid!);
      const started = Date.now();
      const { result, peakMb } = await sampled(child.pid!, work);
      const row = { run, beforeMb, peakMb, afterMb: rssMb(child.pid!), ...result, seconds: (Date.now() - started) / 1000 };
      rows.push(row);
      log(
        `${run}: RSS ${row.beforeMb.toFixed(0)} → peak ${row.peakMb.toFixed(0)} → ${row.afterMb.toFixed(0)} MB, ${row.lines} lines, ${row.seconds.toFixed(1)} s`,
      );
    };
    await measure('fast, NDJSON', () => fastClient(url, path('ndjson'), authorization));
    await measure('fast, CSV', () => fastClient(url, path('csv'), authorization));
    await measure(`slow (${SLOW_KBPS} kB/s), NDJSON`, () => slowClient(url, path('ndjson'), authorization, SLOW_KBPS));
    await measure(`slow (${SLOW_KBPS} kB/s), CSV`, () => slowClient(url, path('csv'), authorization, SLOW_KBPS));
    await measure('3 fast at once, NDJSON', async () => {
      const results = await Promise.all([1, 2, 3].map(() => fastClient(url, path('ndjson'), authorization)));
      return { bytes: results.reduce((sum, r) => sum + r.bytes, 0), lines: results.reduce((sum, r) => sum + r.lines, 0) };
    });

    console.log(`\n${RUNS.toLocaleString('en')} runs, node ${NODE_FLAGS.join(' ')} dist/main.js (NODE_ENV=production)`);
    console.log('| export | RSS before (MB) | peak RSS during (MB) | RSS after (MB) | MB received | lines | seconds |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(
        `| ${row.run} | ${row.beforeMb.toFixed(0)} | ${row.peakMb.toFixed(0)} | ${row.afterMb.toFixed(0)} | ${(row.bytes / 2 ** 20).toFixed(1)} | ${row.lines.toLocaleString('en')} | ${row.seconds.toFixed(1)} |`,
      );
    }
  } finally {
    if (!exited) child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(undefined) : child.once('exit', resolve)));
    await withClient(ADMIN_URL, (client) => client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  }
}

await main();
