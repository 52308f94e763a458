// A repeated query, once compiled, is answered without Apollo Server's pipeline
// (src/doors/graphql/compiledRequests.ts): the same status, headers and bytes as Apollo's answer. Whatever
// that path does not handle (errors, refused variables, the cost limit, another media type, a
// federated trace, persisted queries, an anonymous client) is still Apollo's answer.
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const HISTORY = `query History($slug: String!, $limit: Int) { graph(slug: $slug) { id slug migrations(limit: $limit) {
  id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt } } }`;

describe('compiled queries answered without Apollo Server’s pipeline', () => {
  let service: TestService;
  let token: string;
  const apolloCalls = vi.spyOn(ApolloServer.prototype, 'executeHTTPGraphQLRequest');

  beforeAll(async () => {
    // A cost limit a page of 100 runs stays within and one of 500 does not.
    service = await startTestService('pglite', { env: { GRAPHQL_MAX_COST: '300' } });
    token = await service.token(MEMBER);
    const graph = await insertGraph(service.prisma, { slug: 'member_graph' });
    await addMember(service.prisma, graph.id, MEMBER);
    await insertGraph(service.prisma, { slug: 'private_graph' });
    for (let i = 0; i < 3; i++) await insertRun(service.prisma, graph.id, { createdAt: `2026-03-0${i + 1}T10:00:00.12345${i}Z` });
  });
  afterEach(() => apolloCalls.mockClear());
  afterAll(async () => {
    apolloCalls.mockRestore();
    await service?.close();
  });

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });
    const { date: _date, 'x-request-id': _id, ...rest } = Object.fromEntries(response.headers);
    return { status: response.status, headers: rest, text: await response.text() };
  };
  /** Sends `body` `times` times; returns the answers and how many of them Apollo Server answered. */
  const repeat = async (body: unknown, times: number, headers?: Record<string, string>) => {
    apolloCalls.mockClear();
    const answers = [];
    for (let i = 0; i < times; i++) answers.push(await post(body, headers));
    return { answers, byApollo: apolloCalls.mock.calls.length };
  };

  it("answers a compiled query itself from the third time on, with Apollo's exact status, headers and bytes", async () => {
    const { answers, byApollo } = await repeat({ query: HISTORY, variables: { slug: 'member_graph', limit: 2 } }, 4);
    // The first is interpreted, the second compiles (both through Apollo); then this path answers.
    expect(byApollo).toBe(2);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(answers[0]!.status).toBe(200);
    expect(answers[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answers[0]!.text).data.graph.migrations).toHaveLength(2);
    expect(answers[0]!.text.endsWith('}\n')).toBe(true);
  });

  it('negotiates the media type as Apollo does, and leaves the ones it does not serve to Apollo', async () => {
    const body = { query: HISTORY, variables: { slug: 'member_graph' } };
    await repeat(body, 2);
    const graphqlResponse = await repeat(body, 2, { accept: 'application/graphql-response+json, application/json;q=0.9' });
    expect(graphqlResponse.byApollo).toBe(0);
    expect(graphqlResponse.answers[0]!.headers['content-type']).toBe('application/graphql-response+json; charset=utf-8');
    const callback = await repeat(body, 1, { accept: 'application/json; callbackSpec=1.0' });
    expect(callback.byApollo).toBe(1);
    const unacceptable = await repeat(body, 1, { accept: 'text/csv' });
    expect(unacceptable.byApollo).toBe(1);
    expect(unacceptable.answers[0]!.status).toBe(406);
  });

  it('leaves an answer with errors to Apollo: the same bytes every time', async () => {
    const { answers, byApollo } = await repeat({ query: HISTORY, variables: { slug: 'private_graph' } }, 4);
    expect(byApollo).toBe(4);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(JSON.parse(answers[0]!.text).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('leaves refused variables and a cost over the limit to Apollo, which refuses them', async () => {
    await repeat({ query: HISTORY, variables: { slug: 'member_graph', limit: 2 } }, 3);
    const refused = await repeat({ query: HISTORY, variables: { slug: 'member_graph', limit: 'ten' } }, 1);
    expect(refused.byApollo).toBe(1);
    expect(refused.answers[0]!.status).toBe(400);
    const costly = await repeat({ query: HISTORY, variables: { slug: 'member_graph', limit: 500 } }, 1);
    expect(costly.byApollo).toBe(1);
    expect(JSON.parse(costly.answers[0]!.text).errors[0].extensions.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
  });

  it('leaves federated traces, persisted queries, another operation of the document and anonymous clients to Apollo', async () => {
    const body = { query: HISTORY, variables: { slug: 'member_graph', limit: 1 } };
    await repeat(body, 3);
    const traced = await repeat(body, 1, { 'apollo-federation-include-trace': 'ftv1' });
    expect(traced.byApollo).toBe(1);
    expect(JSON.parse(traced.answers[0]!.text).extensions.ftv1).toEqual(expect.any(String));
    const persisted = await repeat({ ...body, extensions: { persistedQuery: { version: 1, sha256Hash: 'x'.repeat(64) } } }, 1);
    expect(persisted.byApollo).toBe(1);
    const unnamed = await repeat({ ...body, operationName: 'Other' }, 1);
    expect(unnamed.byApollo).toBe(1);
    expect(unnamed.answers[0]!.status).toBe(400);
    const anonymous = await repeat(body, 1, { authorization: '' });
    expect(anonymous.byApollo).toBe(1);
    expect(JSON.parse(anonymous.answers[0]!.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
