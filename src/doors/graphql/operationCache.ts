// What the service keeps across requests because of an operation's text: parsed and validated
// documents with the operations graphql-jit compiled from them, and the texts clients register as
// automatic persisted queries. Each is a least-recently-used map bounded by an estimate of the heap
// its entries hold (docs/decisions/0005): Apollo's own stores bound entries by the size of their JSON,
// which is a fifth of a parsed document's heap and leaves compiled code out entirely.
import type { DocumentNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';

/** Apollo Server's KeyValueCache, as its `documentStore` and `persistedQueries.cache` options take it. */
interface KeyValueCache<V> {
  get(key: string): Promise<V | undefined>;
  set(key: string, value: V): Promise<void>;
  delete(key: string): Promise<boolean>;
}

/**
 * Heap per character of query text, measured (decision 0005: heapUsed after a full GC before and
 * after holding 500 of them, and heap snapshots of the running service): a parsed document keeps
 * every token and location, 65–95 bytes per character; an operation compiled by graphql-jit and
 * run (its generated source, closures, bytecode) 200–500 more.
 */
export const DOCUMENT_BYTES_PER_CHAR = 100;
export const COMPILED_BYTES_PER_CHAR = 500;
/** An entry's fixed cost: its key (a SHA-256 in hex), the map's slot, the entry object. */
const ENTRY_OVERHEAD_BYTES = 300;

/** A Map in least-recently-used order whose entries' estimated sizes sum to at most `maxBytes`. */
export class LruMap<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Adds or replaces `key` as the most recently used, then evicts the least recently used beyond the bound. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    // An entry larger than the whole bound would only evict everything else, then itself.
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  /** A kept entry's new size (an operation compiled from it), evicting others if it no longer fits. */
  resize(key: string, bytes: number): void {
    const entry = this.entries.get(key);
    if (entry) this.set(key, entry.value, bytes);
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.bytes;
    return true;
  }
}

/** A validated document that an authenticated request executed, and what graphql-jit compiled from it. */
export interface OperationEntry {
  document: DocumentNode;
  /** The query text's length: what the entry's size is estimated from. */
  chars: number;
  executions: number;
  /** By operation name (null: the document's only operation). */
  compiled: Map<string | null, CompiledQuery>;
}

export interface OperationCache {
  /**
   * Apollo Server's `documentStore`: a document found here skips parsing and validation. Apollo's
   * own `set` after validating is ignored: the executor keeps a document (`remember`) once an
   * authenticated request has executed it, so what an anonymous client sends is never kept.
   */
  documentStore: KeyValueCache<DocumentNode>;
  /** Apollo Server's `persistedQueries.cache`: registered query texts by SHA-256. */
  persistedQueries: KeyValueCache<string>;
  /** The entry of an executed document by its query's hash, now the most recently used; undefined when not kept. */
  lookup(queryHash: string): OperationEntry | undefined;
  /** The entry of an executed document, added as the most recently used when absent. */
  remember(queryHash: string, document: DocumentNode, chars: number): OperationEntry;
  /** Counts an operation compiled from a kept entry in its size. */
  compiled(queryHash: string, entry: OperationEntry): void;
  /** Estimated bytes and entries held, for tests and the benchmark. */
  stats(): { documents: number; documentBytes: number; persistedQueries: number; persistedQueryBytes: number };
}

/** Apollo prefixes a provided store's keys with the schema's hash and a colon; the entry is the query's hash. */
const queryHashOf = (key: string) => key.slice(key.lastIndexOf(':') + 1);

const entryBytes = (entry: OperationEntry) =>
  ENTRY_OVERHEAD_BYTES + entry.chars * (DOCUMENT_BYTES_PER_CHAR + entry.compiled.size * COMPILED_BYTES_PER_CHAR);

/**
 * The operation cache of one Apollo Server: `maxBytes` (GRAPHQL_OPERATION_CACHE_MB) for documents and
 * compiled operations, an eighth of it for persisted query texts (text is all they hold). 0 keeps nothing.
 */
export function createOperationCache(maxBytes: number): OperationCache {
  const operations = new LruMap<OperationEntry>(maxBytes);
  const texts = new LruMap<string>(Math.floor(maxBytes / 8));
  return {
    documentStore: {
      async get(key) {
        return operations.get(queryHashOf(key))?.document;
      },
      async set() {},
      async delete(key) {
        return operations.delete(queryHashOf(key));
      },
    },
    persistedQueries: {
      async get(key) {
        return texts.get(key);
      },
      async set(key, query) {
        texts.set(key, query, ENTRY_OVERHEAD_BYTES + 2 * query.length);
      },
      async delete(key) {
        return texts.delete(key);
      },
    },
    lookup: (queryHash) => operations.get(queryHash),
    remember(queryHash, document, chars) {
      const known = operations.get(queryHash);
      if (known) return known;
      const entry: OperationEntry = { document, chars, executions: 0, compiled: new Map() };
      operations.set(queryHash, entry, entryBytes(entry));
      return entry;
    },
    compiled(queryHash, entry) {
      operations.resize(queryHash, entryBytes(entry));
    },
    stats: () => ({
      documents: operations.size,
      documentBytes: operations.bytes,
      persistedQueries: texts.size,
      persistedQueryBytes: texts.bytes,
    }),
  };
}
