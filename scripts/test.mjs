// `npm test`: the Prisma client and playground bundle, the generated resolver types checked against
// schema.graphql, the type check, then the whole vitest suite (arguments are passed to vitest). Stops
// at the first failing step, with its exit code, and always ends by printing how long all of it took.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const steps = [
  ['npm', 'run', 'generate'],
  ['graphql-codegen', '--config', 'codegen.ts', '--check'],
  ['npm', 'run', 'typecheck'],
  ['vitest', 'run', ...process.argv.slice(2)],
];

const started = process.hrtime.bigint();
// The local binaries, as npm scripts see them, also when this file is run with `node` directly.
const env = { ...process.env, PATH: `${path.resolve('node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}` };
let status = 0;
for (const [command, ...args] of steps) {
  // Windows runs npm and the .bin shims as .cmd files, through its shell.
  const result = spawnSync(command, args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
  status = result.status ?? 1;
  if (status !== 0) break;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`\nnpm test: ${seconds.toFixed(0)} s${status === 0 ? '' : ` (failed, exit code ${status})`}`);
process.exit(status);
