// The demo data and activity of the embedded default (issue 32, rows 3 and 4): the README's examples
// answer something on it, the superuser's cross-graph ones included; and with nothing else writing to
// the in-process database, the demo graph's newest run moves on by itself, as the workflow engine
// would write it, so a newcomer's stream shows events. Never on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID } from '../src/database/seed.js';
import { startTestService, type TestService } from './helpers/service.js';
import { openSse, type SseStream } from './helpers/sse.js';

describe("the demo data answers the README's examples", () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService('pglite', { seed: true });
  });
  afterAll(() => service?.close());

  it("a superuser's failed runs of the last day, and the graphs whose latest run failed", async () => {
    const authorization = `Bearer ${await service.token('11111111-1111-4111-8111-111111111111', { isSuperuser: true })}`;
    const get = async (path: string) => {
      const response = await fetch(`${service.url}${path}`, { headers: { authorization } });
      expect(response.status, path).toBe(200);
      return (await response.json()) as { graph_id: string; status: string; error: string | null }[];
    };
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const failed = await get(`/api/v1/migrations?status=failed&since=${encodeURIComponent(since)}`);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((run) => run.status === 'failed' && run.error)).toBe(true);
    const latestFailed = await get('/api/v1/migrations/latest?status=failed');
    expect(latestFailed.length).toBeGreaterThan(0);
    // The demo member reads the three demo graphs, one of them running now.
    const member = `Bearer ${await service.token(DEMO_MEMBER_ID)}`;
    for (const slug of [DEMO_GRAPH_SLUG, 'demo_catalog', 'demo_directory']) {
      const response = await fetch(`${service.url}/api/v1/graphs/${slug}/migrations?limit=5`, { headers: { authorization: member } });
      expect(response.status, slug).toBe(200);
      expect(((await response.json()) as unknown[]).length, slug).toBeGreaterThan(0);
    }
  });
});

describe('demo activity on the embedded database', () => {
  let service: TestService;
  let stream: SseStream;

  beforeAll(async () => {
    service = await startTestService('pglite', { seed: true, env: { DEMO_ACTIVITY_MS: '150' } });
  });
  afterAll(async () => {
    stream?.close();
    await service?.close();
  });

  it("moves the demo graph's newest run on (started, finished), then records the next, each an event of its stream", async () => {
    const token = await service.token(DEMO_MEMBER_ID);
    stream = await openSse(service.url, `/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations/stream`, { authorization: `Bearer ${token}` });
    expect(stream.status).toBe(200);
    const events = (await stream.waitFor(6, 30_000)).map(
      (event) => JSON.parse(event.data) as { id: string; status: string; migration_id: string },
    );
    // The seeded newest run (pending) is started and finished, then a new one is recorded, pending, and started.
    expect(events.slice(0, 2).map((run) => [run.id, run.status])).toEqual([
      ['0a6b9e0c-0000-4000-8000-000000000007', 'running'],
      ['0a6b9e0c-0000-4000-8000-000000000007', 'success'],
    ]);
    expect(events[2]!.status).toBe('pending');
    expect(events[2]!.migration_id).toMatch(/^demo_step_7_\d+$/);
    expect(events[3]).toMatchObject({ id: events[2]!.id, status: 'running' });
    // One run in four fails (the eighth of the graph, here), with an error a history table shows.
    expect(events[4]).toMatchObject({ id: events[2]!.id, status: 'failed', error: expect.stringMatching(/^demo activity: /) });
  });

  it('is off with DATABASE_URL, and refused there when asked for', () => {
    const url = 'postgresql://postgres@127.0.0.1:5432/anything';
    expect(loadConfig({ DATABASE_URL: url }).demoActivityMs).toBe(0);
    expect(loadConfig({}).demoActivityMs).toBe(20_000);
    expect(() => loadConfig({ DATABASE_URL: url, DEMO_ACTIVITY_MS: '5000' })).toThrow(
      /DEMO_ACTIVITY_MS writes demo runs into the database/,
    );
    expect(loadConfig({ DATABASE_URL: url, DEMO_ACTIVITY_MS: '0' }).demoActivityMs).toBe(0);
  });
});
