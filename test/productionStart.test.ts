// The production start needs no TypeScript tooling: the service compiled into dist/ as `npm run
// build` does, started as `npm run start:prod` does (`node [its flags] dist/main.js`) on each database, answers on both doors and stops on
// SIGTERM, and everything it loaded is in a production install (`npm ci --omit=dev --omit=optional`);
// no compiler, loader, bundler or Prisma CLI is among it.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DATABASE_KINDS } from './helpers/databases.js';
import { freePort } from './helpers/net.js';
import { productionNodeArgs } from './helpers/productionStart.js';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const DEV_TOOLING = ['tsx', 'typescript', 'esbuild', 'prisma', '@prisma/engines', '@graphql-codegen/cli', 'vitest'];

/** The package a directory under node_modules holds: `@scope/name` or `name`. */
const packageName = (directory: string) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(directory)?.[1] ?? directory;

/**
 * The directories of the packages a production install holds: `npm ci --omit=dev --omit=optional`
 * (the README's Production start). Both omissions are needed: `prisma` and `typescript` are optional
 * peers of `@prisma/client` as well as our dev dependencies, which the lockfile marks `devOptional`,
 * and npm leaves those out only when both kinds are omitted.
 */
let production: Set<string>;

beforeAll(async () => {
  // dist/ must sit beside prisma/ and schema.graphql, which it reads relative to itself.
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: REPOSITORY });
  const lock = JSON.parse(await readFile(path.join(REPOSITORY, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean }>;
  };
  production = new Set(
    Object.entries(lock.packages)
      .filter(([where, entry]) => where !== '' && !entry.dev && !entry.devOptional && !entry.optional)
      .map(([where]) => path.join(REPOSITORY, where)),
  );
}, 120_000);

describe.each(DATABASE_KINDS)('the production start on %s', (kind) => {
  it('serves both doors and stops cleanly, loading production dependencies only', { timeout: 120_000 }, async () => {
    const database = await createTestDatabase(kind);
    const recorded = path.join(await mkdtemp(path.join(tmpdir(), 'gms-production-')), 'packages.txt');
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', './test/helpers/recordPackages.mjs', ...productionNodeArgs()], {
      cwd: REPOSITORY,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        APOLLO_TELEMETRY_DISABLED: 'true',
        NODE_ENV: 'production',
        PORT: String(port),
        DATA_DIR: database.dataDir,
        ...(database.url ? { DATABASE_URL: database.url } : {}),
        AUTH_JWT_SECRET: 'production-start-test-secret-0123456789abcdef',
        PLAYGROUND_ENABLED: 'false',
        LOG_LEVEL: 'warn',
        RECORD_PACKAGES_TO: recorded,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 90_000;
      while (
        (await fetch(`${url}/readyz`).then(
          (response) => response.status,
          () => 0,
        )) !== 200
      ) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`not ready (exit ${child.exitCode}):\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const rest = await fetch(`${url}/api/v1/graphs/some_graph/migrations`);
      const graphql = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect([rest.status, graphql.status]).toEqual([401, 200]);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await database.drop();
    }
    const loaded = (await readFile(recorded, 'utf8')).split('\n').filter(Boolean);
    const names = loaded.map(packageName);
    expect(names).toEqual(expect.arrayContaining(['fastify', '@prisma/client', kind === 'postgres' ? 'pg' : '@electric-sql/pglite']));
    expect(loaded.filter((directory) => !production.has(directory))).toEqual([]);
    expect(names.filter((name) => DEV_TOOLING.includes(name))).toEqual([]);
    await rm(path.dirname(recorded), { recursive: true, force: true });
  });
});

it('names no build tool among the dependencies', async () => {
  const { dependencies } = JSON.parse(await readFile(path.join(REPOSITORY, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(Object.keys(dependencies).filter((name) => DEV_TOOLING.includes(name))).toEqual([]);
});
