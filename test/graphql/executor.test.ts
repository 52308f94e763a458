// Operations are interpreted by graphql-js the first time and run compiled (graphql-jit) once they
// repeat (src/doors/graphql/executor.ts). Each request here is sent three times: the answers, status and
// body byte for byte, must not change when execution switches to the compiled operation, for data,
// client errors, variables refused before execution, and internal errors alike.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

const ALL_FIELDS = `id slug name description isDefault status typeId typeVersion readOnly readOnlyReason createdAt updatedAt
  migrations(limit: $limit) { id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt }
  migrationsConnection(first: 2) { totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }`;

describe('compiled execution answers as graphql-js does', () => {
  let service: TestService;
  let token: string;

  beforeAll(async () => {
    service = await startTestService('pglite');
    token = await service.token(MEMBER);
    const graph = await insertGraph(service.prisma, { slug: 'member_graph' });
    await addMember(service.prisma, graph.id, MEMBER);
    await insertGraph(service.prisma, { slug: 'private_graph' });
    for (let i = 0; i < 4; i++) await insertRun(service.prisma, graph.id, { createdAt: `2026-03-0${i + 1}T10:00:00.12345${i}Z` });
  });
  afterAll(() => service?.close());

  async function thrice(body: unknown, bearer = token) {
    const answers: { status: number; text: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify(body),
      });
      answers.push({ status: response.status, text: await response.text() });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    return { status: answers[0]!.status, body: JSON.parse(answers[0]!.text) };
  }

  const GRAPH = `query Graph($slug: String!, $limit: Int) { graph(slug: $slug) { ${ALL_FIELDS} } }`;

  it('a graph with every field, its history and a connection page', async () => {
    const { status, body } = await thrice({ query: GRAPH, variables: { slug: 'member_graph', limit: 3 } });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.graph.migrations).toHaveLength(3);
    expect(body.data.graph.migrationsConnection.totalCount).toBe(4);
  });

  it("entities with every field, the superusers' all-graphs connection and the subgraph's SDL", async () => {
    const { body: graph } = await thrice({ query: `{ graph(slug: "member_graph") { id } }` });
    const entities = await thrice({
      query: `query Entities($r: [_Any!]!, $limit: Int) { _entities(representations: $r) { ... on Graph { ${ALL_FIELDS} } } }`,
      variables: {
        r: [
          { __typename: 'Graph', id: graph.data.graph.id },
          { __typename: 'Graph', slug: 'member_graph' },
        ],
        limit: 2,
      },
    });
    expect(entities.body.errors).toBeUndefined();
    expect(entities.body.data._entities).toHaveLength(2);
    const all = await thrice(
      {
        query: `{ migrationRuns(first: 3) { totalCount edges { cursor node { id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
      },
      await service.token(randomUUID(), { isSuperuser: true }),
    );
    expect(all.body.data.migrationRuns.totalCount).toBe(4);
    expect(all.body.data.migrationRuns.pageInfo.hasNextPage).toBe(true);
    const sdl = await thrice({ query: '{ _service { sdl } }' });
    expect(typeof sdl.body.data._service.sdl).toBe('string');
  });

  it('an unknown graph (null) and a forbidden one (FORBIDDEN, data null)', async () => {
    expect((await thrice({ query: GRAPH, variables: { slug: 'no_such_graph' } })).body).toEqual({ data: { graph: null } });
    const forbidden = await thrice({ query: GRAPH, variables: { slug: 'private_graph' } });
    expect(forbidden.body.errors.map((error: { extensions: { code: string } }) => error.extensions.code)).toEqual(['FORBIDDEN']);
  });

  it('an argument out of range and a bad cursor (BAD_USER_INPUT at the field)', async () => {
    const range = await thrice({ query: GRAPH, variables: { slug: 'member_graph', limit: 501 } });
    expect(range.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const cursor = await thrice({ query: `{ graph(slug: "member_graph") { migrationsConnection(after: "bm90LWpzb24") { totalCount } } }` });
    expect(cursor.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('variables refused before execution (BAD_USER_INPUT, HTTP 400)', async () => {
    for (const variables of [{ slug: null }, {}, { slug: 'member_graph', limit: 'ten' }]) {
      const { status, body } = await thrice({ query: GRAPH, variables });
      expect(status).toBe(400);
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.data).toBeUndefined();
    }
  });

  it('an internal error: located, masked, the rest of the data kept', async () => {
    const database = service.service.database;
    const original = database.query;
    database.query = () => Promise.reject(new Error('boom at /work/main/src/queries/graphs.ts:42'));
    try {
      const { status, body } = await thrice({ query: `{ graph(slug: "member_graph") { id } }` });
      expect(status).toBe(200);
      expect(body).toEqual({
        data: { graph: null },
        errors: [
          {
            message: 'Internal server error',
            locations: [{ line: 1, column: 3 }],
            path: ['graph'],
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
    } finally {
      database.query = original;
    }
  });
});
