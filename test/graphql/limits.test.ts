// Operation limits (src/doors/graphql/limits.ts) over real HTTP: for each, a query just under the limit
// runs and one just over is refused before execution with the limit's named error code.
import { randomUUID } from 'node:crypto';
import { buildSchema, getIntrospectionQuery, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentNesting } from '../../src/doors/graphql/limits.js';
import { insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const USER = randomUUID();
// Small limits so the boundaries are easy to write; the defaults are checked in test/config.test.ts.
const LIMITS = {
  GRAPHQL_MAX_DEPTH: '5',
  GRAPHQL_MAX_ALIASES: '3',
  GRAPHQL_MAX_ROOT_FIELDS: '3',
  GRAPHQL_MAX_COST: '52',
  GRAPHQL_MAX_QUERY_BYTES: '600',
};

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('GraphQL operation limits', () => {
  let service: TestService;
  let token: string;
  const post = async (body: unknown): Promise<Answer> => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
  };
  const query = (text: string, variables?: Record<string, unknown>) => post({ query: text, variables });
  const expectRefused = (answer: Answer, code: string, status = 400) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
  };
  const expectRuns = (answer: Answer) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.errors).toBeUndefined();
  };

  beforeAll(async () => {
    service = await startTestService('pglite', { env: LIMITS });
    token = await service.token(USER);
    const graph = await insertGraph(service.prisma, { slug: 'default', isDefault: true });
    await insertManyRuns(service.prisma, graph.id, 60);
  });
  afterAll(() => service?.close());

  it('depth: 5 levels run (fragments followed), 6 are MAX_DEPTH_LIMIT (introspection counted)', async () => {
    expectRuns(
      await query(
        '{ graph(slug: "default") { ...history } } fragment history on Graph { migrationsConnection(first: 1) { edges { node { id } } } }',
      ),
    );
    const refused = await query('{ __schema { types { fields { type { ofType { name } } } } } }');
    expectRefused(refused, 'MAX_DEPTH_LIMIT');
    expect(refused.body.errors![0]!.message).toBe('Query depth 6 exceeds the maximum depth of 5 (GRAPHQL_MAX_DEPTH)');
    expect(refused.body.errors![0]!.extensions).toMatchObject({ actual: 6, max: 5 });
  });

  it('aliases: 3 run, 4 are MAX_ALIASES_LIMIT', async () => {
    expectRuns(await query('{ a: graph(slug: "default") { b: id c: slug } __typename }'));
    const refused = await query('{ a: graph(slug: "default") { b: id c: slug d: name } }');
    expectRefused(refused, 'MAX_ALIASES_LIMIT');
    expect(refused.body.errors![0]!.message).toBe('Query uses 4 aliases; the maximum is 3 (GRAPHQL_MAX_ALIASES)');
  });

  it('root fields: 3 run, 4 are MAX_ROOT_FIELDS_LIMIT', async () => {
    expectRuns(await query('{ graph(slug: "default") { id } __typename again: __typename }'));
    expectRefused(
      await query('{ graph(slug: "default") { id } __typename __schema { __typename } ...root } fragment root on Query { __typename }'),
      'MAX_ROOT_FIELDS_LIMIT',
    );
  });

  it('cost: counts `limit` (literal, variable or default) on list fields: 52 runs, 53 is COST_ESTIMATED_TOO_EXPENSIVE', async () => {
    // graph 1 + migrations (weight 1 + 0 per scalar) × limit
    const history = 'query History($limit: Int) { graph(slug: "default") { migrations(limit: $limit) { id } } }';
    const ran = await query(history, { limit: 51 });
    expectRuns(ran);
    expect(ran.body.data.graph.migrations).toHaveLength(51);
    const refused = await query(history, { limit: 52 });
    expectRefused(refused, 'COST_ESTIMATED_TOO_EXPENSIVE');
    expect(refused.body.errors![0]!.message).toBe("Query's estimated cost 53 exceeds the maximum cost of 52 (GRAPHQL_MAX_COST)");
    // The default limit (100) counts when the argument is left out.
    expectRefused(await query('{ graph(slug: "default") { migrations { id } } }'), 'COST_ESTIMATED_TOO_EXPENSIVE');
    // A connection's `first` sizes its edges (@listSize sizedFields): 1 + 1 + 25 × (edge 1 + node 1) = 52.
    expectRuns(await query('{ graph(slug: "default") { migrationsConnection(first: 25) { edges { node { id } } } } }'));
    expectRefused(
      await query('{ graph(slug: "default") { migrationsConnection(first: 26) { edges { node { id } } } } }'),
      'COST_ESTIMATED_TOO_EXPENSIVE',
    );
  });

  it('size: 600 bytes run, 601 are MAX_QUERY_SIZE_LIMIT (413) before parsing', async () => {
    const padded = (bytes: number) => {
      const text = '{ __typename }';
      return `${text}${' '.repeat(bytes - Buffer.byteLength(text) - 3)}#é`;
    };
    expect(Buffer.byteLength(padded(600))).toBe(600);
    expectRuns(await query(padded(600)));
    const refused = await query(padded(601));
    expectRefused(refused, 'MAX_QUERY_SIZE_LIMIT', 413);
    expect(refused.body.errors![0]!.message).toBe('Query is 601 bytes; the maximum is 600 (GRAPHQL_MAX_QUERY_BYTES)');
    // Not even parsed: the same size of garbage is refused the same way, not as a syntax error.
    expectRefused(await query('{'.repeat(601)), 'MAX_QUERY_SIZE_LIMIT', 413);
  });

  it('nesting: brackets 256 levels deep are parsed, 257 are GRAPHQL_PARSE_FAILED before parsing, on any engine', async () => {
    // `{ graph(…) { migrations(` is 3 levels; the rest is a list literal nested inside.
    const nested = (levels: number) =>
      `{ graph(slug: "default") { migrations(status: ${'['.repeat(levels - 3)}${']'.repeat(levels - 3)}) { id } } }`;
    expectRefused(await query(nested(256)), 'GRAPHQL_VALIDATION_FAILED');
    const refused = await query(nested(257));
    expectRefused(refused, 'GRAPHQL_PARSE_FAILED');
    expect(refused.body.errors![0]!.message).toContain('nest 257 levels deep; the maximum is 256.');
  });

  it('refuses a batched (array) request with a clear BAD_REQUEST', async () => {
    const answer = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expectRefused(answer, 'BAD_REQUEST');
    expect(answer.body.errors![0]!.message).toMatch(/Batched operations .* not supported/);
  });

  it('keeps introspection on outside production', async () => {
    expectRuns(await query('{ __schema { queryType { name } } }'));
  });
});

describe("documentNesting: brackets read by graphql-js's lexer, fragment spreads written out", () => {
  it.each([
    ['an ordinary query', 'query($slug: String!) { graph(slug: $slug) { migrations(limit: 100) { id } } }', 3],
    ["graphql-js's introspection query", getIntrospectionQuery(), 18],
    ['brackets in strings and comments', `{ a(x: "[[\\"[[", y: """ {{ \\""" {{ """) # ((((\n b }`, 2],
    ['a byte order mark', '\ufeff{ a { b } }', 2],
    ['an inline fragment', '{ a { ... on T { b { c } } } }', 4],
    ['spreads, comments between', '{ a { ...F } } fragment # x\n F on T { b { ...G } } fragment G on T { c { d } }', 6],
    ['anonymous operations', '{ a } { b { c { d } } }', 3],
    ['variables and directives', 'query Q($a: [[Int]] = [[1]]) @x(y: { z: [1] }) { a }', 3],
    ['a fragment named query', '{ a { ...query } } fragment query on T { b { c { d } } }', 5],
    ['a type condition named query', '{ a { ...F } } fragment F on query { b { c { d } } }', 5],
    ['a union member named fragment', 'union U = fragment fragment F on T { b { c { d } } } { a { ...F } }', 5],
    ['a definition with brackets left open before', 'directive @d(a: Int) on FIELD { a { ...F } } fragment F on T { b { c { d } } }', 5],
    ['a fragment given twice: both bodies', '{ a { ...F } } fragment F on T { b } fragment F on T { b { c { d } } }', 5],
    ['a cycle: every fragment stacked on the operation', '{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { ...F } }', 6],
    ['a syntax error in the tokens: what comes before', '{ a { b { c } } } ? { ((((((( }', 3],
    ['an unterminated string: what comes before', '{ a { b(x: "abc\n[[[[[[[[[[) } }', 3],
  ])('%s', (_name, query, nesting) => {
    expect(documentNesting(query)).toBe(nesting);
  });

  it("matches graphql-js's recursion through fragments: a chain it cannot validate is measured in full", () => {
    // Type conditions named like keywords; the chain overflows OverlappingFieldsCanBeMerged.
    const fragment = (side: string, i: number) =>
      `fragment ${side}${i} on query{${'ofType{'.repeat(120)}${i < 7 ? `...${side}${i + 1}` : 'name'}${'}'.repeat(120)}}`;
    const chains = Array.from({ length: 8 }, (_, i) => fragment('a', i) + fragment('b', i)).join(' ');
    const query = `{__type(name:"Graph"){...a0 ...b0}} ${chains}`;
    expect(() => validate(buildSchema('type Query { a: Int }'), parse(query))).toThrow(RangeError);
    expect(documentNesting(query)).toBe(970);
  });
});

describe('introspection in production', () => {
  it.each([
    ['off by default', {}, false],
    ['on with GRAPHQL_INTROSPECTION=true', { GRAPHQL_INTROSPECTION: 'true' }, true],
  ])('is %s', async (_name, env, enabled) => {
    const service = await startTestService('pglite', { env: { NODE_ENV: 'production', ...env } });
    try {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
      });
      const body = (await response.json()) as Answer['body'];
      if (enabled) expect(body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      else expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await service.close();
    }
  });
});
