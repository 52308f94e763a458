// GET /openapi.json, and real answers of the running service validated against it (Ajv, draft 2020-12,
// the dialect of OpenAPI 3.1: test/helpers/openapiCheck.ts, which also checks every answer the suite
// receives). /readyz in each of its shapes, and the check itself: it refuses what the document does not describe.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_MIGRATIONS_EXPORT_PATH,
  ALL_MIGRATIONS_PATH,
  ALL_MIGRATIONS_STATS_PATH,
  LATEST_MIGRATIONS_PATH,
  MIGRATIONS_EXPORT_PATH,
  MIGRATIONS_PATH,
  MIGRATIONS_STATS_PATH,
  OPENAPI_DOCUMENT,
} from '../../src/doors/rest/openapi.js';
import { DATABASE_KINDS, POSTGRES_ADMIN_URL, postgresAvailable } from '../helpers/databases.js';
import { createValidator, documentValidator, takeViolations } from '../helpers/openapiCheck.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { addMember, insertGraph, insertManyRuns, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { CONTRACT_KEYS, MIGRATIONS, get, unsignedToken, type HttpAnswer } from './support.js';

describe('the OpenAPI document', () => {
  const operation = OPENAPI_DOCUMENT.paths[MIGRATIONS_PATH]!.get;
  const run = OPENAPI_DOCUMENT.components.schemas.GraphMigrationRun!;

  it('compiles under Ajv strict mode, every $ref resolving inside the document', () => {
    const validator = createValidator(OPENAPI_DOCUMENT);
    for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const [status, response] of Object.entries(item.get.responses))
        if (response.content?.['application/json']) expect(() => validator.responseSchema(path, status), `${path} ${status}`).not.toThrow();
      for (const index of (item.get.parameters ?? []).keys())
        expect(() => validator.parameterSchema(path, index), `${path} #${index}`).not.toThrow();
    }
    // And the schemas hold what they should: a valid item passes, one without a key or with an extra key does not.
    const items = validator.responseSchema(MIGRATIONS_PATH, '200');
    const item = {
      id: randomUUID(),
      graph_id: randomUUID(),
      from_version: 1,
      to_version: 2,
      migration_id: 'm',
      status: 'some_future_state',
      started_at: null,
      finished_at: '2026-01-01T00:00:00Z',
      error: null,
      workflow_run_id: null,
      created_at: '2026-01-01T00:00:00.123456Z',
    };
    expect(items([item])).toBe(true);
    const { error: _dropped, ...missingKey } = item;
    expect(items([missingKey])).toBe(false);
    expect(items([{ ...item, extra: 1 }])).toBe(false);
    expect(items([{ ...item, created_at: '2026-01-01T00:00:00.123Z' }])).toBe(false);
    expect(items([{ ...item, created_at: null }])).toBe(false);
  });

  it('declares limit 1..500 with default 100, the optional cursor, and the slug path parameter', () => {
    expect(operation.parameters).toEqual([
      expect.objectContaining({ name: 'slug', in: 'path', required: true, schema: expect.objectContaining({ type: 'string' }) }),
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        required: false,
        schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 500, default: 100 }),
      }),
      expect.objectContaining({ name: 'cursor', in: 'query', required: false, schema: expect.objectContaining({ type: 'string' }) }),
      expect.objectContaining({ name: 'status', in: 'query', required: false, schema: expect.objectContaining({ type: 'array' }) }),
      expect.objectContaining({ name: 'since', in: 'query', required: false, schema: expect.objectContaining({ format: 'date-time' }) }),
      expect.objectContaining({ name: 'until', in: 'query', required: false, schema: expect.objectContaining({ format: 'date-time' }) }),
      expect.objectContaining({ name: 'If-None-Match', in: 'header', required: false }),
    ]);
  });

  it('documents the Link header of a page that has a next one, and the validator headers of 200 and 304', () => {
    expect(operation.responses['200']!.headers).toEqual({
      Link: expect.objectContaining({ schema: expect.objectContaining({ type: 'string' }) }),
      ETag: expect.objectContaining({ schema: expect.objectContaining({ type: 'string' }) }),
      'Cache-Control': expect.objectContaining({ schema: expect.objectContaining({ const: 'private, no-cache' }) }),
    });
    expect(Object.keys(operation.responses['304']!.headers!)).toEqual(['ETag', 'Cache-Control']);
    expect(operation.responses['304']!.content).toBeUndefined();
  });

  it('requires a bearer token on the history and none on health and readiness', () => {
    expect(OPENAPI_DOCUMENT.components.securitySchemes).toEqual({
      HTTPBearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(operation.security).toEqual([{ HTTPBearer: [] }]);
    expect(OPENAPI_DOCUMENT.paths['/healthz']!.get.security).toEqual([]);
    expect(OPENAPI_DOCUMENT.paths['/readyz']!.get.security).toEqual([]);
  });

  it('documents 200, 304, 401, 403, 404, 408, 422, 431, 500 and 503', () => {
    expect(Object.keys(operation.responses)).toEqual(['200', '304', '401', '403', '404', '408', '422', '431', '500', '503']);
  });

  it('lists every item key as required, in the contract\'s order, nullable ones as [type, "null"], timestamps as date-time', () => {
    expect(Object.keys(run.properties!)).toEqual(CONTRACT_KEYS);
    expect(run.required).toEqual(CONTRACT_KEYS);
    expect(run.additionalProperties).toBe(false);
    const nullable = Object.entries(run.properties!)
      .filter(([, schema]) => Array.isArray(schema.type))
      .map(([key]) => key);
    expect(nullable).toEqual(['started_at', 'finished_at', 'error', 'workflow_run_id']);
    for (const key of nullable) expect(run.properties![key]!.type).toEqual([expect.any(String), 'null']);
    for (const key of ['started_at', 'finished_at', 'created_at']) expect(run.properties![key]!.format).toBe('date-time');
    // The set of states is the database's: the document must not narrow it.
    expect(run.properties!.status).toEqual(expect.objectContaining({ type: 'string' }));
    expect(run.properties!.status!.enum).toBeUndefined();
  });
});

describe.each(DATABASE_KINDS)('real answers against the OpenAPI document, on %s', (kind) => {
  let service: TestService;
  let validator: ReturnType<typeof createValidator>;
  let memberToken: string;
  let outsiderToken: string;
  const member = randomUUID();

  beforeAll(async () => {
    service = await startTestService(kind);
    const graph = await insertGraph(service.prisma, { slug: 'documented' });
    await addMember(service.prisma, graph.id, member);
    await insertManyRuns(service.prisma, graph.id, 120);
    await insertRun(service.prisma, graph.id, {
      createdAt: '2026-09-01T00:00:00.000001Z',
      startedAt: '2026-09-01T00:00:01.5Z',
      finishedAt: '2026-09-01T00:00:02.25Z',
      status: 'failed',
      error: 'boom',
      workflowRunId: 'wf-9',
    });
    await insertRun(service.prisma, graph.id, { createdAt: '2026-09-02T00:00:00Z', status: 'pending' });
    await insertGraph(service.prisma, { slug: 'never_migrated' }).then((empty) => addMember(service.prisma, empty.id, member));
    [memberToken, outsiderToken] = await Promise.all([service.token(member), service.token(randomUUID())]);
    // The document as served, not as imported: what a client generator would read.
    const served = await get(service.url, '/openapi.json');
    validator = createValidator(served.body);
  });
  afterAll(() => service?.close());

  const expectValid = (path: string, answer: HttpAnswer, status: number) => {
    expect(answer.status).toBe(status);
    expect(validator.response(path, answer)).toEqual([]);
  };

  it('documents the 431 the HTTP layer answers for a request head over 16 KiB (a ~60 KB slug)', async () => {
    const response = await fetch(`${service.url}/api/v1/graphs/${'s'.repeat(60_000)}/migrations`, {
      headers: { authorization: `Bearer ${memberToken}` },
    });
    const text = await response.text();
    expectValid(MIGRATIONS_PATH, { status: response.status, headers: response.headers, text, body: JSON.parse(text) }, 431);
  });

  it('serves the document at /openapi.json as JSON', async () => {
    const answer = await get(service.url, '/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
    expect(answer.body.openapi).toBe('3.1.0');
  });

  it('200: a page with null and non-null values matches', async () => {
    const answer = await get(service.url, MIGRATIONS('documented', '?limit=5'), { token: memberToken });
    expectValid(MIGRATIONS_PATH, answer, 200);
    expect(answer.body.some((item: { error: unknown }) => item.error === null)).toBe(true);
    expect(answer.body.some((item: { error: unknown }) => item.error !== null)).toBe(true);
  });

  it('200: the default page (the documented default of 100 items) matches', async () => {
    const answer = await get(service.url, MIGRATIONS('documented'), { token: memberToken });
    expectValid(MIGRATIONS_PATH, answer, 200);
    expect(answer.body).toHaveLength(OPENAPI_DOCUMENT.paths[MIGRATIONS_PATH]!.get.parameters![1]!.schema.default as number);
  });

  it('304: revalidating a page with its ETag matches (no body, the same validators)', async () => {
    const page = await get(service.url, MIGRATIONS('documented', '?limit=5'), { token: memberToken });
    const etag = page.headers.get('etag')!;
    const response = await fetch(`${service.url}${MIGRATIONS('documented', '?limit=5')}`, {
      headers: { authorization: `Bearer ${memberToken}`, 'if-none-match': etag },
    });
    const answer = { status: response.status, headers: response.headers, text: await response.text(), body: undefined };
    expectValid(MIGRATIONS_PATH, answer, 304);
    expect(answer.headers.get('etag')).toBe(etag);
  });

  it('200: an empty history matches', async () => {
    expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('never_migrated'), { token: memberToken }), 200);
  });

  it('401: no token, and a bad token, match (with the documented WWW-Authenticate)', async () => {
    for (const options of [{}, { token: 'not-a-jwt' }, { token: unsignedToken({ sub: member, exp: 4102444800 }) }]) {
      const answer = await get(service.url, MIGRATIONS('documented'), options);
      expectValid(MIGRATIONS_PATH, answer, 401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('403 matches', async () => {
    expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('documented'), { token: outsiderToken }), 403);
  });

  it('404 matches', async () => {
    expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('no_such_graph'), { token: memberToken }), 404);
  });

  it('422 matches for each kind of validation error', async () => {
    for (const raw of ['0', '501', 'abc', '1.5', '', '1'.repeat(4301)]) {
      expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('documented', `?limit=${raw}`), { token: memberToken }), 422);
    }
  });

  it('422 matches for a cursor the service did not issue, alone and together with a bad limit', async () => {
    for (const query of ['?cursor=not-a-cursor', '?cursor=', '?limit=0&cursor=bm90LWpzb24']) {
      expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('documented', query), { token: memberToken }), 422);
    }
  });

  it('200 with a Link header: the header matches its documented schema, and the next page matches too', async () => {
    const linkSchema = OPENAPI_DOCUMENT.paths[MIGRATIONS_PATH]!.get.responses['200']!.headers!.Link!.schema;
    const first = await get(service.url, MIGRATIONS('documented', '?limit=50'), { token: memberToken });
    expectValid(MIGRATIONS_PATH, first, 200);
    const link = first.headers.get('link')!;
    expect(link).toMatch(new RegExp(linkSchema.pattern!));
    // Path-absolute without PUBLIC_BASE_URL: resolved against the URL called, as a client does.
    const nextUrl = new URL(/^<([^>]+)>/.exec(link)![1]!, service.url);
    expectValid(MIGRATIONS_PATH, await get(service.url, nextUrl.pathname + nextUrl.search, { token: memberToken }), 200);
  });

  it('500 matches (an internal error, answered without details)', async () => {
    const database = service.service.database;
    const original = database.query;
    database.query = () => Promise.reject(new Error('a bug, not an outage'));
    try {
      expectValid(MIGRATIONS_PATH, await get(service.url, MIGRATIONS('documented'), { token: memberToken }), 500);
    } finally {
      database.query = original;
    }
  });

  it('the limit parameter schema accepts exactly what the service accepts', async () => {
    for (const raw of ['-1', '0', '1', '2', '100', '499', '500', '501', '1000', 'abc', '1.5']) {
      const value = /^-?\d+(?:\.\d+)?$/.test(raw) ? Number(raw) : raw;
      const answer = await get(service.url, MIGRATIONS('documented', `?limit=${raw}`), { token: memberToken });
      expect([200, 422]).toContain(answer.status);
      expect(validator.parameter(MIGRATIONS_PATH, 1, value), `limit=${raw}`).toBe(answer.status === 200);
    }
  });

  it('the cross-graph route: 200 (filtered), 403 and 422 match', async () => {
    const superuser = await service.token(randomUUID(), { isSuperuser: true });
    expectValid(
      ALL_MIGRATIONS_PATH,
      await get(service.url, '/api/v1/migrations?limit=3&status=failed&status=success', { token: superuser }),
      200,
    );
    expectValid(ALL_MIGRATIONS_PATH, await get(service.url, '/api/v1/migrations', { token: memberToken }), 403);
    const invalid = await get(
      service.url,
      `/api/v1/migrations?since=yesterday&${'status=x&'.repeat(1)}${Array.from({ length: 11 }, (_, i) => `status=s${i}`).join('&')}`,
      {
        token: superuser,
      },
    );
    expectValid(ALL_MIGRATIONS_PATH, invalid, 422);
    expect(invalid.body.detail.map((item: { type: string }) => item.type)).toEqual(['too_long', 'datetime_from_date_parsing']);
  });

  it('the export routes: 200 in both documented formats with the documented headers; 401, 403, 404 and 422 match', async () => {
    const superuser = await service.token(randomUUID(), { isSuperuser: true });
    for (const [path, url, token] of [
      [MIGRATIONS_EXPORT_PATH, MIGRATIONS('documented', '/export'), memberToken],
      [ALL_MIGRATIONS_EXPORT_PATH, '/api/v1/migrations/export', superuser],
    ] as const) {
      const documented = OPENAPI_DOCUMENT.paths[path]!.get;
      const format = documented.parameters!.findIndex((parameter) => parameter.name === 'format');
      for (const [value, accepted] of [
        ['ndjson', true],
        ['csv', true],
        ['xml', false],
        ['NDJSON', false],
      ] as const) {
        const response = await fetch(`${service.url}${url}?format=${value}`, { headers: { authorization: `Bearer ${token}` } });
        const text = await response.text();
        expect(validator.parameter(path, format, value), `${path} format=${value}`).toBe(accepted);
        if (!accepted) {
          expectValid(path, { status: response.status, headers: response.headers, text, body: JSON.parse(text) }, 422);
          continue;
        }
        expect(response.status).toBe(200);
        const ok = documented.responses['200']!;
        expect(Object.keys(ok.content!)).toContain(response.headers.get('content-type'));
        for (const [name, header] of Object.entries(ok.headers!)) {
          const schema = header.schema;
          const actual = response.headers.get(name);
          expect(actual, name).not.toBeNull();
          if (schema.const !== undefined) expect(actual).toBe(schema.const);
          if (schema.pattern !== undefined) expect(actual).toMatch(new RegExp(schema.pattern));
        }
      }
      for (const options of [{}, { token: 'not-a-jwt' }]) expectValid(path, await get(service.url, url, options), 401);
      expectValid(path, await get(service.url, `${url}?since=yesterday&format=x`, { token }), 422);
    }
    expectValid(MIGRATIONS_EXPORT_PATH, await get(service.url, MIGRATIONS('documented', '/export'), { token: outsiderToken }), 403);
    expectValid(MIGRATIONS_EXPORT_PATH, await get(service.url, MIGRATIONS('no_such_graph', '/export'), { token: memberToken }), 404);
    expectValid(ALL_MIGRATIONS_EXPORT_PATH, await get(service.url, '/api/v1/migrations/export', { token: memberToken }), 403);
  });

  it('/healthz and /readyz match', async () => {
    expectValid('/healthz', await get(service.url, '/healthz'), 200);
    expectValid('/readyz', await get(service.url, '/readyz'), 200);
  });

  it('answers 405 to other methods on these paths, and keeps serving', async () => {
    for (const path of ['/openapi.json', '/healthz', '/readyz', MIGRATIONS('documented')]) {
      const response = await fetch(`${service.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${memberToken}` } });
      expect(response.status, path).toBe(405);
      expect(await response.json()).toEqual({ detail: 'Method Not Allowed' });
    }
    expect((await get(service.url, '/healthz')).status).toBe(200);
  });

  // The statistics routes and the graphs' latest runs.
  it.each([
    [MIGRATIONS_STATS_PATH, '/api/v1/graphs/documented/migrations/stats', 'member', 200],
    [MIGRATIONS_STATS_PATH, '/api/v1/graphs/never_migrated/migrations/stats', 'member', 200],
    [MIGRATIONS_STATS_PATH, '/api/v1/graphs/documented/migrations/stats?since=yesterday', 'member', 422],
    [MIGRATIONS_STATS_PATH, '/api/v1/graphs/nothing_here/migrations/stats', 'member', 404],
    [MIGRATIONS_STATS_PATH, '/api/v1/graphs/documented/migrations/stats', 'none', 401],
    [ALL_MIGRATIONS_STATS_PATH, '/api/v1/migrations/stats?until=2026-09-01T00:00:00Z', 'super', 200],
    [ALL_MIGRATIONS_STATS_PATH, '/api/v1/migrations/stats', 'member', 403],
    [LATEST_MIGRATIONS_PATH, '/api/v1/migrations/latest?status=failed', 'super', 200],
    [LATEST_MIGRATIONS_PATH, '/api/v1/migrations/latest?limit=0', 'super', 422],
    [LATEST_MIGRATIONS_PATH, '/api/v1/migrations/latest', 'member', 403],
  ] as const)('%s: GET %s (%s) answers %i as documented', async (documented, path, who, status) => {
    const token = who === 'member' ? memberToken : who === 'super' ? await service.token(randomUUID(), { isSuperuser: true }) : undefined;
    const answer = await get(service.url, path, { token });
    expect(answer.status).toBe(status);
    expect(validator.response(documented, answer)).toEqual([]);
  });
});

describe.skipIf(!postgresAvailable)('/readyz in each of its three shapes, against the document (PostgreSQL through TCP proxies)', () => {
  // The serving pool and the live history's LISTEN session each reach the database through a proxy of
  // their own, so that either can be cut while the other stays up.
  let service: TestService;
  let pool: TcpProxy;
  let listen: TcpProxy;

  beforeAll(async () => {
    const target = { host: new URL(POSTGRES_ADMIN_URL).hostname, port: Number(new URL(POSTGRES_ADMIN_URL).port || 5432) };
    [pool, listen] = await Promise.all([startTcpProxy(target), startTcpProxy(target)]);
    const through = (proxy: TcpProxy, url: string) =>
      Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(proxy.port) }).toString();
    service = await startTestService('postgres', {
      databaseUrl: (url) => through(pool, url),
      env: (url) => ({ DATABASE_LISTEN_URL: through(listen, url), DATABASE_CONNECT_TIMEOUT_MS: '1000' }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await Promise.all([pool?.close(), listen?.close()]);
  });

  /** Polls /readyz until it answers `status` (each answer checked against the document on the way), and returns that answer. */
  const readyz = async (status: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await get(service.url, '/readyz');
      if (answer.body.status === status || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const expectShape = (answer: HttpAnswer, status: number, body: unknown) => {
    expect({ status: answer.status, body: answer.body }).toEqual({ status, body });
    expect(documentValidator().response('/readyz', answer)).toEqual([]);
  };

  it('200 {"status":"ready"}', async () => {
    expectShape(await readyz('ready'), 200, { status: 'ready' });
  });

  it('503 {"status":"live history unavailable","listen":"down"} while the LISTEN session is down, then ready again', async () => {
    await listen.cut();
    try {
      expectShape(await readyz('live history unavailable'), 503, { status: 'live history unavailable', listen: 'down' });
    } finally {
      await listen.restore();
    }
    expectShape(await readyz('ready'), 200, { status: 'ready' });
  });

  it('503 {"status":"database unavailable"} while the database is out of reach, then ready again', async () => {
    await pool.cut();
    try {
      expectShape(await readyz('database unavailable'), 503, { status: 'database unavailable' });
    } finally {
      await pool.restore();
    }
    expectShape(await readyz('ready'), 200, { status: 'ready' });
  });
});

describe('the check of every answer against the document (test/setupOpenApiCheck.ts)', () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    text: JSON.stringify(body),
  });

  it('refuses what the document does not describe: a body, a status, a missing header, a content type', () => {
    const validate = documentValidator();
    const wrongListen = validate.response('/readyz', json(503, { status: 'live history unavailable', listen: 'up' }));
    expect(wrongListen).toContain('body/listen must be equal to constant: "down"');
    expect(wrongListen).toContain('body must match exactly one schema in oneOf');
    expect(validate.response('/readyz', json(503, { status: 'ready' }))).not.toEqual([]);
    expect(validate.response('/readyz', json(200, { status: 'ready', primary: 'up' }))).toEqual([
      expect.stringContaining('must have property replica when property primary is present'),
    ]);
    expect(validate.response(MIGRATIONS_PATH, json(418, { detail: 'teapot' }))).toEqual([
      `status 418 is not documented for GET ${MIGRATIONS_PATH}`,
    ]);
    expect(validate.response(MIGRATIONS_PATH, json(401, { detail: 'Not authenticated' }))).toEqual(['header WWW-Authenticate is missing']);
    expect(validate.response(MIGRATIONS_PATH, { ...json(200, []), headers: new Headers({ 'content-type': 'text/plain' }) })).toEqual([
      'header ETag is missing',
      'header Cache-Control is missing',
      'content type "text/plain" is not documented',
    ]);
    // And what it should accept, it does: each of readiness's shapes.
    for (const [status, body] of [
      [200, { status: 'ready' }],
      [200, { status: 'ready', primary: 'down', replica: 'up' }],
      [503, { status: 'database unavailable' }],
      [503, { status: 'database unavailable', primary: 'up', replica: 'down' }],
      [503, { status: 'live history unavailable', listen: 'down' }],
      [503, { status: 'live history unavailable', listen: 'down', primary: 'up', replica: 'up' }],
    ] as const) {
      expect(validate.response('/readyz', json(status, body)), JSON.stringify(body)).toEqual([]);
    }
  });

  it('fails a fetch that receives an undocumented answer from a documented path, naming method, path, status and errors', async () => {
    // A server on loopback that answers /readyz and a history page as the service never does.
    const server = createServer((request, response) => {
      const body = request.url === '/readyz' ? { status: 'live history unavailable', listen: 'up' } : { detail: 'teapot' };
      response.writeHead(request.url === '/readyz' ? 503 : 418, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(fetch(`${url}/readyz`)).rejects.toThrow(
        /^OpenAPI check: GET \/readyz \(documented as \/readyz\) answered 503, which the document does not describe: .*body\/listen must be equal to constant: "down"/,
      );
      await expect(fetch(`${url}/api/v1/graphs/x/migrations?limit=1`, { method: 'HEAD' })).rejects.toThrow(
        'OpenAPI check: HEAD /api/v1/graphs/x/migrations?limit=1 (documented as /api/v1/graphs/{slug}/migrations) answered 418, which the document does not describe: status 418 is not documented',
      );
      // Paths the document does not describe are not checked.
      expect((await fetch(`${url}/elsewhere`)).status).toBe(418);
    } finally {
      server.close();
    }
    // Taken here, so that the setup file does not fail this test for them.
    expect(takeViolations()).toHaveLength(2);
  });
});
