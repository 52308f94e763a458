// A PgBouncer of the test's own (Debian's package; .ci/run installs it): a config written to a temp
// directory, a free loopback port, pool_mode=transaction, a small server pool, trust auth against an
// auth_file, no Unix socket. It forwards every database name to one PostgreSQL server. Stopped and
// its directory removed by close(), or at process exit if the test died first, or by the next
// start if the test process was killed outright.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { claimDirectory, findProgram, handToServerUser, isRoot, onExit, requireProgram, startDaemon, sweepLeftovers } from './processes.js';

const PREFIX = 'gms-pgbouncer-';

export const PGBOUNCER = findProgram('pgbouncer', ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']);

/** True when PgBouncer is installed; under CI=true its absence throws. */
export const pgbouncerAvailable = (): boolean =>
  requireProgram('PgBouncer', PGBOUNCER !== undefined, 'apt-get install pgbouncer; .ci/run does it when missing');

export interface PgBouncer {
  port: number;
  /** `url` (a database on the target server) with its host and port replaced by this PgBouncer's. */
  via(url: string): string;
  /** A command on PgBouncer's admin console (SHOW POOLS, RECONNECT db, …): its rows. */
  admin(command: string): Promise<Record<string, string>[]>;
  /** The server connections PgBouncer holds for `database` right now (SHOW POOLS). */
  serverConnections(database: string): Promise<number>;
  /** What PgBouncer printed (its log). */
  output(): string;
  close(): Promise<void>;
}

export async function startPgBouncer(options: {
  target: { host: string; port: number; user: string };
  /** Server connections per database and user (`default_pool_size`). */
  poolSize: number;
  /** Extra lines for the [pgbouncer] section. */
  settings?: Record<string, string>;
}): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error('pgbouncer is not installed');
  await sweepLeftovers(PREFIX, async (leftover) => {
    const pid = Number(await readFile(path.join(leftover, 'pgbouncer.pid'), 'utf8'));
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  });
  const directory = await mkdtemp(path.join(tmpdir(), PREFIX));
  claimDirectory(directory);
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: path.join(directory, 'users.txt'),
    admin_users: options.target.user,
    pool_mode: 'transaction',
    default_pool_size: String(options.poolSize),
    min_pool_size: '0',
    reserve_pool_size: '0',
    max_client_conn: '500',
    pidfile: path.join(directory, 'pgbouncer.pid'),
    // No ignore_startup_parameters: a client that sends session settings at connect is refused, as by a default PgBouncer.
    ...options.settings,
  };
  const ini = [
    '[databases]',
    `* = host=${options.target.host} port=${options.target.port}`,
    '',
    '[pgbouncer]',
    ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
  await writeFile(path.join(directory, 'pgbouncer.ini'), ini);
  // trust still needs the user listed.
  await writeFile(path.join(directory, 'users.txt'), `"${options.target.user}" ""\n`);
  handToServerUser(directory, path.join(directory, 'pgbouncer.ini'), path.join(directory, 'users.txt'));

  // PgBouncer refuses to run as root; -u makes it switch to the postgres user itself.
  const { child, output } = startDaemon(PGBOUNCER, [...(isRoot ? ['-u', 'postgres'] : []), path.join(directory, 'pgbouncer.ini')]);
  const forget = onExit(() => child.kill('SIGKILL'));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const adminUrl = `postgresql://${options.target.user}@127.0.0.1:${port}/pgbouncer`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    forget();
    await rm(directory, { recursive: true, force: true });
  };

  // Ready when its admin console answers.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output()}`);
    }
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SHOW VERSION');
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`pgbouncer did not answer on 127.0.0.1:${port}: ${(error as Error).message}\n${output()}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }

  const admin = async (command: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      // The admin console speaks the simple protocol only, which pg uses for a text without values.
      return (await client.query<Record<string, string>>(command)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    port,
    via(url) {
      const pooled = new URL(url);
      pooled.hostname = '127.0.0.1';
      pooled.port = String(port);
      return pooled.toString();
    },
    admin,
    async serverConnections(database) {
      const pools = (await admin('SHOW POOLS')).filter((row) => row.database === database);
      const count = (row: Record<string, string>) =>
        ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'].reduce((sum, key) => sum + Number(row[key] ?? 0), 0);
      return pools.reduce((total, row) => total + count(row), 0);
    },
    output,
    close,
  };
}
