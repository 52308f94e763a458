// Every test file (vitest.config.ts, setupFiles): each answer the suite receives through fetch from a
// documented route of a service on a loopback address is checked against the OpenAPI document the
// code generates (test/helpers/openapiCheck.ts). A violation rejects that fetch; in case the test
// caught the rejection, the test fails after it anyway. What was checked is written, per test file,
// to test/artifacts/openapi-check/ (`npx tsx test/helpers/openapiCheckTotals.ts` sums a run).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { installFetchCheck, takeCounts, takeViolations } from './helpers/openapiCheck.js';

installFetchCheck();

const ARTIFACTS = path.resolve(import.meta.dirname, 'artifacts', 'openapi-check');

const failOnViolations = () => {
  const violations = takeViolations();
  if (violations.length > 0)
    throw new Error(`${violations.length} answer(s) the OpenAPI document does not describe:\n${violations.join('\n')}`);
};

beforeAll(() => {
  // What an earlier file left (its background requests) is not this file's.
  takeViolations();
  takeCounts();
});
afterEach(failOnViolations);
// eslint-disable-next-line no-empty-pattern -- vitest gives a hook the file (its suite) second, after a context to destructure.
afterAll(({}, suite) => {
  const counts = takeCounts();
  const file = path.relative(path.resolve(import.meta.dirname, '..'), 'filepath' in suite ? suite.filepath : suite.file.filepath);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, `${file.replaceAll('/', '__')}.json`), `${JSON.stringify({ file, ...counts }, null, 2)}\n`);
  failOnViolations();
});
