// What a newcomer sent and got an internal error or an unhelpful message for (issue 19, section 5):
// an operation name that names nothing, malformed `_entities` representations, introspection off, a
// document nested thousands deep, a DateTime in another format. Each is a client error that says
// what to change, and none is logged as an internal failure. Every case is sent twice: the second
// execution of a document runs graphql-jit's compiled code (src/doors/graphql/executor.ts).
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID } from '../../src/database/seed.js';
import { recordingLogger, startTestService, type TestService } from '../helpers/service.js';

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Graph { slug } ... on GraphMigrationRun { id } } }`;
const DEMO_RUN = '0a6b9e0c-0000-4000-8000-000000000007';

describe('client errors a newcomer met (pglite)', () => {
  let service: TestService;
  let token: string;
  const log = recordingLogger('warn');

  beforeAll(async () => {
    service = await startTestService('pglite', { seed: true, logger: log.logger });
    token = await service.token(DEMO_MEMBER_ID);
  });
  afterAll(() => service?.close());

  async function post(body: unknown, init: { token?: string } = { token: 'member' }) {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
  }

  /** Sends the request twice (interpreted, then compiled) and expects the same answer both times. */
  async function twice(body: unknown) {
    const first = await post(body);
    const second = await post(body);
    expect(second).toEqual(first);
    return first;
  }

  const internalErrorsLogged = () => log.lines.filter((line) => line.level >= 50);

  describe('an operation name that matches nothing', () => {
    it.each([
      [
        'an unknown name',
        { query: 'query A { __typename }', operationName: 'B' },
        'No operation named "B" in the document (it defines "A")',
      ],
      ['an empty name', { query: 'query A { __typename }', operationName: '' }, 'No operation named "" in the document (it defines "A")'],
      ['a name for an anonymous operation', { query: '{ __typename }', operationName: 'A' }, 'it defines an anonymous one'],
      [
        'no name for two operations',
        { query: 'query A { __typename } query B { __typename }' },
        'The document defines 2 operations ("A", "B")',
      ],
    ])('is a 400 OPERATION_RESOLUTION_FAILURE (%s), logged as no failure of ours', async (_name, body, message) => {
      const { status, body: result } = await twice(body);
      expect(status).toBe(400);
      expect(result.data).toBeUndefined();
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0].extensions).toEqual({ code: 'OPERATION_RESOLUTION_FAILURE' });
      expect(result.errors![0].message).toContain(message);
      expect(result.errors![0].message).toContain('operationName');
      expect(internalErrorsLogged()).toEqual([]);
    });

    it('is the same over GET', async () => {
      const url = `${service.url}/graphql?query=${encodeURIComponent('query A { __typename }')}&operationName=B`;
      const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as any).errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    });

    it('still runs the operation it names', async () => {
      const { status, body } = await twice({ query: 'query A { a: __typename } query B { b: __typename }', operationName: 'B' });
      expect(status).toBe(200);
      expect(body).toEqual({ data: { b: 'Query' } });
    });
  });

  describe('malformed _entities representations', () => {
    it.each([
      ['an unknown __typename', { __typename: 'Nope' }, 'Representation 1 has __typename "Nope", which is not an entity of this subgraph'],
      ['a type that is no entity', { __typename: 'Query' }, 'Representation 1 has __typename "Query", which is not an entity'],
      ['an inherited property name', { __typename: 'constructor' }, 'Representation 1 has __typename "constructor"'],
      ['no __typename', { slug: DEMO_GRAPH_SLUG }, 'Representation 1 has no __typename'],
      ['no key field', { __typename: 'Graph' }, 'Representation 1 (Graph) has no key field: give "id" or "slug"'],
      ['a run without its id', { __typename: 'GraphMigrationRun' }, 'Representation 1 (GraphMigrationRun) has no key field: give "id"'],
      ['a null key', { __typename: 'Graph', slug: null }, 'Representation 1 (Graph) has "slug": null; a key field is a string'],
      ['a list as the key', { __typename: 'Graph', id: ['a'] }, 'Representation 1 (Graph) has "id": ["a"]; a key field is a string'],
      ['an object as the key', { __typename: 'GraphMigrationRun', id: { a: 1 } }, '"id": {"a":1}; a key field is a string'],
      ['a string', 'x', 'Representation 1 must be an object with __typename'],
      ['a list', [1], 'Representation 1 must be an object with __typename'],
    ])('answers %s with BAD_USER_INPUT at its index, and resolves the other entries', async (_name, representation, message) => {
      const representations = [
        { __typename: 'Graph', slug: DEMO_GRAPH_SLUG },
        representation,
        { __typename: 'GraphMigrationRun', id: DEMO_RUN },
      ];
      const { status, body } = await twice({ query: ENTITIES, variables: { r: representations } });
      expect(status).toBe(200);
      expect(body.data).toEqual({
        _entities: [{ __typename: 'Graph', slug: DEMO_GRAPH_SLUG }, null, { __typename: 'GraphMigrationRun', id: DEMO_RUN }],
      });
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0].path).toEqual(['_entities', 1]);
      expect(body.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', argumentName: 'representations' });
      expect(body.errors![0].message).toContain(message);
      expect(internalErrorsLogged()).toEqual([]);
    });

    it.each([
      ['an unknown slug', { __typename: 'Graph', slug: 'no_such_graph' }],
      ['a slug that is a number', { __typename: 'Graph', slug: 5 }],
      ['an id that is no UUID', { __typename: 'Graph', id: 'zz' }],
      ['an unknown run', { __typename: 'GraphMigrationRun', id: '0a6b9e0c-0000-4000-8000-0000000000ff' }],
    ])('answers a well-formed key that matches nothing (%s) with null and no error', async (_name, representation) => {
      const { status, body } = await twice({
        query: ENTITIES,
        variables: { r: [representation, { __typename: 'Graph', slug: DEMO_GRAPH_SLUG }] },
      });
      expect(status).toBe(200);
      expect(body).toEqual({ data: { _entities: [null, { __typename: 'Graph', slug: DEMO_GRAPH_SLUG }] } });
    });
  });

  describe('messages that name what to change', () => {
    it('a document nested thousands deep is a parse failure that says so, not a stack overflow', async () => {
      const deep = `{ graph(slug: "x") { migrations(status: ${'['.repeat(3000)}${']'.repeat(3000)}) { id } } }`;
      const { status, body } = await post({ query: deep });
      expect(status).toBe(400);
      expect(body.errors).toEqual([
        { message: expect.stringContaining('The document is nested too deeply to parse'), extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
      ]);
      expect(body.errors![0].message).toContain('GRAPHQL_MAX_DEPTH');
      expect(JSON.stringify(body)).not.toContain('call stack');
      // Deeply nested selections are the same failure.
      const selections = await post({ query: `{${'a {'.repeat(3000)} b ${'}'.repeat(3000)}}` });
      expect(selections.body.errors![0].message).toContain('nested too deeply');
    });

    it('a document nested too deeply gets the same answer however warm graphql-js is: checked before parsing', async () => {
      // V8 optimizes graphql-js's parser as a process parses documents, into smaller stack frames: after
      // a few hundred documents on Node 24 (Maglev), a few thousand on Node 20, 3,000 nested `[` parsed
      // and validation answered GRAPHQL_VALIDATION_FAILED instead. The service runs in this process.
      for (let i = 0; i < 3000; i++) parse(`query Q${i}($v: [[Int]]) { a(x: [[1, 2], [3, [4]]], y: { z: [5] }) { b { c { ...F } } } }`);
      const deep = `{ graph(slug: "x") { migrations(status: ${'['.repeat(3000)}${']'.repeat(3000)}) { id } } }`;
      const { status, body } = await post({ query: deep });
      expect(status).toBe(400);
      expect(body.errors).toEqual([
        {
          message: expect.stringContaining(
            'The document is nested too deeply to parse: its brackets ({ [ (), fragment spreads written out',
          ),
          extensions: { code: 'GRAPHQL_PARSE_FAILED' },
        },
      ]);
      expect(body.errors![0].message).toContain('nest 3003 levels deep; the maximum is 256.');
      const selections = await post({ query: `{${'a {'.repeat(3000)} b ${'}'.repeat(3000)}}` });
      expect(selections.status).toBe(400);
      expect(selections.body.errors![0].message).toContain('nest 3001 levels deep; the maximum is 256.');
      // Brackets in strings and comments are no nesting.
      const quoted = await post({ query: `{ __typename(x: "${'['.repeat(300)}") # ${'{'.repeat(300)}\n}` });
      expect(quoted.body.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(internalErrorsLogged()).toEqual([]);
    });

    it('fragments count as written out in place: two chains of fragments, each shallow, are refused, not a 500', async () => {
      // graphql-js's OverlappingFieldsCanBeMerged compares `a0` and `b0` level by level, following the
      // fragments, recursively: about 800 levels ran out of stack on Node 24, a 500 Internal server error.
      const fragment = (side: string, i: number) =>
        `fragment ${side}${i} on __Type{${'ofType{'.repeat(120)}${i < 7 ? `...${side}${i + 1}` : 'name'}${'}'.repeat(120)}}`;
      const chains = Array.from({ length: 8 }, (_, i) => fragment('a', i) + fragment('b', i)).join(' ');
      const { status, body } = await post({ query: `{__type(name:"Graph"){...a0 ...b0}} ${chains}` });
      expect(status).toBe(400);
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0].extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
      expect(body.errors![0].message).toContain('nest 970 levels deep; the maximum is 256.');
      expect(internalErrorsLogged()).toEqual([]);
    });

    it('a subscription nested too deeply is refused the same way (GraphQL over SSE)', async () => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ query: `subscription { a(x: ${'['.repeat(3000)}${']'.repeat(3000)}) }` }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: any[] };
      expect(body.errors).toEqual([
        { message: expect.stringContaining('nest 3002 levels deep; the maximum is 256.'), extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
      ]);
    });

    it.each([
      [
        'a literal',
        `{ graph(slug: "${DEMO_GRAPH_SLUG}") { migrations(since: "yesterday") { id } } }`,
        undefined,
        'GRAPHQL_VALIDATION_FAILED',
      ],
      [
        'a variable',
        `query($s: DateTime) { graph(slug: "${DEMO_GRAPH_SLUG}") { migrations(since: $s) { id } } }`,
        { s: 'yesterday' },
        'BAD_USER_INPUT',
      ],
    ])('a DateTime in another format (%s) names the format with an example', async (_name, query, variables, code) => {
      const { status, body } = await twice({ query, variables });
      expect(status).toBe(400);
      expect(body.errors![0].extensions.code).toBe(code);
      expect(body.errors![0].message).toContain('Invalid DateTime: "yesterday" is not an RFC 3339 date-time');
      expect(body.errors![0].message).toContain('such as 2026-04-17T21:25:43.123456Z');
    });

    it('a DateTime that is not a string says to send one', async () => {
      const { body } = await twice({ query: `{ graph(slug: "${DEMO_GRAPH_SLUG}") { migrations(since: 1700000000) { id } } }` });
      expect(body.errors![0].message).toMatch(/^Invalid DateTime 1700000000: a non-string value; send a string, an RFC 3339 date-time/);
    });
  });
});

describe('introspection refused (GRAPHQL_INTROSPECTION=false)', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService('pglite', { env: { GRAPHQL_INTROSPECTION: 'false' } });
  });
  afterAll(() => service?.close());

  it('names the setting that turns it on, not an Apollo Server option', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    expect(response.status).toBe(400);
    const { errors } = (await response.json()) as { errors: any[] };
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errors[0].message).toContain('GRAPHQL_INTROSPECTION=true');
    expect(errors[0].message).not.toContain('ApolloServer');
  });
});
