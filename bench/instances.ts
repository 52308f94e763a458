// What the benchmarks share when they start production instances of the service (`node dist/main.js`).
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { freePort } from '../test/helpers/net.js';
import { productionNodeArgs } from '../test/helpers/productionStart.js';

const root = new URL('..', import.meta.url).pathname;

/** One instance of the benchmark: its settings, and once started its process and URL. */
export interface Side {
  name: string;
  env: Record<string, string>;
  child?: ChildProcess;
  url?: string;
}

/**
 * Starts `side` on a free loopback port in production mode with `env` and then the side's own
 * settings, and waits until it is ready. The instance's stdout is dropped unless `stdout` is set.
 * It runs as `npm run start:prod` does, flags included. Three settings are the benchmark's, not the
 * service's, to compare runtimes, flags or builds side by side: BENCH_NODE, the Node.js binary to run
 * (default: the benchmark's own), BENCH_NODE_FLAGS, its command-line flags instead of start:prod's,
 * space-separated (V8's, which NODE_OPTIONS mostly refuses; `-` for none), and BENCH_ROOT, the
 * checkout whose dist/ to run (default: this one).
 */
export async function startSide(side: Side, env: Record<string, string>, stdout: 'ignore' | 'inherit' = 'ignore'): Promise<void> {
  const port = await freePort();
  const { BENCH_NODE, BENCH_NODE_FLAGS, BENCH_ROOT, ...settings } = { ...env, ...side.env };
  const args =
    BENCH_NODE_FLAGS === undefined
      ? productionNodeArgs()
      : [...BENCH_NODE_FLAGS.split(' ').filter((flag) => flag && flag !== '-'), 'dist/main.js'];
  side.child = spawn(BENCH_NODE ?? process.execPath, args, {
    cwd: BENCH_ROOT ?? root,
    env: {
      PATH: process.env.PATH ?? '',
      APOLLO_TELEMETRY_DISABLED: 'true',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...settings,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
  side.url = `http://127.0.0.1:${port}`;
  await waitUntilReady(side.name, side.child, side.url);
}

/** Waits until the instance at `url` answers /readyz with 200; throws if it exits first or takes a minute. */
export async function waitUntilReady(name: string, child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `work` with a client of its own on `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
