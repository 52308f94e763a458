// Tracing is off unless an OTLP endpoint is configured, and off it costs nothing: a real process
// (test/helpers/loadedPackages.ts) serves a request on each door, and test/helpers/recordPackages.mjs
// reports what it loaded. No OpenTelemetry SDK, exporter or instrumentation; only @opentelemetry/api,
// which prom-client loads for its exemplars whether or not anything traces (the no-op API, holding
// no provider).
// With an endpoint set the very same run loads the SDK: the check can fail.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const databases: TestDatabase[] = [];

async function loadedPackages(env: Record<string, string>): Promise<{ answers: number[]; packages: string[] }> {
  // A migrated embedded database (the tests' template): what is loaded is judged, not a first start.
  const database = await createTestDatabase('pglite');
  databases.push(database);
  const dataDir = database.dataDir;
  const recorded = path.join(dataDir, 'packages.txt');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', './test/helpers/recordPackages.mjs', '--import', 'tsx', 'test/helpers/loadedPackages.ts'],
    {
      cwd: REPOSITORY,
      timeout: 90_000,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        APOLLO_TELEMETRY_DISABLED: 'true',
        DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'silent',
        SEED_ON_FIRST_START: 'false',
        AUTH_JWT_SECRET: 'tracing-off-test-secret-0123456789abcdef',
        RECORD_PACKAGES_TO: recorded,
        ...env,
      },
    },
  );
  const packages = (await readFile(recorded, 'utf8'))
    .split('\n')
    .map((directory) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(directory)?.[1]);
  return {
    answers: JSON.parse(stdout.trim().split('\n').at(-1)!),
    packages: [...new Set(packages.filter((name) => name !== undefined))].sort(),
  };
}

describe('tracing off by default', () => {
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it(
    'loads no OpenTelemetry SDK, exporter or instrumentation without an OTLP endpoint; with one it does',
    { timeout: 120_000 },
    async () => {
      const off = await loadedPackages({});
      // Both doors answered (401 without a token on REST; the GraphQL typename query needs none).
      expect(off.answers).toEqual([401, 200]);
      expect(off.packages.filter((name) => name.startsWith('@opentelemetry/'))).toEqual(['@opentelemetry/api']);

      // Port 9 (discard) refuses: the spans are dropped with a warning, and the run still ends cleanly.
      const on = await loadedPackages({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
      expect(on.answers).toEqual([401, 200]);
      expect(on.packages).toEqual(
        expect.arrayContaining(['@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/core']),
      );
    },
  );
});
