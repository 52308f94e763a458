// The operation cache (src/doors/graphql/operationCache.ts) under a real Apollo Server with the real
// executor: bounded by estimated bytes, least recently used evicted, compiled operations counted and
// evicted with their documents, and nothing kept of what anonymous clients send.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import type { Context } from '../../src/domain/context.js';
import { jitExecution } from '../../src/doors/graphql/executor.js';
import { COMPILED_BYTES_PER_CHAR, createOperationCache, DOCUMENT_BYTES_PER_CHAR, LruMap } from '../../src/doors/graphql/operationCache.js';
import { createSubgraphSchema } from '../../src/doors/graphql/server.js';

const member: Viewer = { kind: 'user', id: '6f1c2a4e-8b7d-4c3a-9e21-5d0b7f3a9c11', isSuperuser: false };
const anonymous: Viewer = { kind: 'anonymous' };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** An Apollo Server as src/doors/graphql/server.ts wires it (executor, document store, persisted queries), counting parses. */
async function serverWith(maxBytes: number) {
  const schema = createSubgraphSchema();
  const cache = createOperationCache(maxBytes);
  let parses = 0;
  const countParses: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async parsingDidStart() {
          parses += 1;
        },
      };
    },
  };
  const server = new ApolloServer<Context>({
    gateway: jitExecution(schema, cache),
    documentStore: cache.documentStore,
    persistedQueries: { cache: cache.persistedQueries },
    plugins: [countParses],
  });
  await server.start();
  const run = async (query: string, viewer: Viewer, extensions?: Record<string, unknown>) => {
    const response = await server.executeOperation(
      { query, extensions },
      { contextValue: { viewer, loaders: {} as Context['loaders'], logger: silent } },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult;
  };
  return { server, cache, run, parses: () => parses };
}

describe('LruMap', () => {
  it('evicts the least recently used entries beyond its byte bound', () => {
    const map = new LruMap<string>(100);
    map.set('a', 'A', 40);
    map.set('b', 'B', 40);
    expect(map.get('a')).toBe('A'); // a is now the most recently used
    map.set('c', 'C', 40);
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual(['A', undefined, 'C']);
    expect(map.bytes).toBe(80);
    map.resize('a', 90); // grows: c goes
    expect([map.get('a'), map.get('c'), map.bytes]).toEqual(['A', undefined, 90]);
    map.set('huge', 'H', 101); // larger than the bound: not kept, and nothing else is evicted for it
    expect([map.get('huge'), map.get('a'), map.size]).toEqual([undefined, 'A', 1]);
    expect(map.delete('a')).toBe(true);
    expect([map.size, map.bytes]).toEqual([0, 0]);
  });
});

describe('the operation cache under Apollo Server', () => {
  const query = (i: number) => `query Q${i} { a${i}: __typename }`;

  it('keeps a member’s document, skipping the parse next time, and counts its compiled operation in its size', async () => {
    const { server, cache, run, parses } = await serverWith(1024 * 1024);
    try {
      const text = query(1);
      expect(await run(text, member)).toEqual({ data: { a1: 'Query' } });
      expect(cache.stats().documents).toBe(1);
      const documentOnly = cache.stats().documentBytes;
      expect(documentOnly).toBeGreaterThanOrEqual(text.length * DOCUMENT_BYTES_PER_CHAR);

      expect(await run(text, member)).toEqual({ data: { a1: 'Query' } }); // compiled on this second execution
      expect(parses()).toBe(1);
      expect(cache.stats().documentBytes).toBe(documentOnly + text.length * COMPILED_BYTES_PER_CHAR);
      expect(await run(text, member)).toEqual({ data: { a1: 'Query' } });
      expect(parses()).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('keeps nothing of what anonymous clients send, even what members keep, and parses it every time', async () => {
    const { server, cache, run, parses } = await serverWith(1024 * 1024);
    try {
      for (let i = 0; i < 3; i++) expect(await run(query(2), anonymous)).toEqual({ data: { a2: 'Query' } });
      expect(cache.stats()).toMatchObject({ documents: 0, documentBytes: 0 });
      expect(parses()).toBe(3);
      // An anonymous client's request for what a member keeps reads it, and changes nothing.
      await run(query(3), member);
      await run(query(3), anonymous);
      expect(cache.stats().documents).toBe(1);
      expect(parses()).toBe(4);
    } finally {
      await server.stop();
    }
  });

  it('stays within its bound under distinct operations, evicting the least recently used', async () => {
    const maxBytes = 256 * 1024;
    const { server, cache, run, parses } = await serverWith(maxBytes);
    try {
      for (let i = 0; i < 200; i++) {
        await run(query(i), member);
        await run(query(i), member);
        expect(cache.stats().documentBytes).toBeLessThanOrEqual(maxBytes);
      }
      const kept = cache.stats().documents;
      expect(kept).toBeGreaterThan(10);
      expect(kept).toBeLessThan(200);
      const before = parses();
      await run(query(199), member); // recent: still kept
      expect(parses()).toBe(before);
      await run(query(0), member); // long evicted: parsed again
      expect(parses()).toBe(before + 1);
    } finally {
      await server.stop();
    }
  });

  it('keeps nothing with a bound of 0, and still answers, interpreted', async () => {
    const { server, cache, run, parses } = await serverWith(0);
    try {
      for (let i = 0; i < 3; i++) expect(await run(query(4), member)).toEqual({ data: { a4: 'Query' } });
      expect(cache.stats()).toEqual({ documents: 0, documentBytes: 0, persistedQueries: 0, persistedQueryBytes: 0 });
      expect(parses()).toBe(3);
    } finally {
      await server.stop();
    }
  });

  it('bounds registered persisted queries to an eighth of the bound', async () => {
    const maxBytes = 64 * 1024;
    const { server, cache, run } = await serverWith(maxBytes);
    try {
      for (let i = 0; i < 300; i++) {
        const text = query(i);
        const sha256Hash = createHash('sha256').update(text).digest('hex');
        expect(await run(text, anonymous, { persistedQuery: { version: 1, sha256Hash } })).toEqual({ data: { [`a${i}`]: 'Query' } });
      }
      expect(cache.stats().persistedQueryBytes).toBeLessThanOrEqual(maxBytes / 8);
      expect(cache.stats().persistedQueries).toBeGreaterThan(10);
      // The most recent registration is served by its hash alone; the first is gone (PERSISTED_QUERY_NOT_FOUND).
      const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');
      const recent = await server.executeOperation(
        { extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(query(299)) } } } as never,
        { contextValue: { viewer: anonymous, loaders: {} as Context['loaders'], logger: silent } },
      );
      expect(recent.body.kind === 'single' && recent.body.singleResult.data).toEqual({ a299: 'Query' });
      const evicted = await run(undefined as never, anonymous, { persistedQuery: { version: 1, sha256Hash: hashOf(query(0)) } });
      expect(evicted.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await server.stop();
    }
  });
});
