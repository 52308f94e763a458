// Run as a child process (`node --import tsx`) by test/tracingOff.test.ts: starts the service with
// the environment it is given, answers one request on each door, stops, and prints the packages
// under node_modules that the process loaded (CommonJS ones, as OpenTelemetry's all are, land in
// the require cache also when imported from an ES module).
import { createRequire } from 'node:module';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';

const service = await startService(loadConfig(process.env), createLogger('silent'));
const answers = [
  (await fetch(`${service.url}/api/v1/graphs/some_graph/migrations`)).status,
  (
    await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    })
  ).status,
];
await service.close();
const packages = new Set<string>();
for (const file of Object.keys(createRequire(import.meta.url).cache)) {
  const name = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
  if (name) packages.add(name);
}
console.log(JSON.stringify({ answers, packages: [...packages].sort() }));
