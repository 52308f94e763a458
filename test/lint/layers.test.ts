// `npm run lint` checks the layers of docs/architecture.md with dependency-cruiser
// (.dependency-cruiser.mjs, docs/decisions/0013). On a copy of src/, the check passes as the tree
// is, then fails, naming each rule, once imports that break them are added: a layer importing one
// above it, a door importing another door, a cycle, the domain importing Fastify.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CRUISER = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const run = promisify(execFile);

/** depcruise as `npm run lint` runs it, in `directory`: its exit code and what it printed. */
async function cruise(directory: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [CRUISER, 'src', '--config', '.dependency-cruiser.mjs'], { cwd: directory });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('the layer rules (npm run lint)', () => {
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'gms-layers-'));
    for (const entry of ['src', '.dependency-cruiser.mjs', 'tsconfig.json'])
      cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('pass on the tree as it is', async () => {
    const { code, output } = await cruise(copy);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('fail on an import that breaks a layer, names the rule and the import', async () => {
    const add = (file: string, line: string) => appendFileSync(path.join(copy, file), `\n${line}\n`);
    // The domain reaching up into a door; the platform into a door; one door into the other.
    add('src/domain/history.ts', "export { restDoor as probeDoor } from '../doors/rest/door.js';");
    add('src/platform/overload.ts', "export type { GraphQLServer as ProbeServer } from '../doors/graphql/server.js';");
    add('src/doors/rest/door.ts', "export { serviceOverloaded as probeRefusal } from '../graphql/errors.js';");
    // The SQL layer asking the domain (queries → domain → queries: a cycle too).
    add('src/queries/graphs.ts', "export { readableGraph as probeAccess } from '../domain/access.js';");
    // A module below the doors speaking HTTP.
    add('src/database/sql.ts', "export { fastify as probeHttp } from 'fastify';");
    writeFileSync(path.join(copy, 'src/observability/probe.ts'), "export { createApp } from '../platform/app.js';\n");
    add('src/observability/logger.ts', "export * from './probe.js';");

    const { code, output } = await cruise(copy);
    expect(code).not.toBe(0);
    for (const violation of [
      'domain-imports-only-below: src/domain/history.ts → src/doors/rest/door.ts',
      'platform-imports-only-below: src/platform/overload.ts → src/doors/graphql/server.ts',
      'doors-apart: src/doors/rest/door.ts → src/doors/graphql/errors.ts',
      'queries-imports-only-below: src/queries/graphs.ts → src/domain/access.ts',
      'error no-cycles: ',
      'observability-imports-only-below: src/observability/probe.ts → src/platform/app.ts',
    ]) {
      expect(output).toContain(violation);
    }
    // node_modules is a link to the repository's here.
    expect(output).toMatch(/below-doors-no-http: src\/database\/sql\.ts → \S*node_modules\/fastify\//);
  });
});
