// Fresh databases for tests: every test file gets its own, PGlite always and PostgreSQL whenever
// a server answers (under CI=true a missing server is a failure, not a skip: test/globalSetup.ts).
// They come migrated, copied from the run's templates (test/globalSetup.ts); `{ empty: true }`
// gives a database that has never been migrated, for the tests of the migration step itself.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import type { DatabaseConfig } from '../../src/database/client.js';
import { adminQuery, databaseUrl, uniqueDatabaseName } from './postgresAdmin.js';

export { POSTGRES_ADMIN_URL } from './postgresAdmin.js';

export type DatabaseKind = 'pglite' | 'postgres';

export const postgresAvailable = inject('postgresAvailable');

/** The kinds a suite runs on: `describe.each(DATABASE_KINDS)`. */
export const DATABASE_KINDS: DatabaseKind[] = postgresAvailable ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase {
  kind: DatabaseKind;
  config: DatabaseConfig;
  /** A scratch DATA_DIR for this database (the PGlite files live in it). */
  dataDir: string;
  /** Connection string of the PostgreSQL database (undefined for PGlite). */
  url?: string;
  drop(): Promise<void>;
}

/** `cp -R` copies a PGlite directory (about 40 MB, a thousand files) several times faster than fs.cp. */
async function copyDirectory(from: string, to: string): Promise<void> {
  try {
    await promisify(execFile)('cp', ['-R', from, to]);
  } catch {
    await rm(to, { recursive: true, force: true });
    await cp(from, to, { recursive: true });
  }
}

export async function createTestDatabase(kind: DatabaseKind, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gms-test-'));
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  if (kind === 'pglite') {
    // createDatabase keeps PGlite's files in DATA_DIR/pglite.
    const templates = inject('pgliteTemplates');
    await copyDirectory(options.empty ? templates.empty : templates.migrated, path.join(dataDir, 'pglite'));
    return { kind, dataDir, config: { kind: 'pglite', dataDir }, drop: removeDataDir };
  }
  const template = inject('postgresTemplate');
  if (!template) throw new Error('no PostgreSQL server for this run (see postgresAvailable)');
  const name = uniqueDatabaseName('gms_test');
  await adminQuery(options.empty ? `CREATE DATABASE "${name}"` : `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = databaseUrl(name);
  return {
    kind,
    dataDir,
    url,
    config: { kind: 'postgres', url, poolSize: 10 },
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await removeDataDir();
    },
  };
}
