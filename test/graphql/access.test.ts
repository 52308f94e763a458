// Who may read what through GraphQL: authentication (UNAUTHENTICATED), GRAPH_READ (FORBIDDEN on the
// field or entity), and graphs that are not served (unknown, deleted: null). Entities included.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../src/auth/viewer.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { graphql, startTestService, TEST_JWT_SECRET, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const STRANGER = randomUUID();
const SUPERUSER = randomUUID();

const GRAPH_QUERY = `query($slug: String!) { graph(slug: $slug) { slug migrations(limit: 5) { id graphId } } }`;
const GRAPH_ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { slug migrations(limit: 5) { id graphId } } } }`;
const RUN_ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on GraphMigrationRun { id graphId status createdAt } } }`;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

describe.each(DATABASE_KINDS)('access through GraphQL on %s', (kind) => {
  let service: TestService;
  const graphs = {} as Record<'member' | 'private' | 'shared' | 'deleted', { id: string; slug: string; runIds: string[] }>;

  async function seedGraph(name: keyof typeof graphs, fields: { slug: string; isDefault?: boolean; status?: string }, members: string[]) {
    const graph = await insertGraph(service.prisma, fields);
    for (const member of members) await addMember(service.prisma, graph.id, member);
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++)
      runIds.unshift(await insertRun(service.prisma, graph.id, { createdAt: `2026-03-0${i + 1}T10:00:00.00000${i}Z` }));
    graphs[name] = { ...graph, runIds };
  }

  const historyOf = (name: keyof typeof graphs) => graphs[name].runIds.map((id) => ({ id, graphId: graphs[name].id }));

  beforeAll(async () => {
    service = await startTestService(kind);
    await seedGraph('member', { slug: 'members_graph' }, [MEMBER]);
    await seedGraph('private', { slug: 'private_graph' }, []);
    await seedGraph('shared', { slug: 'default', isDefault: true }, []);
    await seedGraph('deleted', { slug: 'deleted_graph', status: 'deleted' }, [MEMBER]);
  });
  afterAll(() => service?.close());

  describe('authentication', () => {
    const invalidTokens: [string, () => Promise<string>][] = [
      ['malformed', async () => 'not.a.jwt'],
      ['garbage in three parts', async () => `${base64url({ alg: 'HS256' })}.${base64url({ sub: MEMBER })}.c2lnbmF0dXJl`],
      ['expired', () => signAccessToken(TEST_JWT_SECRET, { sub: MEMBER, expiresIn: Math.floor(Date.now() / 1000) - 3600 })],
      ['signed with another key', () => signAccessToken('another-secret-that-is-also-32-characters-long', { sub: MEMBER })],
      [
        'alg none (unsigned)',
        async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: MEMBER, is_superuser: true, exp: inOneHour() })}.`,
      ],
      [
        'HS512 with the right secret (algorithm not allowed)',
        () =>
          new SignJWT({})
            .setProtectedHeader({ alg: 'HS512' })
            .setSubject(MEMBER)
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      ],
      [
        'without exp',
        () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(MEMBER).sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      ],
      [
        'without sub',
        () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      ],
    ];

    it.each([
      ['no Authorization header', undefined],
      ['another scheme', 'Basic dXNlcjpwYXNz'],
      ['an empty bearer', 'Bearer '],
    ])('refuses %s with UNAUTHENTICATED "Not authenticated", before any SQL', async (_case, authorization) => {
      service.statements.length = 0;
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        body: JSON.stringify({ query: GRAPH_QUERY, variables: { slug: 'default' } }),
      });
      const result = (await response.json()) as any;
      expect(result.data).toEqual({ graph: null });
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(result.errors[0].message).toMatch(/^Not authenticated/);
      expect(result.errors[0].path).toEqual(['graph']);
      expect(service.statements).toEqual([]);
    });

    it.each(invalidTokens)(
      'refuses a %s token with UNAUTHENTICATED "Invalid or expired token", before any SQL',
      async (_case, makeToken) => {
        const token = await makeToken();
        service.statements.length = 0;
        const result = await graphql(service.url, GRAPH_QUERY, { token, variables: { slug: 'default' } });
        expect(result.data).toEqual({ graph: null });
        expect(result.errors).toHaveLength(1);
        expect(result.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
        expect(result.errors![0]!.message).toMatch(/^Invalid or expired token/);
        expect(service.statements).toEqual([]);
      },
    );

    it.each(invalidTokens.filter(([name]) => name === 'alg none (unsigned)' || name === 'expired'))(
      'refuses a %s token on _entities too, for every entity',
      async (_case, makeToken) => {
        const result = await graphql(service.url, GRAPH_ENTITIES, {
          token: await makeToken(),
          variables: {
            r: [
              { __typename: 'Graph', slug: 'default' },
              { __typename: 'Graph', id: graphs.member.id },
            ],
          },
        });
        expect(result.data).toEqual({ _entities: [null, null] });
        expect(result.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
          [['_entities', 0], 'UNAUTHENTICATED'],
          [['_entities', 1], 'UNAUTHENTICATED'],
        ]);
      },
    );
  });

  describe('GRAPH_READ on Query.graph', () => {
    it('answers a member', async () => {
      const result = await graphql(service.url, GRAPH_QUERY, {
        token: await service.token(MEMBER),
        variables: { slug: graphs.member.slug },
      });
      expect(result).toEqual({ data: { graph: { slug: graphs.member.slug, migrations: historyOf('member') } } });
    });

    it('answers a superuser on a graph they are not a member of', async () => {
      const token = await service.token(SUPERUSER, { isSuperuser: true });
      const result = await graphql(service.url, GRAPH_QUERY, { token, variables: { slug: graphs.private.slug } });
      expect(result).toEqual({ data: { graph: { slug: graphs.private.slug, migrations: historyOf('private') } } });
    });

    it('answers any authenticated user on the default graph', async () => {
      const result = await graphql(service.url, GRAPH_QUERY, { token: await service.token(STRANGER), variables: { slug: 'default' } });
      expect(result).toEqual({ data: { graph: { slug: 'default', migrations: historyOf('shared') } } });
    });

    it('refuses a non-member with FORBIDDEN on that field, and no run of the graph in the answer', async () => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await service.token(STRANGER)}` },
        body: JSON.stringify({
          query: `{ private: graph(slug: "private_graph") { slug migrations { id } } shared: graph(slug: "default") { slug } }`,
        }),
      });
      const text = await response.text();
      const result = JSON.parse(text);
      expect(result.data).toEqual({ private: null, shared: { slug: 'default' } });
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ path: ['private'], extensions: { code: 'FORBIDDEN' } });
      for (const id of graphs.private.runIds) expect(text).not.toContain(id);
      expect(text).not.toContain(graphs.private.id);
    });

    it('does not take is_superuser for anything but the boolean true', async () => {
      const token = await new SignJWT({ is_superuser: 'true' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(STRANGER)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      const result = await graphql(service.url, GRAPH_QUERY, { token, variables: { slug: graphs.private.slug } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it('treats a subject that is not a UUID as a user who is a member of nothing', async () => {
      const token = await service.token('not-a-uuid');
      const shared = await graphql(service.url, GRAPH_QUERY, { token, variables: { slug: 'default' } });
      expect(shared.errors).toBeUndefined();
      const mine = await graphql(service.url, GRAPH_QUERY, { token, variables: { slug: graphs.member.slug } });
      expect(mine.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it.each([
      ['a member', () => service.token(MEMBER)],
      ['a superuser', () => service.token(SUPERUSER, { isSuperuser: true })],
      ['a stranger', () => service.token(STRANGER)],
    ])('is null without an error for %s on a deleted graph', async (_who, token) => {
      const result = await graphql(service.url, GRAPH_QUERY, { token: await token(), variables: { slug: graphs.deleted.slug } });
      expect(result).toEqual({ data: { graph: null } });
    });

    it('is null without an error for an unknown slug, also one that could never be a slug', async () => {
      const token = await service.token(MEMBER);
      for (const slug of ['no_such_graph', 'Not A Slug!', '', 'x'.repeat(300)]) {
        expect(await graphql(service.url, GRAPH_QUERY, { token, variables: { slug } })).toEqual({ data: { graph: null } });
      }
    });
  });

  describe('GRAPH_READ on Graph entities', () => {
    it('never returns the runs of a graph the viewer may not read: FORBIDDEN for that entity, the others answer', async () => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await service.token(MEMBER)}` },
        body: JSON.stringify({
          query: GRAPH_ENTITIES,
          variables: {
            r: [
              { __typename: 'Graph', id: graphs.member.id },
              { __typename: 'Graph', id: graphs.private.id },
              { __typename: 'Graph', slug: 'default' },
              { __typename: 'Graph', slug: graphs.private.slug },
              { __typename: 'Graph', id: graphs.deleted.id },
              { __typename: 'Graph', slug: graphs.member.slug },
            ],
          },
        }),
      });
      const text = await response.text();
      const result = JSON.parse(text);
      expect(result.data._entities).toEqual([
        { slug: graphs.member.slug, migrations: historyOf('member') },
        null,
        { slug: 'default', migrations: historyOf('shared') },
        null,
        null,
        { slug: graphs.member.slug, migrations: historyOf('member') },
      ]);
      expect(result.errors.map((error: any) => [error.path, error.extensions.code])).toEqual([
        [['_entities', 1], 'FORBIDDEN'],
        [['_entities', 3], 'FORBIDDEN'],
      ]);
      for (const id of [...graphs.private.runIds, ...graphs.deleted.runIds]) expect(text).not.toContain(id);
    });

    it('answers a superuser for every graph but the deleted one', async () => {
      const result = await graphql(service.url, GRAPH_ENTITIES, {
        token: await service.token(SUPERUSER, { isSuperuser: true }),
        variables: {
          r: [
            { __typename: 'Graph', id: graphs.private.id },
            { __typename: 'Graph', slug: graphs.deleted.slug },
          ],
        },
      });
      expect(result).toEqual({ data: { _entities: [{ slug: graphs.private.slug, migrations: historyOf('private') }, null] } });
    });
  });

  describe('GraphMigrationRun entities', () => {
    const representation = (id: string) => ({ __typename: 'GraphMigrationRun', id });

    it('returns the run to a reader of its graph and FORBIDDEN to anyone else, entity by entity', async () => {
      const memberRun = graphs.member.runIds[0]!;
      const privateRun = graphs.private.runIds[1]!;
      const sharedRun = graphs.shared.runIds[2]!;
      const r = [representation(memberRun), representation(privateRun), representation(sharedRun)];

      const asMember = await graphql(service.url, RUN_ENTITIES, { token: await service.token(MEMBER), variables: { r } });
      expect(asMember.data?._entities).toEqual([
        { id: memberRun, graphId: graphs.member.id, status: 'success', createdAt: '2026-03-03T10:00:00.000002Z' },
        null,
        { id: sharedRun, graphId: graphs.shared.id, status: 'success', createdAt: '2026-03-01T10:00:00Z' },
      ]);
      expect(asMember.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['_entities', 1], 'FORBIDDEN']]);

      const asStranger = await graphql(service.url, RUN_ENTITIES, { token: await service.token(STRANGER), variables: { r } });
      expect(asStranger.data?._entities).toEqual([null, null, expect.objectContaining({ id: sharedRun })]);
      expect(asStranger.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
        [['_entities', 0], 'FORBIDDEN'],
        [['_entities', 1], 'FORBIDDEN'],
      ]);

      const asSuperuser = await graphql(service.url, RUN_ENTITIES, {
        token: await service.token(SUPERUSER, { isSuperuser: true }),
        variables: { r },
      });
      expect(asSuperuser.errors).toBeUndefined();
      expect(asSuperuser.data?._entities.map((run: { id: string }) => run.id)).toEqual([memberRun, privateRun, sharedRun]);
    });

    it('is null for a run of a deleted graph, an unknown id and a malformed id', async () => {
      const result = await graphql(service.url, RUN_ENTITIES, {
        token: await service.token(MEMBER),
        variables: { r: [representation(graphs.deleted.runIds[0]!), representation(randomUUID()), representation('nope')] },
      });
      expect(result).toEqual({ data: { _entities: [null, null, null] } });
    });

    it('refuses an anonymous viewer with UNAUTHENTICATED', async () => {
      const result = await graphql(service.url, RUN_ENTITIES, { variables: { r: [representation(graphs.shared.runIds[0]!)] } });
      expect(result.data).toEqual({ _entities: [null] });
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
});
