// How the embedded database is opened (src/database/embedded.ts, decision 0014): a new directory gets
// its initdb in a process of its own and keeps the 16 MB buffer pool in its own postgresql.conf; an
// existing one opens as it is; a directory it cannot create is named in the error. What this saves in
// memory is `npm run bench:embedded`'s to measure.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbedded } from '../../src/database/embedded.js';

describe('the embedded database as the service opens it', () => {
  const directories: string[] = [];
  const scratch = async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'gms-embedded-'));
    directories.push(directory);
    return directory;
  };
  afterAll(async () => {
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
  });

  it('creates a new directory with a 16 MB buffer pool that it keeps, then opens it again as it is', { timeout: 120_000 }, async () => {
    const directory = path.join(await scratch(), 'pglite');
    const created = await openEmbedded(PGlite, directory);
    try {
      expect((await created.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
      await created.exec('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    } finally {
      await created.close();
    }
    // initdb wrote the setting into the directory: PGlite opened without it still gets 16 MB.
    expect(await readFile(path.join(directory, 'postgresql.conf'), 'utf8')).toMatch(/^shared_buffers = 16MB/m);
    const plain = await PGlite.create(directory);
    try {
      expect((await plain.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    } finally {
      await plain.close();
    }
    const reopened = await openEmbedded(PGlite, directory);
    try {
      expect((await reopened.query<{ n: number }>('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    } finally {
      await reopened.close();
    }
  });

  it('names the directory when it cannot be created', async () => {
    const file = path.join(await scratch(), 'not-a-directory');
    await writeFile(file, 'a file where the data directory would be');
    await expect(openEmbedded(PGlite, path.join(file, 'pglite'))).rejects.toThrow(
      `creating the embedded database in ${path.join(file, 'pglite')} failed`,
    );
  });
});
