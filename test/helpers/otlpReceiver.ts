// An OTLP/HTTP trace receiver for tests (a collector's POST /v1/traces on a loopback port): it
// takes OTLP JSON (`application/json`, what @opentelemetry/exporter-trace-otlp-http sends) and
// protobuf (`application/x-protobuf`, what exporter-trace-otlp-proto sends), gzip'd or not, and
// keeps every span, normalised: ids in hex, attributes as plain values, the resource's service.name.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean | null | Uint8Array | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  serviceName: string | undefined;
  attributes: Record<string, AttributeValue>;
  /** OTLP's status: code 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
}

export interface OtlpReceiver {
  /** The base URL (`http://127.0.0.1:PORT`), as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string;
  /** Every span received so far, in order of arrival. */
  spans(): ReceivedSpan[];
  /** Resolves with the spans once `predicate` holds for them, or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    void readBody(request).then(
      (body) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        try {
          if (type === 'application/json') {
            received.push(...fromJson(JSON.parse(body.toString('utf8'))));
            response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          } else if (type === 'application/x-protobuf') {
            received.push(...fromProtobuf(body));
            // An empty ExportTraceServiceResponse encodes to no bytes.
            response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          } else {
            response.writeHead(415).end();
            return;
          }
        } catch (error) {
          response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
          return;
        }
        for (const wake of waiters) wake();
      },
      () => response.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    spans: () => [...received],
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          done();
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`spans not received within ${timeoutMs} ms; got: ${JSON.stringify(received.map(describe))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const describe = (span: ReceivedSpan) => `${span.serviceName}: ${span.name} (kind ${span.kind})`;

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

// ---- OTLP JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) ----

/** JSON ids are hex; a base64 one (protobuf's canonical JSON) is turned into hex. */
function jsonId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return /^[0-9a-f]+$/i.test(value) && (value.length === 32 || value.length === 16)
    ? value.toLowerCase()
    : Buffer.from(value, 'base64').toString('hex');
}

function jsonValue(value: any): AttributeValue {
  if (value == null) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('bytesValue' in value) return Buffer.from(value.bytesValue, 'base64');
  if ('arrayValue' in value) return (value.arrayValue?.values ?? []).map(jsonValue);
  if ('kvlistValue' in value) return jsonAttributes(value.kvlistValue?.values);
  return null;
}

function jsonAttributes(list: any[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, jsonValue(entry.value)]));
}

function fromJson(request: any): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans: any) => {
    const serviceName = jsonAttributes(resourceSpans.resource?.attributes)['service.name'];
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans: any) =>
      (scopeSpans.spans ?? []).map((span: any): ReceivedSpan => ({
        traceId: jsonId(span.traceId)!,
        spanId: jsonId(span.spanId)!,
        parentSpanId: jsonId(span.parentSpanId),
        name: span.name,
        kind: Number(span.kind ?? 0),
        serviceName: typeof serviceName === 'string' ? serviceName : undefined,
        attributes: jsonAttributes(span.attributes),
        status: { code: Number(span.status?.code ?? 0), ...(span.status?.message ? { message: span.status.message } : {}) },
      })),
    );
  });
}

// ---- OTLP protobuf: a decoder for the few messages of ExportTraceServiceRequest a test reads ----
// (opentelemetry-proto: collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto)

type Field = { number: number; wire: number; value: bigint | Buffer };

/** A message's fields in order: varints and fixed64/32 as bigint, length-delimited ones as bytes. */
function fields(buffer: Buffer): Field[] {
  const out: Field[] = [];
  let offset = 0;
  const varint = () => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[offset++];
      if (byte === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (offset < buffer.length) {
    const tag = Number(varint());
    const number = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ number, wire, value: varint() });
    else if (wire === 1) {
      out.push({ number, wire, value: buffer.readBigUInt64LE(offset) });
      offset += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      out.push({ number, wire, value: buffer.subarray(offset, offset + length) });
      offset += length;
    } else if (wire === 5) {
      out.push({ number, wire, value: BigInt(buffer.readUInt32LE(offset)) });
      offset += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const bytesOf = (field: Field) => field.value as Buffer;
const text = (field: Field) => bytesOf(field).toString('utf8');

function protoValue(buffer: Buffer): AttributeValue {
  const [field] = fields(buffer);
  if (!field) return null;
  switch (field.number) {
    case 1:
      return text(field);
    case 2:
      return field.value !== 0n;
    case 3:
      return Number(BigInt.asIntN(64, field.value as bigint));
    case 4: {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64LE(field.value as bigint);
      return bytes.readDoubleLE();
    }
    case 5:
      return fields(bytesOf(field))
        .filter((entry) => entry.number === 1)
        .map((entry) => protoValue(bytesOf(entry)));
    case 6:
      return protoAttributes(fields(bytesOf(field)).filter((entry) => entry.number === 1));
    case 7:
      return new Uint8Array(bytesOf(field));
    default:
      return null;
  }
}

/** KeyValue messages (key = 1, value = 2) as a record. */
function protoAttributes(keyValues: Field[]): Record<string, AttributeValue> {
  const record: Record<string, AttributeValue> = {};
  for (const keyValue of keyValues) {
    const parts = fields(bytesOf(keyValue));
    const key = parts.find((part) => part.number === 1);
    const value = parts.find((part) => part.number === 2);
    if (key) record[text(key)] = value ? protoValue(bytesOf(value)) : null;
  }
  return record;
}

function protoSpan(buffer: Buffer, serviceName: string | undefined): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: undefined,
    name: '',
    kind: 0,
    serviceName,
    attributes: {},
    status: { code: 0 },
  };
  const attributes: Field[] = [];
  for (const field of fields(buffer)) {
    if (field.number === 1) span.traceId = bytesOf(field).toString('hex');
    else if (field.number === 2) span.spanId = bytesOf(field).toString('hex');
    else if (field.number === 4) span.parentSpanId = bytesOf(field).length > 0 ? bytesOf(field).toString('hex') : undefined;
    else if (field.number === 5) span.name = text(field);
    else if (field.number === 6) span.kind = Number(field.value);
    else if (field.number === 9) attributes.push(field);
    else if (field.number === 15) {
      for (const part of fields(bytesOf(field))) {
        if (part.number === 2) span.status.message = text(part);
        else if (part.number === 3) span.status.code = Number(part.value);
      }
    }
  }
  span.attributes = protoAttributes(attributes);
  return span;
}

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.resource = 1, .scope_spans = 2;
  // Resource.attributes = 1; ScopeSpans.spans = 2.
  for (const resourceSpans of fields(body).filter((field) => field.number === 1)) {
    const parts = fields(bytesOf(resourceSpans));
    const resource = parts.find((part) => part.number === 1);
    const resourceAttributes = resource ? protoAttributes(fields(bytesOf(resource)).filter((field) => field.number === 1)) : {};
    const serviceName = typeof resourceAttributes['service.name'] === 'string' ? resourceAttributes['service.name'] : undefined;
    for (const scopeSpans of parts.filter((part) => part.number === 2)) {
      for (const span of fields(bytesOf(scopeSpans)).filter((field) => field.number === 2))
        spans.push(protoSpan(bytesOf(span), serviceName));
    }
  }
  return spans;
}
