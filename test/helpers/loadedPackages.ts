// Run as a child process (`node --import tsx`) by test/tracingOff.test.ts: starts the service with
// the environment it is given, answers one request on each door, stops, and prints the packages
// under node_modules that the process loaded. A package may load as CommonJS (it lands in the
// require cache) or as an ES module (OpenTelemetry's 3.x packages give `import` their `.mjs`
// build, which never does): a resolve hook, registered before the service is imported, records the
// files of both.
import { createRequire, registerHooks } from 'node:module';

const resolved = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.add(result.url);
    return result;
  },
});

const { loadConfig } = await import('../../src/config.js');
const { createLogger } = await import('../../src/logger.js');
const { startService } = await import('../../src/service.js');

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
for (const file of [...Object.keys(createRequire(import.meta.url).cache), ...resolved]) {
  const name = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
  if (name) packages.add(name);
}
console.log(JSON.stringify({ answers, packages: [...packages].sort() }));
