// Distributed tracing (OpenTelemetry, OTLP over HTTP): off unless an OTLP endpoint is configured
// (src/config.ts, tracingSettings). Off, the service holds `undefined` where a Tracing would be and
// no OpenTelemetry module is ever loaded: src/observability/tracingSdk.ts is imported only by src/service.ts, when configured.
// The doors, the database client and the authenticator take an optional Tracing (docs/decisions/0011).
import type { IncomingMessage, RequestListener } from 'node:http';

/** Where a statement goes, for the database semantic conventions' attributes. */
export interface DatabaseTarget {
  /** The database name (`db.namespace`). */
  namespace: string;
  /** Host and port (`server.address`, `server.port`); absent for the embedded database. */
  address?: string;
  port?: number;
  /** A failed statement's `error.type`: the database's own classification of its errors. */
  errorType(error: unknown): string;
}

export type TraceStatement = <T>(text: string, send: () => Promise<T>) => Promise<T>;

export interface Tracing {
  /**
   * The HTTP server's request listener, giving each request a SERVER span. An incoming W3C
   * `traceparent`/`tracestate` is continued only when the peer address is a trusted proxy's.
   */
  serve(listener: RequestListener, trusted: (address: string) => boolean): RequestListener;
  /** Names a request's span by its route template once it is routed (undefined: unmatched). */
  routed(request: IncomingMessage, route: string | undefined): void;
  /** Runs `work` (a route handler) in the context of its request's span. */
  within<T>(request: IncomingMessage, work: () => T): T;
  /** `trace_id` and `span_id` of a request's span, for every log line of the request. */
  logFields(request: IncomingMessage): { trace_id: string; span_id: string } | undefined;
  /** Runs `work` in a GraphQL operation span under the current one; `nameOperation` names it once known. */
  operation<T>(work: () => Promise<T>): Promise<T>;
  nameOperation(type: string, name: string | null | undefined): void;
  /** Runs `work` in an INTERNAL span under the current one (none outside a request). */
  span<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Wraps each statement sent to `target` in a CLIENT span under the current one (none outside a request). */
  statements(target: DatabaseTarget): TraceStatement;
  /** Exports what is buffered and stops. */
  close(): Promise<void>;
}
