// The real entry point as an operator runs it: `node --import tsx src/main.ts` with no configuration
// but a data directory and a port (the embedded default, PGlite, as a new user meets it). It must come
// up with demo data and print a curl line that works pasted into a shell as printed, stop cleanly on
// SIGTERM, start again on the same data without re-applying anything, and refuse bad configuration
// readably. Only a real process shows these: its output, its exit code, its signal handling.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_ADMIN_URL, postgresAvailable } from './helpers/databases.js';
import { freePort } from './helpers/net.js';
import { uniqueDatabaseName } from './helpers/postgresAdmin.js';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
// Bounds for a busy shared machine; the test never judges how fast anything is.
const START_DEADLINE_MS = 90_000;
const EXIT_DEADLINE_MS = 30_000;
const DEMO_GRAPH_ID = '3b9d6a52-1f0e-4c7b-a8d4-2e6f9c1b7a30';
const DEMO_RUN_IDS_NEWEST_FIRST = [7, 6, 5, 4, 3].map((n) => `0a6b9e0c-0000-4000-8000-00000000000${n}`);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Process {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

const running: Process[] = [];

function startMain(env: Record<string, string>): Process {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPOSITORY,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', APOLLO_TELEMETRY_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const started = { child, stdout: () => stdout, stderr: () => stderr, exited };
  running.push(started);
  void exited.then(() => running.splice(running.indexOf(started), 1));
  return started;
}

function describeOutput(main: Process): string {
  return `\n--- stdout ---\n${main.stdout()}\n--- stderr ---\n${main.stderr()}`;
}

async function exitWithin(main: Process, deadlineMs: number): Promise<Exit> {
  const timeout = sleep(deadlineMs).then(() => {
    throw new Error(`the process did not exit within ${deadlineMs} ms${describeOutput(main)}`);
  });
  return Promise.race([main.exited, timeout]);
}

/** Polls until `check` returns a value, failing early with the output if the process exits. */
async function waitFor<T>(main: Process, what: string, check: () => Promise<T | undefined>): Promise<T> {
  let exited: Exit | undefined;
  void main.exited.then((exit) => (exited = exit));
  const deadline = Date.now() + START_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the process exited (${JSON.stringify(exited)}) before ${what}${describeOutput(main)}`);
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(250);
  }
  throw new Error(`no ${what} within ${START_DEADLINE_MS} ms${describeOutput(main)}`);
}

async function waitForHealth(main: Process, baseUrl: string): Promise<void> {
  await waitFor(main, 'healthy /healthz', async () => {
    const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return response.status === 200 ? true : undefined;
  });
}

/** The curl line, alone on its line of stdout (indented), so that it can be copied whole. */
async function waitForCurlLine(main: Process): Promise<{ line: string; token: string; url: string }> {
  return waitFor(main, 'curl line on stdout', async () => {
    const match = /^\s*(curl -H 'Authorization: Bearer ([^']+)' '([^']+)')\s*$/m.exec(main.stdout());
    return match ? { line: match[1]!, token: match[2]!, url: match[3]! } : undefined;
  });
}

/** The `msg` of every pino line on stdout. */
function logMessages(main: Process): string[] {
  return main
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '');
}

async function demoHistory(baseUrl: string, token: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/api/v1/graphs/demo_knowledge/migrations`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.json() };
}

afterEach(async () => {
  // A failed assertion must not leave a server behind: stop what this file started, by its own handle.
  for (const main of [...running]) {
    main.child.kill('SIGKILL');
    await main.exited;
  }
});

describe('src/main.ts as a process', { timeout: 300_000 }, () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gms-main-'));
  });
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with demo data, stops on SIGTERM, and starts again on the same data without re-migrating', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const first = startMain({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    await waitForHealth(first, baseUrl);
    const curl = await waitForCurlLine(first);
    expect(curl.url).toBe(`${baseUrl}/api/v1/graphs/demo_knowledge/migrations?limit=5`);

    const history = await demoHistory(baseUrl, curl.token);
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    expect(history.body).toHaveLength(7);
    // The curl line works pasted into a shell as printed: the demo graph's five newest runs.
    const { stdout } = await promisify(execFile)('sh', ['-c', curl.line], { timeout: 60_000 });
    const runs = JSON.parse(stdout) as { id: string; graph_id: string }[];
    expect(runs.map((run) => run.id)).toEqual(DEMO_RUN_IDS_NEWEST_FIRST);
    expect(new Set(runs.map((run) => run.graph_id))).toEqual(new Set([DEMO_GRAPH_ID]));

    const firstMessages = logMessages(first);
    expect(firstMessages).toContain('first start: demo data loaded');
    expect(firstMessages.some((message) => /^applied \d+ migration\(s\)$/.test(message))).toBe(true);

    first.child.kill('SIGTERM');
    expect(await exitWithin(first, EXIT_DEADLINE_MS), describeOutput(first)).toEqual({ code: 0, signal: null });
    expect(logMessages(first)).toContain('shut down cleanly');

    const secondPort = await freePort();
    const secondUrl = `http://127.0.0.1:${secondPort}`;
    const second = startMain({ DATA_DIR: dataDir, PORT: String(secondPort), HOST: '127.0.0.1' });
    await waitForHealth(second, secondUrl);
    await waitForCurlLine(second);
    const secondMessages = logMessages(second);
    expect(secondMessages).toContain('database schema is up to date');
    expect(secondMessages.some((message) => message.startsWith('applied '))).toBe(false);
    expect(secondMessages).not.toContain('first start: demo data loaded');

    // Same data, and the development secret survived: the first run's token still works.
    const again = await demoHistory(secondUrl, curl.token);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toEqual(history.body);

    second.child.kill('SIGTERM');
    expect(await exitWithin(second, EXIT_DEADLINE_MS), describeOutput(second)).toEqual({ code: 0, signal: null });
  });

  it('exits 1 on bad configuration with one readable message naming every bad variable', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'gms-main-bad-'));
    try {
      const main = startMain({ DATA_DIR: scratch, PORT: 'abc', DATABASE_URL: 'nope', HOST: '127.0.0.1' });
      expect(await exitWithin(main, EXIT_DEADLINE_MS), describeOutput(main)).toEqual({ code: 1, signal: null });
      const stderr = main.stderr();
      expect(stderr.match(/Invalid configuration/g)).toHaveLength(1);
      expect(stderr).toMatch(/^\s+- PORT="abc": /m);
      expect(stderr).toMatch(/^\s+- DATABASE_URL: /m);
      expect(stderr).not.toContain('nope');
      // A message, not a crash: no stack trace.
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(main.stdout()).toBe('');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it.skipIf(!postgresAvailable)('exits 1 naming a database not created yet and the command that creates it', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'gms-main-missing-'));
    const name = uniqueDatabaseName('gms_never_created');
    const url = Object.assign(new URL(POSTGRES_ADMIN_URL), { pathname: `/${name}` });
    try {
      const main = startMain({ DATA_DIR: scratch, PORT: String(await freePort()), DATABASE_URL: url.toString(), HOST: '127.0.0.1' });
      expect(await exitWithin(main, EXIT_DEADLINE_MS), describeOutput(main)).toEqual({ code: 1, signal: null });
      const lines = main.stdout().trim().split('\n');
      expect(lines).toHaveLength(1);
      const { msg, err } = JSON.parse(lines[0]!) as { msg: string; err?: unknown };
      const port = url.port || '5432';
      expect(msg).toBe(
        `start-up failed: The database "${name}" (DATABASE_URL) does not exist on ${url.hostname}:${port}: create it with ` +
          `\`createdb --host=${url.hostname} --port=${port}${url.username ? ` --username=${decodeURIComponent(url.username)}` : ''} ${name}\` ` +
          '(or CREATE DATABASE as a role that may create databases), then start again; the service creates its tables itself',
      );
      // A step of the set-up, not a fault: no stack.
      expect(err).toBeUndefined();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
