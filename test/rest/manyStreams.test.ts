// 1,000 live streams open on one instance (PostgreSQL), each over its own socket: one change reaches
// every one of them, once. How long it takes is measured in `npm run bench:live`, not asserted here
// beyond a generous bound (a shared machine's timings drift); the test prints it.
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { openEventStreams } from '../helpers/sse.js';

const STREAMS = 1_000;
const MEMBER = randomUUID();
const SLUG = 'crowded_graph';

describe.skipIf(!postgresAvailable)('1,000 streams on one instance (postgres)', () => {
  let service: TestService;
  let graphId: string;
  const requests: http.ClientRequest[] = [];

  beforeAll(async () => {
    service = await startTestService('postgres', { env: { LIVE_MAX_STREAMS: String(STREAMS) } });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
  });
  afterAll(async () => {
    for (const request of requests) request.destroy();
    await service?.close();
  });

  it('delivers one change to every one of them, once', { timeout: 120_000 }, async () => {
    const token = await service.token(MEMBER);
    const received = new Map<number, number>();
    const texts = new Map<number, string>();
    let runId = '';
    requests.push(
      ...(await openEventStreams(
        `${service.url}/api/v1/graphs/${SLUG}/migrations/stream`,
        { authorization: `Bearer ${token}` },
        STREAMS,
        (index, chunk) => {
          const text = (texts.get(index) ?? '') + chunk;
          texts.set(index, text);
          const count = text.split('\nevent: run\n').length - 1;
          if (count > 0 && runId && text.includes(runId)) received.set(index, count);
        },
      )),
    );
    const opened = Date.now() + 60_000;
    while (service.service.openStreams() < STREAMS) {
      if (Date.now() > opened) throw new Error(`${service.service.openStreams()} of ${STREAMS} streams open`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A stream beyond the cap is refused at once: curl gets 503 and Retry-After.
    const refused = await fetch(`${service.url}/api/v1/graphs/${SLUG}/migrations/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    // An EventSource (Accept: text/event-stream) is told to come back: a non-200 would close it for good.
    const told = await fetch(`${service.url}/api/v1/graphs/${SLUG}/migrations/stream`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    expect(told.status).toBe(200);
    expect(told.headers.get('content-type')).toBe('text/event-stream');
    const [retry, end] = (await told.text()).split('\n\n');
    expect(Number(/^retry: (\d+)$/.exec(retry!)?.[1])).toBeGreaterThanOrEqual(1_000);
    expect(JSON.parse(/^event: end\ndata: (.*)$/.exec(end!)![1]!)).toEqual({
      reason: 'busy',
      detail: expect.stringMatching(/^Too many open streams on this instance \(1000\): reconnecting in [1-5] s$/),
      last_event_id: null,
    });
    // graphql-sse's client retries an answer that is not 200; graphql-ws's reconnects after 1013.
    const subscription = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: `subscription { migrationRunEvents(slug: "${SLUG}") { cursor } }` }),
    });
    expect(subscription.status).toBe(503);
    expect(subscription.headers.get('retry-after')).toBe('1');
    expect(((await subscription.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'SERVICE_UNAVAILABLE',
    );
    const socket = new WebSocket(`${service.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    socket.addEventListener('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })),
    );
    socket.addEventListener('message', (message) => {
      if ((JSON.parse(String(message.data)) as { type: string }).type !== 'connection_ack') return;
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: `subscription { migrationRunEvents(slug: "${SLUG}") { cursor } }` },
        }),
      );
    });
    const closed = await new Promise<CloseEvent>((resolve) => socket.addEventListener('close', resolve));
    expect(closed.code).toBe(1013);

    runId = randomUUID();
    const committed = Date.now();
    await insertRun(service.prisma, graphId, { id: runId, createdAt: '2026-09-01T00:00:00Z' });
    const deadline = committed + 20_000;
    while (received.size < STREAMS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const elapsed = Date.now() - committed;
    console.log(`one change reached ${received.size} of ${STREAMS} streams ${elapsed} ms after its commit`);
    expect(received.size).toBe(STREAMS);
    expect([...received.values()].every((count) => count === 1)).toBe(true);
  });
});
