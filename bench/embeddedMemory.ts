// npm run bench:embedded: the memory of the embedded start (issue 32). For each round, a fresh DATA_DIR
// is started the way a developer starts the service, `npm start` (package.json's `npm run generate &&
// tsx … src/main.ts`), and then the same DATA_DIR again (a restart); each start is waited on until it prints
// its demo curl line, sent that request once, left idle, and measured: the RSS (VmRSS) and peak RSS
// (VmHWM) of the service's own node process (the one that runs src/main.ts, below npm, sh and tsx's
// launcher), its smaps split (wasm linear memories, executable code, other anonymous, files), and the
// peak RSS of every other process of the start (npm, tsx's launcher, esbuild, the generate steps),
// which is not counted in the service's. Then BENCH_EMBEDDED_REQUESTS more requests one after the
// other, their latency and the RSS after them (a slower compilation tier would show there). The same
// for `node dist/main.js` (the build's form, run as `npm start` configures it otherwise, built by
// `npm run build`), and, as the reference, `node dist/main.js` on PostgreSQL (form `postgres`: a new
// database at BENCH_DATABASE_URL's server, migrated and seeded by the start, dropped at the end).
// Every start is printed, then a table with the median of the rounds.
// Knobs: BENCH_ROUNDS (3), BENCH_EMBEDDED_FORMS (start,dist; add postgres for the reference),
// BENCH_EMBEDDED_IDLE_S (10: the idle wait after the request), BENCH_EMBEDDED_REQUESTS (500),
// BENCH_NODE_FLAGS (flags for node in the dist and postgres forms, space-separated; `-` for none),
// BENCH_ROOT (the checkout to start, e.g. the previous release for a before/after; its dist/ built).
// Loopback only; every DATA_DIR is a temporary directory, removed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/net.js';
import { withClient } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ROOT = process.env.BENCH_ROOT ?? new URL('..', import.meta.url).pathname;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FORMS = (process.env.BENCH_EMBEDDED_FORMS ?? 'start,dist').split(',').filter(Boolean) as Form[];
const IDLE_S = Number(process.env.BENCH_EMBEDDED_IDLE_S ?? 10);
const REQUESTS = Number(process.env.BENCH_EMBEDDED_REQUESTS ?? 500);
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag && flag !== '-');
const START_TIMEOUT_MS = 180_000;
/** The embedded start's target (issue 32): idle RSS of the service's process, first start and restart. */
const TARGET_MB = 250;

type Form = 'start' | 'dist' | 'postgres';
type Start = 'first start' | 'restart';

const log = (message: string) => console.error(`[bench:embedded ${new Date().toISOString().slice(11, 19)}] ${message}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process's resident memory now and at its peak (VmHWM), in MB; undefined once it is gone. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

interface Split {
  /** Anonymous read-write mappings of 64 MB or more: WebAssembly linear memories (PGlite's). */
  wasmMemoryMb: number;
  /** Anonymous executable mappings: V8's code space (JS and WebAssembly code). */
  codeMb: number;
  /** Every other anonymous mapping: the JS heap, malloc (compiler zones, esbuild's results, PGlite's file bundle). */
  otherAnonMb: number;
  /** File-backed: the node binary, shared libraries, memory-mapped files. */
  fileMb: number;
}

/** Where a process's resident memory is, from /proc/<pid>/smaps. */
function splitOf(pid: number): Split {
  const split: Split = { wasmMemoryMb: 0, codeMb: 0, otherAnonMb: 0, fileMb: 0 };
  let mapping: { sizeMb: number; perms: string; file: boolean } | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[4]!;
      mapping = {
        sizeMb: (parseInt(header[2]!, 16) - parseInt(header[1]!, 16)) / 2 ** 20,
        perms: header[3]!,
        file: name !== '' && !name.startsWith('['),
      };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss || !mapping) continue;
    const mb = Number(rss[1]) / 1024;
    if (mapping.file) split.fileMb += mb;
    else if (mapping.perms.includes('x')) split.codeMb += mb;
    else if (mapping.perms.startsWith('rw') && mapping.sizeMb >= 64) split.wasmMemoryMb += mb;
    else split.otherAnonMb += mb;
  }
  return split;
}

/** The processes below `pid` (its children, theirs, …) with their command lines. */
function descendants(pid: number): { pid: number; args: string[] }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: { pid: number; args: string[] }[] = [];
  const visit = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      try {
        found.push({ pid: child, args: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        continue;
      }
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** A short name for a process of the start, for the "others" column. */
function label(args: string[]): string {
  const joined = args.join(' ');
  if (/npm-cli\.js|\bnpm\b/.test(args.slice(0, 2).join(' '))) return joined.includes('generate') ? 'npm run generate' : 'npm';
  if (args[0] === 'sh' || args[0] === '/bin/sh') return 'sh';
  if (joined.includes('esbuild') && joined.includes('--service')) return 'esbuild';
  if (/\.bin\/tsx|tsx\/dist\/cli/.test(joined)) return 'tsx launcher';
  if (joined.includes('scripts/')) return path.basename(args.find((arg) => arg.includes('scripts/'))!);
  // src/database/embedded.ts: a new data directory's initdb, in a process of its own.
  if (args.includes('-e') && joined.includes('PGlite')) return 'PGlite initdb';
  return path.basename(args[0] ?? '?');
}

/** The service's own process: the node that runs src/main.ts (under tsx's loader) or dist/main.js. */
const isService = (args: string[]) =>
  args.some((arg) => arg === 'src/main.ts' || arg === 'dist/main.js') && !args.some((arg) => /\.bin\/tsx$|tsx\/dist\/cli\.m?js$/.test(arg));

interface Measure {
  form: Form;
  start: Start;
  readyS: number;
  firstRequestMs: number;
  idleMb: number;
  peakMb: number;
  split: Split;
  others: Map<string, number>;
  latency?: { p50: number; p90: number; p99: number; rssMb: number; peakMb: number };
}

/** The start's command: `npm start` as a developer runs it, or the build's `node dist/main.js`. */
function command(form: Form): [string, string[]] {
  if (form === 'start') return ['npm', ['start']];
  // dist and postgres: the build, on the embedded database or on PostgreSQL.
  return [process.execPath, [...NODE_FLAGS, 'dist/main.js']];
}

async function measureStart(form: Form, start: Start, dataDir: string, databaseUrl?: string): Promise<Measure> {
  const port = await freePort();
  // A developer's environment, without anything that would point the start away from the embedded
  // database and its development auth.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(DATABASE_|AUTH_|METRICS_|OTEL_|NODE_ENV$|PORT$|HOST$|npm_)/.test(name)),
  );
  const [program, args] = command(form);
  const started = performance.now();
  const child: ChildProcess = spawn(program, args, {
    cwd: ROOT,
    env: {
      ...env,
      APOLLO_TELEMETRY_DISABLED: 'true',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      // On PostgreSQL the demo data is loaded only when asked for; the curl line comes with it.
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, SEED_ON_FIRST_START: 'true' } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  // Every process of the start, sampled until the end: the peak RSS each reached (VmHWM, read while it runs).
  const others = new Map<string, number>();
  let servicePid: number | undefined;
  const sample = () => {
    for (const { pid, args: processArgs } of [{ pid: child.pid!, args: [program, ...args] }, ...descendants(child.pid!)]) {
      if (isService(processArgs) && (form !== 'start' || processArgs.some((arg) => arg.includes('loader')))) {
        servicePid ??= pid;
        if (servicePid === pid) continue;
      }
      const memory = memoryOf(pid);
      if (!memory) continue;
      const name = label(processArgs);
      others.set(name, Math.max(others.get(name) ?? 0, memory.peakMb));
    }
  };
  const sampler = setInterval(sample, 50);
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let curl: RegExpExecArray | null = null;
    while (!(curl = /curl -H 'Authorization: Bearer ([^']+)' '([^']+)'/.exec(output))) {
      if (child.exitCode !== null) throw new Error(`${form} exited with ${child.exitCode}:\n${output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`${form} printed no curl line within ${START_TIMEOUT_MS / 1000} s:\n${output.slice(-3000)}`);
      await sleep(50);
    }
    const readyS = (performance.now() - started) / 1000;
    sample();
    if (servicePid === undefined) throw new Error(`no service process found below ${child.pid}`);
    const [token, url] = [curl[1]!, curl[2]!];
    const request = async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const items = (await response.json()) as unknown[];
      if (response.status !== 200 || !Array.isArray(items)) throw new Error(`${url}: ${response.status} ${JSON.stringify(items)}`);
    };
    const requestStarted = performance.now();
    await request();
    const firstRequestMs = performance.now() - requestStarted;
    await sleep(IDLE_S * 1000);
    const idle = memoryOf(servicePid)!;
    const measure: Measure = {
      form,
      start,
      readyS,
      firstRequestMs,
      idleMb: idle.rssMb,
      peakMb: idle.peakMb,
      split: splitOf(servicePid),
      others,
    };
    if (REQUESTS > 0) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const t = performance.now();
        await request();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const after = memoryOf(servicePid)!;
      measure.latency = { p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99), ...after };
    }
    return measure;
  } finally {
    clearInterval(sampler);
    // The whole start: npm, sh, tsx's launcher and the service (SIGTERM: the service drains and exits).
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    // The service may outlive npm by its drain: the next start of this DATA_DIR waits until it is gone.
    for (let i = 0; servicePid !== undefined && memoryOf(servicePid) && i < 200; i++) await sleep(50);
  }
}

const mb = (value: number) => value.toFixed(0);
const othersText = (others: Map<string, number>) =>
  [...others]
    .filter(([, peak]) => peak >= 5)
    .map(([name, peak]) => `${name} ${mb(peak)}`)
    .join(', ');

function print(measure: Measure, round: number) {
  const { split, latency } = measure;
  log(
    `round ${round} ${measure.form} ${measure.start}: ready ${measure.readyS.toFixed(1)} s, first request ${measure.firstRequestMs.toFixed(0)} ms; ` +
      `service idle RSS ${mb(measure.idleMb)} MB (peak ${mb(measure.peakMb)}) = wasm memory ${mb(split.wasmMemoryMb)} + code ${mb(split.codeMb)} + ` +
      `other anonymous ${mb(split.otherAnonMb)} + files ${mb(split.fileMb)}; other processes' peaks (MB): ${othersText(measure.others)}` +
      (latency
        ? `; ${REQUESTS} requests: p50 ${latency.p50.toFixed(2)} ms, p90 ${latency.p90.toFixed(2)}, p99 ${latency.p99.toFixed(2)}, then RSS ${mb(latency.rssMb)} MB (peak ${mb(latency.peakMb)})`
        : ''),
  );
}

async function main() {
  const measures: Measure[] = [];
  log(`${ROUNDS} round(s) of ${FORMS.join(' and ')} in ${ROOT}, idle ${IDLE_S} s after one request, then ${REQUESTS} requests`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const form of FORMS) {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'gms-embedded-'));
      const database = form === 'postgres' ? `gms_embedded_${Date.now().toString(36)}` : undefined;
      if (database) await withClient(ADMIN_URL, (client) => client.query(`CREATE DATABASE "${database}"`));
      const databaseUrl = database && Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString();
      try {
        for (const start of ['first start', 'restart'] as const) {
          const measure = await measureStart(form, start, dataDir, databaseUrl);
          print(measure, round);
          measures.push(measure);
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        if (database) await withClient(ADMIN_URL, (client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
      }
    }
  }

  console.log(`\nembedded start (PGlite) in ${ROOT}, ${ROUNDS} round(s), median; RSS of the service's node process`);
  const formName = (form: Form) =>
    form === 'start' ? 'npm start' : `node ${[...NODE_FLAGS, 'dist/main.js'].join(' ')}${form === 'postgres' ? ' on PostgreSQL' : ''}`;
  console.log(
    '| form | start | ready (s) | idle RSS (MB) | peak RSS (MB) | wasm memory | code | other anon | files | p50 / p99 (ms) | RSS after requests (peak) | other processes (peak MB) |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  let over = false;
  for (const form of FORMS) {
    for (const start of ['first start', 'restart'] as const) {
      const rows = measures.filter((measure) => measure.form === form && measure.start === start);
      if (rows.length === 0) continue;
      const m = (pick: (measure: Measure) => number) => median(rows.map(pick));
      const idle = m((r) => r.idleMb);
      if (idle > TARGET_MB && form !== 'postgres') over = true;
      const latency = rows[0]!.latency
        ? `${m((r) => r.latency!.p50).toFixed(2)} / ${m((r) => r.latency!.p99).toFixed(2)} | ${mb(m((r) => r.latency!.rssMb))} (${mb(m((r) => r.latency!.peakMb))})`
        : '– | –';
      console.log(
        `| ${formName(form)} | ${start} | ${m((r) => r.readyS).toFixed(1)} | ${mb(idle)} | ${mb(m((r) => r.peakMb))} | ` +
          `${mb(m((r) => r.split.wasmMemoryMb))} | ${mb(m((r) => r.split.codeMb))} | ${mb(m((r) => r.split.otherAnonMb))} | ${mb(m((r) => r.split.fileMb))} | ` +
          `${latency} | ${othersText(rows[0]!.others)} |`,
      );
    }
  }
  console.log(`idle RSS target: ≤ ${TARGET_MB} MB on a first start and a restart: ${over ? 'NOT met' : 'met'}`);
}

await main();
