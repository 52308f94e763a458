// `npm run generate` (run by start, build, test and token): the Prisma client (src/database/generated, from
// prisma/schema.prisma) and the playground bundle (build/playground, from playground/), each only
// when it is missing or stale. What an output was made from is recorded beside it, as a SHA-256 of
// its inputs (the sources, the generating script, the installed versions in package-lock.json): a
// start with nothing changed runs neither generator. `--quiet`: nothing printed unless a generator
// fails (npm run token prints the token alone); `--force`: both, whatever is recorded.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const quiet = process.argv.includes('--quiet');
const force = process.argv.includes('--force');
const STAMP = '.inputs.sha256';

const filesUnder = (directory) =>
  readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();

const outputs = [
  {
    name: 'Prisma client',
    directory: 'src/database/generated',
    inputs: () => ['prisma/schema.prisma', 'prisma.config.ts', 'scripts/prisma-generate.mjs', 'package-lock.json'],
    script: 'scripts/prisma-generate.mjs',
  },
  {
    name: 'playground bundle',
    directory: 'build/playground',
    inputs: () => [...filesUnder('playground'), 'scripts/build-playground.mjs', 'package-lock.json'],
    script: 'scripts/build-playground.mjs',
  },
];

function fingerprint(files) {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(existsSync(file) ? readFileSync(file) : '')
      .update('\0');
  return hash.digest('hex');
}

let status = 0;
for (const output of outputs) {
  const stamp = path.join(output.directory, STAMP);
  const wanted = fingerprint(output.inputs());
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted) continue;
  const result = spawnSync(process.execPath, [output.script], { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    console.error(`generating the ${output.name} failed (${output.script})`);
    status = result.status ?? 1;
    break;
  }
  writeFileSync(stamp, `${wanted}\n`);
}
process.exit(status);
