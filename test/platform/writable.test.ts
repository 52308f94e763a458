// writable(): a streamed response's wait for 'drain' (the event streams' and the exports' backpressure)
// leaves no listener behind, however many times a slow client makes it wait.
import { createServer, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { writable } from '../../src/platform/reply.js';

let close: (() => Promise<void>) | undefined;
afterEach(() => close?.());

it('waits for drain or close, and leaves neither listener behind', async () => {
  const counts: { drain: number; close: number }[] = [];
  let baseline: { drain: number; close: number } | undefined;
  const served = new Promise<void>((resolve) => {
    const server = createServer(async (_request, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      baseline = { drain: response.listenerCount('drain'), close: response.listenerCount('close') };
      const chunk = Buffer.alloc(256 * 1024, 'x');
      for (let waits = 0; waits < 30;) {
        if (!response.write(chunk)) {
          await writable(response);
          waits += 1;
          counts.push({ drain: response.listenerCount('drain'), close: response.listenerCount('close') });
        }
      }
      response.end();
      resolve();
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      // A slow reader: a pause after every chunk, so the server waits for 'drain' again and again.
      socket.on('data', () => {
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      });
      close = () => new Promise((done) => server.close(() => done()));
      socket.on('close', () => socket.destroy());
    });
  });
  await served;
  expect(counts).toHaveLength(30);
  for (const count of counts) expect(count).toEqual(baseline);
});

it('resolves when the response closes before it drains', async () => {
  const resolved = new Promise<boolean>((resolve) => {
    const server = createServer(async (_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      while (response.write(chunk));
      const waiting = writable(response).then(() => true);
      response.destroy();
      resolve(await waiting);
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.pause();
      close = () => new Promise((done) => server.close(() => done()));
      socket.on('close', () => socket.destroy());
      socket.on('error', () => {});
    });
  });
  expect(await resolved).toBe(true);
});
