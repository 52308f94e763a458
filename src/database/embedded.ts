// The embedded PostgreSQL (PGlite) as the service opens it, sized for a development database
// (issue 32: the embedded start idled at 400–500 MB and peaked at 0.9–1.2 GB, the same build on
// PostgreSQL at 138 MB). Measured with `npm run bench:embedded`; what held the memory and what each
// setting saves is in docs/decisions/0014-embedded-start-memory.md.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';

/**
 * PostgreSQL's settings on top of PGlite's own start parameters. Its default shared_buffers (128 MB)
 * is written to, every page, at start: 120 MB more resident memory for a demo database of 7 MB.
 * 16 MB holds the whole development database; a bigger one reads through the operating system's
 * page cache instead (its files are ordinary files in DATA_DIR).
 */
const SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * V8 compiles WebAssembly lazily, function by function on its first call, with its baseline compiler
 * (Liftoff), and recompiles hot functions with its optimizing one (TurboFan). On PGlite's 9 MB module
 * that optimizing pass took postgres's parser (raw_parser, 105 KB of code) through 600 MB of compiler
 * memory, the node and utility functions the migrations call through 30–90 MB each, and left
 * 50–100 MB more resident. These flags keep WebAssembly on the baseline tier (embedded requests take
 * about 1.5 ms more). Each function's code reads them when it is compiled, on its first call, so
 * they stay set for the rest of the process: every
 * WebAssembly module of an embedded start (PGlite's; undici's HTTP parser, small, when fetch is
 * used) stays on the baseline tier. Set from here, they never reach a process on PostgreSQL. Node's
 * command line decides instead when it sets one of them (`node --wasm-dynamic-tiering …`, or
 * `tsx --wasm-dynamic-tiering src/main.ts`, brings the optimizing tier back: faster embedded
 * queries, for the memory above).
 */
const BASELINE_TIER_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];
const TIER_FLAG = /^--(no-)?(wasm-tier-up|wasm-dynamic-tiering|liftoff-only)$/;

function keepWebAssemblyOnBaselineTier(): void {
  if (process.execArgv.some((flag) => TIER_FLAG.test(flag.replaceAll('_', '-')))) return;
  for (const flag of BASELINE_TIER_FLAGS) v8.setFlagsFromString(flag);
}

/**
 * A new data directory's initdb, in a node process of its own. PGlite runs it with a second
 * PostgreSQL instance and a copy of that instance's 128 MB heap, freed only when the collector gets to
 * them: in the service's process that was a peak of 590 MB instead of 210, and 40 MB more idle. The
 * process ends with initdb (about 500 MB for a few seconds), and its memory with it; the service
 * then opens the directory as on a restart.
 */
async function initdbApart(directory: string, options: PGliteOptions): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(process.argv[1]).PGlite.create(process.argv[2], JSON.parse(process.argv[3])).then((pglite) => pglite.close())`;
  try {
    await promisify(execFile)(process.execPath, [...BASELINE_TIER_FLAGS, '-e', script, pglite, directory, JSON.stringify(options)], {
      maxBuffer: 16 * 2 ** 20,
    });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`creating the embedded database in ${directory} failed${stderr ? `:\n${stderr.trim()}` : ''}`, { cause: error });
  }
}

/** Opens the embedded database in `directory` (created when it holds none). */
export async function openEmbedded(PGliteClass: typeof PGlite, directory: string): Promise<PGlite> {
  const options: PGliteOptions = {
    startParams: [...PGliteClass.defaultStartParams, ...SETTINGS],
    // initdb writes them into postgresql.conf too: the directory keeps them when opened otherwise.
    initDbStartParams: SETTINGS,
  };
  if (!existsSync(path.join(directory, 'PG_VERSION'))) await initdbApart(directory, options);
  keepWebAssemblyOnBaselineTier();
  return PGliteClass.create(directory, options);
}
