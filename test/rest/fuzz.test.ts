// Property-based: thousands of random slugs (unicode, `../`, `%00`, SQL fragments, 10 kB strings),
// limits and headers at the REST route, and random variable values at GraphQL. Every REST answer
// is one of 200/401/403/404/422 with a JSON body; every GraphQL answer is a well-formed response
// without INTERNAL_SERVER_ERROR; none is a 500, none hangs (each request has a deadline).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const REQUEST_DEADLINE_MS = 15_000;
const REST_STATUSES = [200, 401, 403, 404, 422];

const nasty = fc.constantFrom(
  '../',
  '../../etc/passwd',
  '..%2f..%2f',
  '%00',
  '\u0000',
  "'; DROP TABLE graphs; --",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '$1',
  '\\',
  '%',
  '%zz',
  'default',
  'member_graph',
  'deleted_graph',
  'outsider_graph',
  'DEFAULT',
  '😀',
  'e\u0301',
  '\uFEFF',
  '\uD800',
);
const knownSlug = fc.constantFrom('default', 'member_graph', 'deleted_graph', 'outsider_graph', 'unknown_graph');
const slug = fc.oneof(
  { arbitrary: knownSlug, weight: 4 },
  nasty,
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.stringMatching(/^[a-z0-9_]{0,120}$/),
  // 10 kB, in characters that stay 10 kB in the request line (Node answers 431 itself past 16 KiB of headers).
  fc.stringMatching(/^[a-z0-9_.~-]{10000,10240}$/),
  fc.tuple(nasty, fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
);
const limit = fc.option(
  fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 500 }).map(String), weight: 3 },
    fc.integer({ min: -1000, max: 1000 }).map(String),
    fc.constantFrom('', ' 5 ', '5.0', '1e3', '0x10', '-0', '+7', '500', '501', '9'.repeat(400), 'NaN', 'null', "1' OR 1=1"),
    fc.string({ maxLength: 20 }),
  ),
  { nil: undefined, freq: 2 },
);
// Header values fetch will send: visible ASCII and spaces, no control characters.
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,200}$/);

describe('random input at both doors (PGlite)', () => {
  let service: TestService;
  let tokens: { member: string; superuser: string; expired: string };

  beforeAll(async () => {
    service = await startTestService('pglite');
    const { prisma } = service;
    const member = await insertGraph(prisma, { slug: 'member_graph' });
    await addMember(prisma, member.id, MEMBER);
    await insertManyRuns(prisma, member.id, 5);
    await insertGraph(prisma, { slug: 'default', isDefault: true });
    await insertGraph(prisma, { slug: 'outsider_graph' });
    await insertGraph(prisma, { slug: 'deleted_graph', status: 'deleted' });
    tokens = {
      member: await service.token(MEMBER),
      superuser: await service.token(randomUUID(), { isSuperuser: true }),
      expired: await service.token(MEMBER, { expiresIn: -60 }),
    };
  });
  afterAll(() => service?.close());

  const authorization = () =>
    fc.oneof(
      { arbitrary: fc.constantFrom(`Bearer ${tokens.member}`, `Bearer ${tokens.superuser}`), weight: 5 },
      fc.constant(undefined),
      fc.constantFrom(`Bearer ${tokens.expired}`, 'Bearer', 'Basic dXNlcjpwYXNz', `bearer ${tokens.member}`),
      headerText,
      headerText.map((text) => `Bearer ${text}`),
    );

  it('REST: every answer is 200/401/403/404/422 with a JSON body', { timeout: 600_000 }, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        slug,
        limit,
        authorization(),
        fc.option(headerText, { nil: undefined }),
        fc.boolean(),
        async (slugValue, limitValue, auth, requestId, encode) => {
          let segment: string;
          try {
            segment = encode ? encodeURIComponent(slugValue) : slugValue.replace(/[?#]/g, encodeURIComponent);
          } catch {
            return; // a lone surrogate has no UTF-8 form: no client can send it
          }
          const query = limitValue === undefined ? '' : `?limit=${encodeURIComponent(limitValue)}`;
          const headers: Record<string, string> = {};
          if (auth !== undefined) headers.authorization = auth;
          if (requestId !== undefined) headers['x-request-id'] = requestId;
          let url: string;
          try {
            url = new URL(`${service.url}/api/v1/graphs/${segment}/migrations${query}`).toString();
          } catch {
            return; // not a URL any client could send
          }
          const response = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
          const text = await response.text();
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          expect(REST_STATUSES, `${response.status} for ${url.slice(0, 300)}: ${text.slice(0, 300)}`).toContain(response.status);
          expect(response.headers.get('content-type')).toBe('application/json');
          const body = JSON.parse(text) as unknown;
          if (response.status === 200) expect(Array.isArray(body)).toBe(true);
          else expect(body).toHaveProperty('detail');
        },
      ),
      { numRuns: 2_500 },
    );
    console.log(`REST fuzz: answers by status ${JSON.stringify(Object.fromEntries(seen))}`);
    // The generators reach every branch, not just the first check.
    for (const status of REST_STATUSES)
      expect(seen.get(status) ?? 0, `status ${status} never produced: ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
  });

  it('GraphQL: random variable values give a well-formed response, never an internal error', { timeout: 600_000 }, async () => {
    const query = /* GraphQL */ `
      query Fuzz($slug: String!, $limit: Int, $first: Int, $after: String) {
        graph(slug: $slug) {
          id
          migrations(limit: $limit) {
            id
            status
            createdAt
          }
          migrationsConnection(first: $first, after: $after) {
            edges {
              cursor
            }
            pageInfo {
              hasNextPage
            }
          }
        }
      }
    `;
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer(), fc.double(), slug, fc.constant(null));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(slug, anyValue),
        fc.option(anyValue, { nil: undefined }),
        fc.option(fc.oneof(fc.integer({ min: -10, max: 600 }), anyValue), { nil: undefined }),
        fc.option(anyValue, { nil: undefined }),
        fc.constantFrom(tokens.member, tokens.superuser, tokens.expired, 'garbage'),
        async (slugValue, limitValue, firstValue, afterValue, token) => {
          const response = await fetch(`${service.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query, variables: { slug: slugValue, limit: limitValue, first: firstValue, after: afterValue } }),
            signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
          });
          const text = await response.text();
          expect([200, 400], text.slice(0, 300)).toContain(response.status);
          const body = JSON.parse(text) as { data?: unknown; errors?: { message: unknown; extensions?: { code?: unknown } }[] };
          expect('data' in body || Array.isArray(body.errors), text.slice(0, 300)).toBe(true);
          for (const error of body.errors ?? []) {
            expect(typeof error.message).toBe('string');
            expect(error.extensions?.code, text.slice(0, 300)).not.toBe('INTERNAL_SERVER_ERROR');
          }
          // Nothing internal leaks into messages (input may be echoed back, so only what no input holds):
          // no stack frames, file paths, our SQL or Prisma's invocation text.
          expect(text).not.toMatch(/\.ts:\d+|node_modules|file:\/\/|FROM graph|prisma/i);
        },
      ),
      { numRuns: 800 },
    );
  });
});
