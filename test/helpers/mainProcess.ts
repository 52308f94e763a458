// The real process (`node --import tsx src/main.ts`) on a test database, for the tests that need
// what only a process of its own shows: its signals and exit, its own event loop under a crowd of
// clients in this one.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from './databases.js';
import { freePort } from './net.js';
import { TEST_JWT_SECRET } from './service.js';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

export interface MainProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once /readyz answers 200 (rejects with its output after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, and its exit. */
  stop(): Promise<void>;
}

/** Starts the service on `database` (seeded on first start), with its output collected and its exit awaited. */
export async function startMain(database: TestDatabase, env: Record<string, string> = {}): Promise<MainProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPOSITORY,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      APOLLO_TELEMETRY_DISABLED: 'true',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: database.dataDir,
      SEED_ON_FIRST_START: 'true',
      SHUTDOWN_TIMEOUT_MS: '30000',
      ...(database.url ? { DATABASE_URL: database.url } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    child,
    output: () => output,
    exited,
    async ready(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await fetch(`${url}/readyz`).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200) return;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the service did not become ready:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
