// The core cases of the REST and GraphQL suites, as one set the scale-out tests run against a service
// in another deployment shape (behind PgBouncer, reading from a replica, several instances): the
// order and shape of a history, following Link headers and connection cursors to the end, the error
// answers of the contract, both doors agreeing, and one SQL statement per history request.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../src/database/client.js';
import { CONTRACT_KEYS, MIGRATIONS, RUN_FIELDS, TIMESTAMP, get, snakeCaseKeys } from '../rest/support.js';
import { insertManyRuns, insertGraph, addMember } from './fixtures.js';
import { inHistoryOrder, insertGraphWithRuns, plannedHistory, type PlannedRun } from './history.js';
import { graphql, testToken } from './service.js';

export interface CoreData {
  member: string;
  outsider: string;
  /** A 250-run history with ties to the microsecond, in the order the service must give it. */
  walked: { id: string; slug: string; order: PlannedRun[] };
  other: { id: string; slug: string };
  gone: { id: string; slug: string };
}

/** The data the core cases read, written through `prisma` (the primary). Slugs are prefixed so several sets can share a database. */
export async function insertCoreData(prisma: PrismaClient, prefix = 'core'): Promise<CoreData> {
  const member = randomUUID();
  const outsider = randomUUID();
  const runs = plannedHistory(250, '2026-06-01T00:00:00Z', 7);
  const walked = await insertGraphWithRuns(prisma, `${prefix}_walked`, member, runs);
  const other = await insertGraph(prisma, { slug: `${prefix}_other` });
  await addMember(prisma, other.id, member);
  await insertManyRuns(prisma, other.id, 12, '2026-07-01T00:00:00Z');
  const gone = await insertGraph(prisma, { slug: `${prefix}_gone`, status: 'deleted' });
  await addMember(prisma, gone.id, member, 'admin');
  return { member, outsider, walked: { ...walked, order: inHistoryOrder(runs) }, other, gone };
}

const LINK = /^<([^<>]+)>; rel="next"$/;

/**
 * Registers the core cases. `target()` is read when each case runs: the service's URL, the data it
 * serves, and the list its `onQuery` appends every SQL statement to.
 */
export function coreCases(target: () => { url: string; data: CoreData; statements: string[] }): void {
  const ids = (items: { id: string }[]) => items.map((item) => item.id);

  describe('REST core cases', () => {
    it("answers a member's history newest first, every key in the contract's order, microsecond timestamps", async () => {
      const { url, data } = target();
      const answer = await get(url, MIGRATIONS(data.walked.slug, '?limit=100'), { token: await testToken(data.member) });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(ids(answer.body)).toEqual(ids(data.walked.order.slice(0, 100)));
      for (const item of answer.body) {
        expect(Object.keys(item)).toEqual([...CONTRACT_KEYS]);
        expect(item.graph_id).toBe(data.walked.id);
        expect(item.created_at).toMatch(TIMESTAMP);
      }
    });

    it('follows Link headers to the last page, visiting every run once, newest first', async () => {
      const { url, data } = target();
      const token = await testToken(data.member);
      const visited: string[] = [];
      for (let next: string | undefined = MIGRATIONS(data.walked.slug, '?limit=40'); next;) {
        const answer = await get(url, next, { token });
        expect(answer.status).toBe(200);
        visited.push(...ids(answer.body));
        const link = answer.headers.get('link');
        next = link === null ? undefined : LINK.exec(link)![1];
      }
      expect(visited).toEqual(ids(data.walked.order));
    });

    it('answers the error statuses of the contract: 401, 422, 404 (unknown and deleted), 403', async () => {
      const { url, data } = target();
      const [memberToken, outsiderToken] = await Promise.all([testToken(data.member), testToken(data.outsider)]);
      expect(await get(url, MIGRATIONS(data.walked.slug))).toMatchObject({ status: 401, body: { detail: 'Not authenticated' } });
      expect((await get(url, MIGRATIONS(data.walked.slug, '?limit=0'), { token: memberToken })).status).toBe(422);
      expect(await get(url, MIGRATIONS('no_such_graph'), { token: memberToken })).toMatchObject({
        status: 404,
        body: { detail: 'Graph not found' },
      });
      expect(await get(url, MIGRATIONS(data.gone.slug), { token: memberToken })).toMatchObject({
        status: 404,
        body: { detail: 'Graph not found' },
      });
      expect(await get(url, MIGRATIONS(data.walked.slug), { token: outsiderToken })).toMatchObject({
        status: 403,
        body: { detail: 'Not a member of this graph' },
      });
    });
  });

  describe('GraphQL core cases', () => {
    it('walks a connection by its cursors to the end, with totalCount, and agrees with REST row for row', async () => {
      const { url, data } = target();
      const token = await testToken(data.member);
      const query = `query($slug: String!, $after: String) {
        graph(slug: $slug) { id migrationsConnection(first: 60, after: $after) { totalCount edges { node { ${RUN_FIELDS} } } pageInfo { hasNextPage endCursor } } }
      }`;
      const visited: Record<string, unknown>[] = [];
      let after: string | null = null;
      for (;;) {
        const result: Awaited<ReturnType<typeof graphql<any>>> = await graphql(url, query, {
          token,
          variables: { slug: data.walked.slug, after },
        });
        expect(result.errors).toBeUndefined();
        const connection: any = result.data.graph.migrationsConnection;
        expect(connection.totalCount).toBe(data.walked.order.length);
        visited.push(...connection.edges.map((edge: { node: Record<string, unknown> }) => edge.node));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(ids(visited as { id: string }[])).toEqual(ids(data.walked.order));
      const rest = await get(url, MIGRATIONS(data.walked.slug, '?limit=500'), { token });
      expect(rest.body).toStrictEqual(visited.map(snakeCaseKeys));
    });

    it('resolves _entities for several graphs in one request, in order, a non-member refused with FORBIDDEN', async () => {
      const { url, data } = target();
      const result = await graphql(
        url,
        `
          query ($r: [_Any!]!) {
            _entities(representations: $r) {
              ... on Graph {
                id
                slug
                migrations(limit: 5) {
                  id
                }
              }
            }
          }
        `,
        {
          token: await testToken(data.member),
          variables: {
            r: [
              { __typename: 'Graph', id: data.other.id },
              { __typename: 'Graph', slug: data.walked.slug },
            ],
          },
        },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data._entities.map((graph: { slug: string }) => graph.slug)).toEqual([data.other.slug, data.walked.slug]);
      expect(ids(result.data._entities[1].migrations)).toEqual(ids(data.walked.order.slice(0, 5)));
      expect(result.data._entities[0].migrations).toHaveLength(5);

      const refused = await graphql(url, `{ graph(slug: "${data.walked.slug}") { migrations(limit: 1) { id } } }`, {
        token: await testToken(data.outsider),
      });
      expect(refused.data).toEqual({ graph: null });
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });

  it('sends 1 SQL statement per history request on either door', async () => {
    const { url, data, statements } = target();
    const token = await testToken(data.member);
    statements.length = 0;
    expect((await get(url, MIGRATIONS(data.walked.slug, '?limit=100'), { token })).status).toBe(200);
    expect(statements).toHaveLength(1);
    statements.length = 0;
    const result = await graphql(url, `{ graph(slug: "${data.walked.slug}") { migrations(limit: 100) { id } } }`, { token });
    expect(result.errors).toBeUndefined();
    expect(statements).toHaveLength(1);
  });
}
