// The embedded default as a new user meets it: `node src/main.ts` with no configuration prints a
// curl line, and that line, pasted into a shell as printed, answers with the demo graph's history.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_RUN_IDS_NEWEST_FIRST = [7, 6, 5, 4, 3].map((n) => `0a6b9e0c-0000-4000-8000-00000000000${n}`);

describe('embedded start (PGlite, no configuration)', () => {
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let output = '';

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('prints a curl line that works as printed, and exits 0 on SIGTERM', { timeout: 240_000 }, async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gms-embedded-'));
    const port = await freePort();
    const started = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, APOLLO_TELEMETRY_DISABLED: 'true', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));

    const curlLine = await new Promise<string>((resolve, reject) => {
      let pending = '';
      started.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        const found = lines.map((line) => line.trim()).find((line) => line.startsWith('curl -H'));
        if (found) resolve(found);
      });
      started.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      started.once('exit', (code) => reject(new Error(`exited with ${code} before printing a curl line:\n${output}`)));
      setTimeout(() => reject(new Error(`no curl line within 180 s:\n${output}`)), 180_000).unref();
    });
    expect(curlLine).toContain(`http://127.0.0.1:${port}/api/v1/graphs/demo_knowledge/migrations?limit=5`);

    const { stdout } = await promisify(execFile)('sh', ['-c', curlLine], { timeout: 60_000 });
    const runs = JSON.parse(stdout) as { id: string; graph_id: string; status: string }[];
    expect(Array.isArray(runs)).toBe(true);
    expect(runs.map((run) => run.id)).toEqual(DEMO_RUN_IDS_NEWEST_FIRST);
    expect(new Set(runs.map((run) => run.graph_id))).toEqual(new Set(['3b9d6a52-1f0e-4c7b-a8d4-2e6f9c1b7a30']));

    started.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  });
});
