// Fresh databases for tests: every test file gets its own, PGlite always and PostgreSQL whenever
// a server answers (under CI=true a missing server is a failure, not a skip).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/db/client.js';

export type DatabaseKind = 'pglite' | 'postgres';

export const POSTGRES_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

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

export const postgresAvailable = await postgresAnswers();
if (!postgresAvailable) {
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but no PostgreSQL answers at ${redact(POSTGRES_ADMIN_URL)}: the PostgreSQL tests cannot run`);
  }
  console.warn(`SKIPPING PostgreSQL tests: no server answers at ${redact(POSTGRES_ADMIN_URL)} (set TEST_DATABASE_URL)`);
}

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

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gms-test-'));
  if (kind === 'pglite') {
    return { kind, dataDir, config: { kind: 'pglite', dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `gms_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    dataDir,
    url: url.toString(),
    config: { kind: 'postgres', url: url.toString(), poolSize: 10 },
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable TEST_DATABASE_URL)';
  }
}
