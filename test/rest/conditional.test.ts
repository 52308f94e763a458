// Conditional GETs for pollers: a strong ETag of the page's bytes, 304 without a body while it is
// unchanged, a new ETag as soon as a run is recorded or changes. Errors are never revalidatable.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { MIGRATIONS } from './support.js';

const MEMBER = randomUUID();

describe.each(DATABASE_KINDS)('conditional GETs on %s', (kind) => {
  let service: TestService;
  let token: string;
  let graphId: string;

  beforeAll(async () => {
    service = await startTestService(kind);
    const graph = await insertGraph(service.prisma, { slug: 'polled' });
    graphId = graph.id;
    await addMember(service.prisma, graph.id, MEMBER);
    await insertRun(service.prisma, graph.id, { createdAt: '2026-05-01T10:00:00.000001Z', status: 'running' });
    token = await service.token(MEMBER);
  });
  afterAll(() => service?.close());

  const poll = async (ifNoneMatch?: string, path = MIGRATIONS('polled', '?limit=10')) => {
    const response = await fetch(`${service.url}${path}`, {
      headers: { authorization: `Bearer ${token}`, ...(ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch }) },
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  it('gives a 200 a strong ETag and private, revalidate-always caching', async () => {
    const first = await poll();
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    // Deterministic: the same page, the same validator.
    expect((await poll()).headers.get('etag')).toBe(first.headers.get('etag'));
  });

  it('answers If-None-Match with 304 and no body while the page is unchanged, and 200 once it changes', async () => {
    const { headers } = await poll();
    const etag = headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const notModified = await poll(header);
      expect(notModified.status, header).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('cache-control')).toBe('private, no-cache');
    }
    expect((await poll('"something-else"')).status).toBe(200);

    // A new run changes the page: the old validator no longer matches.
    await insertRun(service.prisma, graphId, { createdAt: '2026-05-01T11:00:00.000001Z', status: 'pending' });
    const changed = await poll(etag);
    expect(changed.status).toBe(200);
    expect(JSON.parse(changed.text)).toHaveLength(2);
    expect(changed.headers.get('etag')).not.toBe(etag);

    // So does a run whose values change (a status moving on).
    const before = (await poll()).headers.get('etag')!;
    await service.prisma.graphMigrationRun.updateMany({ where: { graphId, status: 'running' }, data: { status: 'success' } });
    expect((await poll(before)).status).toBe(200);
  });

  it('never answers 304 for an error, and errors keep no-store', async () => {
    for (const path of [MIGRATIONS('polled', '?limit=0'), MIGRATIONS('nope')]) {
      const answer = await poll('*', path);
      expect([404, 422]).toContain(answer.status);
      expect(answer.headers.get('etag')).toBeNull();
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });
});
