// The Fastify layer's own duties, over a real socket: one log line per request (CORS preflights
// and router refusals included) under the request id, trusted-proxy links, paths that do not decode,
// and 405s that say which methods are allowed.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { insertGraphWithRuns, plannedHistory } from '../helpers/history.js';
import { TEST_JWT_SECRET } from '../helpers/service.js';
import { signAccessToken } from '../../src/auth/viewer.js';

interface LogLine {
  msg: string;
  requestId?: string;
  method?: string;
  path?: string;
  status?: number;
  durationMs?: number;
}

const MEMBER = randomUUID();

describe('the HTTP layer', () => {
  let database: TestDatabase;
  let service: Service;
  let token: string;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: database.dataDir,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SEED_ON_FIRST_START: 'false',
      CORS_ORIGINS: 'https://app.example.com',
      // The test client is on loopback: it plays the trusted proxy.
      TRUST_PROXY: '127.0.0.1/8, ::1',
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    service = await startService(config, pino({ level: 'info' }, sink));
    await insertGraphWithRuns(service.database.prisma, 'proxied', MEMBER, plannedHistory(3));
    token = await signAccessToken(TEST_JWT_SECRET, { sub: MEMBER });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  /** The request lines logged for requests carrying this id (the log is written once the answer is sent). */
  async function requestLines(requestId: string): Promise<LogLine[]> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = lines.filter((line) => line.msg === 'request' && line.requestId === requestId);
      if (found.length > 0) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [];
  }

  it('logs a CORS preflight like any request, under the client request id', async () => {
    const requestId = `preflight-${randomUUID()}`;
    const response = await fetch(`${service.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'x-request-id': requestId },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const [line, ...more] = await requestLines(requestId);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ method: 'OPTIONS', path: '/graphql', status: 204 });
    expect(line!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('replaces an unusable X-Request-Id with a UUID, and logs every answer once', async () => {
    const response = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'spaces are not allowed' } });
    const requestId = response.headers.get('x-request-id')!;
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await requestLines(requestId)).toEqual([expect.objectContaining({ method: 'GET', path: '/healthz', status: 200 })]);
  });

  it('answers a path that does not decode: the history route takes it as an unknown slug, any other path is not found', async () => {
    const requestId = `bad-url-${randomUUID()}`;
    const history = await fetch(`${service.url}/api/v1/graphs/%zz/migrations`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
    });
    expect(history.status).toBe(404);
    expect(history.headers.get('content-type')).toBe('application/json');
    expect(history.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await history.json()).toEqual({ detail: 'Graph not found' });
    expect(await requestLines(requestId)).toEqual([expect.objectContaining({ status: 404, path: '/api/v1/graphs/%zz/migrations' })]);

    const anonymous = await fetch(`${service.url}/api/v1/graphs/%E0%A4%A/migrations`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');

    const elsewhere = await fetch(`${service.url}/nope/%zz`);
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ detail: 'Not Found' });
  });

  it.each(['stats', 'export', 'stream', 'export?format=csv'])(
    'answers %s under a slug that does not decode as that route answers an unknown graph: 401, then 404',
    async (route) => {
      const anonymous = await fetch(`${service.url}/api/v1/graphs/%zz/migrations/${route}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      const known = await fetch(`${service.url}/api/v1/graphs/%zz/migrations/${route}`, { headers: { authorization: `Bearer ${token}` } });
      expect(known.status).toBe(404);
      expect(await known.json()).toEqual({ detail: 'Graph not found' });
    },
  );

  it('answers GraphQL over a Host header that is not a host name with 400 (the REST route never reads Host)', async () => {
    const answer = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { port } = new URL(service.url);
        const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host, 'apollo-require-preflight': 'true' } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await answer('/graphql?query=%7B__typename%7D', 'a b')).toEqual({
      status: 400,
      body: '{"errors":[{"message":"Invalid Host header","extensions":{"code":"BAD_REQUEST"}}]}',
    });
    expect((await answer('/graphql?query=%7B__typename%7D', 'graphs.example.com')).status).toBe(200);
    expect((await answer('/healthz', 'a b')).status).toBe(200);
  });

  it('answers 405 with the methods the route allows', async () => {
    const response = await fetch(`${service.url}/api/v1/graphs/proxied/migrations`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await response.json()).toEqual({ detail: 'Method Not Allowed' });
  });

  it("builds the next-page link from a trusted proxy's X-Forwarded-Host and -Proto", async () => {
    const link = async (headers: Record<string, string>) =>
      (
        await fetch(`${service.url}/api/v1/graphs/proxied/migrations?limit=1`, {
          headers: { authorization: `Bearer ${token}`, ...headers },
        })
      ).headers.get('link');
    expect(await link({ 'x-forwarded-host': 'graphs.example.com', 'x-forwarded-proto': 'https' })).toMatch(
      /^<https:\/\/graphs\.example\.com\/api\/v1\/graphs\/proxied\/migrations\?limit=1&cursor=[A-Za-z0-9_-]+>; rel="next"$/,
    );
    // Not a host name: ignored, the link stays path-absolute.
    expect(await link({ 'x-forwarded-host': 'evil.example>; rel="next", <http://x' })).toMatch(/^<\/api\/v1\/graphs\/proxied\//);
    // No forwarded host: the Host header alone never makes the link absolute.
    expect(await link({})).toMatch(/^<\/api\/v1\/graphs\/proxied\//);
  });
});

describe('TRUST_PROXY', () => {
  it('parses true, false, a hop count and address lists, and names what it accepts otherwise', () => {
    const trust = (value: string) => loadConfig({ TRUST_PROXY: value }).http.trustProxy;
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8')).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
    for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', 'proxy.example.com', '10.0.0.1/8/8', ',']) {
      expect(() => trust(bad), bad).toThrow(/TRUST_PROXY=".*": must be true, false, a number of proxy hops, or a comma-separated list/);
    }
  });
});

describe('an untrusted peer', () => {
  let database: TestDatabase;
  let service: Service;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      DATA_DIR: database.dataDir,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SEED_ON_FIRST_START: 'false',
      TRUST_PROXY: '10.0.0.0/8',
    });
    service = await startService(config, pino({ level: 'silent' }));
    await insertGraphWithRuns(service.database.prisma, 'direct', MEMBER, plannedHistory(3));
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('cannot make the link absolute with forwarded headers', async () => {
    const response = await fetch(`${service.url}/api/v1/graphs/direct/migrations?limit=1`, {
      headers: {
        authorization: `Bearer ${await signAccessToken(TEST_JWT_SECRET, { sub: MEMBER })}`,
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
      },
    });
    expect(response.headers.get('link')).toMatch(/^<\/api\/v1\/graphs\/direct\/migrations\?limit=1&cursor=/);
  });
});
