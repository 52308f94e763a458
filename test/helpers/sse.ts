// A Server-Sent Events client over a real socket (node:http), for the live history tests: it parses
// the stream into events and comment lines as a browser's EventSource would, and keeps the raw text.
import http from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The whole body of an answer that is not a stream (a refusal). */
  body?: string;
  events: SseEvent[];
  comments: string[];
  /** Resolves with the events once `count` have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Stops reading from the socket (a slow reader) / reads again. */
  pause(): void;
  resume(): void;
  close(): void;
}

export function openSse(url: string, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters: { count: number; resolve: () => void }[] = [];
      let buffer = '';
      let body = '';
      const streaming = String(response.headers['content-type'] ?? '').startsWith('text/event-stream');
      const { promise: ended, resolve: endedResolve } = Promise.withResolvers<void>();
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (!streaming) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
              continue;
            }
            const [, field, value] = /^(id|event|data): (.*)$/s.exec(line) ?? [];
            if (field === 'id') event.id = value;
            if (field === 'event') event.event = value!;
            if (field === 'data') event.data += value;
            isEvent ||= field !== undefined;
          }
          if (isEvent) events.push(event);
        }
        for (const waiter of [...waiters]) {
          if (events.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      });
      response.on('end', () => endedResolve());
      response.on('close', () => endedResolve());
      const stream: SseStream = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        get body() {
          return streaming ? undefined : body;
        },
        events,
        comments,
        ended,
        waitFor(count, timeoutMs = 10_000) {
          if (events.length >= count) return Promise.resolve(events.slice());
          return new Promise((done, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`${events.length} of ${count} events within ${timeoutMs} ms: ${JSON.stringify(events)}`)),
              timeoutMs,
            );
            waiters.push({
              count,
              resolve: () => {
                clearTimeout(timer);
                done(events.slice());
              },
            });
          });
        },
        pause: () => response.pause(),
        resume: () => response.resume(),
        close: () => request.destroy(),
      };
      if (streaming) resolve(stream);
      else response.on('end', () => resolve(stream));
    });
    request.on('error', reject);
  });
}

/**
 * Opens `count` event streams on `url` over sockets of their own, `batch` at a time (a thousand at
 * once would be refused as overload: each opening reads the database, and the pool's wait queue is
 * bounded), resolving once every one has answered; `onData` gets each stream's text as it comes.
 */
export async function openEventStreams(
  url: string,
  headers: Record<string, string>,
  count: number,
  onData: (index: number, chunk: string) => void,
  batch = 50,
): Promise<http.ClientRequest[]> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const requests: http.ClientRequest[] = [];
  const opening: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    if (opening.length >= batch) await Promise.all(opening.splice(0));
    opening.push(
      new Promise<void>((answered) => {
        const request = http.get(url, { agent, headers }, (response) => {
          answered();
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => onData(index, chunk));
        });
        request.on('error', () => answered());
        requests.push(request);
      }),
    );
  }
  await Promise.all(opening);
  return requests;
}
