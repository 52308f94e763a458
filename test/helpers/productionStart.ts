// The production start as package.json's `start:prod` spells it (`node [flags] dist/main.js`): the
// one place its flags are written, read by the test that runs it and by the benchmarks.
import { readFileSync } from 'node:fs';

/** The arguments `npm run start:prod` gives node: its flags, then dist/main.js. */
export function productionNodeArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [program, ...args] = scripts['start:prod']!.trim().split(/\s+/);
  if (program !== 'node' || args.at(-1) !== 'dist/main.js')
    throw new Error(`start:prod is expected to be \`node [flags] dist/main.js\`: ${scripts['start:prod']}`);
  return args;
}
