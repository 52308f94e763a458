// Several listening sockets on one port (src/platform/acceptors.ts, docs/decisions/0007), over real
// sockets: connections that arrive while the event loop is busy are accepted in one turn, up to one
// per socket they were spread over, where a single socket takes one per turn; every connection is
// the server's; closing stops them all; another process's listener on the port still fails the start.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addAcceptors, ensurePortFree, listeningSockets } from '../../src/platform/acceptors.js';
import { drainable } from '../../src/platform/drain.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService } from '../../src/service.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startTestService, testConfig } from '../helpers/service.js';

const logger = createLogger('silent');
const opened: Socket[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.closeAllConnections();
});

async function listening(sockets: number) {
  const server = createServer((_request, response) => response.end('served'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', reusePort: sockets > 1 }, resolve));
  const acceptors = await addAcceptors(server, sockets, 511, logger);
  return { server, acceptors, port: (server.address() as AddressInfo).port };
}

/**
 * Opens `count` connections and keeps the event loop busy for 200 ms (their handshakes complete in
 * the kernel meanwhile), then counts the connections the server accepted in the next turn.
 */
async function acceptedInOneTurn(server: Server, port: number, count: number): Promise<number> {
  let accepted = 0;
  server.on('connection', () => (accepted += 1));
  return new Promise((resolve) =>
    setTimeout(() => {
      // net.connect issues its connect(2) on the next tick; this tick, queued after theirs, blocks.
      for (let i = 0; i < count; i++) opened.push(connect(port, '127.0.0.1'));
      process.nextTick(() => {
        const until = Date.now() + 200;
        while (Date.now() < until);
        // Runs after the poll phase of this very turn, which accepts from what the kernel holds.
        setImmediate(() => resolve(accepted));
      });
    }),
  );
}

/** One request on a connection already open; resolves with the whole answer. */
function rawGet(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('end', () => resolve(answer));
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}

async function get(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return response.text();
}

describe('listening sockets', () => {
  it('accepts one connection per turn with the one socket Node gives a server', async () => {
    const { server, acceptors, port } = await listening(1);
    expect(acceptors).toHaveLength(0);
    expect(await acceptedInOneTurn(server, port, 8)).toBe(1);
  });

  it('accepts up to one connection per socket in one turn with several sockets', async () => {
    const { server, acceptors, port } = await listening(8);
    expect(acceptors).toHaveLength(7);
    // The kernel spreads connections by a hash of their addresses: 32 reach nearly every one of 8 sockets.
    const accepted = await acceptedInOneTurn(server, port, 32);
    expect(accepted).toBeGreaterThanOrEqual(4);
    expect(accepted).toBeLessThanOrEqual(8);
  });

  it("serves the connections the extra sockets accept as the server's own", async () => {
    const { server, acceptors, port } = await listening(4);
    let byExtras = 0;
    for (const acceptor of acceptors) acceptor.on('connection', () => (byExtras += 1));
    expect(await acceptedInOneTurn(server, port, 16)).toBeGreaterThanOrEqual(2);
    const answers = await Promise.all(opened.map(rawGet));
    expect(answers).toHaveLength(16);
    expect(answers.every((answer) => answer.startsWith('HTTP/1.1 200 OK') && answer.endsWith('served'))).toBe(true);
    expect(byExtras).toBeGreaterThan(0);
  });

  it('closes every socket on drain: the port refuses new connections afterwards', async () => {
    const { server, acceptors, port } = await listening(4);
    expect(await get(port)).toBe('served');
    await drainable(server).drain(1_000, acceptors);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('finds the port taken when another listener holds it, even one sharing it', async () => {
    const { port } = await listening(4);
    await expect(ensurePortFree('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const plain = await listening(1);
    await expect(ensurePortFree('127.0.0.1', plain.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('listens on one socket where the platform does not spread connections over several', () => {
    const warnings: string[] = [];
    const recording = { warn: (message: string) => warnings.push(message) } as unknown as typeof logger;
    expect(listeningSockets(32, recording, 'linux')).toBe(32);
    expect(listeningSockets(32, recording, 'darwin')).toBe(1);
    expect(warnings).toEqual([expect.stringContaining('darwin does not spread')]);
  });
});

describe('a second instance on the port of a running one', () => {
  it('fails to start with EADDRINUSE, as with one socket, and the first keeps serving', { timeout: 60_000 }, async () => {
    const first = await startTestService('pglite', { env: { HTTP_ACCEPT_HANDLES: '4' } });
    const database = await createTestDatabase('pglite');
    try {
      const { port } = first.service.server.address() as AddressInfo;
      const config = testConfig({ DATA_DIR: database.dataDir, PORT: String(port), HTTP_ACCEPT_HANDLES: '4' });
      await expect(startService(config, logger)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const answers = await Promise.all(
        Array.from({ length: 16 }, () => fetch(`${first.url}/healthz`).then((response) => response.status)),
      );
      expect(answers).toEqual(Array(16).fill(200));
    } finally {
      await database.drop();
      await first.close();
    }
  });
});
