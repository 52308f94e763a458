// Run as a child process by test/tracingOff.test.ts, after test/helpers/recordPackages.mjs (which
// records what the process loads) and tsx: starts the service with the environment it is given,
// answers one request on each door, stops, and prints the answers' statuses.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
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
console.log(JSON.stringify(answers));
