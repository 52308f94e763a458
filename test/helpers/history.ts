// Histories whose order the tests know independently of the database: ids and microsecond
// timestamps made here, with many runs sharing a created_at to the microsecond, and the expected
// order computed in JS (text timestamps and lowercase UUIDs compare as PostgreSQL compares them).
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/database/client.js';
import { addMember, insertGraph, insertRuns, type GraphFixture } from './fixtures.js';

export interface PlannedRun {
  id: string;
  createdAt: string;
}

/** Microseconds since the epoch → the database's text, `2026-06-01T00:00:00.000001Z` (cursors carry it). */
export function microsecondText(micros: number): string {
  const millis = Math.floor(micros / 1000);
  return `${new Date(millis).toISOString().slice(0, 23)}${String(micros - millis * 1000).padStart(3, '0')}Z`;
}

/**
 * The database's text as both doors send it (docs/contract.md#timestamps, pydantic 2's format): a
 * whole second without its fraction, `2026-06-01T00:00:00Z`; any other instant unchanged.
 */
export const wireText = (databaseText: string) => databaseText.replace(/\.000000Z$/, 'Z');

/** Back to the database's text, six digits always: what a cursor carries, and what compares as PostgreSQL orders. */
export const databaseText = (text: string) => text.replace(/:(\d\d)Z$/, ':$1.000000Z');

/** A planned run as the doors show it. */
export const onTheWire = (run: PlannedRun): PlannedRun => ({ id: run.id, createdAt: wireText(run.createdAt) });

export const micros = (iso: string) => Date.parse(iso) * 1000;

/**
 * `count` runs going back from `newest`: groups of 1 to 6 runs share an instant exactly, and
 * consecutive instants are 1 µs, 1 ms or 1 s apart (a seeded sequence, the same on every run).
 */
export function plannedHistory(count: number, newest = '2026-06-01T00:00:00Z', seed = 1): PlannedRun[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  const runs: PlannedRun[] = [];
  let instant = micros(newest);
  while (runs.length < count) {
    const groupSize = 1 + (next() % 6);
    for (let i = 0; i < groupSize && runs.length < count; i++) runs.push({ id: randomUUID(), createdAt: microsecondText(instant) });
    instant -= [1, 1_000, 1_000_000][next() % 3]!;
  }
  return runs;
}

/** How many pages of `size` runs end inside a group of runs sharing an instant: where an off-by-one in the keyset shows. */
export function pageEndsInsideTies(order: readonly PlannedRun[], size: number): number {
  let count = 0;
  for (let next = size; next < order.length; next += size) if (order[next - 1]!.createdAt === order[next]!.createdAt) count += 1;
  return count;
}

/** created_at descending, then id descending: the history's order (timestamps as stored or as sent). */
export function newestFirst(a: PlannedRun, b: PlannedRun): number {
  const [at, bt] = [databaseText(a.createdAt), databaseText(b.createdAt)];
  if (at !== bt) return at < bt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export const inHistoryOrder = (runs: readonly PlannedRun[]) => [...runs].sort(newestFirst);

/** A graph `memberId` reads, holding `runs`. */
export async function insertGraphWithRuns(prisma: PrismaClient, slug: string, memberId: string, runs: PlannedRun[]): Promise<GraphFixture> {
  const graph = await insertGraph(prisma, { slug });
  await addMember(prisma, graph.id, memberId);
  if (runs.length > 0) await insertRuns(prisma, graph.id, runs);
  return graph;
}

/** A cursor built by hand from any payload: the tests check the codec refuses what it did not issue. */
export const cursorOf = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');

/** A history filter as the tests write it (timestamps in the database's form). */
export interface RunFilter {
  status?: readonly string[] | null;
  since?: string | null;
  until?: string | null;
}

/** What a filter selects, in history order: the specification the service is held to. */
export function selectedRuns<T extends PlannedRun & { status: string }>(runs: readonly T[], { status, since, until }: RunFilter): T[] {
  return inHistoryOrder(
    runs.filter(
      (run) =>
        (status == null || status.includes(run.status)) &&
        (since == null || run.createdAt >= since) &&
        (until == null || run.createdAt < until),
    ),
  ) as T[];
}
