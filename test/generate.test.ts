// `npm run generate` (scripts/generate.mjs) makes the Prisma client and the playground bundle only
// when they are missing or stale: run in a scratch copy of their inputs, a second run with nothing
// changed runs neither generator, and a changed input regenerates its own output alone.
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe('scripts/generate.mjs', { timeout: 120_000 }, () => {
  let scratch: string;
  const generate = (...args: string[]) => run(process.execPath, ['scripts/generate.mjs', ...args], { cwd: scratch });
  const madeAt = async (file: string) => (await stat(path.join(scratch, file))).mtimeMs;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gms-generate-'));
    for (const entry of ['scripts', 'prisma', 'playground', 'prisma.config.ts', 'package.json', 'package-lock.json'])
      await cp(path.join(REPOSITORY, entry), path.join(scratch, entry), { recursive: true });
    await symlink(path.join(REPOSITORY, 'node_modules'), path.join(scratch, 'node_modules'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('generates what is missing, then nothing until an input changes, then only what that input makes', async () => {
    const first = await generate();
    expect(first.stdout).toContain('Generated Prisma Client');
    const client = await madeAt('src/database/generated/client.ts');
    const bundle = await madeAt('build/playground/playground.js');

    const again = await generate('--quiet');
    expect(again.stdout + again.stderr).toBe('');
    expect(await madeAt('src/database/generated/client.ts')).toBe(client);
    expect(await madeAt('build/playground/playground.js')).toBe(bundle);

    await appendFile(path.join(scratch, 'prisma/schema.prisma'), '\n// changed\n');
    const changed = await generate();
    expect(changed.stdout).toContain('Generated Prisma Client');
    expect(await madeAt('src/database/generated/client.ts')).toBeGreaterThan(client);
    expect(await madeAt('build/playground/playground.js')).toBe(bundle);
    expect((await readFile(path.join(scratch, 'src/database/generated/.inputs.sha256'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
