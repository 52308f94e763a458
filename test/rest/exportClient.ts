// An HTTP/1.1 client over a raw socket for the export tests: it can stop reading (socket.pause(),
// so TCP's flow control reaches the server), go away mid-body, and tell a complete chunked body
// (its terminating zero-length chunk) from one the server cut.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body, de-chunked (as far as it came). */
  body: string;
  /** Whether the body ended with the terminating chunk (`0\r\n\r\n`). */
  complete: boolean;
  chunked: boolean;
}

export class RawClient {
  readonly socket: net.Socket;
  private readonly chunks: Buffer[] = [];
  received = 0;
  readonly closed: Promise<void>;

  private constructor(baseUrl: string, path: string, headers: Record<string, string>, method: string) {
    const { hostname, port } = new URL(baseUrl);
    this.socket = net.connect(Number(port), hostname);
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.received += chunk.length;
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  /** Sends the request; `paused`: reads nothing from the socket until resume(). */
  static open(baseUrl: string, path: string, options: { token?: string; paused?: boolean; method?: string } = {}): RawClient {
    const client = new RawClient(baseUrl, path, options.token ? { Authorization: `Bearer ${options.token}` } : {}, options.method ?? 'GET');
    if (options.paused) client.socket.pause();
    return client;
  }

  pause() {
    this.socket.pause();
  }

  resume() {
    this.socket.resume();
  }

  /** Reads until at least `bytes` have arrived, then stops reading. */
  async readAtLeast(bytes: number, timeoutMs = 20_000): Promise<void> {
    this.resume();
    const deadline = Date.now() + timeoutMs;
    while (this.received < bytes) {
      if (Date.now() > deadline) throw new Error(`only ${this.received} of ${bytes} bytes arrived`);
      if (this.socket.destroyed) throw new Error(`the connection closed after ${this.received} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    this.pause();
  }

  /** Reads everything until the server closes the connection, and parses it. */
  async finish(): Promise<RawAnswer> {
    this.resume();
    await this.closed;
    return parseAnswer(Buffer.concat(this.chunks));
  }

  destroy() {
    this.socket.destroy();
  }
}

export function parseAnswer(bytes: Buffer): RawAnswer {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete head in ${bytes.length} bytes`);
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)![1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = bytes.subarray(end + 4);
  const chunked = headers['transfer-encoding'] === 'chunked';
  if (!chunked) return { status, headers, body: rest.toString('utf8'), complete: true, chunked };
  const parts: Buffer[] = [];
  let offset = 0;
  let complete = false;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(rest.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at ${offset}`);
    if (size === 0) {
      complete = rest.subarray(lineEnd, lineEnd + 4).toString('latin1') === '\r\n\r\n';
      break;
    }
    const start = lineEnd + 2;
    if (start + size + 2 > rest.length) {
      parts.push(rest.subarray(start, Math.min(rest.length, start + size)));
      break;
    }
    parts.push(rest.subarray(start, start + size));
    offset = start + size + 2;
  }
  return { status, headers, body: Buffer.concat(parts).toString('utf8'), complete, chunked };
}

/** RFC 4180 records, written independently of the service's encoder: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
      } else {
        field += c;
        i += 1;
      }
    } else if (c === '"') {
      if (field !== '') throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = true;
      i += 1;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else if (c === '\r' || c === '\n') {
      throw new Error(`a bare ${c === '\r' ? 'CR' : 'LF'} outside quotes at ${i}`);
    } else {
      field += c;
      i += 1;
    }
  }
  if (quoted || field !== '' || record.length > 0) throw new Error('the last record is not terminated by CRLF');
  return records;
}

/** Resolves once `count()` has not changed for `quietMs`; returns it. */
export async function settled(count: () => number, quietMs = 750, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error('never settled');
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}
