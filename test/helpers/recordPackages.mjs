// Preloaded with `node --import` (test/productionStart.test.ts into the production start,
// test/tracingOff.test.ts into test/helpers/loadedPackages.ts): records every module the process
// resolves, through `require` or `import` (OpenTelemetry's 3.x packages give `import` an `.mjs` build
// that never lands in the require cache), and at exit writes the directories under node_modules of
// the packages they belong to, one a line, to the file RECORD_PACKAGES_TO names. Plain JavaScript:
// nothing here may need TypeScript tooling.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import process from 'node:process';

const packages = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    const directory = /^file:\/\/(.*node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(result.url)?.[1];
    if (directory) packages.add(decodeURIComponent(directory));
    return result;
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_PACKAGES_TO, [...packages].sort().join('\n')));
