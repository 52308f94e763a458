// OpenTelemetry's SDK behind src/observability/tracing.ts's Tracing, loaded only when tracing is configured.
// Nothing here registers a global (tracer provider, context manager, propagator, diagnostics):
// the spans' context is this module's own AsyncLocalStorage and every span names its parent
// explicitly, so a host or library with OpenTelemetry of its own is neither changed nor read.
import { AsyncLocalStorage } from 'node:async_hooks';
import { METHODS, type IncomingMessage, type RequestListener } from 'node:http';
import {
  createContextKey,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { TracingSettings } from '../config.js';
import type { Logger } from './logger.js';
import type { DatabaseTarget, TraceStatement, Tracing } from './tracing.js';

const REQUEST_CONTEXT = Symbol('trace context');
type TracedRequest = IncomingMessage & { [REQUEST_CONTEXT]?: Context };
const OPERATION_SPAN = createContextKey('graphql operation span');
const KNOWN_METHODS = new Set(METHODS);
// The statement's first keyword (`db.operation.name`), after any leading comment.
const FIRST_KEYWORD = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/;
const EXPORT_WARNING_EVERY_MS = 60_000;

function sampler(settings: TracingSettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The OTLP exporter, saying in the service's log (at most once a minute) when the collector does not take spans. */
function loggingExporter(settings: TracingSettings, logger: Logger): SpanExporter {
  const exporter = new OTLPTraceExporter({ url: settings.url, headers: settings.headers, timeoutMillis: settings.timeoutMs });
  let warnedAt = -Infinity;
  return {
    export(spans: ReadableSpan[], done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && Date.now() - warnedAt >= EXPORT_WARNING_EVERY_MS) {
          warnedAt = Date.now();
          logger.warn({ err: result.error, url: settings.url, spans: spans.length }, 'exporting spans failed; they are dropped');
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
}

/** Ends `span`, failed with `errorType` (the error's kind only: a message may hold values) when given. */
function ended(span: Span, errorType?: string): void {
  if (errorType !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute('error.type', errorType);
  }
  span.end();
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');

export function createTracing(settings: TracingSettings, logger: Logger): Tracing {
  // Every setting is given here, from src/config.ts (the provider and the batch processor read no OTEL_* variable).
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(settings.resource)),
    sampler: sampler(settings),
    // Bounded: beyond maxQueueSize ended spans are dropped, not buffered (OTEL_BSP_MAX_QUEUE_SIZE).
    spanProcessors: [new BatchSpanProcessor({ exporter: loggingExporter(settings, logger), ...settings.batch })],
  });
  const tracer = provider.getTracer('graph-migrations-subgraph');
  const propagator = new W3CTraceContextPropagator();
  const current = new AsyncLocalStorage<Context>();

  /** The current context when its span records (sampled in): children are worth starting only then. */
  const recording = (): Context | undefined => {
    const context = current.getStore();
    return context && trace.getSpan(context)?.isRecording() ? context : undefined;
  };
  const inChild = async <T>(parent: Context, span: Span, work: () => Promise<T>, isOperation = false): Promise<T> => {
    let context = trace.setSpan(parent, span);
    if (isOperation) context = context.setValue(OPERATION_SPAN, span);
    try {
      const result = await current.run(context, work);
      ended(span);
      return result;
    } catch (error) {
      ended(span, errorName(error));
      throw error;
    }
  };

  return {
    serve(listener: RequestListener, trusted: (address: string) => boolean): RequestListener {
      return (request, response) => {
        const peer = request.socket.remoteAddress;
        const parent =
          request.headers.traceparent !== undefined && peer !== undefined && trusted(peer)
            ? propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter)
            : ROOT_CONTEXT;
        const method = request.method !== undefined && KNOWN_METHODS.has(request.method) ? request.method : '_OTHER';
        const attributes: Attributes = {
          'http.request.method': method,
          'url.scheme': 'http',
          'network.protocol.version': request.httpVersion,
          'server.port': request.socket.localPort,
          'user_agent.original': request.headers['user-agent'],
        };
        if (method === '_OTHER') attributes['http.request.method_original'] = request.method;
        const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
        const context = trace.setSpan(parent, span);
        (request as TracedRequest)[REQUEST_CONTEXT] = context;
        response.once('close', () => {
          span.setAttribute('http.response.status_code', response.statusCode);
          if (response.statusCode >= 500) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute('error.type', String(response.statusCode));
          }
          span.end();
        });
        current.run(context, listener, request, response);
      };
    },
    routed(request, route) {
      const context = (request as TracedRequest)[REQUEST_CONTEXT];
      if (context === undefined || route === undefined) return;
      const span = trace.getSpan(context)!;
      // The template, never the path: paths hold slugs.
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.route', route);
    },
    within(request, work) {
      const context = (request as TracedRequest)[REQUEST_CONTEXT];
      return context === undefined ? work() : current.run(context, work);
    },
    logFields(request) {
      const context = (request as TracedRequest)[REQUEST_CONTEXT];
      if (context === undefined) return undefined;
      const { traceId, spanId } = trace.getSpan(context)!.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    operation(work) {
      const parent = recording();
      if (!parent) return work();
      return inChild(parent, tracer.startSpan('GraphQL Operation', { kind: SpanKind.INTERNAL }, parent), work, true);
    },
    nameOperation(type, name) {
      const span = current.getStore()?.getValue(OPERATION_SPAN) as Span | undefined;
      if (!span) return;
      span.updateName(name ? `${type} ${name}` : type);
      span.setAttribute('graphql.operation.type', type);
      if (name) span.setAttribute('graphql.operation.name', name);
    },
    span(name, work) {
      const parent = recording();
      if (!parent) return work();
      return inChild(parent, tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent), work);
    },
    statements(target: DatabaseTarget): TraceStatement {
      return async (text, send) => {
        const parent = recording();
        if (!parent) return send();
        const operation = FIRST_KEYWORD.exec(text)?.[1]?.toUpperCase();
        // The text has placeholders ($1, …), never the bound values.
        const span = tracer.startSpan(
          operation ? `${operation} ${target.namespace}` : target.namespace,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'db.system.name': 'postgresql',
              'db.namespace': target.namespace,
              'db.operation.name': operation,
              'db.query.text': text,
              'server.address': target.address,
              'server.port': target.port,
            },
          },
          parent,
        );
        try {
          const result = await send();
          const rows = (result as { rows?: unknown[] } | undefined)?.rows;
          if (Array.isArray(rows)) span.setAttribute('db.response.returned_rows', rows.length);
          ended(span);
          return result;
        } catch (error) {
          ended(span, target.errorType(error));
          throw error;
        }
      };
    },
    // A collector that is down must not fail the shutdown: the spans it did not take are lost, as it says.
    close: () =>
      provider
        .shutdown()
        .catch((error: unknown) => logger.warn({ err: error, url: settings.url }, 'exporting the last spans failed; they are dropped')),
  };
}
