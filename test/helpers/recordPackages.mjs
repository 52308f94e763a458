// Preloaded with `node --import` by test/productionStart.test.ts into the production start
// (`node dist/main.js`): records every module the process resolves, through `require` or `import`,
// and at exit writes the names of the packages under node_modules they belong to, one a line, to
// the file RECORD_PACKAGES_TO names. Plain JavaScript: nothing here may need TypeScript tooling.
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
