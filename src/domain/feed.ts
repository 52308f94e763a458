// The live history of every door (docs/decisions/0008): one ChangeFeed per instance follows the
// database's change feed (src/queries/runChanges.ts) over one session (LISTEN, and the feed's own
// statements) and fans each change out, in memory, to the streams that match it. A burst of changes
// costs the instance a fixed number of statements (order what committed, read what was ordered),
// whatever the number of streams.
//
// A stream resumed from a cursor first replays the changes after it from the database, then
// continues live: it is registered at the feed's current position P in the same turn that P is
// read, so the replay covers (cursor, P] and the live changes start after P, with no gap and no
// duplicate at the seam.
import type { GraphKey, GraphRecord } from '../queries/graphs.js';
import type { HistoryTruncation, RunChange, RunEvent } from '../queries/runChanges.js';
import type { Logger } from '../observability/logger.js';

/** What the feed needs from the database (src/queries/runChanges.ts over src/database/client.ts). */
export interface FeedStore {
  /** Gives committed changes their positions; `pending`: some wait for a running transaction. */
  order(): Promise<{ locked: boolean; ordered: number; pending: boolean }>;
  /** Changes after `position` in feed order (deleted graphs' left out), `graphId` narrowing to one graph's. */
  after(position: bigint, limit: number, graphId?: string): Promise<RunChange[]>;
  bounds(): Promise<{ head: bigint; prunedThrough: bigint }>;
  prune(keepMs: number): Promise<{ deleted: number }>;
  /**
   * One session that LISTENs on the feed's channels: `onNotification` for each notification,
   * `onConnection(true)` each time it is (re)connected and listening, `(false)` when it is lost.
   */
  listen(onNotification: (channel: string) => void, onConnection: (up: boolean) => void): Promise<{ close(): Promise<void> }>;
  /** Graphs by key with each request's viewer's membership (src/queries/graphs.ts), in request order; null when unknown. */
  graphs(requests: readonly { viewerId: string; key: GraphKey }[]): Promise<(GraphRecord | null)[]>;
}

export interface FeedSettings {
  /** How long changes are kept for resuming (LIVE_RETENTION_MS). */
  retentionMs: number;
  /** Open streams per instance (LIVE_MAX_STREAMS): beyond, opening one is refused. */
  maxStreams: number;
  /** Changes a stream may hold for a slow reader (LIVE_STREAM_BUFFER): beyond, it ends with `overflow`. */
  bufferSize: number;
}

/** Why a stream ended: the door says it in its own shape. */
export type StreamEnd =
  | { reason: 'overflow'; lastCursor: string | null }
  // The runs were truncated (the history emptied): reload, then resume after the truncation's cursor.
  | { reason: 'reset'; lastCursor: string }
  | { reason: 'access'; denial: 'invalid_token' | 'not_member' | 'superusers_only' }
  | { reason: 'graph_gone' }
  | { reason: 'shutdown' }
  | { reason: 'closed' };

// Writers send no notification (decision 0008): every instance looks for changes to order this
// often, a notification from the one that ordered them wakes the others, and a notification lost
// while the LISTEN session reconnects is made up by the reconnect's own read.
const ORDER_POLL_MS = 100;
const READ_POLL_MS = 2_000;
const RETRY_MS = 50;
const PRUNE_EVERY_MS = 60_000;
const READ_BATCH = 1_000;
// Graphs one access-check statement looks up at most (streams opening together, re-checks).
const ACCESS_BATCH = 1_000;

/** The cursor of a change: its position, as text. */
export const cursorOf = (change: RunChange) => change.position.toString();

export interface StreamOptions {
  /** One graph's runs; null: every graph's. */
  graphId: string | null;
  /** Only runs with one of these statuses; undefined: every status. */
  statuses?: readonly string[];
  /** Replay the changes after this position first. */
  after?: bigint;
}

/**
 * A stream's changes of runs in feed order, then its end. Iterate it once; `close()` ends it from the
 * reading side. A truncation ends it (`reset`) once the changes before it are read.
 */
export class RunStream implements AsyncIterable<RunEvent> {
  private buffer: RunChange[] = [];
  private ended: StreamEnd | undefined;
  private wake: (() => void) | undefined;
  private last: string | null;
  private replay: { from: bigint; until: bigint } | undefined;
  readonly onEnd: ((end: StreamEnd) => void)[] = [];

  constructor(
    private readonly feed: ChangeFeed,
    readonly options: StreamOptions,
    at: bigint,
    private readonly bufferSize: number,
  ) {
    // Before any change is handed over, where the stream starts: resuming after it misses nothing,
    // also when it overflows before its first event.
    const start = options.after ?? at;
    this.last = start > 0n ? start.toString() : null;
    if (options.after !== undefined && options.after < at) this.replay = { from: options.after, until: at };
  }

  /**
   * The cursor to resume after: the last change handed to the reader; before any, the position the
   * stream started after (null when the feed had none).
   */
  get lastCursor(): string | null {
    return this.last;
  }

  get end(): StreamEnd | undefined {
    return this.ended;
  }

  matches(change: RunChange): boolean {
    const { graphId, statuses } = this.options;
    if (change.kind === 'TRUNCATED') return true;
    return (graphId === null || change.run.graphId === graphId) && (statuses === undefined || statuses.includes(change.run.status));
  }

  /** A live change (after the position the stream was opened at); false when it is not this stream's. */
  push(change: RunChange): boolean {
    // A cursor the feed had not reached when the stream opened: what it has seen is not sent again.
    if (this.ended || !this.matches(change) || (this.options.after !== undefined && change.position <= this.options.after)) return false;
    if (this.buffer.length >= this.bufferSize) {
      this.finish({ reason: 'overflow', lastCursor: this.last });
      return true;
    }
    this.buffer.push(change);
    this.wake?.();
    return true;
  }

  /** Ends the stream; what is buffered is dropped, except for `closed` by the reader itself. */
  finish(end: StreamEnd) {
    if (this.ended) return;
    this.ended = end;
    this.buffer = [];
    this.feed.release(this);
    for (const listener of this.onEnd) listener(end);
    this.wake?.();
  }

  close() {
    this.finish({ reason: 'closed' });
  }

  /** At a truncation: the stream ends, to be resumed after it. */
  private reset(truncation: HistoryTruncation) {
    this.last = cursorOf(truncation);
    this.finish({ reason: 'reset', lastCursor: this.last });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RunEvent> {
    try {
      while (this.replay && !this.ended) {
        const { from, until } = this.replay;
        const page = (await this.feed.store.after(from, READ_BATCH, this.options.graphId ?? undefined)).filter((c) => c.position <= until);
        for (const change of page) {
          if (this.ended) return;
          if (!this.matches(change)) continue;
          if (change.kind === 'TRUNCATED') return this.reset(change);
          this.last = cursorOf(change);
          yield change;
        }
        this.replay = page.length === READ_BATCH && page.at(-1)!.position < until ? { from: page.at(-1)!.position, until } : undefined;
      }
      while (!this.ended) {
        const change = this.buffer.shift();
        if (change?.kind === 'TRUNCATED') return this.reset(change);
        if (change) {
          this.last = cursorOf(change);
          yield change;
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      if (!this.ended) this.close();
    }
  }
}

export class StreamLimitError extends Error {
  constructor(readonly limit: number) {
    super(`${limit} streams are open on this instance`);
    this.name = 'StreamLimitError';
  }
}

/** One per instance: the LISTEN session, the feed's position, and the open streams. */
export class ChangeFeed {
  private position = 0n;
  private readonly streams = new Set<RunStream>();
  private listener: { close(): Promise<void> } | undefined;
  private connected = false;
  private running: Promise<void> | undefined;
  private again = false;
  private orderWanted = true;
  // Read only when something may have been ordered: a notification, an ordering round of ours, a
  // reconnect, a failure, or the periodic look that makes up for a notification lost.
  private readWanted = true;
  private retry: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private started = false;
  // Access checks waiting for the next statement (`graph`): at most `maxStreams` (one per opening
  // or open stream), beyond which opening is refused like a stream over the limit.
  private lookups: { viewerId: string; key: GraphKey; resolve: (graph: GraphRecord | null) => void; reject: (error: unknown) => void }[] =
    [];
  private lookingUp = false;
  /** Called with each change fanned out, and the number of streams it went to (metrics). */
  onDelivered?: (streams: number) => void;

  constructor(
    readonly store: FeedStore,
    readonly settings: FeedSettings,
    private readonly logger: Logger,
  ) {}

  /** Listens, and starts at the feed's head: streams without a cursor get what follows. */
  async start() {
    this.listener = await this.store.listen(
      () => {
        this.readWanted = true;
        this.poke();
      },
      (up) => {
        this.connected = up;
        if (up) {
          this.orderWanted = true;
          this.readWanted = true;
          this.poke();
        }
      },
    );
    // Listening first: a change committed from here on wakes the feed, and the head read below
    // already counts every earlier one.
    this.position = (await this.store.bounds()).head;
    this.started = true;
    this.poke();
    this.timers.push(
      setInterval(() => {
        this.orderWanted = true;
        this.poke();
      }, ORDER_POLL_MS).unref(),
      setInterval(() => {
        this.readWanted = true;
        this.poke();
      }, READ_POLL_MS).unref(),
      setInterval(() => {
        this.store
          .prune(this.settings.retentionMs)
          .catch((error: unknown) => this.logger.warn({ err: error }, 'pruning the change feed failed'));
      }, PRUNE_EVERY_MS).unref(),
    );
  }

  /** True while the LISTEN session is up: `/readyz` fails otherwise (changes would come only by polling). */
  get listening(): boolean {
    return this.connected;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** The feed's bounds now, for checking a resume cursor. */
  bounds() {
    return this.store.bounds();
  }

  /**
   * A graph as `viewerId` sees it (its membership joined in), for opening a stream and re-checking
   * it. Every look-up asked while a statement is under way waits for the next one, which answers
   * them all: a reconnect storm of a thousand streams costs a few statements, on the feed's own
   * session, never a pooled connection that requests wait for (docs/decisions/0008).
   */
  graph(viewerId: string, key: GraphKey): Promise<GraphRecord | null> {
    if (this.stopped || this.lookups.length >= this.settings.maxStreams)
      return Promise.reject(new StreamLimitError(this.settings.maxStreams));
    return new Promise((resolve, reject) => {
      this.lookups.push({ viewerId, key, resolve, reject });
      if (!this.lookingUp) {
        this.lookingUp = true;
        // The rest of this turn's look-ups join the first statement.
        setImmediate(() => void this.lookUp());
      }
    });
  }

  private async lookUp() {
    while (this.lookups.length > 0) {
      const batch = this.lookups.splice(0, ACCESS_BATCH);
      try {
        const graphs = await this.store.graphs(batch);
        batch.forEach((lookup, index) => lookup.resolve(graphs[index]!));
      } catch (error) {
        for (const lookup of batch) lookup.reject(error);
      }
    }
    this.lookingUp = false;
  }

  /** Registers a stream at the current position (a StreamLimitError beyond `maxStreams`). */
  open(options: StreamOptions): RunStream {
    if (this.stopped || this.streams.size >= this.settings.maxStreams) throw new StreamLimitError(this.settings.maxStreams);
    const stream = new RunStream(this, options, this.position, this.settings.bufferSize);
    this.streams.add(stream);
    return stream;
  }

  /** Called by a stream that ended. */
  release(stream: RunStream) {
    this.streams.delete(stream);
  }

  /** Ends every stream (`shutdown`) and stops listening. */
  async stop() {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.retry);
    for (const stream of [...this.streams]) stream.finish({ reason: 'shutdown' });
    await this.running;
    await this.listener?.close();
  }

  /** Orders and reads now, or once more after the run in progress. */
  private poke() {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.catchUp()
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'reading the change feed failed; retrying');
        this.retryLater(500);
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private retryLater(ms: number) {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.orderWanted = true;
      this.readWanted = true;
      this.poke();
    }, ms).unref();
  }

  private async catchUp() {
    if (this.orderWanted) {
      this.orderWanted = false;
      const { locked, ordered, pending } = await this.store.order();
      // Another instance is ordering (its notification will wake us), or more wait than one batch took.
      if (pending || !locked) this.retryLater(RETRY_MS);
      if (ordered > 0) this.readWanted = true;
    }
    if (!this.readWanted) return;
    this.readWanted = false;
    for (;;) {
      const changes = await this.store.after(this.position, READ_BATCH);
      for (const change of changes) {
        this.position = change.position;
        let delivered = 0;
        for (const stream of this.streams) if (stream.push(change)) delivered += 1;
        this.onDelivered?.(delivered);
      }
      if (changes.length < READ_BATCH) return;
    }
  }
}
