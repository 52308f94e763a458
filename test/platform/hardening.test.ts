// Request hardening at the HTTP layer: security headers, CORS off unless configured, the body
// size limit, and internal errors answered without internals.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { insertGraph } from '../helpers/fixtures.js';
import { recordingLogger, startTestService, type TestService } from '../helpers/service.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

describe('HTTP hardening', () => {
  let service: TestService;
  let token: string;
  beforeAll(async () => {
    service = await startTestService('pglite', { env: { MAX_BODY_BYTES: '2048' } });
    token = await service.token(randomUUID());
    await insertGraph(service.prisma, { slug: 'default', isDefault: true });
  });
  afterAll(() => service?.close());

  it.each([
    ['REST 200', '/api/v1/graphs/default/migrations'],
    ['REST 404', '/api/v1/graphs/nope/migrations'],
    ['unknown path', '/nope'],
    ['readiness', '/readyz'],
    ['GraphQL', `/graphql?query=${encodeURIComponent('{__typename}')}`],
  ])('sends the security headers on every answer (%s), and no CORS grant by default', async (_name, path) => {
    const response = await fetch(`${service.url}${path}`, {
      headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example', 'apollo-require-preflight': 'true' },
    });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(response.headers.get(name), name).toBe(value);
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(4096) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ detail: 'Request body larger than 2048 bytes (MAX_BODY_BYTES)' });
  });

  it('answers an internal failure as 500 {"detail":"Internal Server Error"} without internals', async () => {
    // A broken database client (not an outage): every query throws a plain programming error.
    const database = service.service.database;
    const original = database.query;
    database.query = () => Promise.reject(new Error('boom at /work/main/src/queries/graphs.ts:42 SELECT * FROM graphs'));
    try {
      const rest = await fetch(`${service.url}/api/v1/graphs/default/migrations`, { headers: { authorization: `Bearer ${token}` } });
      expect(rest.status).toBe(500);
      expect(await rest.text()).toBe('{"detail":"Internal Server Error"}');
      const graphql = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ graph(slug: "default") { id } }' }),
      });
      const body = await graphql.text();
      expect(JSON.parse(body).errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(body).not.toMatch(/boom|graphs\.ts|SELECT/);
    } finally {
      database.query = original;
    }
  });
});

/** Writes `parts` to a fresh connection (pausing between them), reads until the server closes it, and parses the answer. */
async function rawExchange(url: string, parts: string[], pauseMs = 0) {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const [index, part] of parts.entries()) {
    if (index > 0 && pauseMs > 0) await sleep(pauseMs);
    if (!socket.destroyed) socket.write(part);
  }
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), statusLine, headers, body };
}

describe("what Node's HTTP parser refuses before any route (real sockets)", () => {
  let service: TestService;
  const log = recordingLogger('info');
  beforeAll(async () => {
    service = await startTestService('pglite', { logger: log.logger, env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' } });
  });
  afterAll(() => service?.close());

  function expectOurShape(answer: Awaited<ReturnType<typeof rawExchange>>, status: number, detail: RegExp) {
    expect(answer.status, answer.statusLine).toBe(status);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.connection).toBe('close');
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(answer.headers[name], name).toBe(value);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['detail']);
    expect(body.detail).toMatch(detail);
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    // One request line in the log under the same id.
    expect(log.lines.filter((line) => line.requestId === answer.headers['x-request-id'])).toEqual([
      expect.objectContaining({ msg: 'request', status }),
    ]);
  }

  it.each([
    ['a 30 KB header', `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(30_000)}\r\n\r\n`],
    ['a 60 KB slug', `GET /api/v1/graphs/${'s'.repeat(60_000)}/migrations HTTP/1.1\r\nHost: localhost\r\n\r\n`],
  ])('answers %s with 431 in our shape, with our headers', async (_name, request) => {
    expectOurShape(await rawExchange(service.url, [request]), 431, /^Request header fields too large: .* under 16384 bytes/);
  });

  it('answers headers sent too slowly with 408 in our shape, naming the time allowed', async () => {
    const answer = await rawExchange(service.url, ['GET /healthz HTTP/1.1\r\n', 'Host: localhost\r\n'], 1_500);
    expectOurShape(answer, 408, /^Request timeout: the headers must arrive within 1000 ms and the whole request within 2000 ms/);
  });

  it('answers a body sent too slowly with 408 in our shape', async () => {
    const head = 'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const answer = await rawExchange(service.url, [head, '{"query"'], 2_500);
    expectOurShape(answer, 408, /^Request timeout/);
  });

  it('answers bytes that are not HTTP with 400 in our shape', async () => {
    expectOurShape(await rawExchange(service.url, ['HELLO THERE\r\n\r\n']), 400, /^Malformed HTTP request/);
  });

  it('keeps serving afterwards', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});

describe('CORS when configured', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService('pglite', { env: { CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' } });
  });
  afterAll(() => service?.close());

  it('grants listed origins, answers their preflight, and ignores others', async () => {
    const preflight = await fetch(`${service.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const other = await fetch(`${service.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toBe('Origin');
  });

  it('rejects a malformed CORS_ORIGINS, and a headers timeout above the request timeout', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path', HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /CORS_ORIGINS="https:\/\/app.example.com\/path": must be \*[\s\S]*HEADERS_TIMEOUT_MS \(40000\) must not exceed REQUEST_TIMEOUT_MS \(30000\)/,
    );
  });
});
