import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { GraphRecord } from '../../../queries/graphs.js';
import type { MigrationRunRecord } from '../../../queries/migrationRuns.js';
import type { MigrationRunPage } from '../../../domain/history.js';
import type { MigrationRunEdge } from '../resolvers/GraphMigrationRunConnection.js';
import type { RunEvent } from '../../../queries/runChanges.js';
import type { MigrationStatsRecord } from '../../../queries/migrationStats.js';
import type { Context } from '../../../domain/context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * An RFC 3339 timestamp in UTC with the database's microseconds, never rounded: `2026-04-17T21:25:43.123456Z`,
   * `2026-04-17T21:25:43.120000Z`. A whole second has no fraction: `2026-04-17T21:25:43Z` (as pydantic 2 writes it).
   * As an argument, any RFC 3339 date-time with at most six fractional digits and any offset
   * (`2026-04-17T23:25:43.5+02:00`); it is compared exactly, to the microsecond.
   */
  DateTime: { input: string; output: string; }
  /** A UUID in its canonical textual form. */
  UUID: { input: string; output: string; }
  _FieldSet: { input: any; output: any; }
};

/** A knowledge graph of the platform. */
export type Graph = {
  __typename?: 'Graph';
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  id: Scalars['UUID']['output'];
  /** The platform's shared graph (slug `default`): every authenticated user may read it. */
  isDefault: Scalars['Boolean']['output'];
  /**
   * Statistics of the graph's runs created in the window (both bounds optional, as in the history
   * filters): counts by status from counts kept per day and the latest runs from one index probe
   * each (neither reads the whole history), the durations from every run of the window, and only
   * when selected. The statistics of every graph in a request are read in one statement.
   */
  migrationStats: MigrationStats;
  /**
   * The graph's migration runs, newest first (`createdAt` descending, then `id` descending), the
   * newest `limit` that the filters select. `limit` must be between 1 and 500.
   */
  migrations: Array<GraphMigrationRun>;
  /**
   * The same history as `migrations`, a page at a time (Relay cursor connection): pass a page's
   * `pageInfo.endCursor` as `after` to get the next one. `first` must be between 1 and 500.
   * Pages are keyset pages on (`createdAt`, `id`): a page deep in the history costs what the first
   * one does, and runs recorded while a client pages through never make it skip or repeat a run.
   * A cursor names a position in that order, not a graph: given to another graph's history, it
   * continues from the same position there. A malformed cursor is a BAD_USER_INPUT error, and so is
   * a cursor used with other filters than the page that issued it had: repeat the same `status`,
   * `since` and `until` on every page.
   */
  migrationsConnection: GraphMigrationRunConnection;
  name: Scalars['String']['output'];
  readOnly: Scalars['Boolean']['output'];
  /** `owner`, `migrating` or `error` when the graph is read-only. */
  readOnlyReason?: Maybe<Scalars['String']['output']>;
  /** Lowercase letters, digits and `_`, 3 to 100 characters. */
  slug: Scalars['String']['output'];
  /** `provisioning`, `active` or `error` (deleted graphs are not served). */
  status: Scalars['String']['output'];
  /** Id of the graph-type plugin. */
  typeId: Scalars['String']['output'];
  /** Schema version the graph's data is at. */
  typeVersion: Scalars['Int']['output'];
  updatedAt: Scalars['DateTime']['output'];
};


/** A knowledge graph of the platform. */
export type GraphMigrationStatsArgs = {
  since?: InputMaybe<Scalars['DateTime']['input']>;
  until?: InputMaybe<Scalars['DateTime']['input']>;
};


/** A knowledge graph of the platform. */
export type GraphMigrationsArgs = {
  limit?: InputMaybe<Scalars['Int']['input']>;
  since?: InputMaybe<Scalars['DateTime']['input']>;
  status?: InputMaybe<Array<Scalars['String']['input']>>;
  until?: InputMaybe<Scalars['DateTime']['input']>;
};


/** A knowledge graph of the platform. */
export type GraphMigrationsConnectionArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  since?: InputMaybe<Scalars['DateTime']['input']>;
  status?: InputMaybe<Array<Scalars['String']['input']>>;
  until?: InputMaybe<Scalars['DateTime']['input']>;
};

/** One migration hop a graph's data went through. */
export type GraphMigrationRun = {
  __typename?: 'GraphMigrationRun';
  createdAt: Scalars['DateTime']['output'];
  error?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  fromVersion: Scalars['Int']['output'];
  /**
   * The graph the run belongs to. The graphs of every run in a response are read together, in one
   * statement (none when the run was reached through its graph).
   */
  graph: Graph;
  graphId: Scalars['UUID']['output'];
  id: Scalars['UUID']['output'];
  migrationId: Scalars['String']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /**
   * The run's state as the database holds it (today `pending`, `running`, `success`, `failed` or
   * `skipped`). Deliberately an open string: a state added by a database migration reaches clients
   * without a coordinated schema release, so clients must tolerate values they do not know.
   */
  status: Scalars['String']['output'];
  toVersion: Scalars['Int']['output'];
  /** Id of the workflow-engine run that executed this hop. */
  workflowRunId?: Maybe<Scalars['String']['output']>;
};

/** A page of a graph's migration runs, newest first. */
export type GraphMigrationRunConnection = {
  __typename?: 'GraphMigrationRunConnection';
  /** At most `first` runs, each with its cursor. */
  edges: Array<GraphMigrationRunEdge>;
  pageInfo: PageInfo;
  /**
   * How many runs the filters select: in the graph's whole history (or, for `Query.migrationRuns`,
   * among every graph's runs), whatever page this is. Costs a count over those runs, so it is only
   * computed when selected (one statement for every graph in the request).
   */
  totalCount: Scalars['Int']['output'];
};

/** One run of a page and the cursor of its position. */
export type GraphMigrationRunEdge = {
  __typename?: 'GraphMigrationRunEdge';
  /** Pass as `after` to continue after this run. Opaque: clients must not build or parse it. */
  cursor: Scalars['String']['output'];
  node: GraphMigrationRun;
};

/**
 * Durations in seconds (microsecond precision). `p50` and `p95` are continuous percentiles, as
 * PostgreSQL's `percentile_cont` computes them (interpolated between the two nearest durations).
 */
export type MigrationDurations = {
  __typename?: 'MigrationDurations';
  max?: Maybe<Scalars['Float']['output']>;
  p50?: Maybe<Scalars['Float']['output']>;
  p95?: Maybe<Scalars['Float']['output']>;
};

/** One event of the live history. */
export type MigrationRunEvent = {
  __typename?: 'MigrationRunEvent';
  /** This event's position in the feed: pass it as `after` to resume right after it. */
  cursor: Scalars['String']['output'];
  /** INSERTED, UPDATED or DELETED. */
  kind: Scalars['String']['output'];
  /** The run as this change left it; for DELETED, the run as it was when it was deleted. */
  run: GraphMigrationRun;
};

/** What a window of migration runs adds up to. */
export type MigrationStats = {
  __typename?: 'MigrationStats';
  /** One entry per status that occurs, most frequent first (ties by status): open-ended like `status`. */
  byStatus: Array<MigrationStatusCount>;
  /** finished_at - started_at of the runs that have both, in seconds; null fields when there are none. */
  durationSeconds: MigrationDurations;
  /** The newest run of the window (by `createdAt`, then `id`). */
  latest?: Maybe<GraphMigrationRun>;
  /** The newest run of the window with status `failed`. */
  latestFailure?: Maybe<GraphMigrationRun>;
  /** The newest run of the window with status `success`. */
  latestSuccess?: Maybe<GraphMigrationRun>;
  /** How many runs the window holds. */
  total: Scalars['Int']['output'];
};

/** How many runs of a window have one status. */
export type MigrationStatusCount = {
  __typename?: 'MigrationStatusCount';
  count: Scalars['Int']['output'];
  status: Scalars['String']['output'];
};

/** Where a page sits in the whole list (Relay cursor connections). */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** The cursor of the page's last item, to pass as `after`; null for an empty page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** True when more items follow this page. */
  hasNextPage: Scalars['Boolean']['output'];
  /** Always false: pagination here is forward only, which the Relay specification allows. */
  hasPreviousPage: Scalars['Boolean']['output'];
  /** The cursor of the page's first item; null for an empty page. */
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type Query = {
  __typename?: 'Query';
  /**
   * The graph with this slug, or null when no such graph exists or it has been deleted.
   * Requires a bearer token; a graph the viewer may not read (GRAPH_READ) is a FORBIDDEN error.
   */
  graph?: Maybe<Graph>;
  /**
   * Each graph's latest run (its newest by `createdAt`, then `id`; deleted graphs left out) when its
   * status is one of `status`, newest first, a page at a time: "which graphs' latest run failed".
   * The graph is the run's `graph`. Cursors and bounds as `migrationRuns`; `totalCount` counts the
   * graphs. Superusers only: a FORBIDDEN error for other users, UNAUTHENTICATED without a valid token.
   */
  latestMigrationRuns: GraphMigrationRunConnection;
  /**
   * Every graph's migration runs, newest first (`createdAt` descending, then `id` descending), a page
   * at a time, as `Graph.migrationsConnection` pages one graph's: the same filters, cursors and
   * bounds (`first` 1 to 500). Runs of deleted graphs are left out. Superusers only: a FORBIDDEN
   * error for other users, UNAUTHENTICATED without a valid token.
   */
  migrationRuns: GraphMigrationRunConnection;
  /**
   * Statistics of every graph's runs created in the window (deleted graphs left out), as
   * `Graph.migrationStats` computes them for one graph. Superusers only: a FORBIDDEN error for other
   * users, UNAUTHENTICATED without a valid token.
   */
  migrationStats: MigrationStats;
};


export type QueryGraphArgs = {
  slug: Scalars['String']['input'];
};


export type QueryLatestMigrationRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<Array<Scalars['String']['input']>>;
};


export type QueryMigrationRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  since?: InputMaybe<Scalars['DateTime']['input']>;
  status?: InputMaybe<Array<Scalars['String']['input']>>;
  until?: InputMaybe<Scalars['DateTime']['input']>;
};


export type QueryMigrationStatsArgs = {
  since?: InputMaybe<Scalars['DateTime']['input']>;
  until?: InputMaybe<Scalars['DateTime']['input']>;
};

/**
 * Live history (docs/contract.md#live-history), served on /graphql over GraphQL over SSE (the
 * graphql-sse protocol, GET or POST with `Accept: text/event-stream`) and graphql-ws over WebSocket.
 * Queries and mutations are not served over these: POST them to /graphql.
 */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Runs of one graph (slug; GRAPH_READ) or, for superusers, of every graph (slug null), as they are
   * recorded and as they change: one event per insert, per change and per deletion of a run, in
   * commit order. `status` narrows to those statuses. `after` resumes right after an event's cursor:
   * every event after it is sent first, then the live ones, none twice; a cursor older than the change
   * history kept is a BAD_USER_INPUT error. The subscription ends with an error when the viewer may no
   * longer read the graph, the token expires, the reader falls behind (resume with the last cursor),
   * the history is emptied (HISTORY_RESET: read it again, then resume with its `lastCursor`) or the
   * instance stops.
   */
  migrationRunEvents: MigrationRunEvent;
};


/**
 * Live history (docs/contract.md#live-history), served on /graphql over GraphQL over SSE (the
 * graphql-sse protocol, GET or POST with `Accept: text/event-stream`) and graphql-ws over WebSocket.
 * Queries and mutations are not served over these: POST them to /graphql.
 */
export type SubscriptionMigrationRunEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  slug?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<Array<Scalars['String']['input']>>;
};



export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ReferenceResolver<TResult, TReference, TContext> = (
      reference: TReference,
      context: TContext,
      info: GraphQLResolveInfo
    ) => Promise<TResult> | TResult;

      type ScalarCheck<T, S> = S extends true ? T : NullableCheck<T, S>;
      type NullableCheck<T, S> = Maybe<T> extends T ? Maybe<ListCheck<NonNullable<T>, S>> : ListCheck<T, S>;
      type ListCheck<T, S> = T extends (infer U)[] ? NullableCheck<U, S>[] : GraphQLRecursivePick<T, S>;
      export type GraphQLRecursivePick<T, S> = { [K in keyof T & keyof S]: ScalarCheck<T[K], S[K]> };
    

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

/** Mapping of federation types */
export type FederationTypes = {
  Graph: Graph;
  GraphMigrationRun: GraphMigrationRun;
};

/** Mapping of federation reference types */
export type FederationReferenceTypes = {
  Graph:
    ( { __typename: 'Graph' }
    & ( GraphQLRecursivePick<FederationTypes['Graph'], {"id":true}>
        | GraphQLRecursivePick<FederationTypes['Graph'], {"slug":true}> ) );
  GraphMigrationRun:
    ( { __typename: 'GraphMigrationRun' }
    & GraphQLRecursivePick<FederationTypes['GraphMigrationRun'], {"id":true}> );
};



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  Graph: ResolverTypeWrapper<GraphRecord>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  GraphMigrationRun: ResolverTypeWrapper<MigrationRunRecord>;
  GraphMigrationRunConnection: ResolverTypeWrapper<MigrationRunPage>;
  GraphMigrationRunEdge: ResolverTypeWrapper<MigrationRunEdge>;
  MigrationDurations: ResolverTypeWrapper<MigrationDurations>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  MigrationRunEvent: ResolverTypeWrapper<RunEvent>;
  MigrationStats: ResolverTypeWrapper<MigrationStatsRecord>;
  MigrationStatusCount: ResolverTypeWrapper<MigrationStatusCount>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  UUID: ResolverTypeWrapper<Scalars['UUID']['output']>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  DateTime: Scalars['DateTime']['output'];
  Graph: GraphRecord;
  String: Scalars['String']['output'];
  Boolean: Scalars['Boolean']['output'];
  Int: Scalars['Int']['output'];
  GraphMigrationRun: MigrationRunRecord;
  GraphMigrationRunConnection: MigrationRunPage;
  GraphMigrationRunEdge: MigrationRunEdge;
  MigrationDurations: MigrationDurations;
  Float: Scalars['Float']['output'];
  MigrationRunEvent: RunEvent;
  MigrationStats: MigrationStatsRecord;
  MigrationStatusCount: MigrationStatusCount;
  PageInfo: PageInfo;
  Query: Record<PropertyKey, never>;
  Subscription: Record<PropertyKey, never>;
  UUID: Scalars['UUID']['output'];
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type GraphResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Graph'] = ResolversParentTypes['Graph'], FederationReferenceType extends FederationReferenceTypes['Graph'] = FederationReferenceTypes['Graph']> = {
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['Graph']> | FederationReferenceType, FederationReferenceType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  description?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  isDefault?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  migrationStats?: Resolver<ResolversTypes['MigrationStats'], ParentType, ContextType, Partial<GraphMigrationStatsArgs>>;
  migrations?: Resolver<Array<ResolversTypes['GraphMigrationRun']>, ParentType, ContextType, RequireFields<GraphMigrationsArgs, 'limit'>>;
  migrationsConnection?: Resolver<ResolversTypes['GraphMigrationRunConnection'], ParentType, ContextType, RequireFields<GraphMigrationsConnectionArgs, 'first'>>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  readOnly?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  readOnlyReason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  slug?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  typeId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  typeVersion?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type GraphMigrationRunResolvers<ContextType = Context, ParentType extends ResolversParentTypes['GraphMigrationRun'] = ResolversParentTypes['GraphMigrationRun'], FederationReferenceType extends FederationReferenceTypes['GraphMigrationRun'] = FederationReferenceTypes['GraphMigrationRun']> = {
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['GraphMigrationRun']> | FederationReferenceType, FederationReferenceType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  fromVersion?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  graph?: Resolver<ResolversTypes['Graph'], ParentType, ContextType>;
  graphId?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['UUID'], ParentType, ContextType>;
  migrationId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  toVersion?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  workflowRunId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type GraphMigrationRunConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['GraphMigrationRunConnection'] = ResolversParentTypes['GraphMigrationRunConnection']> = {
  edges?: Resolver<Array<ResolversTypes['GraphMigrationRunEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type GraphMigrationRunEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['GraphMigrationRunEdge'] = ResolversParentTypes['GraphMigrationRunEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['GraphMigrationRun'], ParentType, ContextType>;
};

export type MigrationDurationsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MigrationDurations'] = ResolversParentTypes['MigrationDurations']> = {
  max?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  p50?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  p95?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type MigrationRunEventResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MigrationRunEvent'] = ResolversParentTypes['MigrationRunEvent']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  run?: Resolver<ResolversTypes['GraphMigrationRun'], ParentType, ContextType>;
};

export type MigrationStatsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MigrationStats'] = ResolversParentTypes['MigrationStats']> = {
  byStatus?: Resolver<Array<ResolversTypes['MigrationStatusCount']>, ParentType, ContextType>;
  durationSeconds?: Resolver<ResolversTypes['MigrationDurations'], ParentType, ContextType>;
  latest?: Resolver<Maybe<ResolversTypes['GraphMigrationRun']>, ParentType, ContextType>;
  latestFailure?: Resolver<Maybe<ResolversTypes['GraphMigrationRun']>, ParentType, ContextType>;
  latestSuccess?: Resolver<Maybe<ResolversTypes['GraphMigrationRun']>, ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type MigrationStatusCountResolvers<ContextType = Context, ParentType extends ResolversParentTypes['MigrationStatusCount'] = ResolversParentTypes['MigrationStatusCount']> = {
  count?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  graph?: Resolver<Maybe<ResolversTypes['Graph']>, ParentType, ContextType, RequireFields<QueryGraphArgs, 'slug'>>;
  latestMigrationRuns?: Resolver<ResolversTypes['GraphMigrationRunConnection'], ParentType, ContextType, RequireFields<QueryLatestMigrationRunsArgs, 'first'>>;
  migrationRuns?: Resolver<ResolversTypes['GraphMigrationRunConnection'], ParentType, ContextType, RequireFields<QueryMigrationRunsArgs, 'first'>>;
  migrationStats?: Resolver<ResolversTypes['MigrationStats'], ParentType, ContextType, Partial<QueryMigrationStatsArgs>>;
};

export type SubscriptionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  migrationRunEvents?: SubscriptionResolver<ResolversTypes['MigrationRunEvent'], "migrationRunEvents", ParentType, ContextType, Partial<SubscriptionMigrationRunEventsArgs>>;
};

export interface UuidScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['UUID'], any> {
  name: 'UUID';
}

export type Resolvers<ContextType = Context> = {
  DateTime?: GraphQLScalarType;
  Graph?: GraphResolvers<ContextType>;
  GraphMigrationRun?: GraphMigrationRunResolvers<ContextType>;
  GraphMigrationRunConnection?: GraphMigrationRunConnectionResolvers<ContextType>;
  GraphMigrationRunEdge?: GraphMigrationRunEdgeResolvers<ContextType>;
  MigrationDurations?: MigrationDurationsResolvers<ContextType>;
  MigrationRunEvent?: MigrationRunEventResolvers<ContextType>;
  MigrationStats?: MigrationStatsResolvers<ContextType>;
  MigrationStatusCount?: MigrationStatusCountResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  UUID?: GraphQLScalarType;
};

