// Runs once per `vitest run`, before any test file: migrates one template database of each kind, so
// that every test file gets a migrated database by copying it (CREATE DATABASE … TEMPLATE on
// PostgreSQL, a copy of the data directory for PGlite) instead of creating and migrating its own.
// A fresh PGlite runs initdb (seconds on a busy machine); a copy opens in a fraction of that.
// The templates are unique to this run (other runs may share the server) and removed at the end,
// whether the tests passed or not. test/database/migrate.test.ts still migrates empty databases (a copy of
// a PGlite that was created and never migrated, a PostgreSQL database made from template1).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase, type DatabaseConfig } from '../src/database/client.js';
import { migrate } from '../src/database/migrate.js';
import { adminQuery, databaseUrl, POSTGRES_ADMIN_URL, redact, uniqueDatabaseName } from './helpers/postgresAdmin.js';

const require = createRequire(import.meta.url);
const PGLITE_TEMPLATES_PREFIX = 'gms-templates-';
// Longer than any run of the suite, however busy the machine.
const ABANDONED_AFTER_MS = 6 * 60 * 60 * 1000;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server answered at POSTGRES_ADMIN_URL. */
    postgresAvailable: boolean;
    /** Name of the migrated PostgreSQL template database (null without PostgreSQL). */
    postgresTemplate: string | null;
    /** PGlite data directories (the `pglite` folder a DATA_DIR holds) to copy: migrated, and never migrated. */
    pgliteTemplates: { migrated: string; empty: string };
  }
}

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Opens (creating when absent), migrates unless told not to, and closes. */
async function prepared(config: DatabaseConfig, options: { migrate: boolean }): Promise<void> {
  const database = await createDatabase(config);
  try {
    if (options.migrate) await migrate(database);
  } finally {
    await database.close();
  }
}

/** PGlite's initdb is the slow part: done once, for the empty template, which the migrated one starts from. */
async function pgliteTemplates(root: string): Promise<{ migrated: string; empty: string }> {
  const empty = path.join(root, 'empty');
  const migrated = path.join(root, 'migrated');
  await prepared({ kind: 'pglite', dataDir: empty }, { migrate: false });
  await cp(empty, migrated, { recursive: true });
  await prepared({ kind: 'pglite', dataDir: migrated }, { migrate: true });
  // createDatabase keeps PGlite's files in DATA_DIR/pglite.
  return { empty: path.join(empty, 'pglite'), migrated: path.join(migrated, 'pglite') };
}

async function postgresTemplate(name: string): Promise<string> {
  await adminQuery(`CREATE DATABASE "${name}"`);
  try {
    await prepared({ kind: 'postgres', url: databaseUrl(name), poolSize: 1 }, { migrate: true });
    // Nobody connects to it from now on: CREATE DATABASE … TEMPLATE refuses a template in use.
    await adminQuery(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
    return name;
  } catch (error) {
    await dropPostgres(name);
    throw error;
  }
}

const dropStatement = (name: string) => `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`;

async function dropPostgres(name: string): Promise<void> {
  await adminQuery(dropStatement(name));
}

/**
 * vitest exits on Ctrl-C or SIGTERM without running the teardown this file returns: remove the
 * templates as the process exits instead. An 'exit' handler cannot wait for a socket, so a child
 * process drops the database. Returns the function that unregisters it (the teardown ran).
 */
function removeOnExit(pgliteRoot: string, postgresName: string | null): () => void {
  const dropScript = `const pg = require(process.argv[1]); const client = new pg.Client({ connectionString: process.argv[2] });
    client.connect().then(() => client.query(process.argv[3])).catch(() => {}).finally(() => client.end());`;
  const onExit = () => {
    rmSync(pgliteRoot, { recursive: true, force: true });
    if (postgresName) {
      spawnSync(process.execPath, ['-e', dropScript, require.resolve('pg'), POSTGRES_ADMIN_URL, dropStatement(postgresName)], {
        timeout: 10_000,
      });
    }
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

/** A run killed outright (SIGKILL, a crash) leaves its templates: remove those older than any run could be. */
async function removeAbandonedTemplates(): Promise<void> {
  const cutoff = Date.now() - ABANDONED_AFTER_MS;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'gms\\_template\\_%'`);
    for (const { datname } of rows) {
      const createdAt = parseInt(datname.split('_')[2] ?? '', 36);
      if (createdAt < cutoff) await client.query(dropStatement(datname));
    }
  } finally {
    await client.end();
  }
  for (const entry of await readdir(tmpdir())) {
    const directory = path.join(tmpdir(), entry);
    if (entry.startsWith(PGLITE_TEMPLATES_PREFIX) && (await stat(directory)).mtimeMs < cutoff) {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresAvailable = await postgresAnswers();
  if (!postgresAvailable) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true but no PostgreSQL answers at ${redact(POSTGRES_ADMIN_URL)}: the PostgreSQL tests cannot run`);
    }
    console.warn(`SKIPPING PostgreSQL tests: no server answers at ${redact(POSTGRES_ADMIN_URL)} (set TEST_DATABASE_URL)`);
  }

  if (postgresAvailable) await removeAbandonedTemplates();
  const pgliteRoot = await mkdtemp(path.join(tmpdir(), PGLITE_TEMPLATES_PREFIX));
  const postgresName = postgresAvailable ? uniqueDatabaseName('gms_template') : null;
  const unregister = removeOnExit(pgliteRoot, postgresName);
  const [pglite, postgres] = await Promise.allSettled([
    pgliteTemplates(pgliteRoot),
    postgresName ? postgresTemplate(postgresName) : Promise.resolve(null),
  ]);
  const teardown = async () => {
    await rm(pgliteRoot, { recursive: true, force: true });
    if (postgres.status === 'fulfilled' && postgres.value) await dropPostgres(postgres.value);
    unregister();
  };
  if (pglite.status === 'rejected' || postgres.status === 'rejected') {
    await teardown();
    throw pglite.status === 'rejected' ? pglite.reason : (postgres as PromiseRejectedResult).reason;
  }

  project.provide('postgresAvailable', postgresAvailable);
  project.provide('postgresTemplate', postgres.value);
  project.provide('pgliteTemplates', pglite.value);
  return teardown;
}
