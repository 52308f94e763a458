// Server programs the scale-out tests start themselves (PgBouncer, PostgreSQL clusters): where
// Debian installs them, running them as the postgres user when the tests run as root (both refuse
// root), and a last-resort cleanup when a test process exits without its afterAll.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const isRoot = process.getuid?.() === 0;

/** The postgres user's uid and gid, when the tests run as root and must hand files to it. */
function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Gives `paths` to the postgres user when running as root (the programs run as that user); a no-op otherwise. */
export function handToServerUser(...paths: string[]): void {
  if (!isRoot) return;
  const { uid, gid } = postgresIds();
  for (const item of paths) chownSync(item, uid, gid);
}

/** The command line that runs `program` as the postgres user when we are root, as ourselves otherwise. */
export function asServerUser(program: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
}

/** Runs a program to completion (as the postgres user when root); rejects with its output when it fails. */
export function run(program: string, args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const [command, commandArgs] = asServerUser(program, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${path.basename(program)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}

/**
 * Starts a long-running program as our own child (so a signal reaches it, not a wrapper), its
 * output kept for error messages. A program that refuses root switches user itself (`pgbouncer -u`).
 */
export function startDaemon(program: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

/** The first of `candidates` that exists, or the program found on PATH. */
export function findProgram(name: string, candidates: string[]): string | undefined {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

/**
 * The directory holding PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup): POSTGRES_BIN_DIR,
 * else the newest /usr/lib/postgresql/<version>/bin that Debian's package installs.
 */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.POSTGRES_BIN_DIR;
  if (fromEnv) return existsSync(path.join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(
      (version) => existsSync(path.join(root, version, 'bin', 'initdb')) && existsSync(path.join(root, version, 'bin', 'pg_basebackup')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0]!, 'bin') : undefined;
}

/**
 * A program the tests need is missing: under CI=true that is a failure (.ci/run installs it), elsewhere
 * the suite is skipped with a note saying how to get it.
 */
export function requireProgram(what: string, found: boolean, install: string): boolean {
  if (found) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${what} is not installed: ${install}`);
  console.warn(`SKIPPING ${what} tests: not installed (${install})`);
  return false;
}

// Cleanups that must run even when a test file dies before its afterAll (synchronous: 'exit' allows nothing else).
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/** Registers a synchronous cleanup for process exit; returns a function that unregisters it. */
export function onExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const pending of exitCleanups) {
        try {
          pending();
        } catch {
          // best effort: the process is going away
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

const OWNER_FILE = 'owner.pid';

/** Marks a temp directory as this process's: `sweepLeftovers` removes it only once this process is gone. */
export function claimDirectory(directory: string): void {
  writeFileSync(path.join(directory, OWNER_FILE), String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What a test run killed before its cleanup (SIGKILL, a crashed worker) left behind: temp directories
 * named `prefix…` whose owning process is gone. `stop` ends the servers that ran from one; the
 * directory is then removed. Directories of live processes (a concurrent run) are left alone.
 */
export async function sweepLeftovers(prefix: string, stop: (directory: string) => Promise<void>): Promise<void> {
  for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith(prefix))) {
    const directory = path.join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(directory, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not claimed (yet): not ours to judge
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    await stop(directory).catch(() => {});
    await rm(directory, { recursive: true, force: true });
  }
}
