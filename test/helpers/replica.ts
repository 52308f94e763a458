// PostgreSQL clusters of the test's own, made with the server programs Debian's PostgreSQL package
// installs: a primary alone (startOwnCluster: a server a test may crash and restart), or a primary
// and a streaming read replica (startReplicatedPair). initdb a small primary in a temp directory (its
// default pg_hba allows replication from 127.0.0.1, which the shared server on 5432 does not),
// pg_basebackup -R -X stream from it, each started with pg_ctl on a free loopback port. They are
// stopped (-m immediate) and the directory removed by close(), or at process exit if the test died
// first, or by the next start if the test process was killed outright.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import {
  asServerUser,
  claimDirectory,
  handToServerUser,
  onExit,
  postgresBinDir,
  requireProgram,
  run,
  sweepLeftovers,
} from './processes.js';

const PREFIX = 'gms-replica-';

export const POSTGRES_BIN = postgresBinDir();

/** True when initdb, pg_ctl and pg_basebackup are installed; under CI=true their absence throws. */
export const replicaAvailable = (): boolean =>
  requireProgram(
    'PostgreSQL server programs (initdb, pg_ctl, pg_basebackup)',
    POSTGRES_BIN !== undefined,
    "Debian's postgresql package puts them in /usr/lib/postgresql/<version>/bin; or set POSTGRES_BIN_DIR",
  );

export interface Cluster {
  name: 'primary' | 'replica';
  port: number;
  /** A connection string for `database` on this cluster. */
  url(database?: string): string;
  /** Starts the cluster (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it: `immediate` is a crash (the replica recovers on start), `fast` a clean shutdown. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Sets server settings (appended to postgresql.conf), reloads, and waits until the server shows them. */
  configure(settings: Record<string, string>): Promise<void>;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[], database?: string): Promise<T[]>;
}

export interface ReplicatedPair {
  primary: Cluster;
  replica: Cluster;
  /** Resolves once the replica has replayed everything the primary had written when called. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const bin = (program: string) => path.join(POSTGRES_BIN!, program);

function cluster(name: Cluster['name'], directory: string, dataDir: string, port: number): Cluster {
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const log = path.join(directory, `${name}.log`);
  return {
    name,
    port,
    url,
    async start() {
      await run(bin('pg_ctl'), ['-D', dataDir, '-l', log, '-w', '-t', '60', 'start']);
    },
    async stop(mode = 'immediate') {
      await run(bin('pg_ctl'), ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
    },
    async configure(settings) {
      const lines = Object.entries(settings).map(([key, value]) => `${key} = '${value}'`);
      await appendFile(path.join(dataDir, 'postgresql.conf'), `\n${lines.join('\n')}\n`);
      await run(bin('pg_ctl'), ['-D', dataDir, 'reload']);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const shown = await Promise.all(
          Object.keys(settings).map((key) => this.query<{ value: string }>(`SELECT current_setting($1) AS value`, [key])),
        );
        if (shown.every(([row], i) => row?.value === Object.values(settings)[i])) return;
        if (Date.now() > deadline) throw new Error(`${name} did not take ${JSON.stringify(settings)} after a reload`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async query(sql, values, database) {
      const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        return (await client.query(sql, values)).rows;
      } finally {
        await client.end();
      }
    },
  };
}

/** A cluster of the test's own with a way to remove it: stopped (-m immediate) and its directory removed by close(). */
export interface OwnCluster extends Cluster {
  close(): Promise<void>;
}

interface Owned {
  directory: string;
  /** Data directories of the clusters running now (stopped at close or exit). */
  running: Set<string>;
  close(): Promise<void>;
}

/** A temp directory the postgres user can reach, cleaned at close or process exit; leftovers of killed tests swept first. */
async function ownDirectory(): Promise<Owned> {
  await sweepLeftovers(PREFIX, async (leftover) => {
    for (const node of ['replica', 'primary']) {
      const dataDir = path.join(leftover, node);
      if (existsSync(path.join(dataDir, 'postmaster.pid')))
        await run(bin('pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => {});
    }
  });
  const directory = await mkdtemp(path.join(tmpdir(), PREFIX));
  claimDirectory(directory);
  // The server runs as the postgres user (it refuses root): it must reach the directory.
  await chmod(directory, 0o755);
  handToServerUser(directory);
  const running = new Set<string>();
  const stopAll = () => {
    for (const dataDir of running) {
      const [command, args] = asServerUser(bin('pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']);
      spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    }
  };
  // At exit nothing asynchronous runs: stop the servers and remove the files synchronously.
  const forget = onExit(() => {
    stopAll();
    spawnSync('rm', ['-rf', directory], { stdio: 'ignore' });
  });
  return {
    directory,
    running,
    async close() {
      // Newest first: a replica stops before its primary.
      for (const dataDir of [...running].reverse())
        await run(bin('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => {});
      running.clear();
      forget();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** initdb a small, fast primary in `owned`'s directory and start it on a free loopback port. */
async function initPrimary(owned: Owned): Promise<Cluster> {
  const dataDir = path.join(owned.directory, 'primary');
  const port = await freePort();
  const primary = cluster('primary', owned.directory, dataDir, port);
  // No fsync (a test cluster is thrown away), loopback only, its socket in its own directory.
  await run(bin('initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  await appendFile(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${owned.directory}'`,
      'fsync = off',
      'shared_buffers = 32MB',
      'max_connections = 60',
      'wal_level = replica',
      'max_wal_senders = 4',
      'wal_keep_size = 256MB',
      'hot_standby = on',
      '',
    ].join('\n'),
  );
  await primary.start();
  owned.running.add(dataDir);
  return primary;
}

/** One PostgreSQL cluster of the test's own, e.g. to stop and start it under a running service. */
export async function startOwnCluster(): Promise<OwnCluster> {
  if (!POSTGRES_BIN) throw new Error('PostgreSQL server programs are not installed');
  const owned = await ownDirectory();
  try {
    return Object.assign(await initPrimary(owned), { close: owned.close });
  } catch (error) {
    await owned.close();
    throw error;
  }
}

export async function startReplicatedPair(): Promise<ReplicatedPair> {
  if (!POSTGRES_BIN) throw new Error('PostgreSQL server programs are not installed');
  const owned = await ownDirectory();
  const { close } = owned;
  let primary: Cluster;
  let replica: Cluster;
  try {
    primary = await initPrimary(owned);
    const replicaData = path.join(owned.directory, 'replica');
    const replicaPort = await freePort();
    replica = cluster('replica', owned.directory, replicaData, replicaPort);
    // The replica: a base backup that writes primary_conninfo and standby.signal (-R) and streams the WAL it needs (-X stream).
    await run(bin('pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      replicaData,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ]);
    await appendFile(path.join(replicaData, 'postgresql.conf'), `\nport = ${replicaPort}\n`);
    await replica.start();
    owned.running.add(replicaData);

    const [{ recovering }] = (await replica.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering')) as [
      { recovering: boolean },
    ];
    if (!recovering) throw new Error('the replica is not in recovery: pg_basebackup -R did not make a standby');
  } catch (error) {
    await close();
    throw error;
  }

  return {
    primary,
    replica,
    async waitForReplay(timeoutMs = 15_000) {
      const [{ lsn }] = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [{ replayed, at }] = (await replica.query<{ replayed: boolean; at: string | null }>(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS replayed, pg_last_wal_replay_lsn()::text AS at',
          [lsn],
        )) as [{ replayed: boolean; at: string | null }];
        if (replayed) return;
        if (Date.now() > deadline) throw new Error(`the replica has replayed up to ${at}, not ${lsn}, after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close,
  };
}
